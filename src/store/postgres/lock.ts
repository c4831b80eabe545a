// The writers' lock for a whole sync: a session-level advisory lock held on a connection of its
// own. If the holder crashes or its connection drops, PostgreSQL ends the session and the lock is
// free again, so no lock is ever left behind.
import { StoreError } from '../../errors.js';
import type { Db } from './connection.js';
import type { Tables } from './schema.js';

/** Advisory-lock class id for this library ('RBAC'); the object id is the schema's hash. */
const LOCK_CLASS = 0x52424143;

export interface LockOptions {
  /**
   * Called when the connection holding the lock closes before release (the lock is then free and
   * another writer may take it). A sync still running should stop: its commit's baseVersion check
   * refuses anything written meanwhile. Default: none.
   */
  readonly onLost?: (error: StoreError) => void;
}

/** Releases the lock (and its connection). Safe to call more than once. */
export type ReleaseLock = () => Promise<void>;

/** @throws StoreError (locked) when another session holds it; (unavailable) when it cannot connect. */
export async function acquireLock(db: Db, t: Tables, options: LockOptions = {}): Promise<ReleaseLock> {
  const lease = await db.dedicated('lock');
  const args = [LOCK_CLASS, `rbac-normalizer:sync:${t.schema}`];
  let got: boolean;
  try {
    const res = await lease.client.query<{ ok: boolean }>(
      'SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok',
      args,
    );
    got = res.rows[0]?.ok === true;
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
  return async () => {
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
}
