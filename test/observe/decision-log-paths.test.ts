// The decision log has two ways to a line: with only a destination, drawn decisions wait in columns
// and are written later as parts (log-line.ts); with onDecision, each entry is built as an object
// at once. Driven through the same random calls and policy changes, the two must log the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { manualClock } from '../../src/clock.js';
import { createEngine, type PolicyChange } from '../../src/engine/authorizer.js';
import type { Provenance } from '../../src/grants.js';
import { createDecisionLog, type DecisionLogOptions } from '../../src/observe/decision-log.js';
import { type PolicyRule, ruleKey } from '../../src/policy/types.js';
import { rule } from '../helpers/policy.js';

const SUBJECTS = ['alice', 'bob', 'é"\\\n', 'role:admin', '😀\ud800'];
const RESOURCES = ['doc', 'doc:"q"', 'other'];
const ACTIONS = ['read', 'write'];

interface RuleSpec {
  sub: string;
  obj: string;
  act: string;
  deny: boolean;
  until: number | undefined;
}
// Few rules, so that one is often removed and added again between a decision and its line.
const ruleArb: fc.Arbitrary<RuleSpec> = fc.record({
  sub: fc.constantFrom('alice', 'role:admin', SUBJECTS[2] as string),
  obj: fc.constant('doc'),
  act: fc.constant('read'),
  deny: fc.boolean(),
  until: fc.option(fc.constantFrom(1_000, 5_000), { nil: undefined }),
});
const toRule = (r: RuleSpec): PolicyRule =>
  rule(r.sub, r.obj, r.act, { eft: r.deny ? 'deny' : 'allow', ...(r.until ? { until: r.until } : {}) });

type Op =
  | { kind: 'enforce'; sub: string; obj: string; act: string; callId: string | undefined }
  | { kind: 'refuse' }
  | { kind: 'add' | 'remove'; rule: RuleSpec }
  | { kind: 'link' | 'unlink'; member: string }
  | { kind: 'tick' }
  | { kind: 'turn' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('enforce' as const),
      sub: fc.constantFrom(...SUBJECTS),
      obj: fc.constantFrom(...RESOURCES),
      act: fc.constantFrom(...ACTIONS),
      callId: fc.option(fc.constantFrom('c1', 'c"2'), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'refuse' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), rule: ruleArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('link' as const, 'unlink' as const),
      member: fc.constantFrom(...SUBJECTS),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'turn' as const }) },
);

/** Runs the calls against a fresh engine whose log has `log`'s options; returns what was logged. */
async function run(ops: readonly Op[], log: (out: unknown[]) => DecisionLogOptions) {
  const out: unknown[] = [];
  const decisionLog = await createDecisionLog(log(out));
  const clock = manualClock(0);
  const grant = (r: PolicyRule, n = 0): Provenance => ({
    vendor: 'zoom',
    kind: 'privilege',
    holder: 'role:1',
    raw: `${r.obj}:${r.act}#${n}`,
  });
  const start = [rule('role:admin', 'doc', 'read'), rule('bob', 'doc', 'read', { eft: 'deny' })];
  const authz = await createEngine(
    {
      policies: { rules: start, links: [{ member: 'alice', role: 'role:admin' }] },
      provenance: new Map(start.map((r) => [ruleKey(r), [grant(r)]])),
      clock,
    },
    { observers: [decisionLog.observe] },
  );
  const change = (c: PolicyChange) => authz.applyChanges(c);
  for (const [i, op] of ops.entries()) {
    if (op.kind === 'enforce')
      authz.enforce(op.sub, op.obj, op.act, op.callId === undefined ? undefined : { callId: op.callId });
    else if (op.kind === 'refuse') authz.enforce(7 as never, 'doc', 'read');
    else if (op.kind === 'add') {
      const r = toRule(op.rule);
      // A grant of its own each time: a line written after the change must still name the one before.
      change({ addRules: [r], provenance: new Map([[ruleKey(r), [grant(r, i)]]]) });
    } else if (op.kind === 'remove') change({ removeRules: [toRule(op.rule)] });
    else if (op.kind === 'link') change({ addLinks: [{ member: op.member, role: 'role:admin' }] });
    else if (op.kind === 'unlink') change({ removeLinks: [{ member: op.member, role: 'role:admin' }] });
    else if (op.kind === 'tick') clock.advance(2_000);
    else await new Promise((resolve) => setImmediate(resolve));
  }
  await decisionLog.close();
  // durationUs is the only field that differs between two runs of the same calls.
  return out.map((e) => {
    const { durationUs: _, ...rest } = e as { durationUs?: number };
    return rest;
  });
}

const admin: RuleSpec = { sub: 'role:admin', obj: 'doc', act: 'read', deny: false, until: undefined };

test('the waiting-lines path and the onDecision path log the same entries for the same calls and policy changes', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
      const lines = await run(ops, (out) => ({
        destination: {
          write: (text: string) => {
            for (const l of text.split('\n')) if (l !== '') out.push(JSON.parse(l));
          },
        },
      }));
      const entries = await run(ops, (out) => ({
        onDecision: (e) => out.push(JSON.parse(JSON.stringify(e))),
      }));
      assert.deepEqual(lines, entries);
    }),
    {
      numRuns: 300,
      // A decision waiting for its line when its rule is removed and added again with a new grant.
      examples: [
        [
          [
            { kind: 'enforce', sub: 'alice', obj: 'doc', act: 'read', callId: undefined },
            { kind: 'remove', rule: admin },
            { kind: 'add', rule: admin },
          ],
        ],
      ],
    },
  );
});
