import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { manualClock } from '../../src/clock.js';
import { createEngine } from '../../src/engine/authorizer.js';
import { ConfigError, isDecisionError } from '../../src/errors.js';
import type { Policy } from '../../src/policy/types.js';
import { rule } from '../helpers/policy.js';

const T = (iso: string) => Date.parse(iso);
const _OPEN = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };

describe('time-aware cache', () => {
  test('serves a cached allow only until the grant ends', async () => {
    const clock = manualClock('2026-11-22T10:00:00Z');
    const policy: Policy = {
      rules: [rule('bob', 'tuya:permission:1', 'use', { until: T('2026-11-22T11:00:00Z') })],
      links: [],
    };
    const authz = await createEngine({ policies: policy, clock, cache: { ttl: 0 } });
    assert.equal(authz.enforce('bob', 'tuya:permission:1', 'use'), true);
    assert.equal(authz.enforce('bob', 'tuya:permission:1', 'use'), true);
    assert.equal(authz.stats().hits, 1);
    clock.set('2026-11-22T10:59:59.999Z');
    assert.equal(authz.enforce('bob', 'tuya:permission:1', 'use'), true);
    clock.set('2026-11-22T11:00:00Z');
    assert.equal(authz.enforce('bob', 'tuya:permission:1', 'use'), false);
  });

  test('never serves a cached deny at or after the start of a grant that would allow it', async () => {
    const clock = manualClock('2026-11-22T10:00:00Z');
    const policy: Policy = {
      rules: [rule('carol', 'tuya:permission:9', 'use', { from: T('2026-11-22T12:00:00Z') })],
      links: [],
    };
    const authz = await createEngine({ policies: policy, clock, cache: { ttl: 0 } });
    assert.equal(authz.enforce('carol', 'tuya:permission:9', 'use'), false);
    assert.equal(authz.enforce('carol', 'tuya:permission:9', 'use'), false);
    clock.set('2026-11-22T12:00:00Z');
    assert.equal(authz.enforce('carol', 'tuya:permission:9', 'use'), true);
  });

  test('a cached answer is not served before the window it was computed in (clock moved back)', async () => {
    const clock = manualClock('2026-11-22T12:30:00Z');
    const policy: Policy = {
      rules: [rule('carol', 'r', 'use', { from: T('2026-11-22T12:00:00Z') })],
      links: [],
    };
    const authz = await createEngine({ policies: policy, clock });
    assert.equal(authz.enforce('carol', 'r', 'use'), true);
    clock.set('2026-11-22T11:00:00Z');
    assert.equal(authz.enforce('carol', 'r', 'use'), false);
  });

  test('a deny rule that starts later ends a cached allow at its start', async () => {
    const clock = manualClock('2026-11-22T10:00:00Z');
    const policy: Policy = {
      rules: [
        rule('dave', 'r', 'read'),
        rule('dave', 'r', 'read', { eft: 'deny', from: T('2026-11-22T10:30:00Z') }),
      ],
      links: [],
    };
    const authz = await createEngine({ policies: policy, clock });
    assert.equal(authz.enforce('dave', 'r', 'read'), true);
    clock.advance(30 * 60_000);
    assert.equal(authz.enforce('dave', 'r', 'read'), false);
  });

  test('the ttl bounds how long any decision is served from cache', async () => {
    const clock = manualClock('2026-11-22T10:00:00Z');
    const authz = await createEngine({
      policies: { rules: [rule('a', 'r', 'x')], links: [] },
      clock,
      cache: { ttl: 1000 },
    });
    authz.enforce('a', 'r', 'x');
    clock.advance(1000);
    authz.enforce('a', 'r', 'x');
    clock.advance(1);
    authz.enforce('a', 'r', 'x');
    assert.deepEqual([authz.stats().hits, authz.stats().misses], [1, 2]);
  });

  test('stays within max cached decisions', async () => {
    const authz = await createEngine({ policies: { rules: [], links: [] }, cache: { max: 10 } });
    for (let i = 0; i < 100; i++) authz.enforce(`u${i % 7}`, `r${i}`, 'read');
    assert.ok(authz.stats().cached <= 10, `cached=${authz.stats().cached}`);
    // One subject's many decisions count one by one, not as one entry.
    for (let i = 0; i < 100; i++) authz.enforce('solo', `r${i}`, 'read');
    assert.ok(authz.stats().cached <= 10, `cached=${authz.stats().cached}`);
    // Counted by what is served: of 63 decisions over 7 subjects, at most 10 can come from cache.
    for (let i = 0; i < 63; i++) authz.enforce(`v${i % 7}`, `r${i}`, 'read');
    const before = authz.stats().hits;
    for (let i = 0; i < 63; i++) authz.enforce(`v${i % 7}`, `r${i}`, 'read');
    assert.ok(authz.stats().hits - before <= 10, `${authz.stats().hits - before} hits`);
  });
});

