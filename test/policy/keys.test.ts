import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { linkKey, type PolicyRule, parseEntryKey, ruleKey } from '../../src/policy/types.js';

// An open start is -Infinity and an open end +Infinity (ruleKey writes both as null).
const from = fc.oneof(fc.constant(Number.NEGATIVE_INFINITY), fc.integer());
const until = fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer());
const rule = fc.record({
  sub: fc.string({ unit: 'binary' }),
  obj: fc.string({ unit: 'binary' }),
  act: fc.string(),
  eft: fc.constantFrom('allow' as const, 'deny' as const),
  from,
  until,
});

test('a rule or link key reads back into exactly the rule or link that wrote it, for any strings', () => {
  fc.assert(
    fc.property(rule, fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (r: PolicyRule, m, g) => {
      assert.deepEqual(parseEntryKey(ruleKey(r)), { rule: { ...r } });
      assert.deepEqual(parseEntryKey(linkKey({ member: m, role: g })), { link: { member: m, role: g } });
    }),
  );
});

test('anything else is not a key', () => {
  for (const k of [
    '',
    'x',
    '{}',
    '["a"]',
    '["a","b","c","allow",null]',
    '["a","b","c","maybe",null,null]',
    '["a","b","c","allow","1",null]',
    '["a", "b"]',
    '["a","b","c","allow",1.0e0,null]',
  ])
    assert.equal(parseEntryKey(k), undefined, k);
});
