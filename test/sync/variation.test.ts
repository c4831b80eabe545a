// Vendor variation during a sync: bodies with numbers for strings, strings for numbers, extra
// fields, missing optional fields, nulls, empty lists, unreadable grants, and one unusable unit among
// good ones. Each case says what it costs: nothing, one skipped grant, or one unit kept and stale.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import type { Emulator } from '../../src/emulator/server.js';
import { readPolicy } from '../../src/policy/store.js';
import { type Policy, ruleKey } from '../../src/policy/types.js';
import { runCli as run } from '../helpers/cli.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

const ALICE_VONAGE = '2f9207ca-8922-4245-bfc5-d8f42939e29a';
const BOB_VONAGE = '8e22b1fe-d2ea-403d-8c03-50eb21188e79';
const DAVE_VONAGE = '3c4d5e6f-0000-4000-8000-00000000da5e';
const SUPPORT = 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c';

interface Outcome {
  vendor: string;
  status: string;
  failures: { unit: string; id: string; error: string; file?: string; field?: string }[];
  problems: { file: string; field?: string; effect: string }[];
}
interface Summary {
  ok: boolean;
  vendors: Outcome[];
  stale: { vendor: string; holder: string }[];
}

const rules = (p: Policy, sub: (s: string) => boolean) =>
  p.rules
    .filter((r) => sub(r.sub))
    .map(ruleKey)
    .sort();

