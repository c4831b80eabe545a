import { randomUUID } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { ConfigError } from '../../errors.js';
import type { SyncState } from '../../policy/sync-state.js';
import type { Policy } from '../../policy/types.js';
import { checkChange } from '../check.js';
import type { ChangeSource, ChangesSince, CommitResult, StoreChange, StoreSnapshot } from '../types.js';
import { openDb } from './connection.js';
import { acquireLock, type LockOptions, type ReleaseLock } from './lock.js';
import {
  BEGIN_SNAPSHOT,
  inSnapshot,
  type PolicyFilter,
  type RowVisitor,
  readChangesSince,
  readPolicy,
  readSnapshot,
  readState,
  readVersion,
  scanSnapshot,
} from './read.js';
import { migrate, SCHEMA_VERSION, tablesIn } from './schema.js';
import { pruneLog, writeChange } from './write.js';

interface StoreSettings {
  /** Schema holding the tables (created by migrate()). Default: "rbac". */
  readonly schema?: string;
  /** Change-log versions kept for followers to catch up from; older ones are pruned on each commit. Default: 1000. */
  readonly changeLogRetention?: number;
  /** Channel to NOTIFY inside every commit, for createPgNotifyTransport followers. Default: none. */
  readonly notifyChannel?: string;
  /** Rows per INSERT/DELETE statement in a commit. Default: 10000. */
  readonly batchSize?: number;
  /** Rows per FETCH when a snapshot is scanned (what a sync holds of the stored policy at once). Default: 5000. */
  readonly scanBatch?: number;
}

/**
 * One read snapshot kept open (a REPEATABLE READ transaction on a connection of its own): its
 * version and sync state now, its rows streamed by scan(). close() ends it; until then it holds a
 * pooled connection.
 */
export interface OpenSnapshot {
  readonly version: number;
  /** undefined when no sync has stored a state yet. */
  readonly state: SyncState | undefined;
  /**
   * Streams the rules, then the links, then their provenance, through a server-side cursor
   * (`scanBatch` rows per FETCH). Once per snapshot.
   */
  scan(visit: RowVisitor): Promise<void>;
  /** Ends the snapshot and returns its connection. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Where the database is: `url` (the store creates and closes its own small pool) or `pool` (yours;
 * close() leaves it open). Plus the settings.
 */
export type PostgresStoreOptions =
  | ({ readonly url: string; readonly pool?: undefined } & StoreSettings)
  | ({ readonly pool: Pool; readonly url?: undefined } & StoreSettings);

export interface PostgresStore extends ChangeSource {
  readonly schema: string;
  /**
   * This store instance's id, carried by the messages of its commits. A follower given it as its
   * `origin` leaves those messages to committed() instead of reading the store for them.
   */
  readonly origin: string;
  /** Creates or upgrades the tables; idempotent and safe to run from several instances at once. */
  migrate(): Promise<{ readonly applied: readonly number[]; readonly schemaVersion: number }>;
  /** The whole policy, provenance, sync state and version, from one snapshot. */
  load(): Promise<StoreSnapshot>;
  /** The rules and links a filter selects, with the version they are at (casbin filtered loads). */
  loadPolicy(filter?: PolicyFilter): Promise<{ readonly policy: Policy; readonly version: number }>;
  /** The current version (0 before the first commit). */
  version(): Promise<number>;
  /**
   * Opens a snapshot to stream (a sync's merge): the state and version at once, the rows when
   * scanned, never the whole policy in memory. Close it when done.
   */
  snapshot(): Promise<OpenSnapshot>;
  /**
   * Applies a whole change in one transaction as the next version, with its change-log entry.
   * With `baseVersion`, refuses (StoreError `conflict`) unless the store is still at that version.
   * With `lock` (what lock() returned), refuses (StoreError `locked`) unless that lock is still
   * held, checked in the same transaction.
   */
  commit(
    change: StoreChange,
    options?: { readonly baseVersion?: number; readonly lock?: ReleaseLock },
  ): Promise<CommitResult>;
  /** The deltas after `version` (at most `limit`, default 100), or `pruned` when a full load is needed. */
  changesSince(version: number, options?: { readonly limit?: number }): Promise<ChangesSince>;
  /** Deletes change-log entries beyond the retention; returns how many. */
  prune(): Promise<number>;
  /** Takes the writers' lock for a whole sync; StoreError `locked` when another session holds it. */
  lock(options?: LockOptions): Promise<ReleaseLock>;
  /** Ends the store's own pool (a given pool stays open). */
  close(): Promise<void>;
}

/**
 * A policy store on PostgreSQL (node-postgres): rules with explicit columns (open bounds NULL),
 * links, provenance, sync state, a version and a change log, all written per commit in one
 * transaction.
 *
 * @throws ConfigError when an option is invalid (no connection is made until the first call).
 * Calls reject with StoreError (see its `failure`) and never leak the URL or password.
 * @example
 * const store = createPostgresStore({ url: process.env.DATABASE_URL!, schema: 'rbac' });
 * await store.migrate();
 * const { version } = await store.commit({ addRules: [rule] });
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresStore {
  if (typeof options !== 'object' || options === null) throw new ConfigError('options', 'must be an object');
  const tables = tablesIn(options.schema ?? 'rbac');
  const retention = options.changeLogRetention ?? 1000;
  if (!Number.isSafeInteger(retention) || retention < 1)
    throw new ConfigError('changeLogRetention', `must be a positive integer, got ${String(retention)}`);
  const batchSize = options.batchSize ?? 10_000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000)
    throw new ConfigError('batchSize', `must be an integer from 1 to 100000, got ${String(batchSize)}`);
  const scanBatch = options.scanBatch ?? 5000;
  if (!Number.isSafeInteger(scanBatch) || scanBatch < 1 || scanBatch > 100_000)
    throw new ConfigError('scanBatch', `must be an integer from 1 to 100000, got ${String(scanBatch)}`);
  const notifyChannel = options.notifyChannel;
  if (
    notifyChannel !== undefined &&
    (typeof notifyChannel !== 'string' || notifyChannel === '' || Buffer.byteLength(notifyChannel) > 63)
  )
    throw new ConfigError('notifyChannel', 'must be a channel name of 1 to 63 bytes');
  const db = openDb(options, 'rbac-normalizer');
  const origin = randomUUID();
  const settings = { tables, batchSize, retention, notifyChannel, origin };

  /** Runs fn on a pooled connection; a connection that failed mid-way is discarded, not reused. */
  async function withClient<T>(operation: string, fn: (c: ClientBase) => Promise<T>): Promise<T> {
    const lease = await db.connect(operation);
    let broken = false;
    try {
      return await fn(lease.client);
    } catch (err) {
      const e = db.fail(err, operation);
      broken = e.failure !== 'conflict' && e.failure !== 'invalid' && e.failure !== 'locked';
      throw e;
    } finally {
      await lease.done(broken);
    }
  }

