import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Enforcer } from 'casbin';
import { casbin } from '../../src/policy/casbin.js';
import { MODEL_TEXT } from '../../src/policy/model.js';
import { createCasbinAdapter, type PostgresCasbinAdapter } from '../../src/store/casbin/adapter.js';
import { createCasbinWatcher, type PostgresCasbinWatcher } from '../../src/store/casbin/watcher.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import type { ChangeTransport } from '../../src/store/types.js';
import { createPgNotifyTransport } from '../../src/store/watch/notify.js';
import { createRedisTransport } from '../../src/store/watch/redis.js';
import { manualScheduler } from '../helpers/scheduler.js';
import { dropSchema, needPostgres, needRedis, PG_URL, REDIS_URL, uniqueName } from '../helpers/services.js';

const skip = (await needPostgres()) || (await needRedis());
const NOW = '2026-05-01T00:00:00.000Z';

describe('the casbin watcher: deltas between plain casbin enforcers', { skip, timeout: 60_000 }, () => {
  const schema = uniqueName('rbac_test');
  const channel = uniqueName('rbac-test-casbin');
  const pgChannel = uniqueName('rbac_casbin');
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    const s = createPostgresStore({ url: PG_URL, schema });
    await s.migrate();
    await s.close();
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await dropSchema(schema);
  });

  /** One application instance: its own store, adapter, enforcer and watcher, with counted reads. */
  async function instance(opts: { transport?: ChangeTransport; retention?: number; notify?: boolean } = {}) {
    const store = createPostgresStore({
      url: PG_URL,
      schema,
      changeLogRetention: opts.retention ?? 1000,
      ...(opts.notify ? { notifyChannel: pgChannel } : {}),
    });
    const reads = { adapterLoads: 0, changesSince: 0, storeLoads: 0 };
    const counted: PostgresStore = {
      ...store,
      loadPolicy: (f) => {
        reads.storeLoads++;
        return store.loadPolicy(f);
      },
      changesSince: (v, o) => {
        reads.changesSince++;
        return store.changesSince(v, o);
      },
    };
    const adapter: PostgresCasbinAdapter = createCasbinAdapter({ store: counted });
    const load = adapter.loadPolicy;
    adapter.loadPolicy = (m) => {
      reads.adapterLoads++;
      return load(m);
    };
    const c = casbin();
    const e: Enforcer = await c.newEnforcer(c.newModelFromString(MODEL_TEXT), adapter);
    const transport =
      opts.transport ??
      (opts.notify
        ? createPgNotifyTransport({ url: PG_URL, channel: pgChannel })
        : createRedisTransport({ url: REDIS_URL, channel }));
    const changes: number[] = [];
    let wake = () => {};
    const scheduler = manualScheduler();
    const watcher: PostgresCasbinWatcher = await createCasbinWatcher({
      adapter,
      enforcer: e,
      transport,
      scheduler,
      onChange: (ch) => {
        changes.push(ch.version);
        wake();
      },
    });
    e.setWatcher(watcher);
    e.setWatcherEx(watcher);
    closers.push(
      () => store.close(),
      () => transport.close(),
      () => watcher.close(),
    );
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((r) => (wake = r));
    };
    return { e, adapter, watcher, reads, changes, until, store, scheduler };
  }

  for (const feed of ['Redis', 'LISTEN/NOTIFY'] as const) {
    test(`over ${feed}, a second enforcer receives the publisher's rules and links as deltas; the publisher does not reload or re-read`, async () => {
      const a = await instance({ notify: feed !== 'Redis' });
      const b = await instance({ notify: feed !== 'Redis' });
      const before = { a: { ...a.reads }, b: { ...b.reads } };

      await a.e.addPolicy('admins', 'doc', 'read', 'allow', '', '');
      await a.e.addGroupingPolicy('alice', 'admins');
      const v = await a.store.version();
      await b.until(() => b.watcher.version() === v);
      assert.equal(await b.e.enforce('alice', 'doc', 'read', NOW), true);

      await a.e.removePolicy('admins', 'doc', 'read', 'allow', '', '');
      const v2 = await a.store.version();
      await b.until(() => b.watcher.version() === v2);
      assert.equal(await b.e.enforce('alice', 'doc', 'read', NOW), false);

      assert.equal(b.reads.adapterLoads, before.b.adapterLoads, 'the receiver never reloads');
      assert.equal(b.reads.storeLoads, before.b.storeLoads);
      assert.equal(a.reads.adapterLoads, before.a.adapterLoads, 'the publisher never reloads');
      assert.equal(a.reads.storeLoads, before.a.storeLoads);
      assert.deepEqual(a.changes, [], 'the publisher applied nothing again: its enforcer made the change');
      assert.equal(a.reads.changesSince, before.a.changesSince, 'nor read back its own commits');
      assert.equal(a.watcher.version(), v2);
    });
  }

  test('a batch and an update reach the other enforcer as exactly those rows', async () => {
    const a = await instance();
    const b = await instance();
    await a.e.addPolicies([
      ['bob', 'doc', 'read', 'allow', '', '2030-01-01T00:00:00.000Z'],
      ['bob', 'doc', 'write', 'allow', '2026-01-01T00:00:00.000Z', ''],
    ]);
    await a.e.updatePolicy(
      ['bob', 'doc', 'write', 'allow', '2026-01-01T00:00:00.000Z', ''],
      ['bob', 'doc', 'write', 'deny', '', ''],
    );
    const v = await a.store.version();
    await b.until(() => b.watcher.version() === v);
    assert.deepEqual(
      (await b.e.getFilteredPolicy(0, 'bob')).sort(),
      (await a.e.getFilteredPolicy(0, 'bob')).sort(),
    );
    assert.equal(await b.e.enforce('bob', 'doc', 'read', NOW), true);
    assert.equal(await b.e.enforce('bob', 'doc', 'write', NOW), false);
  });

  test('when the change log no longer reaches back, the enforcer is brought level row by row, never reloaded empty', async () => {
    const silent: ChangeTransport = {
      subscribe: async () => async () => {},
      publish: async () => {},
      close: async () => {},
    };
    const a = await instance({ retention: 2 });
    const b = await instance({ transport: silent });
    await a.e.addPolicy('steady', 'doc', 'read', 'allow', '', '');
    await b.watcher.sync();
    assert.equal(await b.e.enforce('steady', 'doc', 'read', NOW), true);
    for (const s of ['p1', 'p2', 'p3', 'p4']) await a.e.addPolicy(s, 'doc', 'read', 'allow', '', '');
    await a.e.removePolicy('p1', 'doc', 'read', 'allow', '', '');
    const seen: boolean[] = [];
    const watch = setInterval(async () => seen.push(await b.e.enforce('steady', 'doc', 'read', NOW)), 0);
    b.scheduler.tick();
    const v = await a.store.version();
    await b.until(() => b.watcher.version() === v);
    clearInterval(watch);
    assert.deepEqual((await b.e.getPolicy()).sort(), (await a.e.getPolicy()).sort());
    assert.ok(!seen.includes(false), 'the steady rule answered allow throughout');
    assert.equal(b.reads.adapterLoads, 1, 'casbin loadPolicy() was never called again');
    assert.equal(
      b.reads.storeLoads,
      2,
      'one read of the whole policy for the resync (after the start-up load)',
    );
  });
});
