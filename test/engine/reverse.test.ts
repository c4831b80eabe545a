import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualClock } from '../../src/clock.js';
import { createEngine } from '../../src/engine/authorizer.js';
import { isDecisionError } from '../../src/errors.js';
import type { Provenance } from '../../src/grants.js';
import { linkKey, type Policy, type RoleLink, ruleKey } from '../../src/policy/types.js';
import { rule } from '../helpers/policy.js';

const T = (iso: string) => Date.parse(iso);
const link = (member: string, role: string): RoleLink => ({ member, role });
/** The subjects listed, sorted (whoCan lists them in the order it reaches them). */
const names = (r: { subjects: readonly { subject: string }[] }) => r.subjects.map((s) => s.subject).sort();

const EDIT: Provenance = {
  vendor: 'zoom',
  kind: 'privilege',
  holder: 'role:1',
  raw: 'Recording:Edit',
  mapping: { file: 'mappings/zoom.yaml', line: 9, column: 5 },
  source: 'zoom/roles/1/role.json',
};
const MEMBER: Provenance = { ...EDIT, kind: 'member', holder: 'z-alice', raw: 'z-alice' };

describe('whoCan', () => {
  test('lists people reached through roles with the role path, the allowing rule and its vendor grant', async () => {
    const editors = rule('role:zoom:1', 'zoom:recording', 'edit');
    const policy: Policy = {
      rules: [editors, rule('dave', 'zoom:recording', 'edit')],
      links: [
        link('alice', 'role:zoom:admins'),
        link('role:zoom:admins', 'role:zoom:1'),
        link('bob', 'role:zoom:2'),
      ],
    };
    const authz = await createEngine({
      policies: policy,
      provenance: new Map([[ruleKey(editors), [EDIT]]]),
    });
    const r = authz.whoCan('zoom:recording', 'edit', { at: '2026-11-22T12:00:00Z' });
    assert.equal(r.at, '2026-11-22T12:00:00.000Z');
    assert.deepEqual(names(r), ['alice', 'dave']);
    const alice = r.subjects.find((s) => s.subject === 'alice')!;
    assert.deepEqual(alice.allowedBy, [
      {
        rule: { sub: 'role:zoom:1', obj: 'zoom:recording', act: 'edit', eft: 'allow', from: '', until: '' },
        via: ['role:zoom:admins', 'role:zoom:1'],
        grants: [EDIT],
      },
    ]);
    assert.equal(alice.until, null);
    assert.deepEqual(r.subjects.find((s) => s.subject === 'dave')!.allowedBy[0]!.via, []);
  });

  test('shares frozen Permits between members of a role, so one answer cannot change another', async () => {
    const policy: Policy = {
      rules: [rule('role:a', 'r', 'read'), rule('role:b', 'r', 'read')],
      links: [link('ann', 'role:a'), link('ben', 'role:a'), link('ben', 'role:b')],
    };
    const authz = await createEngine({ policies: policy });
    const r = authz.whoCan('r', 'read');
    const ann = r.subjects.find((s) => s.subject === 'ann')!;
    const ben = r.subjects.find((s) => s.subject === 'ben')!;
    assert.deepEqual(
      ann.allowedBy.map((p) => p.via),
      [['role:a']],
    );
    assert.deepEqual(ben.allowedBy.map((p) => p.via).sort(), [['role:a'], ['role:b']]);
    assert.throws(() => (ann.allowedBy as unknown[]).push('x'), TypeError);
    assert.throws(() => {
      (ann.allowedBy[0] as { via: unknown }).via = [];
    }, TypeError);
    assert.equal(ben.allowedBy.length, 2);
  });

  test('lists roles only with includeRoles, and then exactly the roles enforce allows', async () => {
    const policy: Policy = {
      rules: [rule('role:a', 'r', 'read'), rule('role:b', 'r', 'read', { eft: 'deny' })],
      links: [link('role:b', 'role:a'), link('role:c', 'role:a'), link('bob', 'role:c')],
    };
    const authz = await createEngine({ policies: policy });
    assert.deepEqual(names(authz.whoCan('r', 'read')), ['bob']);
    const withRoles = authz.whoCan('r', 'read', { includeRoles: true });
    assert.equal(withRoles.includesRoles, true);
    assert.deepEqual(names(withRoles), ['bob', 'role:a', 'role:c']);
    for (const s of ['bob', 'role:a', 'role:b', 'role:c'])
      assert.equal(authz.enforce(s, 'r', 'read'), names(withRoles).includes(s), s);
  });

  test('leaves out everyone a deny reaches, through any of their roles', async () => {
    const policy: Policy = {
      rules: [
        rule('role:staff', 'vonage:group:1', 'read'),
        rule('role:contractors', 'vonage:group:1', 'read', { eft: 'deny' }),
      ],
      links: [link('alice', 'role:staff'), link('bob', 'role:staff'), link('bob', 'role:contractors')],
    };
    const authz = await createEngine({ policies: policy });
    assert.deepEqual(names(authz.whoCan('vonage:group:1', 'read')), ['alice']);
    assert.equal(authz.enforce('bob', 'vonage:group:1', 'read'), false);
  });

  test('reaches 10 role links from an allow or a deny and no further, as enforce does', async () => {
    // carol → r1 → ... → r10 (10 links) holds; dan → r0 → r1 → ... → r10 (11 links) does not.
    const chain = Array.from({ length: 11 }, (_, i) => `role:r${i}`);
    const links = chain.slice(1).map((role, i) => link(chain[i]!, role));
    const policy: Policy = {
      rules: [rule('role:r10', 'r', 'read')],
      links: [...links, link('carol', 'role:r1'), link('dan', 'role:r0')],
    };
    const authz = await createEngine({ policies: policy });
    assert.equal(authz.enforce('carol', 'r', 'read'), true);
    assert.equal(authz.enforce('dan', 'r', 'read'), false);
    const r = authz.whoCan('r', 'read');
    assert.deepEqual(names(r), ['carol']);
    assert.equal(r.subjects[0]!.allowedBy[0]!.via.length, 10);
    // A deny reaches as far as an allow: carol (10 links) is denied, dan (11 links) is not.
    authz.applyChanges({
      addRules: [rule('role:r10', 'r', 'write', { eft: 'deny' }), rule('role:open', 'r', 'write')],
      addLinks: [link('carol', 'role:open'), link('dan', 'role:open')],
    });
    assert.deepEqual(names(authz.whoCan('r', 'write')), ['dan']);
    assert.equal(authz.enforce('carol', 'r', 'write'), false);
    assert.equal(authz.enforce('dan', 'r', 'write'), true);
  });

  test('says until when access holds: the start of a deny, or the end of back-to-back allow windows', async () => {
    const policy: Policy = {
      rules: [
        rule('ann', 't', 'use', { until: T('2026-11-23T00:00:00Z') }),
        rule('ann', 't', 'use', { from: T('2026-11-23T00:00:00Z'), until: T('2026-11-25T00:00:00Z') }),
        rule('role:x', 't', 'use'),
        rule('ben', 't', 'use', { eft: 'deny', from: T('2026-11-24T00:00:00Z') }),
        // Never holds: an empty window ends nothing.
        rule('role:x', 't', 'use', {
          eft: 'deny',
          from: T('2026-11-23T06:00:00Z'),
          until: T('2026-11-23T06:00:00Z'),
        }),
      ],
      links: [link('ben', 'role:x'), link('cal', 'role:x')],
    };
    const authz = await createEngine({ policies: policy });
    const r = authz.whoCan('t', 'use', { at: '2026-11-22T12:00:00Z' });
    assert.deepEqual(r.subjects.map((s) => [s.subject, s.until]).sort(), [
      ['ann', '2026-11-25T00:00:00.000Z'],
      ['ben', '2026-11-24T00:00:00.000Z'],
      ['cal', null],
    ]);
    assert.deepEqual(names(authz.whoCan('t', 'use', { at: '2026-11-25T00:00:00Z' })), ['cal']);
  });

  test('answers for the clock now when no time is given, with no answer for a resource nobody holds', async () => {
    const clock = manualClock('2026-11-22T12:00:00Z');
    const authz = await createEngine({
      policies: { rules: [rule('bob', 't', 'use', { until: T('2026-12-01T00:00:00Z') })], links: [] },
      clock,
    });
    assert.deepEqual(names(authz.whoCan('t', 'use')), ['bob']);
    clock.set('2026-12-01T00:00:00Z');
    assert.deepEqual(names(authz.whoCan('t', 'use')), []);
    assert.deepEqual(authz.whoCan('nothing', 'use').subjects, []);
  });
});

