// The writers' lock for a whole sync: a session-level advisory lock held on a connection of its
// own. If the holder crashes or its connection drops, PostgreSQL ends the session and the lock is
// free again, so no lock is ever left behind.
//
// Hearing that the lock's connection ended (onLost) can come too late: the session may die just
// before or during a commit. So a commit made under the lock checks it in its own transaction,
// after locking the version row: the lock's backend (its pid, recorded when the lock was taken)
// must still hold it in pg_locks, or nothing is written (lockHeld). With the commit's baseVersion
// (the version its writer read the store at), a writer whose lock went never commits beside or over
// the next holder: if its check passed, it holds the version row until it commits, and the next
// holder, which read the older version, has its own commit refused (conflict); if the check fails,
// it writes nothing. (A reused pid holding the lock again can only be the next holder's session;
// the baseVersion check still refuses whichever of the two read the older version.)
import type { ClientBase } from 'pg';
import { StoreError } from '../../errors.js';
import type { Db } from './connection.js';
import type { Tables } from './schema.js';

/** Advisory-lock class id for this library ('RBAC'); the object id is the schema's hash. */
const LOCK_CLASS = 0x52424143;
const lockKey = (t: Tables) => `rbac-normalizer:sync:${t.schema}`;

export interface LockOptions {
  /**
   * Called when the connection holding the lock closes before release (the lock is then free and
   * another writer may take it). A sync still running should stop: a commit under this lock is
   * refused from then on (checked in the commit's transaction). Default: none.
   */
  readonly onLost?: (error: StoreError) => void;
}

/**
 * Releases the lock (and its connection). Safe to call more than once. Given to `commit` as its
 * `lock`, it makes the commit check, in its transaction, that the lock is still held.
 */
export interface ReleaseLock {
  (): Promise<void>;
  /** The backend process id of the session holding the lock (`pg_backend_pid()` there). */
  readonly pid: number;
}

/** @throws StoreError (locked) when another session holds it; (unavailable) when it cannot connect. */
export async function acquireLock(db: Db, t: Tables, options: LockOptions = {}): Promise<ReleaseLock> {
  const lease = await db.dedicated('lock');
  const args = [LOCK_CLASS, lockKey(t)];
  let got: boolean;
  let pid: number;
  try {
    const res = await lease.client.query<{ ok: boolean; pid: number }>(
      'SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok, pg_backend_pid() AS pid',
      args,
    );
    got = res.rows[0]?.ok === true;
    pid = Number(res.rows[0]?.pid);
  } catch (err) {
    await lease.done(true);
    throw db.fail(err, 'lock');
  }
  if (!got) {
    await lease.done();
    throw new StoreError({
      failure: 'locked',
      operation: 'lock',
      message: `another writer holds the sync lock of schema "${t.schema}"; try again after it finishes`,
    });
  }
  let released = false;
  const onEnd = () => {
    if (released) return;
    released = true;
    void lease.done(true);
    options.onLost?.(
      new StoreError({
        failure: 'unavailable',
        operation: 'lock',
        message: 'the connection holding the sync lock closed; the lock is no longer held',
      }),
    );
  };
  lease.client.once('end', onEnd);
  const release = async () => {
    if (released) return;
    released = true;
    lease.client.off('end', onEnd);
    try {
      await lease.client.query('SELECT pg_advisory_unlock($1::int, hashtext($2))', args);
      await lease.done();
    } catch {
      // The session is gone, and the lock with it.
      await lease.done(true);
    }
  };
  return Object.assign(release, { pid });
}

/**
 * Inside a commit's transaction: refuses (StoreError `locked`) unless backend `pid` still holds
 * this schema's writers' lock. pg_locks shows the two-int4 advisory form as classid = the first
 * key, objid = the second (as an unsigned oid), objsubid = 2.
 */
export async function lockHeld(client: ClientBase, t: Tables, pid: number): Promise<void> {
  const { rows } = await client.query({
    text: `SELECT 1 FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND pid = $3
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND classid = $1::bigint::oid AND objsubid = 2
             AND objid = ((hashtext($2)::bigint + 4294967296) % 4294967296)::oid`,
    values: [LOCK_CLASS, lockKey(t), pid],
    rowMode: 'array',
  });
  if (rows.length === 0)
    throw new StoreError({
      failure: 'locked',
      operation: 'commit',
      message: `the sync lock of schema "${t.schema}" is no longer held by this writer (its session ended, pid ${pid}); nothing was written`,
    });
}
