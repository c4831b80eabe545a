import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEngine } from '../../src/engine/authorizer.js';
import { ConfigError } from '../../src/errors.js';
import type { Policy, PolicyRule } from '../../src/policy/types.js';

const OPEN = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };
const good: PolicyRule = { sub: 'alice', obj: 'zoom:recording', act: 'read', eft: 'allow', ...OPEN };
const policy: Policy = { rules: [good], links: [{ member: 'bob', role: 'role:zoom:1' }] };

/** Asserts `fn` throws a ConfigError whose key is `key`. */
function throwsNaming(fn: () => unknown, key: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
    assert.equal(e.key, key, e.message);
    return true;
  });
}

describe('applyChanges input', () => {
  test('refuses a rule passed as the change itself, naming the field, and changes nothing', async () => {
    const authz = await createEngine({ policies: policy });
    const before = authz.getPolicy();
    const rule = { subject: 'carol', resource: 'zoom:recording', action: 'edit', effect: 'allow' };
    throwsNaming(() => authz.applyChanges(rule as never), 'subject');
    assert.deepEqual(authz.getPolicy(), before);
    assert.equal(authz.enforce('carol', 'zoom:recording', 'edit'), false);
  });

  test('refuses a rule written with other field names instead of counting it as added', async () => {
    const authz = await createEngine({ policies: policy });
    const rule = { subject: 'carol', resource: 'zoom:recording', action: 'edit', effect: 'allow' };
    throwsNaming(() => authz.applyChanges({ addRules: [rule as never] }), 'addRules[0].sub');
    assert.equal(authz.stats().rules, 1);
  });

  const badRules: [string, Record<string, unknown>, string][] = [
    ['an effect other than allow or deny', { eft: 'Allow' }, 'eft'],
    ['an ISO-8601 start instead of epoch ms', { from: '2026-11-01T00:00:00Z' }, 'from'],
    ['a start of NaN', { from: Number.NaN }, 'from'],
    [
      'a start of Infinity (the file would read it back as no start)',
      { from: Number.POSITIVE_INFINITY },
      'from',
    ],
    ['an end of -Infinity', { until: Number.NEGATIVE_INFINITY }, 'until'],
    ['an end with a fraction of a millisecond', { until: 1.5 }, 'until'],
    ['an end past the year 9999', { until: 1e20 }, 'until'],
    ['a missing end', { until: undefined }, 'until'],
    ['a resource that is not a string', { obj: 42 }, 'obj'],
  ];
  for (const [what, patch, field] of badRules) {
    test(`refuses a rule with ${what}, naming ${field}`, async () => {
      const authz = await createEngine({ policies: policy });
      throwsNaming(
        () => authz.applyChanges({ removeRules: [good], addRules: [good, { ...good, ...patch } as never] }),
        `addRules[1].${field}`,
      );
      // Checked before anything is applied: the valid removal did not happen either.
      assert.equal(authz.enforce('alice', 'zoom:recording', 'read'), true);
    });
  }

  test('refuses links and lists of the wrong shape, naming the field', async () => {
    const authz = await createEngine({ policies: policy });
    throwsNaming(
      () => authz.applyChanges({ addLinks: [{ member: 'carol', role: 7 } as never] }),
      'addLinks[0].role',
    );
    throwsNaming(() => authz.applyChanges({ removeLinks: { member: 'bob' } as never }), 'removeLinks');
    throwsNaming(() => authz.applyChanges({ addRules: good as never }), 'addRules');
    throwsNaming(() => authz.applyChanges({ provenance: {} as never }), 'provenance');
    throwsNaming(() => authz.applyChanges(null as never), 'change');
    assert.deepEqual(authz.rolesOf('bob'), ['role:zoom:1']);
  });

  test('applies a well-formed change, windows in epoch ms', async () => {
    const authz = await createEngine({ policies: policy });
    const windowed: PolicyRule = {
      ...good,
      sub: 'carol',
      from: Date.parse('2026-11-01T00:00:00Z'),
      until: Date.parse('2026-12-01T00:00:00Z'),
    };
    const res = authz.applyChanges({
      addRules: [windowed],
      removeLinks: [{ member: 'bob', role: 'role:zoom:1' }],
    });
    assert.equal(res.added, 1);
    assert.equal(res.removed, 1);
    assert.deepEqual(authz.getPolicy().rules.at(-1), windowed);
  });
});

describe('in-memory policies', () => {
  test('createAuthorizer refuses a policy whose rule has the wrong shape, naming the field', async () => {
    await assert.rejects(
      createEngine({ policies: { rules: [{ ...good, until: '2026-12-01' } as never], links: [] } }),
      (e: unknown) => e instanceof ConfigError && e.key === 'policies.rules[0].until',
    );
    await assert.rejects(
      createEngine({ policies: { rules: [] } as never }),
      (e: unknown) => e instanceof ConfigError && e.key === 'policies.links',
    );
  });

  test('loadPolicy refuses a policy of the wrong shape and keeps the current one', async () => {
    const authz = await createEngine({ policies: policy });
    await assert.rejects(
      authz.loadPolicy({ rules: [], links: [{ member: 'bob' } as never] }),
      (e: unknown) => e instanceof ConfigError && e.key === 'policies.links[0].role',
    );
    await assert.rejects(
      authz.loadPolicy({ rules: [], links: [] }, { k: [] } as never),
      (e: unknown) => e instanceof ConfigError && e.key === 'provenance',
    );
    assert.equal(authz.enforce('alice', 'zoom:recording', 'read'), true);
    assert.deepEqual(authz.getPolicy(), policy);
  });
});
