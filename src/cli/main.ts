import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { manualClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createEngine, type Decision } from '../engine/authorizer.js';
import { escapeControls, formatDecision, jsonForTerminal } from '../engine/format.js';
import { ConfigError } from '../errors.js';
import { createFileStore, replacePolicy } from '../policy/policy-store.js';
import { openConfiguredStore } from '../store/configured.js';
import { compileSnapshot } from '../vendor-compiler.js';
import { loadWorkspace } from '../workspace.js';
import { parseAt } from './at.js';
import { registerAuditCommands } from './audit.js';
import { registerEmulateCommand } from './emulate.js';
import { EXIT, exitCodeFor } from './exit.js';
import { policyHints } from './hints.js';
import { registerLogCommands } from './log.js';
import { registerPolicyTestCommands } from './policy-tests.js';
import { registerStatusCommand } from './status.js';
import { registerStoreCommands } from './store.js';
import { registerSyncCommands } from './sync.js';
import { plural } from './words.js';
import { registerZoomCommands } from './zoom.js';

export { EXIT } from './exit.js';

/** Where the CLI writes; injectable for tests. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars are drawn there). */
  isTTY?: boolean;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  isTTY: process.stderr.isTTY === true,
};

/** The package's version, from its package.json (two folders up from src/cli and dist/cli alike). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The CLI's commands, and the exit code their actions set (see exit.ts for errors). */
export interface Cli {
  readonly program: Command;
  /** The exit code the last action set (0 until one sets another). */
  exitCode(): number;
  /** The command that ran (`check`, `zoom push-role`), once its action started. */
  command(): string | undefined;
}