describe('a sync meets vendor variation', () => {
  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  let e: Emulator;
  let ws: { dir: string; config: string };
  let before: Policy;
  const vendor = (s: Summary, v: string) => s.vendors.find((o) => o.vendor === v) as Outcome;
  const sync = async () => {
    const r = await run(['sync', '--config', ws.config, '--json']);
    return {
      code: r.code,
      summary: JSON.parse(r.out) as Summary,
      after: await readPolicy(join(ws.dir, 'policies')),
    };
  };

  beforeEach(async () => {
    e = await exampleEmulator();
    emulators.push(e);
    ws = await syncWorkspace(e.url);
    assert.equal((await run(['sync', '--config', ws.config])).code, 0);
    before = await readPolicy(join(ws.dir, 'policies'));
  });

  test('numbers for strings, strings for numbers, extra fields, nulls and missing optional fields change nothing', async () => {
    const d = e.state.dataset;
    for (const g of d.vonage.groups.get(BOB_VONAGE) ?? []) {
      g['groupDisplayId'] = Number(g['groupDisplayId']);
      g['groupName'] = null;
      g['isDefault'] = false;
    }
    for (const a of d.vonage.access.get(ALICE_VONAGE) ?? []) a['inherited'] = { from: 'team' };
    for (const u of d.vonage.users) u['phone'] = null;
    for (const list of d.tuya.permissions.values())
      for (const p of list) {
        p['permission_id'] = String(p['permission_id']);
        p['type'] = String(p['type']);
        if (p['start_time'] !== undefined) p['start_time'] = String(p['start_time']);
        if (p['end_time'] !== undefined) p['end_time'] = ` ${p['end_time']} `;
        p['gmt_create'] = null;
        delete p['description'];
      }
    for (const r of d.zoom.roles) r.description = undefined as unknown as string;
    for (const u of d.zoom.users) u['custom_attributes'] = [{ key: 'k', value: 1 }];
    const { code, summary, after } = await sync();
    assert.equal(code, 0);
    assert.equal(summary.ok, true);
    assert.deepEqual(
      summary.vendors.map((v) => [v.vendor, v.status, v.failures.length, v.problems.length]),
      [
        ['zoom', 'ok', 0, 0],
        ['vonage', 'ok', 0, 0],
        ['tuya', 'ok', 0, 0],
      ],
    );
    assert.deepEqual(after.rules.map(ruleKey).sort(), before.rules.map(ruleKey).sort());
  });

  test('empty lists revoke what they held, and nothing else', async () => {
    e.state.dataset.vonage.groups.set(BOB_VONAGE, []);
    e.state.dataset.tuya.permissions.set('ay-bob', []);
    const { code, summary, after } = await sync();
    assert.equal(code, 0);
    assert.equal(summary.ok, true);
    assert.deepEqual(
      rules(after, (s) => s === 'bob').filter((k) => k.includes('vonage:group') || k.includes('tuya:')),
      [],
    );
    assert.deepEqual(
      rules(after, (s) => s !== 'bob'),
      rules(before, (s) => s !== 'bob'),
    );
  });

  test('a grant whose mapped field cannot be read is skipped and reported; the rest of the unit applies', async () => {
    const groups = e.state.dataset.vonage.groups.get(BOB_VONAGE) ?? [];
    const support = groups.find((g) => g['groupName'] === 'Support');
    assert.ok(support);
    support['groupPermission'] = { level: 'Write' }; // was None (a deny)
    const billing = groups.find((g) => g['groupName'] === 'Billing');
    assert.ok(billing);
    billing['groupPermission'] = 'Read'; // was None: a change that must still apply
    const role = e.state.dataset.zoom.roles.find((r) => r.id === '2');
    assert.ok(role);
    role.privileges = [...role.privileges, 42 as unknown as string];
    const { code, summary, after } = await sync();
    assert.equal(code, 0);
    const vonage = vendor(summary, 'vonage');
    assert.equal(vonage.status, 'ok');
    assert.deepEqual(
      vonage.problems.map((p) => [
        p.effect,
        p.file.replace(/page-\d+/, 'page'),
        p.field?.replace(/\[\d+\]/, '[i]'),
      ]),
      [['skipped', `vonage/users/${BOB_VONAGE}/groups/page.json`, 'groupPermissions[i].groupPermission']],
    );
    assert.deepEqual(
      vendor(summary, 'zoom').problems.map((p) => [p.effect, p.file, p.field]),
      [
        ['skipped', 'zoom/roles/2/role.json', 'privileges[2]'],
        // Zoom's effective permissions of a member repeat the role's privileges, the bad one too.
        ['skipped', 'zoom/users/z-bob/permissions.json', 'permissions[2]'],
      ],
    );
    // The unreadable grant grants nothing (bob's Support deny is gone with it, and no allow came).
    assert.ok(!after.rules.some((r) => r.sub === 'bob' && r.obj === SUPPORT));
    assert.ok(
      after.rules.some(
        (r) =>
          r.sub === 'bob' &&
          r.obj.endsWith('38c791f5-961e-4578-979f-5f375a9e49ec') &&
          r.act === 'read' &&
          r.eft === 'allow',
      ),
    );
    assert.deepEqual(
      rules(after, (s) => s === 'role:zoom:2'),
      rules(before, (s) => s === 'role:zoom:2'),
    );
  });

  test('one unusable unit per vendor among good ones keeps its previous rules, stale, and exits 1', async () => {
    const d = e.state.dataset;
    // Good units change, so the run must still apply them.
    const aliceGroups = d.vonage.groups.get(ALICE_VONAGE) ?? [];
    for (const g of aliceGroups) g['groupPermission'] = 'None';
    d.tuya.permissions.set('ay-alice', []);
    // Dave's group list is not a list; carol's Tuya page is not JSON; role Rc0ffee's members are not a list.
    d.vonage.groups.set(DAVE_VONAGE, 'not a list' as unknown as []);
    e.setFaults({ malformedUnits: ['ay-carol'] });
    const custom = d.zoom.roles.find((r) => r.id === 'Rc0ffee');
    assert.ok(custom);
    custom.members = 'not a list' as unknown as [];
    custom.privileges = ['Recording:Read']; // would drop Recording:Edit if the unit were usable

    const { code, summary, after } = await sync();
    assert.equal(code, 1);
    assert.equal(summary.ok, false);
    const failures = summary.vendors.flatMap((v) =>
      v.failures.map((f) => [v.vendor, v.status, f.unit, f.id, f.file, f.field]),
    );
    assert.deepEqual(failures, [
      ['zoom', 'partial', 'role', 'Rc0ffee', 'zoom/roles/Rc0ffee/members/page-0001.json', 'members'],
      [
        'vonage',
        'partial',
        'user',
        DAVE_VONAGE,
        `vonage/users/${DAVE_VONAGE}/groups/page-0001.json`,
        'groupPermissions',
      ],
      ['tuya', 'partial', 'user', 'ay-carol', undefined, undefined],
    ]);
    assert.match(summary.vendors[2]?.failures[0]?.error ?? '', /not JSON/);
    assert.deepEqual(
      summary.stale.map((s) => `${s.vendor} ${s.holder}`).sort(),
      ['tuya ay-carol', `vonage ${DAVE_VONAGE}`, 'zoom role:Rc0ffee'].sort(),
    );
    // What failed is kept as it was ...
    const davesOrCarols = (s: string) =>
      !['alice', 'bob'].includes(s) &&
      !s.startsWith('role:zoom:1') &&
      !s.startsWith('role:zoom:2') &&
      !s.startsWith('tuya:');
    // (carol's own Zoom permissions did arrive: with her role unreadable, what Zoom says she holds
    // becomes direct rules, here Recording:Read.)
    assert.deepEqual(
      rules(after, davesOrCarols),
      [...rules(before, davesOrCarols), '["carol","zoom:recording","read","allow",null,null]'].sort(),
    );
    assert.deepEqual(
      after.links.filter((l) => l.role === 'role:zoom:Rc0ffee'),
      before.links.filter((l) => l.role === 'role:zoom:Rc0ffee'),
    );
    // ... and every good unit of every vendor applied.
    assert.ok(!after.rules.some((r) => r.sub === 'alice' && r.obj.startsWith('tuya:')));
    assert.ok(
      !after.rules.some((r) => r.sub === 'alice' && r.obj.startsWith('vonage:group') && r.eft === 'allow'),
    );
    const human = await run(['sync', '--config', ws.config]);
    assert.equal(human.code, 1);
    assert.match(
      human.err + human.out,
      new RegExp(
        `failed user ${DAVE_VONAGE}: .*vonage/users/${DAVE_VONAGE}/groups/page-0001.json: "groupPermissions"`,
      ),
    );
  });
});
