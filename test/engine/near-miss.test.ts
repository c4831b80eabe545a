import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEngine } from '../../src/engine/authorizer.js';
import { formatDecision } from '../../src/engine/format.js';
import type { NearMiss } from '../../src/engine/near-miss.js';
import type { Provenance } from '../../src/grants.js';
import { type Policy, type RoleLink, ruleKey } from '../../src/policy/types.js';
import { rule } from '../helpers/policy.js';

const T = (iso: string) => Date.parse(iso);
const link = (member: string, role: string): RoleLink => ({ member, role });
const GROUP = 'vonage:group:G';
const vonage = (holder: string, level: string, line: number): Provenance => ({
  vendor: 'vonage',
  kind: 'group',
  holder,
  raw: JSON.stringify({ groupId: 'G', groupPermission: level }),
  mapping: { file: 'mappings/vonage.yaml', line, column: 5 },
});
const kinds = (misses: readonly NearMiss[] | undefined) => (misses ?? []).map((m) => m.kind);

describe('near misses of a denied explain', () => {
  test('a denied write names the read the subject has and the vendor value that gives write', async () => {
    const bobRead = rule('bob', GROUP, 'read');
    const aliceWrite = rule('alice', GROUP, 'write');
    const policy: Policy = { rules: [bobRead, aliceWrite, rule('alice', GROUP, 'read')], links: [] };
    const authz = await createEngine({
      policies: policy,
      provenance: new Map([
        [ruleKey(bobRead), [vonage('v-bob', 'Read', 14)]],
        [ruleKey(aliceWrite), [vonage('v-alice', 'Write', 9)]],
      ]),
    });
    const d = authz.explain('bob', GROUP, 'write');
    assert.equal(d.reason, 'no-matching-rule');
    assert.deepEqual(d.nearMisses, [
      {
        kind: 'other-action',
        action: 'read',
        givenBy: [vonage('v-alice', 'Write', 9)],
        rule: { sub: 'bob', obj: GROUP, act: 'read', eft: 'allow', from: '', until: '' },
        via: ['bob'],
        grants: [vonage('v-bob', 'Read', 14)],
      },
    ]);
    const text = formatDecision(d);
    assert.match(
      text,
      /near: {2}has read on this resource: p, bob, vonage:group:G, read, allow {2}← vonage group .*"Read"/,
    );
    assert.match(text, /write comes from vonage group .*"Write".* mapped by mappings\/vonage\.yaml:9/);
    const without = authz.explain('bob', GROUP, 'write', { at: d.at, nearMisses: false });
    const { nearMisses: _near, ...rest } = d;
    assert.deepEqual(without, rest, 'nearMisses: false gives the same decision without looking for them');
  });

  test('an action the subject holds but a deny takes away is not offered as a near miss', async () => {
    const policy: Policy = {
      rules: [rule('bob', GROUP, 'read'), rule('bob', GROUP, 'read', { eft: 'deny' })],
      links: [],
    };
    const authz = await createEngine({ policies: policy });
    assert.equal(authz.explain('bob', GROUP, 'write').nearMisses, undefined);
  });

  test('grants outside their window are named with when they ended or start, nearest first', async () => {
    const policy: Policy = {
      rules: [
        rule('bob', 'tuya:permission:P', 'use', {
          from: T('2026-11-01T00:00:00Z'),
          until: T('2026-12-01T00:00:00Z'),
        }),
        rule('bob', 'tuya:permission:P', 'use', { from: T('2027-01-01T00:00:00Z') }),
        rule('bob', 'tuya:permission:P', 'use', { until: T('2026-01-01T00:00:00Z') }),
      ],
      links: [],
    };
    const authz = await createEngine({ policies: policy });
    const d = authz.explain('bob', 'tuya:permission:P', 'use', { at: '2026-12-02T00:00:00Z' });
    assert.equal(d.allowed, false);
    const windows = (d.nearMisses ?? []).flatMap((m) => (m.kind === 'window' ? [[m.state, m.time]] : []));
    assert.deepEqual(windows, [
      ['ended', '2026-12-01T00:00:00.000Z'],
      ['not-started', '2027-01-01T00:00:00.000Z'],
      ['ended', '2026-01-01T00:00:00.000Z'],
    ]);
    assert.match(
      formatDecision(d),
      /near: {2}ended at 2026-12-01T00:00:00\.000Z: p, bob, tuya:permission:P, use, allow/,
    );
    assert.match(formatDecision(d), /near: {2}starts at 2027-01-01T00:00:00\.000Z: /);
  });

  test('a deny names itself with its vendor value and the allows it overrides, and suggests no role', async () => {
    const none = rule('bob', GROUP, 'read', { eft: 'deny' });
    const policy: Policy = {
      rules: [none, rule('role:zoom:1', GROUP, 'read'), rule('role:zoom:2', GROUP, 'read')],
      links: [link('bob', 'role:zoom:1'), link('carol', 'role:zoom:2')],
    };
    const authz = await createEngine({
      policies: policy,
      provenance: new Map([[ruleKey(none), [vonage('v-bob', 'None', 19)]]]),
    });
    const d = authz.explain('bob', GROUP, 'read');
    assert.equal(d.reason, 'denied-by-rule');
    assert.deepEqual(kinds(d.nearMisses), ['deny', 'overridden']);
    assert.deepEqual(d.nearMisses?.[0]?.grants, [vonage('v-bob', 'None', 19)]);
    assert.deepEqual(d.nearMisses?.[1]?.via, ['bob', 'role:zoom:1']);
    const text = formatDecision(d);
    assert.match(
      text,
      /would be allowed by p, role:zoom:1, vonage:group:G, read, allow {2}via bob → role:zoom:1, but the deny overrides it/,
    );
    // The deciding deny is the decision's rule line; it is not printed again as a near miss.
    assert.doesNotMatch(text, /also denied by/);
  });

  test('a role that would allow it is named with at most 5 of its holders', async () => {
    const holders = Array.from({ length: 7 }, (_, i) => `p${i}`);
    const policy: Policy = {
      rules: [
        rule('role:zoom:editors', 'zoom:recording', 'edit'),
        rule('role:zoom:locked', 'zoom:recording', 'edit'),
      ],
      links: [
        ...holders.map((p) => link(p, 'role:zoom:editors')),
        link('role:zoom:leads', 'role:zoom:editors'),
        link('lee', 'role:zoom:leads'),
      ],
    };
    const authz = await createEngine({ policies: policy });
    authz.applyChanges({ addRules: [rule('role:zoom:locked', 'zoom:recording', 'edit', { eft: 'deny' })] });
    const d = authz.explain('bob', 'zoom:recording', 'edit');
    const roles = (d.nearMisses ?? []).flatMap((m) => (m.kind === 'role' ? [m] : []));
    // role:zoom:locked allows and denies: holding it would not allow, so it is not suggested.
    assert.deepEqual(
      roles.map((m) => [m.role, m.holders, m.moreHolders, m.via]),
      [
        ['role:zoom:editors', ['p0', 'p1', 'p2', 'p3', 'p4'], true, ['role:zoom:editors']],
        ['role:zoom:leads', ['lee'], false, ['role:zoom:leads', 'role:zoom:editors']],
      ],
    );
    assert.match(
      formatDecision(d),
      /role role:zoom:editors would allow it \(held by p0, p1, p2, p3, p4 and more\)/,
    );
    // Someone who holds it already is not told to get it.
    assert.equal(authz.explain('p0', 'zoom:recording', 'edit').nearMisses, undefined);
  });

  test('an allowed decision carries no near misses', async () => {
    const authz = await createEngine({
      policies: { rules: [rule('a', 'r', 'read'), rule('a', 'r', 'write', { until: 0 })], links: [] },
    });
    assert.equal(authz.explain('a', 'r', 'read').nearMisses, undefined);
    assert.deepEqual(kinds(authz.explain('a', 'r', 'write').nearMisses), ['window', 'other-action']);
  });
});
