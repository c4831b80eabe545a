import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { manualClock } from '../../src/clock.js';
import { createEngine } from '../../src/engine/authorizer.js';
import { StoreError } from '../../src/errors.js';
import { createPolicyFollower } from '../../src/store/follower.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { createPgNotifyTransport } from '../../src/store/watch/notify.js';
import { counting, overheard, recorder, rule } from '../helpers/follow.js';
import { manualScheduler } from '../helpers/scheduler.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();

describe('a follower kept current over PostgreSQL LISTEN/NOTIFY', { skip, timeout: 60_000 }, () => {
  const schema = uniqueName('rbac_test');
  const channel = uniqueName('rbac_policy');
  let writer: PostgresStore; // notifies inside each commit
  let reader: PostgresStore;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    writer = createPostgresStore({ url: PG_URL, schema, notifyChannel: channel });
    reader = createPostgresStore({ url: PG_URL, schema });
    await writer.migrate();
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await writer?.close();
    await reader?.close();
    await dropSchema(schema);
  });

  async function instance(opts: { origin?: string } = {}) {
    const authz = await createEngine({ policies: { rules: [], links: [] }, clock: manualClock(0) });
    const rec = recorder();
    const scheduler = manualScheduler();
    const errors: unknown[] = [];
    const heard = overheard(createPgNotifyTransport({ url: PG_URL, channel, retryMs: 10, scheduler }));
    const store = counting(reader);
    const follower = await createPolicyFollower({
      store: store.source,
      authorizer: authz,
      transport: heard.transport,
      scheduler,
      onApplied: rec.onApplied,
      ...opts,
      onError: (e) => {
        errors.push(e);
        rec.nudge();
      },
    });
    closers.push(
      () => follower.close(),
      () => heard.transport.close(),
    );
    return { authz, rec, scheduler, follower, heard, store, errors };
  }

  test('a commit on another store instance reaches the follower through the NOTIFY sent in its transaction', async () => {
    const x = await instance();
    const r = await writer.commit({ addRules: [rule('alice')] });
    await x.rec.until(() => x.follower.freshness().version === r.version);
    assert.ok(x.authz.enforce('alice', 'zoom:recording', 'read'));
    assert.deepEqual(x.heard.messages.at(-1), {
      version: r.version,
      subjects: ['alice'],
      origin: writer.origin,
    });
    assert.equal(x.rec.reloads(), 1);
  });

  test('a commit that fails at COMMIT notifies nobody: NOTIFY is delivered only on commit', async () => {
    const x = await instance();
    // A deferred constraint trigger fails the transaction at COMMIT, after its NOTIFY was queued.
    await sql(`CREATE FUNCTION "${schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'refused at commit'; END $$`);
    await sql(`CREATE CONSTRAINT TRIGGER refuse AFTER INSERT ON "${schema}".change_log
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse()`);
    await assert.rejects(writer.commit({ addRules: [rule('refused')] }), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match(e.message, /refused at commit/);
      return true;
    });
    await sql(`DROP TRIGGER refuse ON "${schema}".change_log`);
    const r = await writer.commit({ addRules: [rule('accepted')] });
    await x.heard.heard(r.version);
    assert.deepEqual(x.heard.messages, [
      { version: r.version, subjects: ['accepted'], origin: writer.origin },
    ]);
    assert.ok(!x.authz.enforce('refused', 'zoom:recording', 'read'));
  });

  test('a killed listening connection is re-opened and the follower catches up on what it missed', async () => {
    const x = await instance();
    const [listener] = await sql<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE query = $1 AND application_name = 'rbac-normalizer-listen'`,
      [`LISTEN "${channel}"`],
    );
    assert.ok(listener);
    // Several instances listen; kill every listener of this test's channel that this instance holds.
    await sql('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1', [
      `LISTEN "${channel}"`,
    ]);
    await x.rec.until(() => x.errors.some((e) => e instanceof StoreError && e.operation === 'listen'));
    const missed = await writer.commit({ addRules: [rule('missed')] }); // notified to nobody
    x.scheduler.advance(10); // the reconnect wait passes
    await x.rec.until(() => x.follower.freshness().version === missed.version);
    assert.ok(x.authz.enforce('missed', 'zoom:recording', 'read'));
    const next = await writer.commit({ addRules: [rule('heard-again')] });
    await x.heard.heard(next.version);
    await x.rec.until(() => x.follower.freshness().version === next.version);
  });

  test('the publishing instance does not reload or re-read its own commit when its NOTIFY comes back', async () => {
    const p = await instance({ origin: writer.origin });
    const reads = { ...p.store.calls };
    const r = await writer.commit({ addRules: [rule('own')] });
    p.follower.committed(r);
    await p.heard.heard(r.version);
    assert.deepEqual(p.store.calls, reads);
    assert.deepEqual(p.rec.deltas(), [r.version]);
    assert.ok(p.authz.enforce('own', 'zoom:recording', 'read'));
  });
});
