// Exit codes, one meaning each across every command (README "Exit codes").
import { CommanderError } from 'commander';
import { type ErrorCode, isRbacError } from '../errors.js';

/**
 * 0: ok, allow, all pass. 1: the command's own "no" (a deny, a failed test, access that changes, a
 * unit that could not be fetched). 2: usage or configuration error, or the command could not
 * decide at all (an unreadable policy, an invalid request, an unexpected failure).
 */
export const EXIT = { ok: 0, deny: 1, failure: 1, usage: 2 } as const;

/**
 * The error codes that are a command's documented exit 1 rather than "could not decide": a
 * `compile` whose snapshot is unusable or whose mapping says `unmatched: error`, a `zoom
 * push-role` that Zoom refused. Every other error of every command is 2, so a failure never
 * reads as a real deny, a failed test or a change in access.
 */
const DOCUMENTED_ONE: Readonly<Record<string, readonly ErrorCode[]>> = {
  compile: ['SNAPSHOT_INVALID', 'UNMATCHED_VENDOR_VALUE'],
  'zoom push-role': ['VENDOR_ERROR'],
};

/**
 * The exit code for an error a command threw, chosen from the error's `code` (the RbacError
 * family's, or commander's for help and version).
 *
 * @param command the command's path below the program, e.g. `check`, `zoom push-role`; undefined
 *   when the error came before any command ran (parsing).
 */
export function exitCodeFor(err: unknown, command: string | undefined): number {
  if (err instanceof CommanderError)
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
  if (isRbacError(err) && command !== undefined && DOCUMENTED_ONE[command]?.includes(err.code))
    return EXIT.failure;
  return EXIT.usage;
}
