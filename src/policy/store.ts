import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { PolicyError } from '../errors.js';
import type { Provenance } from '../grants.js';
import { parsePolicyCsv, policyCsvLines } from './csv.js';
import { MODEL_TEXT } from './model.js';
import { formatBound } from './time.js';
import { linkKey, type Policy, type PolicyRule, type RoleLink, ruleKey } from './types.js';

/** File names inside a policies folder. */
export const POLICY_FILE = 'policy.csv';
export const PROVENANCE_FILE = 'provenance.jsonl';
export const MODEL_FILE = 'model.conf';

/** Provenance per rule and link, keyed by ruleKey()/linkKey(). */
export type ProvenanceIndex = ReadonlyMap<string, readonly Provenance[]>;

/**
 * Writes `data` to `path` so that readers see either the old file or the new one, never a part:
 * a temporary file in the same folder is written, flushed to disk, then renamed over the target.
 * `data` may be a sequence of pieces (written in chunks, never joined into one string).
 */
export async function writeFileAtomic(path: string, data: string | Iterable<string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    if (typeof data === 'string') await fh.writeFile(data, 'utf8');
    else {
      // Pieces are encoded into one reused buffer and written when it fills.
      const buf = Buffer.allocUnsafe(1 << 20);
      let used = 0;
      for (const piece of data) {
        const size = Buffer.byteLength(piece);
        if (used + size > buf.length) {
          await fh.write(buf, 0, used);
          used = 0;
        }
        if (size > buf.length) await fh.write(piece, null, 'utf8');
        else used += buf.write(piece, used);
      }
      if (used > 0) await fh.write(buf, 0, used);
    }
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** Reads `policy.csv` from a policies folder. */
export async function readPolicy(dir: string): Promise<Policy> {
  const file = join(dir, POLICY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
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
  await scanProvenance(dir, (k, from) => out.set(k, from));
  return out;
}

/**
 * Reads `provenance.jsonl` line by line, handing each rule's or link's provenance to `visit`, so a
 * caller can keep only what it needs (a sync keeps the few entries that must stay). An absent
 * file has no lines.
 *
 * @throws PolicyError naming file and line for a line that is not `{ "k": string, "from": [...] }`,
 * or when the file exists but cannot be read.
 */
export async function scanProvenance(
  dir: string,
  visit: (key: string, from: Provenance[]) => void,
): Promise<void> {
  const file = join(dir, PROVENANCE_FILE);
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    input.once('ready', () => resolve(undefined));
    input.once('error', (err) => resolve(err));
  });
  if (opened?.code === 'ENOENT') return;
  if (opened) throw new PolicyError('cannot read provenance', { file }, { cause: opened });
  let line = 0;
  for await (const row of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
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
    visit(rec.k, rec.from as Provenance[]);
  }
}

/**
 * Writes a compiled policy (and its provenance) into a folder: provenance first, then the policy,
 * each atomically, and `model.conf` when the folder has none. A crash leaves the previous policy.
 */
export async function writePolicy(dir: string, policy: Policy, provenance?: ProvenanceIndex): Promise<void> {
  await mkdir(dir, { recursive: true });
  const model = join(dir, MODEL_FILE);
  const hasModel = await access(model).then(
    () => true,
    () => false,
  );
  if (!hasModel) await writeFileAtomic(model, MODEL_TEXT);
  if (provenance) await writeFileAtomic(join(dir, PROVENANCE_FILE), provenanceLines(policy, provenance));
  await writeFileAtomic(join(dir, POLICY_FILE), policyCsvLines(policy));
}

/** One JSON line per rule and link that has provenance, in the policy's order (stable output). */
function* provenanceLines(policy: Policy, provenance: ProvenanceIndex): Iterable<string> {
  const line = (k: string) => {
    const from = provenance.get(k);
    return from?.length ? `${JSON.stringify({ k, from })}\n` : '';
  };
  for (const r of policy.rules) yield line(ruleKey(r));
  for (const l of policy.links) yield line(linkKey(l));
}

/** A rule as Casbin sees it: `[sub, obj, act, eft, from, until]`. */
export function ruleToCasbin(r: PolicyRule): string[] {
  return [r.sub, r.obj, r.act, r.eft, formatBound(r.from), formatBound(r.until)];
}

export function linkToCasbin(l: RoleLink): string[] {
  return [l.member, l.role];
}
