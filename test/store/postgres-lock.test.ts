import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StoreError } from '../../src/errors.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();

describe("the writers' lock", { skip }, () => {
  const schema = uniqueName('rbac_test');
  let a: PostgresStore;
  let b: PostgresStore;

  before(async () => {
    a = createPostgresStore({ url: PG_URL, schema });
    b = createPostgresStore({ url: PG_URL, schema });
    await a.migrate();
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await dropSchema(schema);
  });

  /** Backends holding this schema's sync lock. */
  const holders = async () =>
    (
      await sql<{ pid: number }>(
        `SELECT pid FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND classid = $1::bigint::oid AND objsubid = 2
           AND objid = ((hashtext($2)::bigint + 4294967296) % 4294967296)::oid`,
        [0x52424143, `rbac-normalizer:sync:${schema}`],
      )
    ).map((r) => r.pid);

  test('is refused while another store holds it, and free again after release', async () => {
    const release = await a.lock();
    await assert.rejects(b.lock(), (e: unknown) => e instanceof StoreError && e.failure === 'locked');
    await release();
    await release(); // twice is harmless
    const again = await b.lock();
    assert.equal((await holders()).length, 1);
    await again();
    assert.deepEqual(await holders(), []);
  });

  test("frees itself when the holder's connection is killed, and the holder is told", async () => {
    let lost: (e: StoreError) => void = () => {};
    const lostEvent = new Promise<StoreError>((resolve) => {
      lost = resolve;
    });
    const release = await a.lock({ onLost: (e) => lost(e) });
    const [pid] = await holders();
    assert.ok(pid, 'the lock is held by a backend');
    await assert.rejects(b.lock(), (e: unknown) => e instanceof StoreError && e.failure === 'locked');
    await sql('SELECT pg_terminate_backend($1)', [pid]);
    const e = await lostEvent;
    assert.equal(e.failure, 'unavailable');
    // The session ended and the lock with it: the next lock() succeeds without any cleanup.
    const next = await b.lock();
    await next();
    await release(); // harmless after the loss
  });
});
