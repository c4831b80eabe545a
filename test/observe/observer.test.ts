import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEngine } from '../../src/engine/authorizer.js';
import { ALLOWED, DENIED_BY_RULE, NO_RULE } from '../../src/engine/decision-cache.js';
import { isDecisionError } from '../../src/errors.js';
import { combineObservers, type DecisionObserver, TIMED_ONE_IN } from '../../src/observe/observer.js';
import type { Policy } from '../../src/policy/types.js';
import { rule } from '../helpers/policy.js';

const policy: Policy = {
  rules: [
    rule('role:admin', 'doc', 'read'),
    rule('bob', 'doc', 'read', { eft: 'deny' }),
    rule('carol', 'doc', 'read'),
  ],
  links: [
    { member: 'alice', role: 'role:admin' },
    { member: 'bob', role: 'role:admin' },
  ],
};

type Seen = { kind: string; args: unknown[] };
function recorder(seen: Seen[]): DecisionObserver {
  return {
    decided: (u, r, a, code, hit, s, ctx) => {
      assert.ok(Number.isNaN(s) || (s >= 0 && Number.isFinite(s)), `seconds: ${s}`);
      seen.push({ kind: 'decided', args: [u, r, a, code, hit, ctx?.callId] });
    },
    refused: (u, r, a, reason, _e, _s, ctx) =>
      seen.push({ kind: 'refused', args: [u, r, a, reason, ctx?.callId] }),
  };
}

describe('decision observer', () => {
  test('is told each decision with how it came out and whether the cache answered', async () => {
    const seen: Seen[] = [];
    const authz = await createEngine({ policies: policy }, { observe: () => recorder(seen) });
    assert.equal(authz.enforce('alice', 'doc', 'read', { callId: 'c1' }), true);
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(authz.enforceStrict('bob', 'doc', 'read'), false);
    assert.equal(authz.enforce('dave', 'doc', 'read'), false);
    assert.deepEqual(
      seen.map((s) => s.args),
      [
        ['alice', 'doc', 'read', ALLOWED, false, 'c1'],
        ['alice', 'doc', 'read', ALLOWED, true, undefined],
        ['bob', 'doc', 'read', DENIED_BY_RULE, false, undefined],
        ['dave', 'doc', 'read', NO_RULE, false, undefined],
      ],
    );
  });

  test('a cached deny keeps its reason on a hit', async () => {
    const seen: Seen[] = [];
    const authz = await createEngine({ policies: policy }, { observe: () => recorder(seen) });
    authz.enforce('bob', 'doc', 'read');
    authz.enforce('bob', 'doc', 'read');
    assert.deepEqual(
      seen.map((s) => s.args.slice(3, 5)),
      [
        [DENIED_BY_RULE, false],
        [DENIED_BY_RULE, true],
      ],
    );
  });

  test('is told of refusals: enforce denies, enforceStrict throws, as without an observer', async () => {
    const seen: Seen[] = [];
    let now = Date.parse('2026-11-22T10:00:00Z');
    const clock = { now: () => now };
    const authz = await createEngine(
      { policies: policy, clock, cache: false },
      { observe: () => recorder(seen) },
    );
    assert.equal(authz.enforce(42 as unknown as string, 'doc', 'read'), false);
    now = Number.NaN;
    assert.equal(authz.enforce('carol', 'doc', 'read', { callId: 'x' }), false);
    assert.throws(() => authz.enforceStrict('carol', 'doc', 'read'), isDecisionError);
    assert.deepEqual(
      seen.map((s) => [s.kind, s.args[3], s.args[4]]),
      [
        ['refused', 'invalid-request', undefined],
        ['refused', 'error', 'x'],
        ['refused', 'error', undefined],
      ],
    );
  });

  test('times the first call and then about one in TIMED_ONE_IN at random; the others are NaN', async () => {
    const times: number[] = [];
    const timing: DecisionObserver = {
      decided: (_u, _r, _a, _c, _h, s) => times.push(s),
      refused: (_u, _r, _a, _reason, _e, s) => times.push(s),
    };
    const authz = await createEngine({ policies: policy }, { observe: () => timing });
    const calls = 200 * TIMED_ONE_IN;
    for (let i = 0; i < calls / 2; i++) authz.enforce('alice', 'doc', 'read');
    for (let i = 0; i < calls / 2; i++) authz.enforce(i as unknown as string, 'doc', 'read');
    assert.equal(times.length, calls);
    assert.ok(Number.isFinite(times[0]), 'the first call is timed');
    const timed = times.filter((s) => !Number.isNaN(s));
    assert.ok(
      timed.every((s) => s >= 0),
      'a time is never negative',
    );
    // 200 expected; the gaps are uniform in [1, 2 * TIMED_ONE_IN - 1], so 120..280 is far outside chance.
    assert.ok(timed.length > 120 && timed.length < 280, `${timed.length} of ${calls} timed`);
    assert.ok(
      times.slice(calls / 2).some((s) => !Number.isNaN(s)),
      'refusals are timed too',
    );

    const every: number[] = [];
    const all = await createEngine(
      { policies: policy },
      {
        timeOneIn: 1,
        observe: () => ({ decided: (...a) => every.push(a[5]), refused: (...a) => every.push(a[5]) }),
      },
    );
    for (let i = 0; i < 50; i++) all.enforce('alice', 'doc', 'read');
    all.enforce(1 as unknown as string, 'doc', 'read');
    assert.equal(every.filter((s) => Number.isFinite(s)).length, 51, 'timeOneIn 1 times every call');
  });

  test('a throwing observer goes to onError and never changes a decision', async () => {
    const errors: unknown[] = [];
    const boom = new Error('observer down');
    const throwing: DecisionObserver = {
      decided: () => {
        throw boom;
      },
      refused: () => {
        throw boom;
      },
    };
    const seen: Seen[] = [];
    const authz = await createEngine(
      { policies: policy, onError: (e) => errors.push(e) },
      { observe: () => combineObservers([throwing, recorder(seen)]) },
    );
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(authz.enforceStrict('bob', 'doc', 'read'), false);
    assert.equal(authz.enforce('nobody', 'doc', 'read'), false);
    assert.equal(seen.length, 3, 'the second observer is still told');
    assert.deepEqual(errors, [boom, boom, boom]);
  });

  test('the host explains a decision without near misses, and reports version and counters', async () => {
    let host: Parameters<NonNullable<Parameters<typeof createEngine>[1]>['observe'] & object>[0] | undefined;
    const authz = await createEngine(
      { policies: policy, cache: { max: 1 } },
      {
        observe: (h) => {
          host = h;
          return undefined;
        },
        policyVersion: () => 7,
      },
    );
    assert.ok(host);
    const d = host.explainAt('bob', 'doc', 'read', Date.parse('2026-11-22T10:00:00Z'));
    assert.equal(d.reason, 'denied-by-rule');
    assert.equal(d.nearMisses, undefined);
    assert.ok(
      (authz.explain('bob', 'doc', 'read').nearMisses?.length ?? 0) > 0,
      'explain() still gives them',
    );
    assert.equal(host.policyVersion(), 7);
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('carol', 'doc', 'read');
    assert.equal(host.stats().evictions, 1, 'a cache of one decision evicted the first subject');
    assert.equal(host.stats().rules, 3);
  });
});
