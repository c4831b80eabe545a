import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createEngine, type EngineInternals } from '../../src/engine/authorizer.js';
import { ALLOWED, DENIED_BY_RULE, NO_RULE } from '../../src/engine/decision-cache.js';
import type { Reach } from '../../src/engine/policy-index.js';
import { isDecisionError } from '../../src/errors.js';
import { type DecisionObserver, nextDraw, type ObserverHost } from '../../src/observe/observer.js';
import { docPolicy } from '../helpers/policy.js';
import { rng } from '../helpers/random.js';

const policy = docPolicy;

type Seen = { kind: string; args: unknown[] };
function recorder(seen: Seen[], share = 1): DecisionObserver {
  return {
    share,
    decided: (u, r, a, { code, rule: rl }, hit, s, ctx) => {
      assert.ok(s >= 0 && Number.isFinite(s), `a told decision is timed: ${s}`);
      seen.push({
        kind: 'decided',
        args: [u, r, a, code, rl === undefined ? null : `${rl.sub} ${rl.eft}`, hit, ctx?.callId],
      });
    },
    refused: (u, r, a, reason, _e, _s, ctx) =>
      seen.push({ kind: 'refused', args: [u, r, a, reason, ctx?.callId] }),
  };
}
const watching = (...list: DecisionObserver[]): EngineInternals => ({ observers: list.map((o) => () => o) });

