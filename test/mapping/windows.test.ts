import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { MappingError } from '../../src/errors.js';
import type { VendorGrant } from '../../src/grants.js';
import { loadMappings, type MappingSet, parseMapping } from '../../src/mapping/load.js';
import { translate } from '../../src/mapping/translate.js';
import { MEMORY_ROOT, memoryFiles, readSnapshot } from '../../src/snapshot/read.js';
import { compileVendorData } from '../../src/vendor-compiler.js';

let mappings: MappingSet;
before(async () => {
  mappings = await loadMappings('mappings');
});

const NOV = '1793491200'; // 2026-11-01T00:00:00Z in seconds
const DEC = '1796083200'; // 2026-12-01T00:00:00Z in seconds
const ISO_NOV = '2026-11-01T00:00:00.000Z';
const ISO_DEC = '2026-12-01T00:00:00.000Z';

const tuya = (fields: Record<string, string>): VendorGrant => ({
  vendor: 'tuya',
  kind: 'permission',
  holder: { type: 'user', vendorUserId: 'u1' },
  fields: { permission_id: '7', ...fields },
  raw: JSON.stringify(fields),
});

// The line of the shipped temporary (type 1) rule, which must be the one that skips these grants.
const TEMPORARY_RULE_LINE =
  readFileSync('mappings/tuya.yaml', 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('- id: temporary')) + 1;

const iso = (ms: number | undefined) => (ms === undefined ? 'open' : new Date(ms).toISOString());

describe('a temporary Tuya grant (type 1) whose window cannot be read', () => {
  // [case, fields, field the reason must name]
  const unreadable: [string, Record<string, string>, string][] = [
    ['end_time missing', { start_time: NOV }, 'end_time'],
    ['end_time empty', { start_time: NOV, end_time: '' }, 'end_time'],
    ['end_time blank', { start_time: NOV, end_time: '  ' }, 'end_time'],
    ['end_time garbage', { start_time: NOV, end_time: 'soon' }, 'end_time'],
    ['end_time the text "null"', { start_time: NOV, end_time: 'null' }, 'end_time'],
    ['start_time missing', { end_time: DEC }, 'start_time'],
    ['start_time empty', { start_time: '', end_time: DEC }, 'start_time'],
    ['start_time blank', { start_time: ' \t ', end_time: DEC }, 'start_time'],
    ['start_time garbage', { start_time: '12:00', end_time: DEC }, 'start_time'],
    ['no times at all', {}, 'start_time'],
    ['no times at all (end named too)', {}, 'end_time'],
    ['both blank', { start_time: ' ', end_time: ' ' }, 'end_time'],
  ];
  for (const [name, times, field] of unreadable) {
    test(`grants nothing and is reported naming ${field} when ${name}`, () => {
      const r = translate([tuya({ type: '1', ...times })], mappings, () => 'p');
      assert.deepEqual(r.grants, [], 'no grant, open-ended or otherwise');
      assert.deepEqual(r.unmatched, [], 'it matched the temporary rule; it did not fall through');
      assert.equal(r.skipped.length, 1);
      assert.match(r.skipped[0]!.reason, new RegExp(`\\b${field}\\b`));
      assert.match(r.skipped[0]!.rule, new RegExp(`^mappings[/\\\\]tuya\\.yaml:${TEMPORARY_RULE_LINE}$`));
    });
  }

  const readable: [string, Record<string, string>][] = [
    ['seconds', { start_time: NOV, end_time: DEC }],
    ['milliseconds', { start_time: `${NOV}000`, end_time: `${DEC}000` }],
    ['seconds start, milliseconds end', { start_time: NOV, end_time: `${DEC}000` }],
    ['padded with spaces', { start_time: ` ${NOV} `, end_time: ` ${DEC}` }],
  ];
  for (const [name, times] of readable) {
    test(`is granted exactly inside [start_time, end_time) when the times are in ${name}`, () => {
      const r = translate([tuya({ type: '1', ...times })], mappings, () => 'p');
      assert.deepEqual(r.skipped, []);
      assert.deepEqual(
        r.grants.map((g) => `${g.resource} ${g.action} [${iso(g.validFrom)}, ${iso(g.validUntil)})`),
        [`tuya:permission:7 use [${ISO_NOV}, ${ISO_DEC})`],
      );
    });
  }
});

describe('a temporary Tuya grant read from a vendor body', () => {
  // Each item is a Tuya permission as the API may send it: `type` as 1 or "1", times as numbers or
  // strings, missing, null, empty, blank or garbage. The body checker drops unreadable optional
  // fields before mapping; none of these may become a rule without an end.
  const items: Record<string, unknown>[] = [
    { permission_id: 101, type: 1, start_time: Number(NOV) },
    { permission_id: 102, type: '1', start_time: NOV, end_time: null },
    { permission_id: 103, type: 1, start_time: NOV, end_time: '' },
    { permission_id: 104, type: '1', start_time: NOV, end_time: '   ' },
    { permission_id: 105, type: 1, start_time: NOV, end_time: 'next week' },
    { permission_id: 106, type: '1' },
    { permission_id: 107, type: 1, start_time: null, end_time: Number(DEC) },
    { permission_id: 108, type: '1', start_time: 'x', end_time: DEC },
    { permission_id: 201, type: 1, start_time: Number(NOV), end_time: Number(DEC) },
    { permission_id: 202, type: '1', start_time: `${NOV}000`, end_time: `${DEC}000` },
    { permission_id: 203, type: 1, start_time: NOV, end_time: Number(`${DEC}000`) },
    { permission_id: 300, type: '0' },
  ];

  test('never becomes an open-ended rule: unreadable windows are skipped and reported, readable ones bound the rule', async () => {
    const page = { success: true, t: 1, result: { user_id: 'ay-x', permission_list: items } };
    const data = await readSnapshot(MEMORY_ROOT, {
      files: memoryFiles(new Map([['tuya/users/ay-x/permissions/page-0001.json', JSON.stringify(page)]])),
    });
    const result = compileVendorData(data, mappings, new Map());
    const rules = result.policy.rules.map(
      (r) =>
        `${r.obj} ${iso(Number.isFinite(r.from) ? r.from : undefined)} ${iso(Number.isFinite(r.until) ? r.until : undefined)}`,
    );
    assert.deepEqual(rules.sort(), [
      `tuya:permission:201 ${ISO_NOV} ${ISO_DEC}`,
      `tuya:permission:202 ${ISO_NOV} ${ISO_DEC}`,
      `tuya:permission:203 ${ISO_NOV} ${ISO_DEC}`,
      'tuya:permission:300 open open',
    ]);
    const skippedIds = result.skipped.map((s) => String(JSON.parse(s.raw).permission_id)).sort();
    assert.deepEqual(skippedIds, ['101', '102', '103', '104', '105', '106', '107', '108']);
    for (const s of result.skipped) assert.match(s.reason, /\b(start_time|end_time)\b/);
  });
});