describe('whatCan', () => {
  test('lists every permission with the role links and their vendor grants, filtered by resourcePrefix', async () => {
    const edit = rule('role:zoom:1', 'zoom:recording', 'edit');
    const member = link('alice', 'role:zoom:1');
    const policy: Policy = {
      rules: [
        edit,
        rule('role:zoom:1', 'zoom:recording', 'read'),
        rule('alice', 'vonage:group:1', 'read'),
        rule('alice', 'vonage:group:2', 'read', { eft: 'deny' }),
        rule('role:zoom:1', 'vonage:group:2', 'read'),
      ],
      links: [member],
    };
    const authz = await createEngine({
      policies: policy,
      provenance: new Map([
        [ruleKey(edit), [EDIT]],
        [linkKey(member), [MEMBER]],
      ]),
    });
    const all = authz.whatCan('alice');
    assert.deepEqual(
      all.permissions.map((p) => [p.resource, p.action]),
      [
        ['vonage:group:1', 'read'],
        ['zoom:recording', 'edit'],
        ['zoom:recording', 'read'],
      ],
    );
    const zoom = authz.whatCan('alice', { resourcePrefix: 'zoom:recording', at: T('2026-11-22T12:00:00Z') });
    assert.equal(zoom.resourcePrefix, 'zoom:recording');
    assert.deepEqual(zoom.permissions[0], {
      resource: 'zoom:recording',
      action: 'edit',
      allowedBy: [
        {
          rule: { sub: 'role:zoom:1', obj: 'zoom:recording', act: 'edit', eft: 'allow', from: '', until: '' },
          via: ['role:zoom:1'],
          grants: [EDIT],
          links: [{ member: 'alice', role: 'role:zoom:1', from: [MEMBER] }],
        },
      ],
      until: null,
    });
    assert.equal(zoom.permissions.length, 2);
    assert.deepEqual(authz.whatCan('nobody').permissions, []);
  });

  test('follows applyChanges and loadPolicy', async () => {
    const authz = await createEngine({ policies: { rules: [rule('role:a', 'r', 'read')], links: [] } });
    assert.deepEqual(authz.whatCan('eve').permissions, []);
    authz.applyChanges({ addLinks: [link('eve', 'role:a')], addRules: [rule('eve', 's', 'write')] });
    assert.deepEqual(
      authz.whatCan('eve').permissions.map((p) => `${p.action} ${p.resource}`),
      ['read r', 'write s'],
    );
    assert.deepEqual(names(authz.whoCan('r', 'read')), ['eve']);
    authz.applyChanges({
      removeRules: [rule('eve', 's', 'write')],
      addRules: [rule('eve', 'r', 'read', { eft: 'deny' })],
    });
    assert.deepEqual(authz.whatCan('eve').permissions, []);
    assert.deepEqual(names(authz.whoCan('r', 'read')), []);
    await authz.loadPolicy({ rules: [rule('fay', 'r', 'read')], links: [] });
    assert.deepEqual(names(authz.whoCan('r', 'read')), ['fay']);
    assert.deepEqual(authz.whatCan('eve').permissions, []);
    // New provenance for a rule already there shows in the next answer.
    assert.deepEqual(authz.whoCan('r', 'read').subjects[0]!.allowedBy[0]!.grants, []);
    authz.applyChanges({ provenance: new Map([[ruleKey(rule('fay', 'r', 'read')), [EDIT]]]) });
    assert.deepEqual(authz.whoCan('r', 'read').subjects[0]!.allowedBy[0]!.grants, [EDIT]);
    assert.deepEqual(authz.whatCan('fay').permissions[0]!.allowedBy[0]!.grants, [EDIT]);
  });
});

describe('reverse queries fail closed', () => {
  test('throw a DecisionError, never a list, when they cannot be answered', async () => {
    const policy: Policy = { rules: [rule('a', 'r', 'read')], links: [] };
    const authz = await createEngine({ policies: policy });
    assert.throws(() => authz.whoCan(1 as never, 'read'), isDecisionError);
    assert.throws(() => authz.whoCan('r', 'read', { at: 'not a time' }), isDecisionError);
    assert.throws(() => authz.whatCan(undefined as never), isDecisionError);
    assert.throws(() => authz.whatCan('a', { resourcePrefix: 7 as never }), isDecisionError);
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    assert.throws(() => authz.whatCan('a', { at: hostile as never }), isDecisionError);
    const broken = await createEngine({ policies: policy, clock: { now: () => Number.NaN } });
    assert.throws(() => broken.whoCan('r', 'read'), isDecisionError);
    assert.throws(() => broken.whatCan('a'), isDecisionError);
    const failing = await createEngine({
      policies: policy,
      clock: {
        now() {
          throw new Error('clock broke');
        },
      },
    });
    assert.throws(
      () => failing.whoCan('r', 'read'),
      (e: unknown) => isDecisionError(e) && (e.cause as Error).message === 'clock broke',
    );
  });
});
