// `rbac-normalizer log query FILE`: reads a decision log back, line by line, keeping the entries
// of one subject (plain or hashed), a time range and a result.
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { type Command, Option } from 'commander';
import { escapeControls, jsonLineForTerminal } from '../engine/format.js';
import { ConfigError } from '../errors.js';
import { hashSubject } from '../observe/subject-mask.js';
import { parseAt } from './at.js';
import type { CommandContext } from './context.js';

/** Malformed lines reported one by one; past this, only counted. */
const REPORTED = 10;

interface QueryOptions {
  subject?: string;
  since?: string;
  until?: string;
  result?: 'allow' | 'deny';
  json?: boolean;
}

/** The fields of a log line the query reads and prints; anything else is passed through with --json. */
interface Line {
  readonly time: string;
  readonly subject: string | null;
  readonly resource: string | null;
  readonly action: string | null;
  readonly result: 'allow' | 'deny';
  readonly reason: string;
  readonly [field: string]: unknown;
}

export function registerLogCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const log = program.command('log').description('read a decision log (createAuthorizer({ decisionLog }))');
  log
    .command('query')
    .description(
      'print the entries of a decision log that match, one line each (exit 0; 2 when FILE cannot be read)',
    )
    .argument('<file>', 'a decision log file (JSON lines)')
    .option('--subject <subject>', 'only this subject; also finds entries where it was written hashed')
    .option(
      '--since <time>',
      'only entries at or after this ISO-8601 time with a zone (2026-11-22T12:00:00Z)',
    )
    .option('--until <time>', 'only entries before this ISO-8601 time with a zone')
    .addOption(new Option('--result <result>', 'only allows or only denies').choices(['allow', 'deny']))
    .option('--json', 'print the matching entries as JSON lines')
    .action(async (file: string, opts: QueryOptions) => {
      const since = opts.since === undefined ? Number.NEGATIVE_INFINITY : parseAt(opts.since, '--since');
      const until = opts.until === undefined ? Number.POSITIVE_INFINITY : parseAt(opts.until, '--until');
      const subjects = opts.subject === undefined ? undefined : [opts.subject, hashSubject(opts.subject)];
      const handle = await openLog(file);
      let lineNo = 0;
      let malformed = 0;
      try {
        const lines = createInterface({
          input: handle.createReadStream({ encoding: 'utf8' }),
          crlfDelay: Infinity,
        });
        for await (const text of lines) {
          lineNo++;
          if (text.trim() === '') continue;
          const entry = readLine(text);
          const t = entry === undefined ? Number.NaN : Date.parse(entry.time);
          if (entry === undefined || Number.isNaN(t)) {
            if (++malformed <= REPORTED)
              io.err(`warning: ${escapeControls(file)}:${lineNo}: not a decision log entry (skipped)\n`);
            continue;
          }
          if (t < since || t >= until) continue;
          if (opts.result !== undefined && entry.result !== opts.result) continue;
          if (subjects !== undefined && !subjects.includes(entry.subject as string)) continue;
          io.out(opts.json ? `${jsonLineForTerminal(entry)}\n` : `${entryText(entry)}\n`);
        }
      } finally {
        await handle.close();
      }
      if (malformed > REPORTED) io.err(`warning: ${malformed - REPORTED} more malformed lines skipped\n`);
      ctx.setExit(0);
    });
}

/** Opens the log for reading; a missing or unreadable file (or a folder) is a ConfigError naming it. */
async function openLog(file: string) {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(
      'FILE',
      code === 'ENOENT'
        ? `no decision log at ${JSON.stringify(file)}`
        : `cannot read the decision log ${JSON.stringify(file)}${typeof code === 'string' ? ` (${code})` : ''}`,
      { cause: err },
    );
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new ConfigError('FILE', `${JSON.stringify(file)} is not a file`);
  }
  return handle;
}

/** A parsed log line, or undefined when it is not JSON or not shaped as an entry. */
function readLine(text: string): Line | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  const nameOrNull = (x: unknown) => typeof x === 'string' || x === null;
  const ok =
    typeof e['time'] === 'string' &&
    (e['result'] === 'allow' || e['result'] === 'deny') &&
    typeof e['reason'] === 'string' &&
    nameOrNull(e['subject']) &&
    nameOrNull(e['resource']) &&
    nameOrNull(e['action']);
  return ok ? (e as unknown as Line) : undefined;
}

/**
 * One entry for people: time, verdict, request, reason, the deciding rule and role path, the first
 * vendor grant, cache, policy version, call id, error. Escaped as a whole line: the fixed text has
 * no control characters, so only values are.
 */
function entryText(e: Line): string {
  // Values come from a file: anything not a string is shown as JSON (String() of a parsed object can throw).
  const str = (x: unknown) =>
    typeof x === 'string' ? x : x === null || x === undefined ? '-' : JSON.stringify(x);
  const parts = [
    `${e.time}  ${e.result.toUpperCase()}  ${str(e.subject)} → ${str(e.action)} on ${str(e.resource)}  ${e.reason}`,
  ];
  const rule = e['rule'] as Record<string, unknown> | undefined;
  if (typeof rule === 'object' && rule !== null)
    parts.push(`by p, ${str(rule['sub'])}, ${str(rule['obj'])}, ${str(rule['act'])}, ${str(rule['eft'])}`);
  const via = e['via'];
  if (Array.isArray(via) && via.length > 1) parts.push(`via ${via.map(str).join(' → ')}`);
  const grants = e['grants'];
  if (Array.isArray(grants) && typeof grants[0] === 'object' && grants[0] !== null) {
    const g = grants[0] as Record<string, unknown>;
    const mapping = g['mapping'] === undefined ? '' : ` mapped by ${str(g['mapping'])}`;
    const more = grants.length > 1 ? ` (+${grants.length - 1} more)` : '';
    parts.push(`← ${str(g['vendor'])} ${str(g['raw'])} held by ${str(g['holder'])}${mapping}${more}`);
  }
  const tags = [`cache ${str(e['cache'])}`, `policy v${str(e['policyVersion'])}`];
  if (e['callId'] !== undefined) tags.push(`call ${str(e['callId'])}`);
  parts.push(`[${tags.join(', ')}]`);
  if (e['error'] !== undefined) parts.push(`error: ${str(e['error'])}`);
  return escapeControls(parts.join('  '));
}
