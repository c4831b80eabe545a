// Instance processes and `rbac-normalizer sync` processes on a PostgreSQL cluster of this test's
// own, so it can be stopped in the middle of a sync: changes reach every instance over
// LISTEN/NOTIFY; a sync cut off by the server's stop fails and loses nothing; instances serve the
// last good policy until maxStaleness, then fail closed, and recover once the server is back; two
// syncs at once from two processes never lose a change.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Emulator } from '../../src/emulator/server.js';
import { linkKey, ruleKey } from '../../src/policy/types.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { startCli } from '../helpers/child.js';
import { runCli } from '../helpers/cli.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';
import { type Gate, startGate } from '../helpers/gate.js';
import {
  allReach,
  cliSync,
  type Decided,
  type InstanceProcess,
  startInstanceProcess,
} from '../helpers/instance-process.js';
import {
  needPostgresBinaries,
  type PrivatePostgres,
  pollUntil,
  startPrivatePostgres,
} from '../helpers/private-servers.js';
import { uniqueName } from '../helpers/services.js';

const skip = await needPostgresBinaries();
const POLL_MS = 250;
const MAX_STALENESS = 4000;

describe('instance and sync processes on a PostgreSQL server that stops', { skip, timeout: 120_000 }, () => {
  let server: PrivatePostgres;
  let emulator: Emulator;
  let store: PostgresStore; // this test's own view of the store
  const started: InstanceProcess[] = [];
  const gates: Gate[] = [];

  const privileges = () => {
    const role = emulator.state.dataset.zoom.roles.find((r) => r.id === '1'); // alice's role
    assert.ok(role?.privileges);
    return role.privileges;
  };
  const keysOf = async (s: PostgresStore) => {
    const { policy } = await s.load();
    return [...policy.rules.map(ruleKey), ...policy.links.map(linkKey)].sort();
  };
  const instances = async (config: string) => {
    const list = await Promise.all([1, 2, 3].map(() => startInstanceProcess(config)));
    started.push(...list);
    return list;
  };
  let base: { dir: string; config: string }; // one workspace, so provenance names the same mapping files
  /** A config file in the workspace: its vendors at `vendorsAt`, the store's schema, and `extra`. */
  const workspace = async (vendorsAt: string, extra = '', schema = 'rbac') => {
    const text = (await readFile(base.config, 'utf8')).replaceAll(emulator.url, vendorsAt);
    const file = join(base.dir, `${uniqueName('config')}.yaml`);
    const propagation = schema === 'rbac' ? 'propagation: notify\n' : '';
    await writeFile(file, `${text}\nstore: ${server.url}?schema=${schema}\n${propagation}${extra}`);
    return file;
  };
  const sync = async (config: string) => {
    const r = await cliSync(config);
    assert.equal(r.code, 0, r.err);
    assert.ok(r.version !== undefined);
    return r.version;
  };
  /** A sync process held at its vendors' door: it holds the store's lock and has read nothing yet. */
  const heldSync = async () => {
    const gate = await startGate(emulator.url);
    gates.push(gate);
    const run = startCli(['sync', '--config', await workspace(gate.url), '--json']);
    await Promise.race([
      gate.waiting(),
      run.done.then((r) => assert.fail(`the sync ended before reaching its vendors: ${r.err}`)),
    ]);
    return { gate, run };
  };

  before(async () => {
    server = await startPrivatePostgres();
    emulator = await exampleEmulator();
    base = await syncWorkspace(emulator.url);
    store = createPostgresStore({ url: server.url, schema: 'rbac' });
    await store.migrate();
  });
  after(async () => {
    await Promise.all(started.map((i) => i.close().catch(() => i.kill())));
    for (const g of gates) await g.close();
    await emulator?.close();
    await store?.close();
    await server?.close();
  });

  let listeners: InstanceProcess[]; // poll every ten minutes: what reaches them came by NOTIFY
  let followers: InstanceProcess[]; // poll every POLL_MS, fail closed after MAX_STALENESS

  test('a sync in the sync process reaches all three instance processes over LISTEN/NOTIFY', async () => {
    const config = await workspace(emulator.url, 'pollMs: 600000\n');
    listeners = await instances(config);
    const version = await sync(config);
    await allReach(listeners, version);
    const want = await keysOf(store);
    for (const i of listeners) {
      assert.deepEqual(await i.keys(), want);
      assert.equal((await i.decide('alice', 'zoom:recording', 'edit')).allowed, true);
    }
  });

  test('PostgreSQL stopped during a sync: the sync fails naming the store, nothing committed is lost, instances serve the last good policy until maxStaleness, then fail closed, and recover', async () => {
    followers = await instances(
      await workspace(emulator.url, `pollMs: ${POLL_MS}\nmaxStaleness: ${MAX_STALENESS}\n`),
    );
    const before = await store.load();
    const good = before.version;
    assert.ok(good > 0);

    const { gate, run } = await heldSync();
    privileges().push('Lost:Read'); // what the cut-off sync would have added
    await server.stop('immediate');

    // Right after the stop: the last good policy, from instances that confirmed it recently.
    const seen: Decided[] = [];
    for (const i of followers) {
      const d = await i.decide('alice', 'zoom:recording', 'read');
      seen.push(d);
      assert.deepEqual([d.allowed, d.strict, d.version], [true, true, good]);
    }

    gate.open();
    const failed = await run.done;
    assert.equal(failed.code, 2, `the sync fails (stdout: ${failed.out})`);
    assert.match(
      failed.err,
      /the policy store postgres \(schema rbac\): .*ECONNREFUSED/,
      'it names the store',
    );

    // Then, once nothing has been confirmed for maxStaleness, every instance fails closed.
    for (const i of followers) {
      let last: Decided | undefined;
      await pollUntil('the instance fails closed', async () => {
        last = await i.decide('alice', 'zoom:recording', 'read');
        seen.push(last);
        return !last.allowed;
      });
      assert.ok(last);
      assert.equal(last.strict, 'DecisionError', 'enforceStrict throws');
      assert.equal(last.version, good);
    }
    for (const d of seen) {
      // Allowed exactly while the last confirmation is within the bound.
      if (d.heardAgo[1] <= MAX_STALENESS) assert.equal(d.allowed, true, JSON.stringify(d));
      if (d.heardAgo[0] > MAX_STALENESS) assert.equal(d.allowed, false, JSON.stringify(d));
    }

    await server.start();
    assert.deepEqual(await store.load(), before, 'the store holds the last good version exactly');
    for (const i of followers) {
      await pollUntil('the instance serves again', async () => {
        const d = await i.decide('alice', 'zoom:recording', 'read');
        return d.allowed && d.strict === true && d.version === good;
      });
    }
  });

  test('two syncs at once from two processes: the second is refused with exit 3 while the first holds the lock, and no change is lost', async () => {
    const start = await store.version();
    privileges().push('Both:Read');
    const { gate, run } = await heldSync();
    const second = await cliSync(await workspace(emulator.url));
    assert.equal(second.code, 3, second.err);
    assert.match(second.err, /lock/);
    assert.equal(await store.version(), start, 'the refused sync wrote nothing');

    privileges().push('Later:Read');
    gate.open();
    const first = await cliSync(run);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.version, start + 1, 'the sync cut off earlier took no version');

    // The store equals what one clean sync of the same vendor data gives (run in this process).
    const clean = createPostgresStore({ url: server.url, schema: 'clean' });
    try {
      await clean.migrate();
      const ran = await runCli(['sync', '--config', await workspace(emulator.url, '', 'clean')]);
      assert.equal(ran.code, 0, ran.err);
      const [got, want] = [await store.load(), await clean.load()];
      assert.deepEqual(await keysOf(store), await keysOf(clean));
      assert.deepEqual(new Map([...got.provenance].sort()), new Map([...want.provenance].sort()));
      for (const area of ['lost', 'both', 'later'])
        assert.ok(
          (await keysOf(store)).some((k) => k.includes(`zoom:${area}`)),
          area,
        );
    } finally {
      await clean.close();
    }
    // Every instance, listening or polling, holds the store's policy at that version.
    const all = [...listeners, ...followers];
    await allReach(all, start + 1);
    const want = await keysOf(store);
    for (const i of all) assert.deepEqual(await i.keys(), want);
  });
});
