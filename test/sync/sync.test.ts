// sync against the emulator over real HTTP: apply, stay unchanged, keep a failing user's rules.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createAuthorizer } from '../../src/authorizer.js';
import { manualClock } from '../../src/clock.js';
import type { Emulator } from '../../src/emulator/server.js';
import { isConfigError } from '../../src/errors.js';
import { readPolicy } from '../../src/policy/store.js';
import { vendorSettings } from '../../src/sync/settings.js';
import { runCli as run } from '../helpers/cli.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

/** Recording folders (finished or temporary) in a workspace. */
const recordings = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('rec'));
const BOB_VONAGE = '8e22b1fe-d2ea-403d-8c03-50eb21188e79';
const SUPPORT = 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c';

describe('sync', () => {
  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  const emulator = async (...a: Parameters<typeof exampleEmulator>) => {
    const e = await exampleEmulator(...a);
    emulators.push(e);
    return e;
  };

  test('fetches all three vendors, writes the policy, and a second run changes nothing', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    const first = await run(['sync', '--config', ws.config, '--json']);
    assert.equal(first.code, 0, first.err);
    const s = JSON.parse(first.out);
    assert.deepEqual(
      s.vendors.map((v: { vendor: string; status: string }) => `${v.vendor}:${v.status}`),
      ['zoom:ok', 'vonage:ok', 'tuya:ok'],
    );
    const policy = await readPolicy(join(ws.dir, 'policies'));
    assert.ok(policy.links.some((l) => l.member === 'alice' && l.role === 'role:zoom:1'));
    assert.ok(policy.rules.some((r) => r.sub === 'bob' && r.obj === SUPPORT && r.eft === 'deny'));
    const again = await run(['sync', '--config', ws.config, '--json']);
    const d = JSON.parse(again.out).diff;
    assert.deepEqual(
      [d.addRules.length, d.removeRules.length, d.addLinks.length, d.removeLinks.length],
      [0, 0, 0, 0],
    );
  });

  test('--diff-limit bounds the changes listed while the counts stay exact', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    const json = await run(['sync', '--config', ws.config, '--dry-run', '--json', '--diff-limit', '1']);
    assert.equal(json.code, 0, json.err);
    const s = JSON.parse(json.out);
    assert.ok(s.changes.addRules > 1 && s.changes.addLinks > 1, 'a first sync adds several rules and links');
    assert.equal(s.diff.addRules.length, 1);
    assert.equal(s.diff.addLinks.length, 1);
    assert.equal(s.rules, s.changes.addRules, 'every rule of a first sync is an addition');
    const text = await run(['sync', '--config', ws.config, '--dry-run', '--diff-limit', '1']);
    const more = s.changes.addRules + s.changes.addLinks - 2;
    assert.match(
      text.out,
      new RegExp(`changes: \\+${s.changes.addRules} rules, -0 rules, \\+${s.changes.addLinks} links`),
    );
    assert.match(text.out, new RegExp(`\\.\\.\\. and ${more} more`));
    assert.equal((await run(['sync', '--config', ws.config, '--diff-limit', '-1'])).code, 2);
  });

  test('--dry-run prints the difference and writes nothing; --record writes a snapshot compile can use', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    const dry = await run(['sync', '--config', ws.config, '--dry-run']);
    assert.equal(dry.code, 0, dry.err);
    assert.match(dry.out, /\+ p, bob, vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c, read, deny/);
    assert.match(dry.out, /dry run: nothing written/);
    assert.equal(await stat(join(ws.dir, 'policies', 'policy.csv')).catch(() => undefined), undefined);
    const synced = await run(['sync', '--config', ws.config, '--record', join(ws.dir, 'rec')]);
    assert.equal(synced.code, 0, synced.err);
    const recorded = await readFile(join(ws.dir, 'policies', 'policy.csv'), 'utf8');
    const fromRecording = await run([
      'compile',
      '--config',
      ws.config,
      '--snapshot',
      join(ws.dir, 'rec'),
      '--json',
    ]);
    assert.equal(fromRecording.code, 0);
    assert.equal(
      await readFile(join(ws.dir, 'policies', 'policy.csv'), 'utf8'),
      recorded,
      'offline compile of the recording = sync',
    );
    const text = await readFile(
      join(ws.dir, 'rec', 'tuya', 'users', 'ay-bob', 'permissions', 'page-0001.json'),
      'utf8',
    );
    assert.doesNotMatch(text, /emu-tuya-secret|access_token/);
  });

  test('a failing user keeps their previous rules, flagged stale in explain and the summary, and exits 1', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    e.setFaults({ failUsers: [BOB_VONAGE] });
    const r = await run(['sync', '--config', ws.config]);
    assert.equal(r.code, 1);
    assert.match(r.out, /vonage {2}partial/);
    assert.match(r.out, new RegExp(`stale: vonage ${BOB_VONAGE}: rules kept from 20`));
    const policy = await readPolicy(join(ws.dir, 'policies'));
    assert.ok(
      policy.rules.some((x) => x.sub === 'bob' && x.obj === SUPPORT && x.eft === 'deny'),
      "bob's deny stays",
    );
    const explained = await run(['explain', 'bob', SUPPORT, 'read', '--config', ws.config]);
    assert.match(explained.out, /STALE: vonage 8e22b1fe-.* could not be fetched .*; rules kept from 20/);
    e.setFaults({ failUsers: [] });
    const healed = await run(['sync', '--config', ws.config, '--json']);
    assert.equal(healed.code, 0);
    assert.deepEqual(JSON.parse(healed.out).stale, []);
  });

  test('a vendor that fails as a whole keeps all its rules; an unconfigured one is skipped with a notice', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    await run(['sync', '--config', ws.config]);
    const before = await readFile(join(ws.dir, 'policies', 'policy.csv'), 'utf8');
    const bad = await syncWorkspace(e.url);
    const text = (await readFile(bad.config, 'utf8'))
      .replace('emu-vonage-secret', 'nope')
      .replace(/ {2}tuya:.*\n/, '');
    await writeFile(ws.config, text);
    const r = await run(['sync', '--config', ws.config, '--json']);
    assert.equal(r.code, 1);
    const s = JSON.parse(r.out);
    assert.equal(s.vendors[1].status, 'failed');
    assert.match(s.vendors[1].error, /credentials refused/);
    assert.equal(s.vendors[2].status, 'skipped');
    assert.match(s.vendors[2].notice, /tuya is not configured/);
    assert.equal(await readFile(join(ws.dir, 'policies', 'policy.csv'), 'utf8'), before);
  });

  test('an unreadable current policy stops the run with exit 2 and is left as it was (failed users could not keep their rules)', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    await run(['sync', '--config', ws.config]);
    const file = join(ws.dir, 'policies', 'policy.csv');
    const broken = `${await readFile(file, 'utf8')}p, "unterminated\n`;
    await writeFile(file, broken);
    const r = await run(['sync', '--config', ws.config, '--record', join(ws.dir, 'rec')]);
    assert.equal(r.code, 2);
    assert.match(r.err, /policy\.csv/);
    assert.equal(await readFile(file, 'utf8'), broken);
    assert.deepEqual(await recordings(ws.dir), [], 'no recording, finished or partial');
  });

  test('bad vendor configuration fails before any request, naming the key', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url, '');
    const text = (await readFile(ws.config, 'utf8')).replace(/clientSecret: emu-zoom-secret, /, '');
    await writeFile(ws.config, text);
    const r = await run(['sync', '--config', ws.config]);
    assert.equal(r.code, 2);
    assert.match(r.err, /vendors\.zoom\.clientSecret: is required/);
    assert.equal(e.state.stats.requests.zoom + e.state.stats.requests.vonage, 0);
    assert.throws(
      () => vendorSettings({ zoom: { clientID: 'x' } }),
      (x: unknown) => isConfigError(x) && x.key === 'vendors.zoom.clientID',
    );
    const env = vendorSettings(
      {},
      { TUYA_BASE_URL: 'https://t', TUYA_CLIENT_ID: 'i', TUYA_CLIENT_SECRET: 's' },
    );
    assert.deepEqual(env.tuya, { baseUrl: 'https://t', clientId: 'i', clientSecret: 's' });
  });

  test('authorizer.sync applies changes incrementally and drops only the affected cached decisions', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    await run(['sync', '--config', ws.config]);
    const authz = await createAuthorizer({ config: ws.config, clock: manualClock('2026-11-22T12:00:00Z') });
    assert.equal(authz.enforce('alice', 'zoom:recording', 'edit'), true);
    assert.equal(authz.enforce('carol', 'zoom:recording', 'edit'), true);
    // Zoom removes Recording:Edit from role 1 (alice's); carol's custom role is untouched.
    const role = e.state.dataset.zoom.roles.find((r) => r.id === '1');
    assert.ok(role);
    role.privileges = role.privileges.filter((p) => p !== 'Recording:Edit');
    const s = await authz.sync();
    assert.equal(s.ok, true);
    assert.ok(
      s.invalidatedSubjects >= 1 && s.invalidatedSubjects <= 2,
      `invalidated ${s.invalidatedSubjects}`,
    );
    const hits = authz.stats().hits;
    assert.equal(authz.enforce('carol', 'zoom:recording', 'edit'), true);
    assert.equal(authz.stats().hits, hits + 1, "carol's cached decision survived");
    assert.equal(authz.enforce('alice', 'zoom:recording', 'edit'), false);
  });

  test('--user refreshes one person with a few requests per vendor and leaves everyone else as they were', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    const before = await readPolicy(join(ws.dir, 'policies'));
    const d = e.state.dataset;
    // Bob: Support goes from None to Write in Vonage, he moves from Zoom role 2 to role 1, and loses
    // his Tuya grants. Alice changes too, but is not asked for.
    const bobGroups = d.vonage.groups.get(BOB_VONAGE) ?? [];
    for (const g of bobGroups) if (g['groupName'] === 'Support') g['groupPermission'] = 'Write';
    const bobZoom = d.zoom.users.find((u) => u.id === 'z-bob');
    assert.ok(bobZoom);
    bobZoom.role_id = '1';
    for (const role of d.zoom.roles) {
      role.members = role.members.filter((m) => m.id !== 'z-bob');
      if (role.id === '1') role.members.push({ id: 'z-bob', email: 'bob@example.com' });
    }
    // As in Zoom, bob's effective permissions are now his role's, without his own extras.
    d.zoom.extraPermissions.delete('z-bob');
    d.tuya.permissions.set('ay-bob', []);
    const aliceGroups = d.vonage.groups.get('2f9207ca-8922-4245-bfc5-d8f42939e29a') ?? [];
    for (const g of aliceGroups) g['groupPermission'] = 'None';
    const requests = { ...e.state.stats.requests };

    const r = await run(['sync', '--config', ws.config, '--user', 'bob', '--json']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    assert.deepEqual(
      s.vendors.map(
        (v: { vendor: string; status: string; units: number }) => `${v.vendor}:${v.status}:${v.units}`,
      ),
      ['zoom:ok:1', 'vonage:ok:1', 'tuya:ok:1'],
    );
    const sent = (v: 'zoom' | 'vonage' | 'tuya') => e.state.stats.requests[v] - requests[v];
    assert.ok(sent('zoom') <= 4, `zoom: ${sent('zoom')} requests`); // token, user, permissions, role
    // token, user, groups, access, and one more while a new client learns whether pages start at 0 or 1
    assert.ok(sent('vonage') <= 5, `vonage: ${sent('vonage')} requests`);
    assert.ok(sent('tuya') <= 2, `tuya: ${sent('tuya')} requests`); // token, permissions

    const after = await readPolicy(join(ws.dir, 'policies'));
    const subjects = new Set([...s.diff.addRules, ...s.diff.removeRules].map((x: { sub: string }) => x.sub));
    assert.deepEqual([...subjects], ['bob'], 'only bob changed');
    assert.ok(
      after.rules.some((x) => x.sub === 'bob' && x.obj === SUPPORT && x.act === 'write' && x.eft === 'allow'),
    );
    assert.ok(!after.rules.some((x) => x.sub === 'bob' && x.obj === SUPPORT && x.eft === 'deny'));
    assert.ok(!after.rules.some((x) => x.sub === 'bob' && x.obj.startsWith('tuya:')));
    assert.ok(after.links.some((l) => l.member === 'bob' && l.role === 'role:zoom:1'));
    assert.ok(!after.links.some((l) => l.member === 'bob' && l.role === 'role:zoom:2'));
    const others = (p: typeof before) =>
      JSON.stringify([p.rules.filter((x) => x.sub !== 'bob'), p.links.filter((l) => l.member !== 'bob')]);
    assert.equal(others(after), others(before), "everyone else's rules and links are as they were");

    // The next full sync agrees with the refresh on bob, and now picks up alice's change.
    const full = JSON.parse((await run(['sync', '--config', ws.config, '--json'])).out);
    const touched = new Set(
      [...full.diff.addRules, ...full.diff.removeRules].map((x: { sub: string }) => x.sub),
    );
    assert.deepEqual([...touched], ['alice']);
  });

  test('--user takes vendor:id accounts, refuses unknown names, and keeps a failing user stale', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    const unknown = await run(['sync', '--config', ws.config, '--user', 'nobody']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /users: "nobody" is not a person in the identities file/);

    const one = JSON.parse(
      (await run(['sync', '--config', ws.config, '--user', `vonage:${BOB_VONAGE}`, '--json'])).out,
    );
    assert.deepEqual(
      one.vendors.map((v: { vendor: string; status: string }) => `${v.vendor}:${v.status}`),
      ['zoom:skipped', 'vonage:ok', 'tuya:skipped'],
    );
    e.setFaults({ failUsers: [BOB_VONAGE] });
    const failed = await run(['sync', '--config', ws.config, '--user', 'bob', '--json']);
    assert.equal(failed.code, 1);
    const f = JSON.parse(failed.out);
    assert.deepEqual(
      f.stale.map((h: { vendor: string; holder: string }) => `${h.vendor}:${h.holder}`),
      [`vonage:${BOB_VONAGE}`],
    );
    const policy = await readPolicy(join(ws.dir, 'policies'));
    assert.ok(
      policy.rules.some((x) => x.sub === 'bob' && x.obj === SUPPORT && x.eft === 'deny'),
      'kept',
    );
  });

  test('a value no mapping matches under "unmatched: error" stops every vendor and writes nothing, recording included', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    const vonage = join(ws.dir, 'mappings', 'vonage.yaml');
    await writeFile(vonage, (await readFile(vonage, 'utf8')).replace('unmatched: warn', 'unmatched: error'));
    const groups = e.state.dataset.vonage.groups.get(BOB_VONAGE) ?? [];
    groups.push({ groupId: 'g-new', groupName: 'New', groupPermission: 'Owner' });
    const r = await run(['sync', '--config', ws.config, '--record', join(ws.dir, 'rec')]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /matched no mapping rule/);
    await assert.rejects(stat(join(ws.dir, 'policies', 'policy.csv')), 'no policy written');
    assert.deepEqual(await recordings(ws.dir), [], 'no recording, finished or partial');
  });

  test('a cancelled sync rejects at once and writes nothing', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    const file = join(ws.dir, 'policies', 'policy.csv');
    const before = await readFile(file, 'utf8');
    const role = e.state.dataset.zoom.roles.find((r) => r.id === '1');
    assert.ok(role);
    role.privileges = [];
    const authz = await createAuthorizer({ config: ws.config });
    const ac = new AbortController();
    const sent = () => Object.values(e.state.stats.requests).reduce((a, b) => a + b, 0);
    const before0 = sent();
    // Cancelled as the first request goes out (no timer): the run stops instead of fetching on.
    await assert.rejects(
      authz.sync({ signal: ac.signal, progress: { request: () => ac.abort(new Error('stop')) } }),
      /stop/,
    );
    assert.ok(sent() - before0 <= 6, `sent ${sent() - before0} requests after the cancel`);
    assert.equal(await readFile(file, 'utf8'), before, 'policy untouched');
    assert.equal(authz.enforce('alice', 'zoom:recording', 'edit'), true, 'live policy untouched');
  });

  test('SIGINT or SIGTERM during a CLI sync cancels it: exit 1, nothing written, no temporary files left', async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    const file = join(ws.dir, 'policies', 'policy.csv');
    const before = await readFile(file, 'utf8');
    e.setFaults({ latencyMs: 300 });
    const tmp = await mkdtemp(join(tmpdir(), 'rbac-sigint-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // where the sync's external sort puts its runs
    try {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const listeners = process.listenerCount(signal);
        setTimeout(() => process.emit(signal, signal), 150);
        const r = await run(['sync', '--config', ws.config, '--record', join(ws.dir, 'rec')]);
        assert.equal(r.code, 1);
        assert.match(r.err, new RegExp(`sync interrupted by ${signal}: nothing was written`));
        assert.equal(await readFile(file, 'utf8'), before, 'policy untouched');
        assert.deepEqual(await readdir(tmp), [], 'the sort folder is removed');
        assert.deepEqual(await recordings(ws.dir), [], 'no recording, finished or partial');
        assert.deepEqual(
          (await readdir(join(ws.dir, 'policies'))).filter((f) => f.includes('.tmp-')),
          [],
          'no temporary policy file',
        );
        assert.equal(process.listenerCount(signal), listeners, 'the signal handler is removed after the run');
      }
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  test("a Zoom role that cannot be fetched keeps its rules and all its members' links, flagged stale", async () => {
    const e = await emulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    const before = await readPolicy(join(ws.dir, 'policies'));
    const ofRole = (p: typeof before) =>
      JSON.stringify([
        p.rules.filter((r) => r.sub === 'role:zoom:1'),
        p.links.filter((l) => l.role === 'role:zoom:1'),
      ]);
    assert.ok(before.links.some((l) => l.role === 'role:zoom:1'));
    // The role loses a privilege and a member in Zoom, but cannot be read this time.
    const role = e.state.dataset.zoom.roles.find((r) => r.id === '1');
    assert.ok(role);
    role.privileges = role.privileges.slice(1);
    role.members = [];
    e.setFaults({ failUsers: ['1'] });
    const r = await run(['sync', '--config', ws.config, '--json']);
    assert.equal(r.code, 1);
    const s = JSON.parse(r.out);
    assert.equal(s.vendors[0].status, 'partial');
    assert.ok(
      s.stale.some((h: { vendor: string; holder: string }) => h.vendor === 'zoom' && h.holder === 'role:1'),
    );
    assert.equal(ofRole(await readPolicy(join(ws.dir, 'policies'))), ofRole(before), 'kept as they were');
  });
});
