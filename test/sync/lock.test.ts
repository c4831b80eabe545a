// One writer at a time per policies folder: a second sync never overwrites the first one's change.
import assert from 'node:assert/strict';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createAuthorizer } from '../../src/authorizer.js';
import { manualClock } from '../../src/clock.js';
import { LEASE_MS } from '../../src/policy/lock.js';
import { readPolicy } from '../../src/policy/store.js';
import { startCli } from '../helpers/child.js';
import { runCli as inProcess } from '../helpers/cli.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';
import { startGate } from '../helpers/gate.js';

const BOB_VONAGE = '8e22b1fe-d2ea-403d-8c03-50eb21188e79';
const ALICE_VONAGE = '2f9207ca-8922-4245-bfc5-d8f42939e29a';
const SUPPORT = 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c';
const POLICY_FILES = ['model.conf', 'policy.csv', 'provenance.jsonl', 'sync-state.json'];

/** A workspace synced once, and a second config for it whose vendor requests wait at a gate. */
async function workspace() {
  const e = await exampleEmulator();
  const ws = await syncWorkspace(e.url);
  assert.equal((await inProcess(['sync', '--config', ws.config])).code, 0);
  const gate = await startGate(e.url);
  const gated = join(ws.dir, 'gated.yaml');
  await writeFile(gated, (await readFile(ws.config, 'utf8')).replaceAll(e.url, gate.url));
  const close = async () => {
    gate.open();
    await gate.close();
    await e.close();
  };
  return { e, ws, gate, gated, policies: join(ws.dir, 'policies'), close };
}

const roleOneEdits = async (policies: string) =>
  (await readPolicy(policies)).rules.some(
    (r) => r.sub === 'role:zoom:1' && r.obj === 'zoom:recording' && r.act === 'edit',
  );

