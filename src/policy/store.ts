import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PolicyError } from '../errors.js';
import type { Provenance } from '../grants.js';
import { beginCommit, type PolicyCommit, recoverFolder } from './commit.js';
import { type PolicyEntry, parseCsv, parsePolicyCsv, policyCsvLines, policyEntry } from './csv.js';
import { createChunkedWriter, renameFile, syncDir } from './durable.js';
import { lockPolicies } from './lock.js';
import { MODEL_TEXT } from './model.js';
import { openPolicies } from './recover.js';
import { formatBound } from './time.js';
import { linkKey, type Policy, type PolicyRule, type RoleLink, ruleKey } from './types.js';

/** File names inside a policies folder. */
export const POLICY_FILE = 'policy.csv';
export const PROVENANCE_FILE = 'provenance.jsonl';
export const MODEL_FILE = 'model.conf';

export { createChunkedWriter };

/** Provenance per rule and link, keyed by ruleKey()/linkKey(). */
export type ProvenanceIndex = ReadonlyMap<string, readonly Provenance[]>;

/**
 * Writes `data` to `path` so that readers see either the old file or the new one, never a part:
 * a temporary file in the same folder is written, flushed to disk, then renamed over the target.
 * `data` may be a sequence of pieces (written in chunks, never joined into one string).
 */
export async function writeFileAtomic(path: string, data: string | Iterable<string>): Promise<void> {
  const out = await createAtomicWriter(path);
  try {
    if (typeof data === 'string') await out.write(data);
    else for (const piece of data) await out.write(piece);
  } catch (err) {
    await out.abort();
    throw err;
  }
  await out.commit();
}

/** A file written piece by piece that replaces its target only on commit (see writeFileAtomic). */
export interface AtomicWriter {
  /** Appends a piece (buffered; written when the buffer fills). */
  write(piece: string): Promise<void>;
  /** Flushes to disk and renames over the target. */
  commit(): Promise<void>;
  /** Removes the temporary file; the target is untouched. */
  abort(): Promise<void>;
}

export async function createAtomicWriter(path: string): Promise<AtomicWriter> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  const out = createChunkedWriter(fh);
  let closed = false;
  const abort = async () => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
  };
  return {
    write: out.write,
    async commit() {
      try {
        await out.flush();
        await fh.sync();
        closed = true;
        await fh.close();
        await renameFile(tmp, path);
        await syncDir(dirname(path));
      } catch (err) {
        closed = false;
        await abort();
        throw err;
      }
    },
    abort,
  };
}

/**
 * Reads `policy.csv` from a policies folder (finishing first a commit a crash interrupted, see
 * openPolicies).
 */
export async function readPolicy(dir: string): Promise<Policy> {
  const file = join(dir, POLICY_FILE);
  const view = await openPolicies(dir);
  let text: string;
  try {
    text = await readFirst(view.paths(POLICY_FILE));
  } catch (err) {
    throw new PolicyError(
      `cannot read the compiled policy (run "rbac-normalizer compile" first)`,
      { file },
      { cause: err },
    );
  }
  return parsePolicyCsv(text, file);
}

/** Reads `provenance.jsonl` if present; an absent file gives an empty index. */
export async function readProvenance(dir: string): Promise<ProvenanceIndex> {
  const out = new Map<string, Provenance[]>();
  await scanProvenance(dir, (k, from) => {
    out.set(k, from);
  });
  return out;
}

/**
 * Reads `provenance.jsonl` line by line, handing each rule's or link's provenance to `visit`
 * (awaited), so a caller can keep only what it needs. An absent file has no lines.
 *
 * @throws PolicyError naming file and line for a line that is not `{ "k": string, "from": [...] }`,
 * or when the file exists but cannot be read.
 */
export async function scanProvenance(
  dir: string,
  visit: (key: string, from: Provenance[]) => void | Promise<void>,
): Promise<void> {
  const file = join(dir, PROVENANCE_FILE);
  const rows = await readLines(
    file,
    'cannot read provenance',
    (await openPolicies(dir)).paths(PROVENANCE_FILE),
  );
  if (!rows) return;
  let line = 0;
  for await (const row of rows) {
    line++;
    if (row.trim() === '') continue;
    let rec: { k?: unknown; from?: unknown };
    try {
      rec = JSON.parse(row);
    } catch (err) {
      throw new PolicyError('provenance line is not JSON', { file, line }, { cause: err });
    }
    if (typeof rec.k !== 'string' || !Array.isArray(rec.from)) {
      throw new PolicyError('provenance line needs "k" (string) and "from" (array)', { file, line });
    }
    await visit(rec.k, rec.from as Provenance[]);
  }
}

