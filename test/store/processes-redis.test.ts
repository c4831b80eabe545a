// Several app instances as separate processes on one PostgreSQL store, kept current over a Redis of
// this test's own, and `rbac-normalizer sync` run as yet another process against the vendor
// emulator. The instances poll only every ten minutes, so whatever reaches them within a test came by
// a Redis message (or the catch-up after Redis came back), never by the poll.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Emulator } from '../../src/emulator/server.js';
import { linkKey, ruleKey } from '../../src/policy/types.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { startCli } from '../helpers/child.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';
import { type Gate, startGate } from '../helpers/gate.js';
import {
  allReach,
  cliSync,
  type InstanceProcess,
  startInstanceProcess,
} from '../helpers/instance-process.js';
import { needRedisServer, type PrivateRedis, startPrivateRedis } from '../helpers/private-servers.js';
import { dropSchema, needPostgres, PG_URL, uniqueName } from '../helpers/services.js';

const skip = (await needPostgres()) || (await needRedisServer());

describe('instance processes following a CLI sync over Redis', { skip, timeout: 90_000 }, () => {
  const schema = uniqueName('rbac_test');
  const storeLine = `store: ${PG_URL}?schema=${schema}`;
  let redis: PrivateRedis;
  let emulator: Emulator;
  let store: PostgresStore; // this test's own view of the store
  let config: string; // store + Redis propagation, vendors at the emulator
  const instances: InstanceProcess[] = [];
  const gates: Gate[] = [];

  const privileges = () => {
    const role = emulator.state.dataset.zoom.roles.find((r) => r.id === '1'); // alice's role
    assert.ok(role?.privileges);
    return role.privileges;
  };
  const storeKeys = async () => {
    const { policy } = await store.load();
    return [...policy.rules.map(ruleKey), ...policy.links.map(linkKey)].sort();
  };
  /** Every instance decides with exactly what the store holds, at its version. */
  const allMatchStore = async () => {
    const want = await storeKeys();
    const version = await store.version();
    for (const i of instances) {
      assert.equal((await i.freshness()).version, version);
      assert.deepEqual(await i.keys(), want, `instance ${i.pid} holds the store's policy`);
    }
  };
  const sync = async (cfg = config) => {
    const r = await cliSync(cfg);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.version !== undefined, 'the sync reports the version it committed');
    return r.version;
  };

  before(async () => {
    redis = await startPrivateRedis();
    emulator = await exampleEmulator();
    store = createPostgresStore({ url: PG_URL, schema });
    await store.migrate();
    config = (await syncWorkspace(emulator.url, `${storeLine}\npropagation: ${redis.url}\npollMs: 600000\n`))
      .config;
    instances.push(...(await Promise.all([1, 2, 3].map(() => startInstanceProcess(config)))));
  });
  after(async () => {
    await Promise.all(instances.map((i) => i.close().catch(() => i.kill())));
    for (const g of gates) await g.close();
    await emulator?.close();
    await redis?.close();
    await store?.close();
    await dropSchema(schema);
  });

  test('a sync in the sync process reaches all three instance processes', async () => {
    for (const i of instances) assert.equal((await i.freshness()).version, 0);
    const first = await sync();
    await allReach(instances, first);
    await allMatchStore();
    for (const i of instances)
      assert.equal((await i.decide('alice', 'zoom:recording', 'edit')).allowed, true);
  });

  test('a commit whose message never went out is caught up, by version, with the next message', async () => {
    // A sync process configured without propagation commits and tells nobody.
    const quiet = (await syncWorkspace(emulator.url, `${storeLine}\n`)).config;
    const held = (await instances[0]!.freshness()).version;
    privileges().splice(privileges().indexOf('Recording:Edit'), 1); // a revocation
    privileges().push('Quiet:Read');
    const unheard = await sync(quiet);
    assert.equal(unheard, held + 1);
    for (const i of instances) assert.equal((await i.freshness()).version, held, 'nothing told them');

    privileges().push('Loud:Read');
    const heard = await sync();
    assert.equal(heard, unheard + 1);
    await allReach(instances, heard);
    await allMatchStore();
    for (const i of instances) {
      assert.equal(
        (await i.decide('alice', 'zoom:recording', 'edit')).allowed,
        false,
        'the unannounced revocation',
      );
      assert.equal((await i.decide('alice', 'zoom:quiet', 'read')).allowed, true, 'the unannounced grant');
      assert.equal((await i.decide('alice', 'zoom:loud', 'read')).allowed, true);
    }
  });

  test('Redis killed during a sync and restarted: every instance converges on the last version, no change lost', async () => {
    const start = (await instances[0]!.freshness()).version;
    // A sync held at its vendors' door: it holds the store's lock and has committed nothing yet.
    const gate = await startGate(emulator.url);
    gates.push(gate);
    const gated = (await syncWorkspace(gate.url, `${storeLine}\npropagation: ${redis.url}\npollMs: 600000\n`))
      .config;
    const running = startCli(['sync', '--config', gated, '--json']);
    await gate.waiting();
    await redis.kill();

    privileges().push('During:Read');
    gate.open();
    const during = await cliSync(running);
    assert.equal(during.code, 0, during.err);
    assert.equal(during.version, start + 1);

    privileges().splice(privileges().indexOf('Quiet:Read'), 1);
    privileges().push('WhileDown:Read');
    const down = await sync(); // a second commit while Redis is down
    assert.equal(down, start + 2);
    for (const i of instances) assert.equal((await i.freshness()).version, start, 'no message reached them');

    await redis.start(); // same port: the instances' subscribers reconnect and catch up
    await allReach(instances, down);
    await allMatchStore();
    for (const i of instances) {
      assert.equal((await i.decide('alice', 'zoom:during', 'read')).allowed, true);
      assert.equal((await i.decide('alice', 'zoom:whiledown', 'read')).allowed, true);
      assert.equal((await i.decide('alice', 'zoom:quiet', 'read')).allowed, false, 'a revocation while down');
    }

    // And they are subscribed again: the next sync reaches them by its message.
    privileges().push('After:Read');
    const next = await sync();
    await allReach(instances, next);
    await allMatchStore();
  });
});
