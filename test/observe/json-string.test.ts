import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonString, jsonStrings, putJsonString } from '../../src/observe/json-string.js';

test('jsonString and putJsonString give what JSON.stringify gives, for any string (lone surrogates, controls, quotes)', () => {
  const hostile = fc.constantFrom(
    '"',
    '\\',
    '\n',
    '\u0000',
    '\u001f',
    '\u007f',
    '\u2028',
    '\ud800',
    '\udc00',
    '😀',
    'é',
  );
  const strings = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.array(fc.oneof(hostile, fc.string()), { maxLength: 8 }).map((xs) => xs.join('')),
  );
  fc.assert(
    fc.property(strings, fc.nat(3), (s, at) => {
      assert.equal(jsonString(s), JSON.stringify(s));
      // Written as parts from an index: the same text, and the index after it.
      const parts: (string | number)[] = Array.from({ length: at }, () => '·');
      const end = putJsonString(parts, at, s);
      assert.equal(end, parts.length);
      assert.equal(parts.slice(at).join(''), JSON.stringify(s));
    }),
    { numRuns: 5000 },
  );
});

test('jsonStrings gives what JSON.stringify gives for a list of strings', () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 5 }), (xs) => {
      assert.equal(jsonStrings(xs), JSON.stringify(xs));
    }),
  );
});