describe('decision observer', () => {
  test('is told each decision it draws with how it came out, the deciding rule and whether the cache answered', async () => {
    const seen: Seen[] = [];
    const authz = await createEngine({ policies: policy }, watching(recorder(seen)));
    assert.equal(authz.enforce('alice', 'doc', 'read', { callId: 'c1' }), true);
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(authz.enforceStrict('bob', 'doc', 'read'), false);
    assert.equal(authz.enforce('bob', 'doc', 'read'), false);
    assert.equal(authz.enforce('dave', 'doc', 'read'), false);
    assert.deepEqual(
      seen.map((s) => s.args),
      [
        ['alice', 'doc', 'read', ALLOWED, 'role:admin allow', false, 'c1'],
        ['alice', 'doc', 'read', ALLOWED, 'role:admin allow', true, undefined],
        ['bob', 'doc', 'read', DENIED_BY_RULE, 'bob deny', false, undefined],
        ['bob', 'doc', 'read', DENIED_BY_RULE, 'bob deny', true, undefined],
        ['dave', 'doc', 'read', NO_RULE, null, false, undefined],
      ],
    );
  });

  test('the rule an observer is told is the rule explain() names, for every request of a policy', async () => {
    const seen: Seen[] = [];
    const authz = await createEngine({ policies: policy }, watching(recorder(seen)));
    for (const u of ['alice', 'bob', 'carol', 'dave'])
      for (const pass of [0, 1]) {
        authz.enforce(u, 'doc', 'read');
        const d = authz.explain(u, 'doc', 'read');
        const r = d.rule === undefined ? null : `${d.rule.sub} ${d.rule.eft}`;
        assert.equal(seen.at(-1)?.args[4], r, `${u}, ${pass ? 'cached' : 'decided'}`);
      }
  });

  test('is told of refusals: enforce denies, enforceStrict throws, as without an observer', async () => {
    const seen: Seen[] = [];
    let now = Date.parse('2026-11-22T10:00:00Z');
    const clock = { now: () => now };
    const authz = await createEngine({ policies: policy, clock, cache: false }, watching(recorder(seen, 0)));
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
      'every refusal, even to an observer with a share of 0',
    );
  });

  test('each observer is told its own share of decisions, drawn independently for each call', async () => {
    const r = rng(11);
    const told = (share: number) => {
      const calls: number[] = [];
      let i = 0;
      return {
        calls,
        observer: {
          share,
          random: () => r.next(),
          decided: () => calls.push(i),
          refused: () => {},
        } satisfies DecisionObserver,
        tick: () => i++,
      };
    };
    const tenth = told(0.1);
    const half = told(0.5);
    const none = told(0);
    const all = told(1);
    const authz = await createEngine(
      { policies: policy },
      watching(tenth.observer, half.observer, none.observer, all.observer),
    );
    const n = 20_000;
    for (let k = 0; k < n; k++) {
      for (const t of [tenth, half, none, all]) t.tick();
      authz.enforce(k % 3 ? 'alice' : 'dave', 'doc', 'read');
    }
    assert.equal(all.calls.length, n);
    assert.equal(none.calls.length, 0);
    // Binomial: 2000 ± 42 (sd) and 10000 ± 71; these bounds are over 6 sd away.
    assert.ok(Math.abs(tenth.calls.length - 2000) < 260, `${tenth.calls.length} of ${n} at 0.1`);
    assert.ok(Math.abs(half.calls.length - 10_000) < 430, `${half.calls.length} of ${n} at 0.5`);
    // Independent draws: the gaps between told calls are geometric (mean 10, and a gap of 1 about a tenth of the time).
    const gaps = tenth.calls.slice(1).map((c, k) => c - (tenth.calls[k] as number));
    const ones = gaps.filter((g) => g === 1).length / gaps.length;
    assert.ok(ones > 0.07 && ones < 0.13, `share of gaps of 1: ${ones}`);
    assert.ok(Math.max(...gaps) > 40, 'long gaps happen (a fixed stride never would)');
  });

  test("an observer told of all draws is told of the others' too, and draws none of its own while another draws as often", async () => {
    const r = rng(5);
    const observer = (share: number, toldOfAllDraws: boolean) => {
      const calls: number[] = [];
      return {
        calls,
        observer: {
          share,
          toldOfAllDraws,
          random: () => r.next(),
          decided: () => calls.push(k),
          refused: () => {},
        } satisfies DecisionObserver,
      };
    };
    let k = 0;
    const run = async (...list: ReturnType<typeof observer>[]) => {
      const authz = await createEngine({ policies: policy }, watching(...list.map((o) => o.observer)));
      for (k = 0; k < 20_000; k++) authz.enforce(k % 3 ? 'alice' : 'dave', 'doc', 'read');
    };
    // A log at 1% beside metrics at 1 in 256: the metrics are told exactly the log's calls.
    const metrics = observer(1 / 256, true);
    const log = observer(0.01, false);
    await run(metrics, log);
    assert.ok(log.calls.length > 100);
    assert.deepEqual(metrics.calls, log.calls);
    // Beside one that draws less often, it draws its own as well: told of both.
    const often = observer(0.1, true);
    const rare = observer(0.01, false);
    await run(often, rare);
    assert.ok(Math.abs(often.calls.length - 2000) < 400, `${often.calls.length}`);
    const its = new Set(often.calls);
    assert.ok(
      rare.calls.every((c) => its.has(c)),
      'every call the other drew',
    );
  });

  test('nextDraw gives 1 + a geometric draw, 1 for a share of 1 and never for 0', () => {
    assert.equal(
      nextDraw(1, () => 0.999),
      1,
    );
    assert.equal(
      nextDraw(0, () => 0.5),
      Number.POSITIVE_INFINITY,
    );
    assert.equal(
      nextDraw(0.5, () => 0),
      1,
      'a draw of 0 is the next call',
    );
    assert.equal(
      nextDraw(0.5, () => 0.5),
      2,
      '1 - 0.5 = 0.5: one call skipped',
    );
    assert.equal(
      nextDraw(0.5, () => 0.75),
      3,
    );
    assert.ok(Number.isFinite(nextDraw(1e-9, () => 0.999999)));
    for (const broken of [Number.NaN, 1, -0.5, 7, undefined as unknown as number])
      assert.equal(
        nextDraw(0.01, () => broken),
        1,
        `a draw of ${broken} draws the next call`,
      );
  });

  test('a throwing observer goes to onError and never changes a decision; the others are still told', async () => {
    const errors: unknown[] = [];
    const boom = new Error('observer down');
    const throwing: DecisionObserver = {
      share: 1,
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
      watching(throwing, recorder(seen)),
    );
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(authz.enforceStrict('bob', 'doc', 'read'), false);
    assert.equal(authz.enforce('nobody', 'doc', 'read'), false);
    assert.equal(authz.enforce(7 as unknown as string, 'doc', 'read'), false);
    assert.equal(seen.length, 4, 'the second observer is still told');
    assert.deepEqual(errors.slice(0, 4), [boom, boom, boom, boom]);
  });

  test('the host counts every decision, drawn or not, names role paths, grants, version and counters', async () => {
    let host: ObserverHost | undefined;
    let aliceReach: Reach | undefined;
    const authz = await createEngine(
      { policies: policy, cache: { max: 1 } },
      {
        observers: [
          (h) => {
            host = h;
            return {
              share: 1,
              decided: (u, _r, _a, decision) => {
                if (u === 'alice') aliceReach = decision.reach;
              },
              refused: () => {},
            };
          },
        ],
        policyVersion: () => 7,
      },
    );
    assert.ok(host);
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('carol', 'doc', 'read');
    authz.enforce('bob', 'doc', 'read');
    authz.enforce('dave', 'doc', 'read');
    authz.enforce(1 as unknown as string, 'doc', 'read');
    assert.deepEqual(
      Array.from(host.decisions()),
      [1, 2, 1],
      'by code: no rule, allowed, denied by rule; refusals not',
    );
    const admin = policy.rules[0]!;
    assert.ok(aliceReach, 'alice holds a role: her decision is told with what she reaches');
    assert.deepEqual(host.via('alice', admin, aliceReach), ['alice', 'role:admin']);
    assert.deepEqual(host.grantsOf(admin), []);
    assert.equal(host.policyVersion(), 7);
    assert.ok(host.stats().evictions >= 1, 'a cache of one decision evicted a subject');
    assert.equal(host.stats().rules, 3);
  });
});
