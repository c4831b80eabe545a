// Several app instances on one PostgreSQL store: one syncs from the vendors (the emulator), the
// others follow over Redis or LISTEN/NOTIFY; a change, a revocation included, reaches them all by
// version; an instance that cannot confirm it is current fails closed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createAuthorizer, type FullAuthorizer } from '../../src/authorizer.js';
import { manualClock } from '../../src/clock.js';
import type { Emulator } from '../../src/emulator/server.js';
import { DecisionError } from '../../src/errors.js';
import { linkKey, ruleKey } from '../../src/policy/types.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { createPgNotifyTransport } from '../../src/store/watch/notify.js';
import { createRedisTransport } from '../../src/store/watch/redis.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';
import { dropSchema, needPostgres, needRedis, PG_URL, REDIS_URL, uniqueName } from '../helpers/services.js';

const skip = (await needPostgres()) || (await needRedis());

describe('instances sharing a PostgreSQL store', { skip, timeout: 120_000 }, () => {
  const schema = uniqueName('rbac_test');
  const channel = uniqueName('rbac-test');
  const notifyChannel = uniqueName('rbac_notify');
  const stores: PostgresStore[] = [];
  const instances: FullAuthorizer[] = [];
  let emulator: Emulator;
  let ws: { dir: string; config: string };

  const store = () => {
    const s = createPostgresStore({ url: PG_URL, schema, notifyChannel });
    stores.push(s);
    return s;
  };
  const instance = async (over: Parameters<typeof createAuthorizer>[0] = {}) => {
    const a = await createAuthorizer({
      config: ws.config,
      store: store(),
      propagation: createRedisTransport({ url: REDIS_URL, channel }),
      ...over,
    });
    instances.push(a);
    return a;
  };
  const keys = (a: FullAuthorizer) => {
    const p = a.getPolicy();
    return [...p.rules.map(ruleKey), ...p.links.map(linkKey)].sort();
  };

  before(async () => {
    emulator = await exampleEmulator();
    ws = await syncWorkspace(emulator.url);
    await store().migrate();
  });
  after(async () => {
    for (const a of instances) await a.close().catch(() => {});
    for (const s of stores) await s.close().catch(() => {});
    await emulator?.close();
    await dropSchema(schema);
  });

  test('a sync in one instance is seen by three others, by version, revocations included', async () => {
    const syncer = await instance();
    const followers = [await instance(), await instance(), await instance()];
    const first = await syncer.sync();
    assert.equal(first.ok, true);
    assert.ok(first.version !== undefined && first.version > 0, 'the sync returns the version it committed');
    for (const f of followers) await f.waitForVersion(first.version, { timeout: 10_000 });
    for (const f of followers) {
      assert.deepEqual(keys(f), keys(syncer));
      assert.equal(f.enforce('alice', 'zoom:recording', 'edit'), true);
      assert.equal(f.freshness().version, first.version);
    }
    assert.ok(keys(syncer).length > 20, 'the sync reached the syncing instance too');

    // Zoom takes Recording:Edit from role 1 (alice's): the revocation reaches every instance.
    const role = emulator.state.dataset.zoom.roles.find((r) => r.id === '1');
    assert.ok(role);
    role.privileges = role.privileges.filter((p) => p !== 'Recording:Edit');
    const second = await syncer.sync();
    assert.ok(second.version !== undefined && second.version > first.version);
    for (const f of [syncer, ...followers]) {
      await f.waitForVersion(second.version, { timeout: 10_000 });
      assert.equal(f.enforce('alice', 'zoom:recording', 'edit'), false);
      assert.equal(f.enforce('alice', 'zoom:recording', 'read'), true);
    }
    // A new instance starts at the store's version with the same policy.
    const late = await instance();
    assert.equal(late.freshness().version, second.version);
    assert.deepEqual(keys(late), keys(syncer));
  });

  test('an instance following LISTEN/NOTIFY gets the next change too', async () => {
    const listener = await createAuthorizer({
      config: ws.config,
      store: store(),
      propagation: createPgNotifyTransport({ url: PG_URL, channel: notifyChannel }),
    });
    instances.push(listener);
    const syncer = instances[0] as FullAuthorizer;
    const role = emulator.state.dataset.zoom.roles.find((r) => r.id === '1');
    assert.ok(role);
    role.privileges = [...role.privileges, 'Recording:Edit'];
    const s = await syncer.sync();
    assert.ok(s.version !== undefined);
    await listener.waitForVersion(s.version, { timeout: 10_000 });
    assert.equal(listener.enforce('alice', 'zoom:recording', 'edit'), true);
  });

  test('an instance that has not confirmed it is current within maxStaleness fails closed', async () => {
    const clock = manualClock('2026-11-22T12:00:00Z');
    const stale = await instance({ clock, pollMs: 60_000, maxStaleness: 120_000 });
    assert.equal(stale.enforce('alice', 'zoom:recording', 'read'), true);
    clock.advance(119_000);
    assert.equal(stale.enforceStrict('alice', 'zoom:recording', 'read'), true);
    assert.equal((await stale.health()).ready, true);
    clock.advance(2_000); // no poll or message confirmed the version in 121 s
    assert.equal(stale.enforce('alice', 'zoom:recording', 'read'), false);
    assert.throws(() => stale.enforceStrict('alice', 'zoom:recording', 'read'), DecisionError);
    assert.equal(stale.explain('alice', 'zoom:recording', 'read').reason, 'error');
    const h = await stale.health();
    assert.equal(h.ready, false, 'a readiness probe sees it too');
    assert.match(h.notReady ?? '', /maxStaleness/);
    await stale.waitForVersion(stale.freshness().version); // already held: no store read needed
    await stale.close();
    // A bound shorter than the poll could never be met: refused.
    await assert.rejects(
      createAuthorizer({ config: ws.config, store: store(), pollMs: 60_000, maxStaleness: 1_000 }),
      /maxStaleness/,
    );
  });
});

describe('a shared store named by the config', { skip, timeout: 120_000 }, () => {
  const schema = uniqueName('rbac_test');
  let emulator: Emulator;
  after(async () => {
    await emulator?.close();
    await dropSchema(schema);
  });

  test('store migrate, then a CLI sync, reach an instance built from the same config, through NOTIFY', async () => {
    const { main } = await import('../../src/cli/main.js');
    const { readFile, writeFile } = await import('node:fs/promises');
    emulator = await exampleEmulator();
    const ws = await syncWorkspace(emulator.url);
    const text = await readFile(ws.config, 'utf8');
    await writeFile(
      ws.config,
      `${text}\nstore: ${PG_URL}?schema=${schema}\npropagation: notify\npollMs: 60000\n`,
    );
    const run = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
      return { code, out, err };
    };
    const migrated = await run(['store', 'migrate', '--config', ws.config]);
    assert.equal(migrated.code, 0, migrated.err);
    assert.match(migrated.out, /applied migrations 1/);
    assert.match((await run(['store', 'migrate', '--config', ws.config])).out, /already at schema version 1/);
    const app = await createAuthorizer({ config: ws.config });
    try {
      assert.equal(app.freshness().version, 0);
      assert.equal(app.enforce('alice', 'zoom:recording', 'edit'), false);
      const synced = await run(['sync', '--config', ws.config, '--json']);
      assert.equal(synced.code, 0, synced.err);
      const version = (JSON.parse(synced.out) as { version?: number }).version;
      assert.equal(version, 1);
      await app.waitForVersion(version as number, { timeout: 10_000 });
      assert.equal(app.enforce('alice', 'zoom:recording', 'edit'), true);
    } finally {
      await app.close();
    }
  });
});
