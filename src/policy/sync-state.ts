// sync-state.json beside the policy: when each vendor account (or Zoom role) was last fetched
// successfully, and which ones are stale (their rules kept from an earlier run after a failed fetch).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyError } from '../errors.js';
import { openPolicies } from './recover.js';
import { writeFileAtomic } from './store.js';

export const SYNC_STATE_FILE = 'sync-state.json';

export interface StaleHolder {
  readonly vendor: string;
  /** Vendor user id, or `role:<roleId>` for a Zoom role. */
  readonly holder: string;
  /** ISO time of the last successful fetch, or null when it never succeeded. */
  readonly lastSuccess: string | null;
  readonly error: string;
}

export interface SyncState {
  readonly updatedAt: string;
  /** `<vendor>:<holder>` → ISO time of the last successful fetch. */
  readonly lastSuccess: Readonly<Record<string, string>>;
  readonly stale: readonly StaleHolder[];
}

export const holderKey = (vendor: string, holder: string) => `${vendor}:${holder}`;

/**
 * Reads sync-state.json and checks its whole shape once; absent means no sync ran (nothing stale).
 * Fields other than those of SyncState are left out.
 *
 * @throws PolicyError naming the file (and the field, e.g. `"stale[0].vendor"`) when it cannot be
 * read, is not JSON, or is not shaped as writeSyncState writes it.
 */
export async function readSyncState(dir: string): Promise<SyncState | undefined> {
  // Through openPolicies, like the policy and its provenance: after a crash (or while a writer
  // commits) the state read is the one of the same commit.
  let file = join(dir, SYNC_STATE_FILE);
  let text: string | undefined;
  for (const path of (await openPolicies(dir)).paths(SYNC_STATE_FILE)) {
    try {
      text = await readFile(path, 'utf8');
      file = path;
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') continue;
      throw new PolicyError('sync state cannot be read', { file: path }, { cause: err });
    }
  }
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new PolicyError('sync state is not JSON', { file }, { cause: err });
  }
  const problem = (field: string | undefined, expected: string): PolicyError =>
    new PolicyError(`sync state ${field === undefined ? '' : `"${field}" `}must be ${expected}`, { file });
  if (!isRecord(data)) throw problem(undefined, 'an object with updatedAt, lastSuccess and stale');
  const updatedAt = data['updatedAt'];
  if (!isTime(updatedAt)) throw problem('updatedAt', 'an ISO-8601 time');
  const times = data['lastSuccess'];
  if (!isRecord(times)) throw problem('lastSuccess', 'an object of "<vendor>:<holder>" → ISO-8601 time');
  const lastSuccess: Record<string, string> = {};
  for (const [key, at] of Object.entries(times)) {
    if (!isTime(at)) throw problem(`lastSuccess[${JSON.stringify(key)}]`, 'an ISO-8601 time');
    // defineProperty: a "__proto__" key stays a plain entry.
    Object.defineProperty(lastSuccess, key, {
      value: at,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const list = data['stale'];
  if (!Array.isArray(list)) throw problem('stale', 'an array');
  const stale = list.map((h: unknown, i): StaleHolder => {
    const at = `stale[${i}]`;
    if (!isRecord(h)) throw problem(at, 'an object with vendor, holder, lastSuccess and error');
    const { vendor, holder, lastSuccess: last, error } = h;
    if (typeof vendor !== 'string' || vendor === '') throw problem(`${at}.vendor`, 'a non-empty string');
    if (typeof holder !== 'string' || holder === '') throw problem(`${at}.holder`, 'a non-empty string');
    if (last !== null && !isTime(last)) throw problem(`${at}.lastSuccess`, 'an ISO-8601 time or null');
    if (typeof error !== 'string') throw problem(`${at}.error`, 'a string');
    return { vendor, holder, lastSuccess: last, error };
  });
  return { updatedAt, lastSuccess, stale };
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** An ISO-8601 date-time with a zone, as toISOString writes it (other precisions and offsets accepted). */
function isTime(x: unknown): x is string {
  return (
    typeof x === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/.test(x) &&
    Number.isFinite(Date.parse(x))
  );
}

export async function writeSyncState(dir: string, state: SyncState): Promise<void> {
  await writeFileAtomic(join(dir, SYNC_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
