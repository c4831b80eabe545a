import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { manualClock } from '../../src/clock.js';
import { type Authorizer, createEngine } from '../../src/engine/authorizer.js';
import { StoreError } from '../../src/errors.js';
import type { SyncState } from '../../src/policy/sync-state.js';
import { ruleKey } from '../../src/policy/types.js';
import { createPolicyFollower } from '../../src/store/follower.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { createRedisTransport } from '../../src/store/watch/redis.js';
import { counting, overheard, recorder, rule } from '../helpers/follow.js';
import { manualScheduler } from '../helpers/scheduler.js';
import { dropSchema, needPostgres, needRedis, PG_URL, REDIS_URL, uniqueName } from '../helpers/services.js';

const skip = (await needPostgres()) || (await needRedis());
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const emptyAuthorizer = (clock = manualClock(T0)) =>
  createEngine({ policies: { rules: [], links: [] }, clock });

describe('a follower kept current over Redis pub/sub', { skip, timeout: 60_000 }, () => {
  const schema = uniqueName('rbac_test');
  const channel = uniqueName('rbac-test-channel');
  let writer: PostgresStore; // the instance that syncs and commits
  let reader: PostgresStore; // another instance's store
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    writer = createPostgresStore({ url: PG_URL, schema, changeLogRetention: 50 });
    reader = createPostgresStore({ url: PG_URL, schema });
    await writer.migrate();
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await writer?.close();
    await reader?.close();
    await dropSchema(schema);
  });

  /** A reading instance: its own authorizer, follower and Redis connections. */
  async function instance(
    opts: { subscriber?: Redis; clock?: ReturnType<typeof manualClock>; origin?: string } = {},
  ) {
    const clock = opts.clock ?? manualClock(T0);
    const authz = await emptyAuthorizer(clock);
    const rec = recorder();
    const scheduler = manualScheduler();
    const store = counting(reader);
    const heard = overheard(
      createRedisTransport({
        url: REDIS_URL,
        channel,
        ...(opts.subscriber ? { subscriber: opts.subscriber } : {}),
      }),
    );
    const follower = await createPolicyFollower({
      store: store.source,
      authorizer: authz,
      transport: heard.transport,
      scheduler,
      clock,
      onApplied: rec.onApplied,
    });
    closers.push(
      () => follower.close(),
      () => heard.transport.close(),
    );
    return { authz, rec, scheduler, follower, store, heard, clock };
  }

  const publisher = createRedisTransport({ url: REDIS_URL, channel });
  closers.push(() => publisher.close());
  const commitAndPublish = async (change: Parameters<PostgresStore['commit']>[0]) => {
    const r = await writer.commit(change);
    await publisher.publish(r.message);
    return r;
  };

  test("applies another instance's commit as a delta, with provenance and stale marks, and no reload", async () => {
    const x = await instance();
    assert.equal(x.rec.reloads(), 1, 'loaded once at start');
    const alice = rule('alice');
    const state: SyncState = {
      updatedAt: '2026-03-01T00:00:00.000Z',
      lastSuccess: {},
      stale: [{ vendor: 'zoom', holder: 'u-alice', lastSuccess: null, error: 'HTTP 503' }],
    };
    const r = await commitAndPublish({
      addRules: [alice],
      provenance: new Map([
        [ruleKey(alice), [{ vendor: 'zoom', kind: 'role', holder: 'u-alice', raw: 'Rec' }]],
      ]),
      state,
    });
    await x.rec.until(() => x.follower.freshness().version === r.version);
    assert.ok(x.authz.enforce('alice', 'zoom:recording', 'read'));
    const d = x.authz.explain('alice', 'zoom:recording', 'read');
    assert.equal(d.grants?.[0]?.holder, 'u-alice');
    assert.equal(d.stale?.[0]?.error, 'HTTP 503');
    assert.equal(x.rec.reloads(), 1, 'no full reload for a delta');
    assert.deepEqual(x.rec.deltas(), [r.version]);
  });

  test('drops cached decisions only for the subjects a delta touches', async () => {
    const x = await instance();
    await commitAndPublish({ addRules: [rule('bob'), rule('carol')] }).then((r) =>
      x.follower.waitForVersion(r.version),
    );
    assert.ok(x.authz.enforce('bob', 'zoom:recording', 'read'));
    assert.ok(x.authz.enforce('carol', 'zoom:recording', 'read'));
    const r = await commitAndPublish({ removeRules: [rule('bob')] });
    await x.rec.until(() => x.follower.freshness().version === r.version);
    const last = x.rec.events.at(-1);
    assert.equal(last?.kind === 'delta' && last.result.invalidatedSubjects, 1);
    assert.ok(!x.authz.enforce('bob', 'zoom:recording', 'read'));
    assert.ok(x.authz.enforce('carol', 'zoom:recording', 'read'));
  });

  test('a dropped message is caught up, in version order, on the next message', async () => {
    const x = await instance();
    const start = x.follower.freshness().version;
    const lost = await writer.commit({ addRules: [rule('dropped-1')] }); // its publisher died before publishing
    const next = await commitAndPublish({ addRules: [rule('dropped-2')] });
    await x.rec.until(() => x.follower.freshness().version === next.version);
    assert.deepEqual(x.rec.deltas(), [lost.version, next.version]);
    assert.equal(lost.version, start + 1);
    assert.ok(x.authz.enforce('dropped-1', 'zoom:recording', 'read'));
  });

  test('a dropped message is caught up by the poll when no other message comes', async () => {
    const x = await instance();
    const lost = await writer.commit({ addRules: [rule('polled')] });
    x.clock.advance(60_000);
    x.scheduler.tick(); // the poll timer fires
    await x.rec.until(() => x.follower.freshness().version === lost.version);
    assert.ok(x.authz.enforce('polled', 'zoom:recording', 'read'));
    assert.equal(x.follower.freshness().lastHeardAt, T0 + 60_000);
    assert.equal(x.follower.freshness().loadedAt, T0);
  });

  test('a subscriber that was disconnected and reconnected converges with no lost change', async () => {
    const subscriber = new Redis(REDIS_URL, { lazyConnect: true });
    subscriber.on('error', () => {});
    closers.push(async () => subscriber.disconnect());
    const x = await instance({ subscriber });
    const closed = new Promise((r) => subscriber.once('end', r));
    subscriber.disconnect(); // Redis "restarts" for this instance
    await closed;
    const during = await commitAndPublish({ addRules: [rule('while-away')] }); // nobody hears it
    assert.notEqual(x.follower.freshness().version, during.version);
    await subscriber.connect();
    await x.rec.until(() => x.follower.freshness().version === during.version);
    assert.ok(x.authz.enforce('while-away', 'zoom:recording', 'read'));
    // and it is subscribed again
    const later = await commitAndPublish({ addRules: [rule('after-return')] });
    await x.rec.until(() => x.follower.freshness().version === later.version);
    assert.equal(x.rec.reloads(), 1);
  });

  test('the publishing instance applies its own commit once and does not reload or re-read it', async () => {
    const p = await instance({ origin: writer.origin });
    const readsBefore = { ...p.store.calls };
    const r = await writer.commit({ addRules: [rule('own')] });
    p.follower.committed(r);
    await publisher.publish(r.message);
    await p.heard.heard(r.version); // its own message came back to it
    assert.ok(p.authz.enforce('own', 'zoom:recording', 'read'));
    assert.deepEqual(p.rec.deltas(), [r.version]);
    assert.deepEqual(p.store.calls, readsBefore, 'no store read, let alone a full load');
    assert.equal(p.rec.reloads(), 1);
  });

  test('waitForVersion reads at once (read-after-write) and times out as a typed error', async () => {
    const x = await instance();
    const r = await writer.commit({ addRules: [rule('raw')] }); // no message at all
    await x.follower.waitForVersion(r.version);
    assert.ok(x.authz.enforce('raw', 'zoom:recording', 'read'));
    const never = x.follower.waitForVersion(r.version + 1000, { timeout: 50 });
    x.scheduler.advance(50);
    await assert.rejects(never, (e: unknown) => e instanceof StoreError && e.failure === 'timeout');
  });

  test('a follower told which version its authorizer holds catches up from there without a full load', async () => {
    const snap = await reader.load();
    const authz = await createEngine({
      policies: snap.policy,
      provenance: snap.provenance,
      clock: manualClock(T0),
    });
    const r = await writer.commit({ addRules: [rule('from-here')] });
    const rec = recorder();
    const follower = await createPolicyFollower({
      store: reader,
      authorizer: authz,
      version: snap.version,
      scheduler: manualScheduler(),
      onApplied: rec.onApplied,
    });
    closers.push(() => follower.close());
    assert.equal(rec.reloads(), 0);
    assert.deepEqual(rec.deltas(), [r.version]);
    assert.ok(authz.enforce('from-here', 'zoom:recording', 'read'));
    await follower.close();
    await assert.rejects(
      follower.waitForVersion(r.version + 1),
      (e: unknown) => e instanceof StoreError && e.failure === 'closed',
    );
  });

  test('a pruned change log triggers exactly one full reload, never an empty policy in between', async () => {
    const pruning = createPostgresStore({ url: PG_URL, schema, changeLogRetention: 2 });
    closers.push(() => pruning.close());
    const authz: Authorizer = await emptyAuthorizer();
    const rec = recorder();
    const scheduler = manualScheduler();
    const follower = await createPolicyFollower({
      store: reader,
      authorizer: authz,
      scheduler,
      onApplied: rec.onApplied,
    });
    closers.push(() => follower.close());
    await pruning.commit({ addRules: [rule('steady')] });
    await follower.poll();
    const base = follower.freshness().version;
    // While the follower is not listening, four versions pass; the log keeps only two.
    for (const s of ['p1', 'p2', 'p3', 'p4']) await pruning.commit({ addRules: [rule(s)] });
    const seen: boolean[] = [];
    const watch = setInterval(() => seen.push(authz.enforce('steady', 'zoom:recording', 'read')), 0);
    scheduler.tick();
    await rec.until((ev) => ev.filter((e) => e.kind === 'reload').length === 2);
    clearInterval(watch);
    scheduler.tick();
    await follower.poll();
    assert.equal(rec.reloads(), 2, 'the start-up load and exactly one reload');
    assert.equal(follower.freshness().version, base + 4);
    for (const s of ['p1', 'p2', 'p3', 'p4']) assert.ok(authz.enforce(s, 'zoom:recording', 'read'), s);
    assert.ok(!seen.includes(false), 'the steady rule answered allow throughout the reload');
  });
});