describe('concurrent syncs', () => {
  test('a second CLI sync on the same policies exits 3 naming the running one, sends no request, and the first applies its change', async () => {
    const w = await workspace();
    try {
      const role = w.e.state.dataset.zoom.roles.find((r) => r.id === '1');
      assert.ok(role);
      role.privileges = role.privileges.filter((p) => p !== 'Recording:Edit');
      const first = startCli(['sync', '--config', w.gated]);
      const waiting = await Promise.race([w.gate.waiting().then(() => true), first.done.then(() => false)]);
      assert.ok(waiting, 'the first sync is mid-run, waiting on a vendor');
      const requests = { ...w.e.state.stats.requests };

      const second = startCli(['sync', '--config', w.ws.config]);
      const r = await second.done;
      assert.equal(r.code, 3, r.err);
      assert.match(r.err, new RegExp(`another sync \\(pid ${first.child.pid} on .*\\) holds the lock`));
      assert.match(r.err, /nothing was changed/);
      assert.deepEqual(w.e.state.stats.requests, requests, 'the second sync sent no request');

      w.gate.open();
      const a = await first.done;
      assert.equal(a.code, 0, a.err);
      assert.equal(await roleOneEdits(w.policies), false, "the first sync's change is in the policy");
      assert.deepEqual((await readdir(w.policies)).sort(), POLICY_FILES, 'the lock is released');
    } finally {
      await w.close();
    }
  });

  test('a lock left by a killed sync does not block the next one', async () => {
    const w = await workspace();
    try {
      const first = startCli(['sync', '--config', w.gated]);
      const waiting = await Promise.race([w.gate.waiting().then(() => true), first.done.then(() => false)]);
      assert.ok(waiting, 'the first sync is mid-run');
      first.child.kill('SIGKILL');
      assert.equal((await first.done).signal, 'SIGKILL');
      assert.ok((await readdir(w.policies)).includes('.lock'), 'the killed sync left its lock');

      const role = w.e.state.dataset.zoom.roles.find((r) => r.id === '1');
      assert.ok(role);
      role.privileges = role.privileges.filter((p) => p !== 'Recording:Edit');
      const r = await inProcess(['sync', '--config', w.ws.config]);
      assert.equal(r.code, 0, r.err);
      assert.equal(await roleOneEdits(w.policies), false);
      assert.deepEqual((await readdir(w.policies)).sort(), POLICY_FILES);
    } finally {
      await w.close();
    }
  });

  test('a lock of another host is taken over once it has not been renewed for the lease, and one naming this pid at once', async () => {
    const w = await workspace();
    try {
      const lock = join(w.policies, '.lock');
      const holder = { pid: 4242, hostname: 'elsewhere.example', purpose: 'sync', token: 'other' };
      await writeFile(lock, JSON.stringify({ ...holder, startedAt: new Date().toISOString() }));
      const held = await inProcess(['sync', '--config', w.ws.config]);
      assert.equal(held.code, 3, held.err);
      assert.match(held.err, /another sync \(pid 4242 on elsewhere\.example, since .*\) holds the lock/);
      const stale = new Date(Date.now() - LEASE_MS - 60_000);
      await utimes(lock, stale, stale);
      const taken = await inProcess(['sync', '--config', w.ws.config]);
      assert.equal(taken.code, 0, taken.err);
      assert.deepEqual((await readdir(w.policies)).sort(), POLICY_FILES);

      // Left by an earlier process that had this pid (pids are reused, in containers above all).
      await writeFile(
        lock,
        JSON.stringify({
          ...holder,
          pid: process.pid,
          hostname: hostname(),
          startedAt: new Date().toISOString(),
        }),
      );
      const reused = await inProcess(['sync', '--config', w.ws.config]);
      assert.equal(reused.code, 0, reused.err);
      assert.deepEqual((await readdir(w.policies)).sort(), POLICY_FILES);
    } finally {
      await w.close();
    }
  });

  test('two authorizer.sync() calls at once run one after the other, and both changes reach the file and the live decisions', async () => {
    const w = await workspace();
    try {
      const authz = await createAuthorizer({
        config: w.ws.config,
        clock: manualClock('2026-11-22T12:00:00Z'),
      });
      const d = w.e.state.dataset;
      const aliceGroups = d.vonage.groups.get(ALICE_VONAGE) ?? [];
      const aliceGroup = `vonage:group:${aliceGroups[0]?.['groupId']}`;
      assert.equal(authz.enforce('alice', aliceGroup, 'read'), true);
      assert.equal(authz.enforce('bob', SUPPORT, 'write'), false);
      for (const g of d.vonage.groups.get(BOB_VONAGE) ?? [])
        if (g['groupName'] === 'Support') g['groupPermission'] = 'Write';
      for (const g of aliceGroups) g['groupPermission'] = 'None';

      const log: string[] = [];
      const tagged =
        (tag: string): typeof fetch =>
        (input, init) => {
          log.push(tag);
          return fetch(input, init);
        };
      const [bob, alice] = await Promise.all([
        authz.sync({ users: ['bob'], fetch: tagged('bob') }).then((s) => {
          log.push('bob done');
          return s;
        }),
        authz.sync({ users: ['alice'], fetch: tagged('alice') }).then((s) => {
          log.push('alice done');
          return s;
        }),
      ]);
      assert.equal(bob.ok && alice.ok, true);
      // Whichever takes the lock first, the other sends nothing until it is done.
      const first = log[0] === 'bob' ? 'bob' : 'alice';
      const second = first === 'bob' ? 'alice' : 'bob';
      assert.ok(
        log.indexOf(second) > log.indexOf(`${first} done`),
        `the second sync waits for the first: ${log.join(' ')}`,
      );

      const policy = await readPolicy(w.policies);
      const allows = (sub: string, obj: string, act: string) =>
        policy.rules.some((r) => r.sub === sub && r.obj === obj && r.act === act && r.eft === 'allow');
      assert.equal(allows('bob', SUPPORT, 'write'), true, "bob's change is in the file");
      assert.equal(allows('alice', aliceGroup, 'read'), false, "alice's change is in the file");
      assert.equal(authz.enforce('bob', SUPPORT, 'write'), true, "bob's change is live");
      assert.equal(authz.enforce('alice', aliceGroup, 'read'), false, "alice's change is live");
    } finally {
      await w.close();
    }
  });
});
