// authorizer.health() and `rbac-normalizer status`: what an operator sees of an instance.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { createAuthorizer } from '../src/authorizer.js';
import { manualClock } from '../src/clock.js';
import type { Emulator } from '../src/emulator/server.js';
import { createFileStore, type PolicyStore } from '../src/policy/policy-store.js';
import { exampleWorkspace } from './cli/workspace.js';
import { runCli } from './helpers/cli.js';
import { exampleEmulator, syncWorkspace } from './helpers/emulator.js';

const emulators: Emulator[] = [];
after(() => Promise.all(emulators.map((e) => e.close())));

test('health() reports the policy, the last sync per vendor with its outcome, stale units and the cache', async () => {
  const e = await exampleEmulator();
  emulators.push(e);
  const ws = await syncWorkspace(e.url);
  assert.equal((await runCli(['sync', '--config', ws.config])).code, 0);
  const authz = await createAuthorizer({ config: ws.config, clock: manualClock('2026-11-22T12:00:00Z') });
  const first = await authz.health();
  assert.equal(first.ready, true);
  assert.equal(first.notReady, undefined);
  assert.equal(first.staleUnits, 0);
  assert.ok(first.lastSyncAt !== null);
  // Synced by another process: every vendor has a last success, and this process ran no sync.
  assert.deepEqual(
    first.vendors.map((v) => [v.vendor, v.lastSuccess !== null, v.lastOutcome]),
    [
      ['zoom', true, null],
      ['vonage', true, null],
      ['tuya', true, null],
    ],
  );

  e.setFaults({ failUsers: ['ay-bob'] });
  const summary = await authz.sync();
  assert.equal(summary.ok, false);
  authz.enforce('alice', 'zoom:recording', 'read');
  authz.enforce('alice', 'zoom:recording', 'read');
  const h = await authz.health();
  assert.ok(h.policy.rules > 20 && h.policy.links >= 3, JSON.stringify(h.policy));
  assert.ok(h.lastSyncAt !== null);
  const tuya = h.vendors.find((v) => v.vendor === 'tuya');
  assert.deepEqual(tuya?.lastOutcome?.status, 'partial');
  assert.equal(tuya?.stale, 1);
  assert.equal(h.staleUnits, 1);
  assert.equal(h.vendors.find((v) => v.vendor === 'zoom')?.lastOutcome?.status, 'ok');
  assert.ok((h.vendors.find((v) => v.vendor === 'vonage')?.lastSuccess ?? '') > '2000');
  assert.ok(h.cache.hits >= 1 && h.cache.misses >= 1, JSON.stringify(h.cache));

  const status = await runCli(['status', '--config', ws.config, '--json']);
  assert.equal(status.code, 0, status.err);
  const fromCli = JSON.parse(status.out) as { staleUnits: number; policy: { rules: number } };
  assert.equal(fromCli.staleUnits, 1);
  assert.equal(fromCli.policy.rules, h.policy.rules);
  const human = await runCli(['status', '--config', ws.config]);
  assert.match(human.out, /^ready\n/);
  assert.match(human.out, /stale units: 1/);
  assert.match(human.out, /tuya +last success .*, 1 stale/);
});

test('a store that cannot be read stays ready on the policy it holds, and health() says why the sync state is unknown', async () => {
  const { config } = await exampleWorkspace();
  const files = createFileStore(join(dirname(config), 'out'));
  let down = false;
  const store: PolicyStore = {
    ...files,
    readState: () =>
      down ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432')) : files.readState(),
  };
  const authz = await createAuthorizer({ config, store });
  assert.equal((await authz.health()).stateError, undefined);
  down = true;
  const h = await authz.health();
  assert.equal(h.ready, true, 'the loaded policy is still served');
  assert.match(h.stateError ?? '', /ECONNREFUSED/);
  assert.ok(h.policy.rules > 0);
  assert.equal(authz.enforce('alice', 'zoom:recording', 'read'), true);
});
