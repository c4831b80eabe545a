import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSubject } from '../../src/observe/subject-mask.js';

test('a hashed subject is sha256: and the first 16 hex digits of its SHA-256, the same on every run', () => {
  // Pinned: `log query --subject` finds entries of logs written by earlier versions by this value.
  assert.equal(hashSubject('alice'), 'sha256:2bd806c97f0e00af');
  assert.equal(hashSubject('ålice@example.com'), hashSubject('ålice@example.com'));
  assert.notEqual(hashSubject('alice'), hashSubject('Alice'));
});
