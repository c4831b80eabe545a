// The PostgreSQL store behind the PolicyStore seam, so sync, compile and the authorizer use it the
// way they use the file store: one sync's whole change is one transaction with its version and
// change-log entry, under the writers' advisory lock; after the commit the change is published.
// The commit's transaction checks that the lock is still held and that the store is still at the
// version the run read (its readState, or compile's load): a run whose lock went, or that another
// writer (a casbin adapter, an admin's commit) overtook, writes nothing and fails; run it again.

import { isStoreError, PolicyLockError, StoreError } from '../../errors.js';
import type { Provenance } from '../../grants.js';
import type { StoreChange as PipelineChange, PolicyStore } from '../../policy/policy-store.js';
import type { SyncState } from '../../policy/sync-state.js';
import { linkKey, type PolicyRule, type RoleLink, ruleKey } from '../../policy/types.js';
import type { CommitResult } from '../types.js';
import type { ReleaseLock } from './lock.js';
import type { OpenSnapshot, PostgresStore } from './store.js';

export interface PostgresPolicyStoreOptions {
  readonly store: PostgresStore;
  /** Called after each commit (e.g. a follower's `committed`, a Redis publish). Its failure is reported, not thrown. */
  readonly onCommit?: (result: CommitResult) => Promise<void> | void;
  /**
   * Receives an onCommit failure (other instances then catch up at their next poll), and the loss
   * of the writers' lock during a run (its commit is then refused).
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A PolicyStore over a PostgresStore (createPostgresStore). */
export function postgresPolicyStore(options: PostgresPolicyStoreOptions): PolicyStore & {
  readonly postgres: PostgresStore;
} {
  const pg = options.store;
  const location = `postgres (schema ${pg.schema})`;
  const lockName = `${location} advisory lock`;
  // A sync reads the state, then scans, under the lock: one snapshot serves both (the state is read
  // at once, the rows are streamed through a cursor by the scan), and it is closed by the scan or
  // at the latest by the release.
  let held: OpenSnapshot | undefined;
  let locked = false;
  /** The version the lock holder read the store at (its first read under the lock). */
  let base: number | undefined;
  const dropHeld = async () => {
    const s = held;
    held = undefined;
    await s?.close();
  };
  return {
    postgres: pg,
    location,
    load: () => named(pg.load()),
    async readState() {
      const snapshot = await named(pg.snapshot());
      // Only the first read under a lock is the writer's: its snapshot is kept for its scan. Any
      // other read (a health probe, the metrics, the writer reading again) closes its own, so it
      // never replaces the snapshot the writer's run is computed from.
      if (!locked || held !== undefined || base !== undefined) {
        await snapshot.close(); // nothing is kept outside a writer's lock
        return snapshot.state;
      }
      held = snapshot; // the writer's next scan streams from it
      base = snapshot.version;
      return snapshot.state;
    },
    async scan(visit) {
      const snapshot = held ?? (await named(pg.snapshot()));
      held = undefined;
      if (locked) base ??= snapshot.version;
      try {
        await named(snapshot.scan(visit));
      } finally {
        await snapshot.close();
      }
    },
    async lock() {
      let release: ReleaseLock;
      let lost: StoreError | undefined;
      try {
        release = await pg.lock({
          onLost(e) {
            lost = e;
            options.onError?.(renamed(e));
          },
        });
      } catch (err) {
        if (isStoreError(err) && err.failure === 'locked')
          throw new PolicyLockError(lockName, undefined, {
            cause: err,
            message: `another sync or compile holds the writers' lock of ${location}: nothing was changed. Run again once it has finished (the lock is freed when its session ends)`,
          });
        throw renamed(err);
      }
      locked = true;
      base = undefined;
      const lock = release;
      return {
        // A writer whose lock went (its connection closed: a server restart, a network cut) may
        // no longer be the only one: its commit is refused, as the file store's is.
        begin: () =>
          change(lock, () => {
            if (lost)
              throw new PolicyLockError(lockName, undefined, {
                cause: lost,
                message: `the writers' lock of ${location} was lost during this run (its connection closed): nothing was changed. Run again`,
              });
          }),
        async release() {
          locked = false;
          base = undefined;
          try {
            await dropHeld();
          } finally {
            await release();
          }
        },
      };
    },
  };

  /**
   * The same StoreError with the store named in its message: what a sync or compile reports (the
   * CLI prints it) then says which store failed, not only "load: connect ECONNREFUSED".
   */
  function renamed(err: unknown): unknown {
    if (!isStoreError(err)) return err;
    const detail = err.message.startsWith(`${err.operation}: `)
      ? err.message.slice(err.operation.length + 2)
      : err.message;
    return new StoreError(
      {
        failure: err.failure,
        operation: err.operation,
        message: `the policy store ${location}: ${detail}`,
        pgCode: err.pgCode,
        expectedVersion: err.expectedVersion,
        actualVersion: err.actualVersion,
      },
      { cause: err },
    );
  }
  /** A commit the store refused, said the way a sync or compile reports it. */
  function refused(err: unknown, baseVersion: number | undefined): unknown {
    if (isStoreError(err) && err.failure === 'locked')
      return new PolicyLockError(lockName, undefined, {
        cause: err,
        message: `the writers' lock of ${location} was lost during this run (its session ended): nothing was changed. Run again`,
      });
    if (isStoreError(err) && err.failure === 'conflict' && err.actualVersion !== undefined)
      return new StoreError(
        {
          failure: 'conflict',
          operation: 'commit',
          message: `the policy store ${location} is at version ${err.actualVersion}, not the version ${baseVersion} this run read: another writer (e.g. the casbin adapter) committed meanwhile, so nothing was changed. Run again`,
          expectedVersion: err.expectedVersion,
          actualVersion: err.actualVersion,
        },
        { cause: err },
      );
    return renamed(err);
  }
  function named<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => Promise.reject(renamed(err)));
  }

  function change(lock: ReleaseLock, checkLock: () => void): PipelineChange {
    const addRules: PolicyRule[] = [];
    const removeRules: PolicyRule[] = [];
    const addLinks: RoleLink[] = [];
    const removeLinks: RoleLink[] = [];
    const provenance = new Map<string, readonly Provenance[]>();
    const put = new Set<string>();
    let state: SyncState | undefined;
    let replacing = false;
    let done = false;
    return {
      replacing() {
        replacing = true;
      },
      async put(entry, from, kind, provenanceChanged = true) {
        const key = 'rule' in entry ? ruleKey(entry.rule) : linkKey(entry.link);
        if (kind === 'removed') {
          if ('rule' in entry) removeRules.push(entry.rule);
          else removeLinks.push(entry.link);
          return;
        }
        if (replacing) put.add(key);
        if (kind === 'added') {
          if ('rule' in entry) addRules.push(entry.rule);
          else addLinks.push(entry.link);
        }
        if (kind === 'added' || provenanceChanged) provenance.set(key, from);
      },
      async state(s) {
        state = s;
      },
      async commit() {
        if (done) throw new Error('this change was already committed or aborted');
        done = true;
        let baseVersion = base;
        if (replacing) {
          // The whole policy was put: what is stored and was not put goes; what was put and is
          // stored already is not added twice.
          const loaded = await named(pg.load());
          baseVersion ??= loaded.version;
          const current = loaded.policy;
          const stored = new Set<string>();
          for (const r of current.rules) {
            stored.add(ruleKey(r));
            if (!put.has(ruleKey(r))) removeRules.push(r);
          }
          for (const l of current.links) {
            stored.add(linkKey(l));
            if (!put.has(linkKey(l))) removeLinks.push(l);
          }
          const fresh = (x: string) => !stored.has(x);
          addRules.splice(0, addRules.length, ...addRules.filter((r) => fresh(ruleKey(r))));
          addLinks.splice(0, addLinks.length, ...addLinks.filter((l) => fresh(linkKey(l))));
        }
        // Heard already: refused at once. Not heard (yet): the commit's transaction checks the
        // lock itself, and the version this run read.
        checkLock();
        const result = await pg
          .commit(
            {
              addRules,
              removeRules,
              addLinks,
              removeLinks,
              provenance,
              ...(state ? { state } : {}),
            },
            { lock, ...(baseVersion !== undefined ? { baseVersion } : {}) },
          )
          .catch((err: unknown) => Promise.reject(refused(err, baseVersion)));
        try {
          await options.onCommit?.(result);
        } catch (err) {
          options.onError?.(err);
        }
        return { version: result.version };
      },
      async abort() {
        done = true;
      },
    };
  }
}