describe('policy changes', () => {
  test('invalidate the affected subjects only, including members of a changed role', async () => {
    const policy: Policy = {
      rules: [rule('role:editors', 'zoom:recording', 'edit'), rule('eve', 'zoom:recording', 'read')],
      links: [{ member: 'alice', role: 'role:editors' }],
    };
    const authz = await createEngine({ policies: policy });
    assert.equal(authz.enforce('alice', 'zoom:recording', 'edit'), true);
    assert.equal(authz.enforce('eve', 'zoom:recording', 'read'), true);
    const before = authz.stats().cached;
    const res = authz.applyChanges({ removeRules: [rule('role:editors', 'zoom:recording', 'edit')] });
    assert.equal(res.removed, 1);
    assert.equal(res.invalidatedSubjects, 1); // alice, through the role; eve untouched
    assert.equal(authz.stats().cached, before - 1);
    assert.equal(authz.enforce('alice', 'zoom:recording', 'edit'), false);
    const hits = authz.stats().hits;
    assert.equal(authz.enforce('eve', 'zoom:recording', 'read'), true);
    assert.equal(authz.stats().hits, hits + 1);
  });

  test('a new role link is visible on the next call', async () => {
    const authz = await createEngine({ policies: { rules: [rule('role:x', 'r', 'read')], links: [] } });
    assert.equal(authz.enforce('bob', 'r', 'read'), false);
    authz.applyChanges({ addLinks: [{ member: 'bob', role: 'role:x' }] });
    assert.equal(authz.enforce('bob', 'r', 'read'), true);
    authz.applyChanges({ removeLinks: [{ member: 'bob', role: 'role:x' }] });
    assert.equal(authz.enforce('bob', 'r', 'read'), false);
  });

  test('loadPolicy replaces everything', async () => {
    const authz = await createEngine({ policies: { rules: [rule('a', 'r', 'read')], links: [] } });
    assert.equal(authz.enforce('a', 'r', 'read'), true);
    await authz.loadPolicy({ rules: [], links: [] });
    assert.equal(authz.enforce('a', 'r', 'read'), false);
  });
});