describe('any mapping window whose bound the data does not give', () => {
  const grantOf = (fields: Record<string, string>): VendorGrant => ({
    vendor: 'tuya',
    kind: 'permission',
    holder: { type: 'user', vendorUserId: 'u1' },
    fields,
    raw: JSON.stringify(fields),
  });

  test('skips the grant and names the field, for an end-only window on a generic rule', async () => {
    const m = await parseMapping(
      `vendor: tuya
rules:
  - kind: permission
    when: { type: "0" }
    resource: "tuya:permission:{permission_id}"
    actions: [use]
    window: { until: "{end_time}" }
`,
      'w.yaml',
    );
    const missing = translate([grantOf({ permission_id: '1', type: '0' })], m, () => 'p');
    assert.deepEqual(missing.grants, []);
    assert.equal(missing.skipped.length, 1);
    assert.match(missing.skipped[0]!.reason, /end_time/);
    assert.equal(missing.skipped[0]!.rule, 'w.yaml:3');
    const blank = translate([grantOf({ permission_id: '1', type: '0', end_time: ' ' })], m, () => 'p');
    assert.deepEqual(blank.grants, []);
    assert.match(blank.skipped[0]!.reason, /end_time/);
    const given = translate([grantOf({ permission_id: '1', type: '0', end_time: DEC })], m, () => 'p');
    assert.deepEqual(
      given.grants.map((g) => [g.validFrom, iso(g.validUntil)]),
      [[undefined, ISO_DEC]],
    );
  });

  test('skips the grant when a template with literal text around a missing field would still render a time', async () => {
    const m = await parseMapping(
      `vendor: tuya
rules:
  - kind: permission
    effect: deny
    resource: "tuya:permission:{permission_id}"
    actions: [use]
    window: { from: "{start_time}000", until: "{end_time}" }
`,
      'w.yaml',
    );
    const r = translate([grantOf({ permission_id: '1', end_time: DEC })], m, () => 'p');
    assert.deepEqual(r.grants, []);
    assert.match(r.skipped[0]!.reason, /start_time/);
  });
});

describe('loading a Tuya mapping', () => {
  async function loadProblems(rules: string): Promise<string[]> {
    try {
      await parseMapping(`vendor: tuya\nrules:\n${rules}`, 't.yaml');
    } catch (e) {
      assert.ok(e instanceof MappingError, String(e));
      return e.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
    }
    return [];
  }

  test('refuses an allow rule for type 1 without a window, at the rule', async () => {
    const ps = await loadProblems(`  - kind: permission
    when: { type: "1" }
    resource: "tuya:permission:{permission_id}"
    actions: [use]
`);
    assert.equal(ps.length, 1);
    assert.match(
      ps[0]!,
      /^t\.yaml:3:5: .*type 1.*window: \{ from: "\{start_time\}", until: "\{end_time\}" \}/,
    );
  });

  test('refuses an allow rule that matches every type (so type 1 too) without a window', async () => {
    const ps = await loadProblems(`  - kind: permission
    resource: "tuya:permission:{permission_id}"
    actions: [use]
`);
    assert.match(ps[0] ?? '', /^t\.yaml:3:5: .*type 1/);
  });

  test('refuses a type 1 window that is open at either end or not read from start_time and end_time', async () => {
    const ps = await loadProblems(`  - kind: permission
    when: { type: ["1", "2"] }
    resource: "tuya:permission:{permission_id}"
    actions: [use]
    window: { until: "{end_time}" }
  - kind: permission
    when: { type: { regex: "[0-9]" } }
    resource: "tuya:permission:{permission_id}"
    actions: [use]
    window: { from: "{start_time}", until: "2099-01-01" }
`);
    assert.equal(ps.length, 2);
    assert.match(ps[0]!, /^t\.yaml:3:5: .*type 1/);
    assert.match(ps[1]!, /^t\.yaml:8:5: .*type 1/);
  });

  test('accepts a windowed type 1 rule, a type 0 rule without one, and a deny without one', async () => {
    assert.deepEqual(
      await loadProblems(`  - kind: permission
    when: { type: "1" }
    resource: "tuya:permission:{permission_id}"
    actions: [use]
    window: { from: "{start_time}", until: "{end_time}" }
  - kind: permission
    when: { type: "0" }
    resource: "tuya:permission:{permission_id}"
    actions: [use]
  - kind: permission
    effect: deny
    resource: "tuya:permission:{permission_id}"
    actions: [use]
`),
      [],
    );
  });
});