  return {
    schema: tables.schema,
    origin,
    migrate: () =>
      withClient('migrate', async (c) => ({
        applied: await migrate(c, tables),
        schemaVersion: SCHEMA_VERSION,
      })),
    load: () => withClient('load', (c) => readSnapshot(c, tables)),
    loadPolicy: (filter) =>
      withClient('load', (c) =>
        inSnapshot(c, async () => ({
          version: await readVersion(c, tables),
          policy: await readPolicy(c, tables, filter),
        })),
      ),
    version: () => withClient('version', (c) => readVersion(c, tables)),
    async snapshot() {
      const lease = await db.connect('snapshot');
      let open = false;
      /** Ends the transaction (a connection that cannot even roll back is discarded). */
      const end = async () => {
        let broken = false;
        if (open) await lease.client.query('ROLLBACK').catch(() => (broken = true));
        open = false;
        await lease.done(broken);
      };
      try {
        await lease.client.query(BEGIN_SNAPSHOT);
        open = true;
        const version = await readVersion(lease.client, tables);
        const state = await readState(lease.client, tables);
        let scanned = false;
        return {
          version,
          state,
          async scan(visit) {
            if (scanned || !open) throw new Error('a snapshot is scanned once, before close()');
            scanned = true;
            let visitorFailed = false;
            const mark = (err: unknown) => {
              visitorFailed = true;
              throw err;
            };
            try {
              await scanSnapshot(
                lease.client,
                tables,
                {
                  entry: (e) => visit.entry(e).catch(mark),
                  provenance: (k, from) => visit.provenance(k, from).catch(mark),
                },
                scanBatch,
              );
            } catch (err) {
              await end();
              throw visitorFailed ? err : db.fail(err, 'scan');
            }
          },
          close: end,
        };
      } catch (err) {
        if (open) await end();
        else await lease.done(true); // BEGIN itself failed
        throw db.fail(err, 'snapshot');
      }
    },
    async commit(change, opts = {}) {
      checkChange(change, 'commit');
      const base = opts.baseVersion;
      if (base !== undefined && (!Number.isSafeInteger(base) || base < 0))
        throw new ConfigError('baseVersion', `must be a version number, got ${String(base)}`);
      const lockPid = opts.lock?.pid;
      if (opts.lock !== undefined && !(Number.isSafeInteger(lockPid) && (lockPid ?? 0) > 0))
        throw new ConfigError('lock', 'must be what lock() returned');
      return withClient('commit', (c) => writeChange(c, settings, change, { baseVersion: base, lockPid }));
    },
    async changesSince(version, opts = {}) {
      const limit = opts.limit ?? 100;
      if (!Number.isSafeInteger(version) || version < 0)
        throw new ConfigError('version', `must be a version number, got ${String(version)}`);
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new ConfigError('limit', `must be a positive integer, got ${String(limit)}`);
      return withClient('changesSince', (c) => readChangesSince(c, tables, version, limit));
    },
    prune: () => withClient('prune', (c) => pruneLog(c, tables, retention)),
    lock: (lockOptions) => acquireLock(db, tables, lockOptions),
    close: () => db.end(),
  };
}