describe('fail closed', () => {
  test('denies when the clock throws, and reports the error', async () => {
    const errors: unknown[] = [];
    const authz = await createEngine({
      policies: { rules: [rule('a', 'r', 'read')], links: [] },
      clock: {
        now() {
          throw new Error('clock broke');
        },
      },
      onError: (e) => errors.push(e),
    });
    assert.equal(authz.enforce('a', 'r', 'read'), false);
    assert.equal(errors.length, 1);
    const d = authz.explain('a', 'r', 'read');
    assert.equal(d.allowed, false);
    assert.equal(d.reason, 'error');
  });

  test('an onError hook that throws never turns a deny into an exception', async () => {
    const seen: unknown[] = [];
    const authz = await createEngine({
      policies: { rules: [rule('a', 'r', 'read')], links: [] },
      clock: { now: () => Number.NaN },
      onError: (e) => {
        seen.push(e);
        throw new Error('the hook broke');
      },
    });
    assert.equal(authz.enforce('a', 'r', 'read'), false);
    assert.equal(authz.enforce(1 as never, 'r', 'read'), false);
    assert.equal(seen.length, 2, 'the hook was still told');
    assert.throws(() => authz.enforceStrict('a', 'r', 'read'), isDecisionError);
  });

  test('an async onError hook that rejects leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const authz = await createEngine({
        policies: { rules: [rule('a', 'r', 'read')], links: [] },
        clock: { now: () => Number.NaN },
        onError: async () => {
          throw new Error('the async hook broke');
        },
      });
      assert.equal(authz.enforce('a', 'r', 'read'), false);
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });

  test('enforceStrict throws a DecisionError where enforce denies, so callers can tell the two apart', async () => {
    const errors: unknown[] = [];
    const broken = await createEngine({
      policies: { rules: [rule('a', 'r', 'read')], links: [] },
      clock: { now: () => Number.NaN },
      onError: (e) => errors.push(e),
    });
    assert.throws(() => broken.enforceStrict('a', 'r', 'read'), isDecisionError);
    assert.throws(() => broken.enforceStrict(1 as never, 'r', 'read'), isDecisionError);
    assert.equal(broken.enforce('a', 'r', 'read'), false);
    assert.ok(isDecisionError(errors[0]));
    const ok = await createEngine({ policies: { rules: [rule('a', 'r', 'read')], links: [] } });
    assert.equal(ok.enforceStrict('a', 'r', 'read'), true);
    assert.equal(ok.enforceStrict('b', 'r', 'read'), false);
  });

  test('denies non-string input and a clock that returns NaN', async () => {
    const authz = await createEngine({
      policies: { rules: [rule('a', 'r', 'read')], links: [] },
      clock: { now: () => Number.NaN },
    });
    assert.equal(authz.enforce('a', 'r', 'read'), false);
    assert.equal(authz.enforce(undefined as never, 'r', 'read'), false);
    assert.equal(authz.enforce({ toString: () => 'a' } as never, 'r', 'read'), false);
    const hostile = {
      toString() {
        throw new Error('no');
      },
    };
    const d = authz.explain(hostile as never, 'r', 'read');
    assert.equal(d.allowed, false);
    assert.equal(d.reason, 'invalid-request');
  });

  test('treats __proto__ and other hostile names as plain strings', async () => {
    const authz = await createEngine({
      policies: { rules: [rule('__proto__', 'constructor', 'read')], links: [] },
    });
    assert.equal(authz.enforce('__proto__', 'constructor', 'read'), true);
    assert.equal(authz.enforce('x', '__proto__', 'toString'), false);
  });
});

describe('options', () => {
  test('are checked at construction with errors that name the option', async () => {
    await assert.rejects(
      createEngine({ policies: { rules: [], links: [] }, cache: { max: 0 } }),
      (e: unknown) => e instanceof ConfigError && e.key === 'cache.max',
    );
    await assert.rejects(
      createEngine({ policies: { rules: [], links: [] }, cache: { ttl: -1 } }),
      (e: unknown) => e instanceof ConfigError && e.key === 'cache.ttl',
    );
    await assert.rejects(
      createEngine({ policies: { rules: [], links: [] }, clock: {} as never }),
      (e: unknown) => e instanceof ConfigError && e.key === 'clock',
    );
    await assert.rejects(
      createEngine({ policies: 42 as never }),
      (e: unknown) => e instanceof ConfigError && e.key === 'policies',
    );
  });
});

describe('explain', () => {
  test('names the deciding rule, the role path and until when the decision holds', async () => {
    const clock = manualClock('2026-11-22T10:00:00Z');
    const policy: Policy = {
      rules: [
        rule('role:zoom:1', 'zoom:recording', 'read', { until: T('2026-12-01T00:00:00Z') }),
        rule('bob', 'zoom:recording', 'read', { eft: 'deny' }),
      ],
      links: [
        { member: 'alice', role: 'role:zoom:1' },
        { member: 'bob', role: 'role:zoom:1' },
      ],
    };
    const authz = await createEngine({ policies: policy, clock });
    const a = authz.explain('alice', 'zoom:recording', 'read');
    assert.equal(a.allowed, true);
    assert.deepEqual(a.via, ['alice', 'role:zoom:1']);
    assert.equal(a.validUntil, '2026-12-01T00:00:00.000Z');
    const b = authz.explain('bob', 'zoom:recording', 'read');
    assert.equal(b.allowed, false);
    assert.equal(b.reason, 'denied-by-rule');
    assert.equal(b.rule?.eft, 'deny');
    const later = authz.explain('alice', 'zoom:recording', 'read', { at: '2026-12-01T00:00:00Z' });
    assert.equal(later.allowed, false);
    assert.equal(later.reason, 'no-matching-rule');
  });
});
