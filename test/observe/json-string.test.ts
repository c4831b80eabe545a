import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { jsonInner } from '../../src/observe/json-string.js';

test('jsonInner between quotes is what JSON.stringify gives, for any string (lone surrogates, controls, quotes)', () => {
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
    fc.property(strings, (s) => {
      assert.equal(`"${jsonInner(s)}"`, JSON.stringify(s));
    }),
    { numRuns: 5000 },
  );
});
