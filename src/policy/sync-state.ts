// sync-state.json beside the policy: when each vendor account (or Zoom role) was last fetched
// successfully, and which ones are stale (their rules kept from an earlier run after a failed fetch).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyError } from '../errors.js';
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

/** Reads sync-state.json; absent means no sync ran (nothing stale). */
export async function readSyncState(dir: string): Promise<SyncState | undefined> {
  const file = join(dir, SYNC_STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const s = JSON.parse(text) as SyncState;
    if (typeof s !== 'object' || s === null || !Array.isArray(s.stale) || typeof s.lastSuccess !== 'object')
      throw new Error('unexpected shape');
    return s;
  } catch (err) {
    throw new PolicyError('sync state is not readable JSON', { file }, { cause: err });
  }
}

export async function writeSyncState(dir: string, state: SyncState): Promise<void> {
  await writeFileAtomic(join(dir, SYNC_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}
