// The seam between the pipeline (sync, compile, the authorizer) and where the policy is kept. Sync,
// compile and the authorizer talk to a PolicyStore and never to file names: the file store below
// (a policies folder, the default) and the PostgreSQL store (src/store/postgres) implement it.
//
//   read the current policy and state → take the writers' lock → begin a change → put every rule
//   and link of the new policy (and every removed one) in policy order, then the new sync state →
//   commit atomically under the lock (or abort) → release the lock.
import type { Provenance } from '../grants.js';
import { beginCommit, recoverFolder } from './commit.js';
import type { PolicyEntry } from './csv.js';
import { policyCsvHeader, policyCsvLine } from './csv.js';
import { type LockPurpose, lockPolicies } from './lock.js';
import {
  POLICY_FILE,
  PROVENANCE_FILE,
  type ProvenanceIndex,
  provenanceLine,
  readPolicy,
  readProvenance,
  scanPolicy,
  scanProvenance,
  stageModel,
} from './store.js';
import { readSyncState, SYNC_STATE_FILE, type SyncState } from './sync-state.js';
import { linkKey, type Policy, ruleKey } from './types.js';

/** The policy as stored, with what explains it and the last sync's state. */
export interface StoredPolicy {
  readonly policy: Policy;
  readonly provenance: ProvenanceIndex;
  readonly state: SyncState | undefined;
  /** The store's version of this policy (PostgreSQL: the change feed's; the file store has none). */
  readonly version?: number;
}

/** What a sync merges with: every current rule and link row, and every provenance line. */
export interface StoreScan {
  entry(entry: PolicyEntry): Promise<void>;
  provenance(key: string, from: readonly Provenance[]): Promise<void>;
}

/** What happens to one rule or link in a change. */
export type EntryChange = 'same' | 'added' | 'removed';

/** One change of the whole policy, committed as a unit. */
export interface StoreChange {
  /**
   * Says that the puts which follow are the whole new policy: whatever is stored and not put is
   * removed (compile). Without it, only what is put as `removed` goes (sync, which knows).
   */
  replacing(): void;
  /**
   * One rule or link of the new policy, or one removed, in policy order (rules, then links).
   * `provenanceChanged` (default true) says whether `from` differs from what is stored, so a store
   * that keeps rows (PostgreSQL) rewrites only what changed.
   */
  put(
    entry: PolicyEntry,
    from: readonly Provenance[],
    change: EntryChange,
    provenanceChanged?: boolean,
  ): Promise<void>;
  /** The sync state that goes with the new policy. */
  state(state: SyncState): Promise<void>;
  /**
   * Puts the whole change in place as one unit.
   *
   * @throws PolicyLockError when the writers' lock was lost (nothing changes then).
   */
  commit(): Promise<{ readonly version?: number }>;
  /** Drops the change; nothing stored changes. A no-op once committed. */
  abort(): Promise<void>;
}

/** The writers' lock, held for a whole run (a sync, a compile). */
export interface StoreWriter {
  /** Starts the change this writer may commit. */
  begin(): StoreChange;
  release(): Promise<void>;
}

export interface PolicyStore {
  /** Where the policy lives, for messages (a folder; a database, without credentials). */
  readonly location: string;
  /** The whole current policy (empty before the first write). @throws PolicyError when unreadable. */
  load(): Promise<StoredPolicy>;
  /** The last sync's state, if any. */
  readState(): Promise<SyncState | undefined>;
  /** Streams the current rows, then the provenance (a sync's merge never holds the policy whole). */
  scan(visit: StoreScan): Promise<void>;
  /**
   * Takes the writers' lock (after finishing what a crashed writer left). Waits for writers of
   * this process; `signal` cancels the wait.
   *
   * @throws PolicyLockError when another process holds it.
   */
  lock(purpose: LockPurpose, signal?: AbortSignal): Promise<StoreWriter>;
}

/** True for a PolicyStore (an object), false for a folder name. */
export const isPolicyStore = (x: unknown): x is PolicyStore =>
  typeof x === 'object' && x !== null && 'lock' in x && 'load' in x && 'scan' in x;

/**
 * The file store: a policies folder holding `policy.csv` (plain casbin reads it), `provenance.jsonl`,
 * `sync-state.json` and `model.conf`, changed as one unit by a commit journal (see commit.ts) under
 * the folder's lock (see lock.ts).
 */
export function createFileStore(dir: string): PolicyStore {
  return {
    location: dir,
    async load() {
      const [policy, provenance, state] = await Promise.all([
        readPolicy(dir),
        readProvenance(dir),
        readSyncState(dir),
      ]);
      return { policy, provenance, state };
    },
    readState: () => readSyncState(dir),
    async scan(visit) {
      await scanPolicy(dir, visit.entry);
      await scanProvenance(dir, visit.provenance);
    },
    async lock(purpose, signal) {
      const lock = await lockPolicies(dir, purpose, signal);
      try {
        await recoverFolder(dir);
      } catch (err) {
        await lock.release();
        throw err;
      }
      return {
        begin: () => fileChange(beginCommit(dir, { lock })),
        release: () => lock.release(),
      };
    },
  };
}

// The file store always writes whole files: every change replaces the policy it puts.
function fileChange(commit: ReturnType<typeof beginCommit>): StoreChange {
  let writers: Promise<readonly [{ write(p: string): Promise<void> }, { write(p: string): Promise<void> }]>;
  const files = () => {
    writers ??= (async () => {
      const provenance = await commit.stage(PROVENANCE_FILE);
      const policy = await commit.stage(POLICY_FILE);
      await policy.write(policyCsvHeader());
      return [provenance, policy] as const;
    })();
    return writers;
  };
  return {
    replacing() {},
    async put(entry, from, change) {
      const [provenance, policy] = await files();
      if (change === 'removed') return;
      await policy.write(policyCsvLine(entry));
      await provenance.write(
        provenanceLine('rule' in entry ? ruleKey(entry.rule) : linkKey(entry.link), from),
      );
    },
    async state(state) {
      await commit.put(SYNC_STATE_FILE, `${JSON.stringify(state, null, 2)}\n`);
    },
    async commit() {
      await files(); // an empty policy is still a policy (header only)
      await stageModel(commit);
      await commit.commit();
      return {};
    },
    abort: () => commit.abort(),
  };
}

/**
 * Replaces the whole stored policy (compile): locks, puts every rule and link, commits.
 *
 * @throws PolicyLockError when another writer holds the lock.
 */
export async function replacePolicy(
  store: PolicyStore,
  policy: Policy,
  provenance: ProvenanceIndex | undefined,
  options: { state?: SyncState; purpose?: LockPurpose } = {},
): Promise<{ readonly version?: number }> {
  const writer = await store.lock(options.purpose ?? 'compile');
  try {
    const change = writer.begin();
    try {
      change.replacing();
      for (const rule of policy.rules)
        await change.put({ rule }, provenance?.get(ruleKey(rule)) ?? [], 'added');
      for (const link of policy.links)
        await change.put({ link }, provenance?.get(linkKey(link)) ?? [], 'added');
      if (options.state) await change.state(options.state);
      return await change.commit();
    } catch (err) {
      await change.abort();
      throw err;
    }
  } finally {
    await writer.release();
  }
}
