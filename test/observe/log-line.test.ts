import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ALLOWED, DENIED_BY_RULE, type DecisionCode, NO_RULE } from '../../src/engine/decision-cache.js';
import { DrawnDecisions, lineParts, micros, REASONS, ruleText } from '../../src/observe/log-line.js';
import { rule } from '../helpers/follow.js';

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', '\ud800', '😀', 'é', ''),
);

const drawn = fc.record({
  user: hostile,
  resource: hostile,
  action: hostile,
  code: fc.constantFrom<DecisionCode>(NO_RULE, ALLOWED, DENIED_BY_RULE),
  hit: fc.boolean(),
  seconds: fc.oneof(
    fc.constant(Number.NaN),
    fc.constant(0),
    fc.constant(-0),
    fc.double({ min: 0, max: 1e-5, noNaN: true }),
    fc.double({ min: 0, max: 1e12, noNaN: true }),
  ),
  at: fc.oneof(
    fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
    fc.constantFrom(-8.64e15, 8.64e15, 1.5, -1, 999, 1000),
  ),
  callId: fc.option(hostile, { nil: undefined }),
  version: fc.oneof(fc.nat(), fc.constant(2 ** 53 - 1)),
  why: fc.option(
    fc.record({
      rule: fc.record({ sub: hostile, obj: hostile }),
      via: fc.array(hostile, { maxLength: 3 }),
      grants: fc.array(fc.record({ raw: hostile }), { maxLength: 2 }),
    }),
    { nil: undefined },
  ),
});

test('a line is what JSON.stringify writes of its entry, for any strings, times, durations and versions', () => {
  fc.assert(
    fc.property(fc.array(drawn, { minLength: 1, maxLength: 5 }), (ds) => {
      const list = new DrawnDecisions(ds.length);
      const parts: (string | number)[] = [];
      let k = 0;
      const expected: string[] = [];
      for (const [j, d] of ds.entries()) {
        list.add(
          d.user,
          d.resource,
          d.action,
          { code: d.code, rule: undefined, reach: undefined, since: 0, until: 0 },
          d.hit,
          d.seconds,
          d.at,
          d.callId,
          d.version,
        );
        const text = d.why && ruleText(JSON.stringify(d.why.rule), JSON.stringify(d.why.grants));
        k = lineParts(parts, k, list, j, d.user, text, d.why?.via);
        expected.push(
          `${JSON.stringify({
            time: new Date(d.at).toISOString(),
            subject: d.user,
            resource: d.resource,
            action: d.action,
            result: d.code === ALLOWED ? 'allow' : 'deny',
            reason: REASONS[d.code],
            cache: d.hit ? 'hit' : 'miss',
            policyVersion: d.version,
            ...(d.seconds >= 0 ? { durationUs: micros(d.seconds) } : {}),
            ...(d.callId === undefined ? {} : { callId: d.callId }),
            ...(d.why === undefined ? {} : d.why),
          })}\n`,
        );
      }
      parts.length = k;
      assert.equal(parts.join(''), expected.join(''));
    }),
    { numRuns: 3000 },
  );
});

test('cleared decisions let go of the rules and strings they held, and the next are written from the start', () => {
  const list = new DrawnDecisions(4);
  const r = rule('alice', 'doc', 'read');
  const decision = { code: ALLOWED, rule: r, reach: undefined, since: 0, until: 0 } as const;
  assert.equal(list.add('alice', 'doc', 'read', decision, true, 0, 0, 'c1', 1), 1);
  assert.equal(list.add('bob', 'doc', 'read', decision, false, 0, 0, undefined, 1), 2);
  list.clear();
  assert.equal(list.size, 0);
  assert.deepEqual(
    [list.rules[0], list.rules[1], list.users[0], list.callIds[0]],
    [undefined, undefined, '', undefined],
  );
  assert.equal(list.add('carol', 'doc', 'read', decision, false, 0, 0, undefined, 2), 1);
  assert.equal(list.users[0], 'carol');
});