/**
 * Reads `policy.csv` record by record, handing each rule or link to `visit` (awaited), without
 * holding the file. Returns false when there is no policy yet (an absent file).
 *
 * @throws PolicyError, as readPolicy, naming file and line of a bad row or when the file exists
 * but cannot be read.
 */
export async function scanPolicy(
  dir: string,
  visit: (entry: PolicyEntry) => void | Promise<void>,
): Promise<boolean> {
  const file = join(dir, POLICY_FILE);
  const rows = await readLines(
    file,
    'cannot read the compiled policy',
    (await openPolicies(dir)).paths(POLICY_FILE),
  );
  if (!rows) return false;
  // A quoted field may hold line breaks: a record ends on a line where the quotes balance.
  let record = '';
  let first = 0;
  let quotes = 0;
  let line = 0;
  const flush = async () => {
    for (const r of parseCsv(record, file, first)) await visit(policyEntry(r.fields, file, r.line));
    record = '';
    quotes = 0;
  };
  for await (const row of rows) {
    line++;
    if (record === '' && quotes === 0) first = line;
    else record += '\n';
    record += row;
    for (let i = row.indexOf('"'); i !== -1; i = row.indexOf('"', i + 1)) quotes++;
    if (quotes % 2 === 0) await flush();
  }
  if (record !== '' || quotes > 0) await flush(); // an unterminated quote: parseCsv names its line
  return true;
}

/**
 * The lines of a text file (split on LF only, so a CR inside a quoted field survives), or
 * undefined when the file does not exist. `from`: paths to try in turn for it (the first that
 * exists is read); default the file itself.
 *
 * @throws PolicyError (`what`, naming `file`) when it exists but cannot be opened.
 */
export async function readLines(
  file: string,
  what: string,
  from: readonly string[] = [file],
): Promise<AsyncIterable<string> | undefined> {
  for (const path of from) {
    const input = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
    const opened = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      input.once('ready', () => resolve(undefined));
      input.once('error', (err) => resolve(err));
    });
    if (opened?.code === 'ENOENT') continue;
    if (opened) throw new PolicyError(what, { file }, { cause: opened });
    return splitLines(input);
  }
  return undefined;
}

/** The text of the first of `paths` that exists (the last one's error when none does). */
async function readFirst(paths: readonly string[]): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return await readFile(paths[i] as string, 'utf8');
    } catch (err) {
      if (i >= paths.length - 1 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of chunks) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      yield text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') yield rest;
}

/**
 * Writes a compiled policy (and its provenance) into a folder as one unit (see commit.ts), with
 * `model.conf` when the folder has none, holding the folder's lock: a crash leaves the previous
 * files or the new ones, never a mix. Without `provenance`, provenance.jsonl is left as it is.
 *
 * @throws PolicyLockError when another process holds the lock (calls in this process wait).
 */
export async function writePolicy(dir: string, policy: Policy, provenance?: ProvenanceIndex): Promise<void> {
  const lock = await lockPolicies(dir, 'compile');
  try {
    await recoverFolder(dir);
    const commit = beginCommit(dir, { lock });
    try {
      await stageModel(commit);
      if (provenance) await commit.put(PROVENANCE_FILE, provenanceLines(policy, provenance));
      await commit.put(POLICY_FILE, policyCsvLines(policy));
      await commit.commit();
    } catch (err) {
      await commit.abort();
      throw err;
    }
  } finally {
    await lock.release();
  }
}

/** Adds `model.conf` to a commit when its folder has none. */
export async function stageModel(commit: PolicyCommit): Promise<void> {
  const hasModel = await access(join(commit.dir, MODEL_FILE)).then(
    () => true,
    () => false,
  );
  if (!hasModel) await commit.put(MODEL_FILE, MODEL_TEXT);
}

/** One JSON line per rule and link that has provenance, in the policy's order (stable output). */
function* provenanceLines(policy: Policy, provenance: ProvenanceIndex): Iterable<string> {
  const line = (k: string) => provenanceLine(k, provenance.get(k));
  for (const r of policy.rules) yield line(ruleKey(r));
  for (const l of policy.links) yield line(linkKey(l));
}

/** A rule's or link's line of provenance.jsonl ('' when it has none). */
export function provenanceLine(key: string, from: readonly Provenance[] | undefined): string {
  return from?.length ? `${JSON.stringify({ k: key, from })}\n` : '';
}

/** A rule as Casbin sees it: `[sub, obj, act, eft, from, until]`. */
export function ruleToCasbin(r: PolicyRule): string[] {
  return [r.sub, r.obj, r.act, r.eft, formatBound(r.from), formatBound(r.until)];
}

export function linkToCasbin(l: RoleLink): string[] {
  return [l.member, l.role];
}