/** Builds the program with every command, writing to `io`; `main` parses with it. */
export function createCli(io: Io = processIo): Cli {
  let code: number = EXIT.ok;
  let running: string | undefined;
  const program = new Command('rbac-normalizer')
    .description(
      'Normalize Zoom, Vonage Contact Center and Tuya permissions into one Casbin policy and answer checks from it.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError('(run with --help for usage)')
    .hook('preAction', (_program, action) => {
      const names: string[] = [];
      for (let c: Command | null = action; c && c !== program; c = c.parent) names.unshift(c.name());
      running = names.join(' ');
    });
  const configOption = () =>
    new Option(
      '-c, --config <file>',
      'config file naming policies, mappings and identities (default: rbac.config.yaml if present)',
    );

  program
    .command('compile')
    .description('compile a snapshot of vendor responses into policies/ (policy.csv, provenance.jsonl)')
    .addOption(configOption())
    .option('-s, --snapshot <dir>', 'snapshot folder (default: the config\'s "snapshot")')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { config?: string; snapshot?: string; json?: boolean }) => {
      const config = await loadConfig(opts.config);
      const snapshot = opts.snapshot ?? config.snapshot;
      if (!snapshot)
        throw new ConfigError('--snapshot', 'give --snapshot DIR or set "snapshot:" in the config');
      const { mappings, identities } = await loadWorkspace(config);
      const result = await compileSnapshot(snapshot, mappings, identities);
      const shared = await openConfiguredStore(config);
      try {
        await replacePolicy(
          shared?.policyStore ?? createFileStore(config.policies),
          result.policy,
          result.provenance,
        );
      } finally {
        await shared?.close();
      }
      if (opts.json) {
        io.out(
          `${JSON.stringify({ policies: config.policies, ...result.counts, unmatched: result.unmatched, skipped: result.skipped, notices: result.notices }, null, 2)}\n`,
        );
        return;
      }
      const n = result.counts;
      io.out(
        `compiled ${plural(n.vendorGrants, 'vendor grant')} of ${plural(n.users, 'account')} into ${plural(n.rules, 'rule')} and ${plural(n.links, 'role link')} → ${config.policies}\n`,
      );
      // Vendor values are printed escaped: a value must not drive the terminal or fake a line.
      for (const n of result.notices) io.err(`notice: ${escapeControls(n)}\n`);
      for (const u of result.unmatched)
        io.err(
          `warning: no mapping rule for ${u.vendor} ${u.kind} ${escapeControls(`${u.raw} (held by ${u.holder})`)}\n`,
        );
      for (const s of result.skipped)
        io.err(
          `warning: skipped ${s.vendor} ${escapeControls(`${s.raw} (held by ${s.holder}, rule ${s.rule}): ${s.reason}`)}\n`,
        );
    });

  const decisionCommand = (name: 'check' | 'explain', description: string) =>
    program
      .command(name)
      .description(description)
      .argument(
        '<user>',
        'subject: a person id, or email:<email> / <vendor>:<id> for an account no person is linked to',
      )
      .argument('<resource>', 'e.g. zoom:recording, vonage:group:<id>, tuya:permission:<id>')
      .argument('<action>', 'e.g. read, edit, write, use')
      .addOption(configOption())
      .option(
        '--at <time>',
        'decide at this ISO-8601 time with a zone (2026-11-22T12:00:00Z, or an offset such as -05:00) instead of now',
      )
      .option('--json', 'print the decision as JSON (with "hints")')
      .action(
        async (
          user: string,
          resource: string,
          action: string,
          opts: { config?: string; at?: string; json?: boolean },
        ) => {
          const at = opts.at === undefined ? undefined : parseAt(opts.at);
          const empty = (
            [
              ['subject', user],
              ['resource', resource],
              ['action', action],
            ] as const
          ).find(([, v]) => v === '');
          let d: Decision;
          let hints: string[] = [];
          if (empty) {
            // No policy can answer for nobody (or for nothing): the request itself is wrong.
            d = {
              allowed: false,
              reason: 'invalid-request',
              subject: user,
              resource,
              action,
              at: new Date(at ?? Date.now()).toISOString(),
              validFrom: null,
              validUntil: null,
              error: `the ${empty[0]} is empty`,
            };
          } else {
            const config = await loadConfig(opts.config);
            const authz = await createEngine({
              policies: config.policies,
              cache: false,
              ...(at !== undefined ? { clock: manualClock(at) } : {}),
            });
            d = authz.explain(user, resource, action);
            // A default deny may be a typo: say what of the request no rule or link mentions.
            if (d.reason === 'no-matching-rule')
              hints = policyHints(authz.getPolicy())(user, resource, action);
          }
          // Decisions carry vendor values: no control character reaches the terminal, JSON or not.
          if (opts.json) io.out(`${jsonForTerminal({ ...d, hints })}\n`);
          else if (name === 'check') io.out(`${d.allowed ? 'allow' : 'deny'}\n`);
          else io.out(formatDecision(d) + hints.map((h) => `  hint: ${escapeControls(h)}\n`).join(''));
          if (name === 'check' && !opts.json) {
            const why = d.reason === 'error' ? 'the decision failed' : d.reason;
            if (d.error) io.err(`error: ${escapeControls(`${why}: ${d.error}`)}\n`);
            for (const h of hints) io.err(`hint: ${escapeControls(h)}\n`);
          }
          const decided = d.reason !== 'invalid-request' && d.reason !== 'error';
          code = d.allowed ? EXIT.ok : decided ? EXIT.deny : EXIT.usage;
        },
      );

  decisionCommand(
    'check',
    'print allow or deny (exit 0 allow, 1 deny, 2 when no decision could be made: usage, configuration, an unreadable policy, an invalid request)',
  );
  decisionCommand(
    'explain',
    'print the decision with the rule, role path, vendor value and mapping line behind it (exit codes as check)',
  );

  const commandContext = {
    io,
    configOption,
    setExit: (c: number) => {
      code = c;
    },
  };
  registerPolicyTestCommands(program, commandContext);
  registerSyncCommands(program, { ...commandContext, isTTY: io.isTTY ?? false });
  registerEmulateCommand(program, commandContext);
  registerStoreCommands(program, commandContext);
  registerZoomCommands(program, commandContext);
  registerAuditCommands(program, commandContext);
  registerStatusCommand(program, commandContext);
  registerLogCommands(program, commandContext);
  return { program, exitCode: () => code, command: () => running };
}

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code: 0 ok or allow,
 * 1 the command's "no" (deny, a failed test, ...), 2 usage, configuration, or no decision (README
 * "Exit codes"). Without a command it prints the help on stdout and exits 2.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const cli = createCli(io);
  if (argv.length === 0) {
    io.out(cli.program.helpInformation());
    return EXIT.usage;
  }
  try {
    await cli.program.parseAsync(argv, { from: 'user' });
    return cli.exitCode();
  } catch (err) {
    const code = exitCodeFor(err, cli.command());
    // Commander has printed its own message (usage errors, help, version).
    if (!(err instanceof CommanderError))
      io.err(`error: ${printable(err instanceof Error ? err.message : String(err))}\n`);
    return code;
  }
}

/** An error message for the terminal: its own lines kept, control characters in them escaped (they may quote policy values). */
function printable(message: string): string {
  return message.split('\n').map(escapeControls).join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
