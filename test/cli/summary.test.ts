// The sync summary the CLI prints: every change the sync kept (--diff-limit), counts in words.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatSummary } from '../../src/cli/sync.js';
import type { SyncSummary, VendorOutcome } from '../../src/sync/run.js';

const vendor = (over: Partial<VendorOutcome> = {}): VendorOutcome => ({
  vendor: 'vonage',
  status: 'ok',
  units: 3,
  failures: [],
  problems: [],
  problemCount: 0,
  notices: [],
  requests: 9,
  retries: 2,
  rateLimited: 0,
  ...over,
});

const rule = (i: number) => ({
  sub: `user${i}`,
  obj: 'zoom:recording',
  act: 'read',
  eft: 'allow' as const,
  from: Number.NEGATIVE_INFINITY,
  until: Number.POSITIVE_INFINITY,
});

const summary = (over: Partial<SyncSummary> = {}): SyncSummary => ({
  ok: true,
  dryRun: true,
  vendors: [vendor()],
  diff: { addRules: [], removeRules: [], addLinks: [], removeLinks: [] },
  changes: { addRules: 0, removeRules: 0, addLinks: 0, removeLinks: 0 },
  invalidatedSubjects: 0,
  stale: [],
  rules: 10,
  links: 4,
  durationMs: 5,
  ...over,
});

describe('sync summary', () => {
  test('a dry run lists every change the sync kept, beyond 200 with --diff-limit 500', () => {
    const addRules = Array.from({ length: 500 }, (_, i) => rule(i));
    const text = formatSummary(
      summary({
        diff: { addRules, removeRules: [], addLinks: [], removeLinks: [] },
        changes: { addRules: 700, removeRules: 0, addLinks: 0, removeLinks: 0 },
      }),
      'policies',
    );
    const listed = text.split('\n').filter((l) => l.startsWith('  + p, '));
    assert.equal(listed.length, 500);
    assert.equal(listed[499], '  + p, user499, zoom:recording, read, allow, , ');
    assert.match(text, /\n {2}\.\.\. and 200 more\n/);
  });

  test('counts of one are singular', () => {
    const text = formatSummary(
      summary({
        vendors: [
          vendor({ units: 1, requests: 1, retries: 1 }),
          vendor({ vendor: 'zoom', units: 1, requests: 2, retries: 0 }),
        ],
        diff: { addRules: [rule(1)], removeRules: [rule(2)], addLinks: [], removeLinks: [] },
        changes: { addRules: 1, removeRules: 1, addLinks: 1, removeLinks: 0 },
        rules: 1,
        links: 1,
        dryRun: false,
      }),
      'policies',
    );
    assert.match(text, /^vonage {2}ok {7}1 user, 1 request, 1 retry \(0 rate-limited\)$/m);
    assert.match(text, /^zoom {4}ok {7}1 role or user, 2 requests, 0 retries \(0 rate-limited\)$/m);
    assert.match(text, /^changes: \+1 rule, -1 rule, \+1 link, -0 links$/m);
    assert.match(text, /^policy: 1 rule, 1 link → policies \(5 ms\)$/m);
  });

  test('counts of several are plural', () => {
    const text = formatSummary(summary(), 'policies');
    assert.match(text, /^vonage {2}ok {7}3 users, 9 requests, 2 retries \(0 rate-limited\)$/m);
    assert.match(text, /^dry run: nothing written \(10 rules, 4 links would be in policies\)$/m);
  });
});
