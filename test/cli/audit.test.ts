import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Provenance } from '../../src/grants.js';
import { writePolicy } from '../../src/policy/store.js';
import { linkKey, type PolicyRule, type RoleLink, ruleKey } from '../../src/policy/types.js';
import { TERMINAL_ACTIVE } from '../helpers/hostile.js';
import { exampleWorkspace, run } from './workspace.js';

const ACTIVE = TERMINAL_ACTIVE;
const GROUP = 'vonage:group:687c104e-f28a-4985-9467-8f96a5868117';
const AT = '2026-11-22T12:00:00Z';

describe('who-can and what-can on the example data', () => {
  let config: string;
  before(async () => {
    ({ config } = await exampleWorkspace());
  });

  test('who-can lists the people a Zoom role lets edit recordings, with the role, the vendor value and the mapping line', async () => {
    const r = await run(['who-can', 'zoom:recording', 'edit', '--at', AT, '--config', config]);
    assert.equal(r.code, 0, r.err);
    const people = r.out.split('\n').filter((l) => /^ {2}\S/.test(l));
    assert.deepEqual(people, ['  alice  until the policy changes', '  carol  until the policy changes']);
    assert.match(r.out, /^who can edit on zoom:recording {2}\(at 2026-11-22T12:00:00\.000Z\): 2 subjects/);
    assert.match(
      r.out,
      /allowed by p, role:zoom:1, zoom:recording, edit, allow {2}via alice → role:zoom:1\n/,
    );
    assert.match(
      r.out,
      /grant: zoom privilege Recording:Edit {2}held by role:1 {2}mapped by \S*mappings\/zoom\.yaml:9/,
    );
  });

  test('who-can --at lists a temporary Tuya grant only inside its window, and says when it ends', async () => {
    const inside = await run([
      'who-can',
      'tuya:permission:232371810',
      'use',
      '--at',
      AT,
      '--json',
      '--config',
      config,
    ]);
    assert.equal(inside.code, 0, inside.err);
    const listed = JSON.parse(inside.out).subjects.map((s: { subject: string; until: string }) => [
      s.subject,
      s.until,
    ]);
    assert.deepEqual(listed, [
      ['alice', null],
      ['bob', '2026-12-01T00:00:00.000Z'],
    ]);
    const after = await run([
      'who-can',
      'tuya:permission:232371810',
      'use',
      '--at',
      '2026-12-01T00:00:00Z',
      '--json',
      '--config',
      config,
    ]);
    assert.deepEqual(
      JSON.parse(after.out).subjects.map((s: { subject: string }) => s.subject),
      ['alice'],
    );
  });

  test('what-can lists exactly what check allows, for every resource and action of the policy', async () => {
    const all = await run(['what-can', 'bob', '--at', AT, '--json', '--config', config]);
    assert.equal(all.code, 0, all.err);
    const listed = new Set<string>(
      JSON.parse(all.out).permissions.map(
        (p: { resource: string; action: string }) => `${p.resource} ${p.action}`,
      ),
    );
    assert.ok(listed.size >= 5, [...listed].join(', '));
    const universe = await run(['what-can', 'role:zoom:1', '--json', '--config', config]);
    const pairs = new Set<string>([...listed]);
    for (const p of JSON.parse(universe.out).permissions) pairs.add(`${p.resource} ${p.action}`);
    pairs.add(`${GROUP} write`);
    pairs.add('vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c read');
    for (const pair of pairs) {
      const [resource, action] = pair.split(' ') as [string, string];
      const check = await run(['check', 'bob', resource, action, '--at', AT, '--config', config]);
      assert.equal(check.out === 'allow\n', listed.has(pair), pair);
    }
  });

  test('what-can --prefix lists only the resources that start with it', async () => {
    const r = await run(['what-can', 'bob', '--prefix', 'vonage:', '--at', AT, '--config', config]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /^what bob can do on resources starting with "vonage:" {2}\(at 2026-11-22T12:00:00\.000Z\): 2 permissions\n/,
    );
    const permissions = r.out.split('\n').filter((l) => /^ {2}\S/.test(l));
    assert.deepEqual(permissions, [
      '  read on vonage:access:CPA_View  until the policy changes',
      `  read on ${GROUP}  until the policy changes`,
    ]);
    const none = await run(['what-can', 'bob', '--prefix', 'nothing:', '--config', config]);
    assert.match(none.out, /^bob is allowed nothing on resources starting with "nothing:"/);
  });

  test('explain of a denied write names the read bob has and the Vonage value that gives write', async () => {
    const r = await run(['explain', 'bob', GROUP, 'write', '--config', config]);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.out,
      new RegExp(
        `near: {2}has read on this resource: p, bob, ${GROUP}, read, allow .*"groupPermission":"Read"`,
      ),
    );
    assert.match(
      r.out,
      /write comes from vonage group .*"groupPermission":"Write".*mapped by \S*mappings\/vonage\.yaml:9/,
    );
    const json = JSON.parse(
      (await run(['explain', 'bob', GROUP, 'write', '--json', '--config', config])).out,
    );
    assert.equal(json.nearMisses[0].kind, 'other-action');
    assert.equal(json.nearMisses[0].action, 'read');
  });

  test('a bad --at is a usage error that names the option', async () => {
    for (const args of [
      ['who-can', 'zoom:recording', 'edit'],
      ['what-can', 'bob'],
    ]) {
      const r = await run([...args, '--at', 'tomorrow', '--config', config]);
      assert.equal(r.code, 2);
      assert.match(r.err, /--at/);
      assert.equal(r.out, '');
    }
  });
});

