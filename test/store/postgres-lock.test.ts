import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PolicyLockError, StoreError } from '../../src/errors.js';
import type { PolicyRule } from '../../src/policy/types.js';
import { postgresPolicyStore } from '../../src/store/postgres/policy-store.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();
const rule = (sub: string): PolicyRule => ({
  sub,
  obj: 'zoom:recording',
  act: 'read',
  eft: 'allow',
  from: Number.NEGATIVE_INFINITY,
  until: Number.POSITIVE_INFINITY,
});

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

  test('a sync whose lock is lost mid-run commits nothing and says so, while the writer that took the lock over commits', async () => {
    const heard: unknown[] = [];
    let hear: () => void = () => {};
    const lostHeard = new Promise<void>((resolve) => (hear = resolve));
    const seam = postgresPolicyStore({
      store: a,
      onError: (e) => {
        heard.push(e);
        hear();
      },
    });
    const base = await a.version();
    const writer = await seam.lock('sync');
    try {
      assert.equal((await seam.readState())?.updatedAt, undefined);
      const [pid] = await holders();
      await sql('SELECT pg_terminate_backend($1)', [pid]); // e.g. the server restarted
      await lostHeard;
      assert.match(String(heard[0]), /sync lock/);
      // Another writer takes the lock over and commits.
      const takeover = await b.lock();
      await b.commit({ addRules: [rule('takeover')] });
      await takeover();

      const change = writer.begin();
      await change.put({ rule: rule('stale-run') }, [], 'added');
      await assert.rejects(change.commit(), (e: unknown) => {
        assert.ok(e instanceof PolicyLockError);
        assert.match(
          e.message,
          /lock of postgres \(schema rbac_test_\w+\) was lost during this run \(its connection closed\): nothing was changed/,
        );
        return true;
      });
    } finally {
      await writer.release(); // its snapshot would hold off the schema's drop
    }
    assert.equal(await a.version(), base + 1, 'only the takeover committed');
    assert.deepEqual(
      (await a.load()).policy.rules.map((r) => r.sub),
      ['takeover'],
    );
  });
});
