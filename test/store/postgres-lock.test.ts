import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'pg';
import { PolicyLockError, StoreError } from '../../src/errors.js';
import type { SyncState } from '../../src/policy/sync-state.js';
import { postgresPolicyStore } from '../../src/store/postgres/policy-store.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { rule } from '../helpers/follow.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();
const syncState = (at: string): SyncState => ({ updatedAt: at, lastSuccess: {}, stale: [] });

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

  /** Ends backend `pid` and waits until it is gone (and its locks with it). */
  const terminate = async (pid: number) => {
    const [r] = await sql<{ ok: boolean }>('SELECT pg_terminate_backend($1, 30000) AS ok', [pid]);
    assert.equal(r?.ok, true, `backend ${pid} ended`);
  };
  const subs = async () => (await a.load()).policy.rules.map((r) => r.sub);
  const lostInSession = (e: unknown) => {
    assert.ok(e instanceof PolicyLockError, String(e));
    assert.match(
      e.message,
      /lock of postgres \(schema rbac_test_\w+\) was lost during this run \(its session ended\): nothing was changed/,
    );
    return true;
  };

  test('a commit under a lock whose session has ended is refused in its own transaction, the loss unheard', async () => {
    const release = await a.lock();
    assert.deepEqual(await holders(), [release.pid], 'lock() names the backend holding the lock');
    const before = await a.version();
    await terminate(release.pid);
    // Straight to the commit: no 'end' event is waited for, nothing in this process knows.
    await assert.rejects(a.commit({ addRules: [rule('unheard')] }, { lock: release }), (e: unknown) => {
      assert.ok(e instanceof StoreError && e.failure === 'locked', String(e));
      assert.match(e.message, /sync lock of schema "rbac_test_\w+" is no longer held by this writer/);
      return true;
    });
    assert.equal(await a.version(), before);
    assert.ok(!(await subs()).includes('unheard'));
    await release();
  });

  test("a sync whose lock's session ends between the in-process check and the commit's transaction writes nothing", async () => {
    let pid = 0;
    // The store's commit is entered once the in-process check has passed: end the lock's session
    // there, and commit at once.
    const seam = postgresPolicyStore({
      store: {
        ...a,
        async commit(change, options) {
          await terminate(pid);
          return a.commit(change, options);
        },
      },
      onError: () => {}, // the loss, heard (or not) after the commit began
    });
    const before = await a.version();
    const writer = await seam.lock('sync');
    try {
      pid = (await holders())[0] ?? 0;
      assert.ok(pid > 0);
      await seam.readState();
      const change = writer.begin();
      await change.put({ rule: rule('window') }, [], 'added');
      await change.state(syncState('2026-05-01T00:00:00.000Z'));
      await assert.rejects(change.commit(), lostInSession);
    } finally {
      await writer.release();
    }
    assert.equal(await a.version(), before, 'the version did not move');
    assert.ok(!(await subs()).includes('window'));
    assert.notEqual((await a.load()).state?.updatedAt, '2026-05-01T00:00:00.000Z');
  });

  test("writer A loses its lock unheard, B takes it, reads and commits; A's commit is then refused and B's result stands", async () => {
    await a.commit({ addRules: [rule('revoke-me')] });
    // A never hears of the loss (its onLost is dropped), as when the 'end' event is still in flight.
    const seamA = postgresPolicyStore({ store: { ...a, lock: () => a.lock() } });
    const seamB = postgresPolicyStore({ store: b });
    const before = await a.version();
    const writerA = await seamA.lock('sync');
    try {
      await seamA.readState();
      const [pid] = await holders();
      await terminate(pid!);

      const writerB = await seamB.lock('sync');
      try {
        await seamB.readState();
        await seamB.scan({ entry: async () => {}, provenance: async () => {} });
        const change = writerB.begin();
        await change.put({ rule: rule('revoke-me') }, [], 'removed'); // B revokes
        await change.state(syncState('2026-05-02T00:00:00.000Z'));
        assert.equal((await change.commit()).version, before + 1);
      } finally {
        await writerB.release();
      }

      // A, computed from the state before B's commit, would put the revoked rule back.
      await seamA.scan({ entry: async () => {}, provenance: async () => {} });
      const change = writerA.begin();
      await change.put({ rule: rule('revoke-me') }, [], 'added');
      await change.state(syncState('2026-05-03T00:00:00.000Z'));
      await assert.rejects(change.commit(), lostInSession);
    } finally {
      await writerA.release();
    }
    assert.equal(await a.version(), before + 1, "only B's commit");
    assert.ok(!(await subs()).includes('revoke-me'), 'the revocation stands');
    assert.equal((await a.load()).state?.updatedAt, '2026-05-02T00:00:00.000Z');
  });

  test("a writer whose lock goes after its commit's check commits; the next holder, which read the version before, is refused", async () => {
    // A's connections pause right after the commit's lock check, until `go` (its transaction
    // then holds the version row).
    const pool = new Pool({ connectionString: PG_URL, max: 3 });
    pool.on('error', () => {});
    let checked: () => void = () => {};
    const atCheck = new Promise<void>((resolve) => (checked = resolve));
    let go: () => void = () => {};
    const gate = new Promise<void>((resolve) => (go = resolve));
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...q: unknown[]) => unknown;
      Object.assign(client, {
        query: (...q: unknown[]) => {
          const text = typeof q[0] === 'string' ? q[0] : (q[0] as { text?: string }).text;
          const out = query(...q);
          if (!text?.includes('FROM pg_locks')) return out;
          return (out as Promise<unknown>).then(async (r) => {
            checked();
            await gate;
            return r;
          });
        },
      });
    });
    const storeA = createPostgresStore({ pool, schema });
    const seamA = postgresPolicyStore({ store: storeA, onError: () => {} });
    const seamB = postgresPolicyStore({ store: b });
    try {
      const before = await a.version();
      const writerA = await seamA.lock('sync');
      let committedA: Promise<{ readonly version?: number }>;
      try {
        await seamA.readState();
        const changeA = writerA.begin();
        await changeA.put({ rule: rule('first-holder') }, [], 'added');
        committedA = changeA.commit();
        // A's check passed: it held the lock then.
        await Promise.race([
          atCheck,
          committedA.then(() => assert.fail('A committed without checking its lock')),
        ]);
        const [pid] = await holders();
        await terminate(pid!);
      } finally {
        await writerA.release();
      }

      const writerB = await seamB.lock('sync');
      let committedB: Promise<unknown>;
      try {
        await seamB.readState(); // A has not committed: B reads the version before
        await seamB.scan({ entry: async () => {}, provenance: async () => {} });
        const changeB = writerB.begin();
        await changeB.put({ rule: rule('next-holder') }, [], 'added');
        committedB = changeB.commit(); // waits for A's transaction
        go();
        assert.equal((await committedA).version, before + 1);
        await assert.rejects(committedB, (e: unknown) => {
          assert.ok(e instanceof StoreError && e.failure === 'conflict', String(e));
          assert.equal(e.expectedVersion, before);
          assert.equal(e.actualVersion, before + 1);
          assert.match(
            e.message,
            /is at version \d+, not the version \d+ this run read: .*nothing was changed/,
          );
          return true;
        });
      } finally {
        await writerB.release();
      }
      assert.equal(await a.version(), before + 1);
      const now = await subs();
      assert.ok(now.includes('first-holder') && !now.includes('next-holder'));
    } finally {
      go();
      await storeA.close();
      await pool.end();
    }
  });

  test('a sync that another writer (the casbin adapter) overtook after it read the store writes nothing', async () => {
    const seam = postgresPolicyStore({ store: a });
    const writer = await seam.lock('sync');
    let before: number;
    try {
      await seam.readState();
      before = await a.version();
      await b.commit({ addRules: [rule('adapter-write')] }); // no lock: the adapter's commits
      const change = writer.begin();
      await change.put({ rule: rule('overtaken') }, [], 'added');
      await assert.rejects(
        change.commit(),
        (e: unknown) =>
          e instanceof StoreError && e.failure === 'conflict' && /another writer/.test(e.message),
      );
    } finally {
      await writer.release();
    }
    assert.equal(await a.version(), before + 1);
    const now = await subs();
    assert.ok(now.includes('adapter-write') && !now.includes('overtaken'));
    // Run again: it reads the new version and commits.
    const again = await seam.lock('sync');
    try {
      await seam.readState();
      const change = again.begin();
      await change.put({ rule: rule('overtaken') }, [], 'added');
      assert.equal((await change.commit()).version, before + 2);
    } finally {
      await again.release();
    }
  });
});