describe('who-can and what-can with hostile vendor values', () => {
  const SUBJECT = 'mal\x1b]0;owned\x07lory\u202e';
  const ROLE = 'role:zoom:\x1b[5mR1';
  const RESOURCE = 'zoom:recording\x9b2J';
  const RAW = 'Recording:Read\x1b[2J\x1b[31m\u2066';
  let config: string;
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-audit-hostile-'));
    const rule: PolicyRule = {
      sub: ROLE,
      obj: RESOURCE,
      act: 'read',
      eft: 'allow',
      from: Number.NEGATIVE_INFINITY,
      until: Number.POSITIVE_INFINITY,
    };
    const link: RoleLink = { member: SUBJECT, role: ROLE };
    const grant: Provenance = {
      vendor: 'zoom',
      kind: 'privilege',
      holder: 'role:R1',
      raw: RAW,
      mapping: { file: 'mappings/zoom.yaml', line: 9, column: 5 },
      source: 'zoom/roles/\x1b[1m/role.json',
    };
    await writePolicy(
      join(dir, 'policies'),
      { rules: [rule], links: [link] },
      new Map([
        [ruleKey(rule), [grant]],
        [linkKey(link), [{ ...grant, kind: 'member', raw: 'member' }]],
      ]),
    );
    config = join(dir, 'rbac.config.yaml');
    await writeFile(config, 'policies: policies/\n');
  });

  test('human output shows control and bidi characters escaped; --json keeps the exact values', async () => {
    const who = await run(['who-can', RESOURCE, 'read', '--config', config]);
    const what = await run(['what-can', SUBJECT, '--config', config]);
    for (const r of [who, what]) {
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.out, ACTIVE);
      for (const shown of [
        'mal\\x1b]0;owned\\x07lory\\u202e',
        'role:zoom:\\x1b[5mR1',
        'zoom:recording\\x9b2J',
        'Recording:Read\\x1b[2J\\x1b[31m\\u2066',
      ])
        assert.ok(r.out.includes(shown), `${shown} in:\n${r.out}`);
    }
    assert.ok(what.out.includes('zoom/roles/\\x1b[1m/role.json'), what.out);
    const json = await run(['who-can', RESOURCE, 'read', '--json', '--config', config]);
    assert.doesNotMatch(json.out, ACTIVE);
    const parsed = JSON.parse(json.out);
    assert.equal(parsed.subjects[0].subject, SUBJECT);
    assert.equal(parsed.subjects[0].allowedBy[0].grants[0].raw, RAW);
  });
});
