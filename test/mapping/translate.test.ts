import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { UnmatchedValueError } from '../../src/errors.js';
import type { VendorGrant } from '../../src/grants.js';
import { loadMappings, type MappingSet, parseMapping } from '../../src/mapping/load.js';
import { parseTime, translate } from '../../src/mapping/translate.js';

let mappings: MappingSet;
before(async () => {
  mappings = await loadMappings('mappings');
});

const user = { type: 'user' as const, vendorUserId: 'u1' };
const grant = (vendor: VendorGrant['vendor'], kind: string, fields: Record<string, string>): VendorGrant => ({
  vendor,
  kind,
  holder: user,
  fields,
  raw: JSON.stringify(fields),
});
const run = (g: VendorGrant) =>
  translate([g], mappings, () => 'p')
    .grants.map(
      (x) =>
        `${x.effect} ${x.resource} ${x.action}${x.validFrom !== undefined ? ` [${new Date(x.validFrom).toISOString()}, ${new Date(x.validUntil!).toISOString()})` : ''}`,
    )
    .sort();

describe('the default vocabulary', () => {
  const cases: [string, VendorGrant, string[]][] = [
    [
      'Zoom Recording:Edit grants edit and read',
      grant('zoom', 'privilege', { privilege: 'Recording:Edit' }),
      ['allow zoom:recording edit', 'allow zoom:recording read'],
    ],
    [
      'Zoom Meeting:Join grants join only',
      grant('zoom', 'privilege', { privilege: 'Meeting:Join' }),
      ['allow zoom:meeting join'],
    ],
    [
      'Zoom splits on the last colon',
      grant('zoom', 'privilege', { privilege: 'Sub:Area:Read' }),
      ['allow zoom:sub:area read'],
    ],
    [
      'Vonage Write grants read and write',
      grant('vonage', 'group', { groupId: 'G1', groupPermission: 'Write' }),
      ['allow vonage:group:G1 read', 'allow vonage:group:G1 write'],
    ],
    [
      'Vonage Read grants read',
      grant('vonage', 'group', { groupId: 'G1', groupPermission: 'Read' }),
      ['allow vonage:group:G1 read'],
    ],
    [
      'Vonage None denies read and write',
      grant('vonage', 'group', { groupId: 'G1', groupPermission: 'None' }),
      ['deny vonage:group:G1 read', 'deny vonage:group:G1 write'],
    ],
    [
      'Vonage access Yes grants use',
      grant('vonage', 'access', { permissionKey: 'CPA_View', permissionLevel: 'Yes' }),
      ['allow vonage:access:CPA_View use'],
    ],
    [
      'Vonage access Modify grants read and modify',
      grant('vonage', 'access', { permissionKey: 'CPA_ACD', permissionLevel: 'Modify' }),
      ['allow vonage:access:CPA_ACD modify', 'allow vonage:access:CPA_ACD read'],
    ],
    [
      'Vonage access No denies everything',
      grant('vonage', 'access', { permissionKey: 'K', permissionLevel: 'No' }),
      ['deny vonage:access:K modify', 'deny vonage:access:K read', 'deny vonage:access:K use'],
    ],
    [
      'Vonage access None denies everything',
      grant('vonage', 'access', { permissionKey: 'K', permissionLevel: 'None' }),
      ['deny vonage:access:K modify', 'deny vonage:access:K read', 'deny vonage:access:K use'],
    ],
    [
      'Tuya generic grant is use',
      grant('tuya', 'permission', { permission_id: '232371810', type: '0' }),
      ['allow tuya:permission:232371810 use'],
    ],
    [
      'Tuya temporary grant in seconds',
      grant('tuya', 'permission', {
        permission_id: '7',
        type: '1',
        start_time: '1793491200',
        end_time: '1796083200',
      }),
      ['allow tuya:permission:7 use [2026-11-01T00:00:00.000Z, 2026-12-01T00:00:00.000Z)'],
    ],
    [
      'Tuya temporary grant in milliseconds',
      grant('tuya', 'permission', {
        permission_id: '7',
        type: '1',
        start_time: '1793491200000',
        end_time: '1796083200000',
      }),
      ['allow tuya:permission:7 use [2026-11-01T00:00:00.000Z, 2026-12-01T00:00:00.000Z)'],
    ],
  ];
  for (const [name, g, expected] of cases) test(name, () => assert.deepEqual(run(g), expected));

  test('reports unmatched values without granting anything', () => {
    const r = translate(
      [grant('vonage', 'access', { permissionKey: 'K', permissionLevel: 'Supervise' })],
      mappings,
      () => 'p',
    );
    assert.equal(r.grants.length, 0);
    assert.equal(r.unmatched.length, 1);
  });

  test('skips a temporary grant whose times are unreadable or reversed', () => {
    const r = translate(
      [
        grant('tuya', 'permission', {
          permission_id: '7',
          type: '1',
          start_time: 'soon',
          end_time: '1796083200',
        }),
        grant('tuya', 'permission', {
          permission_id: '8',
          type: '1',
          start_time: '1796083200',
          end_time: '1793491200',
        }),
      ],
      mappings,
      () => 'p',
    );
    assert.equal(r.grants.length, 0);
    assert.equal(r.skipped.length, 2);
  });

  test('unmatched: error stops with the values listed', async () => {
    const strict = await parseMapping('vendor: zoom\nunmatched: error\nrules: []\n', 'z.yaml');
    assert.throws(
      () => translate([grant('zoom', 'privilege', { privilege: 'X:Read' })], strict, () => 'p'),
      UnmatchedValueError,
    );
  });
});

test('parseTime reads seconds, milliseconds, numeric strings and ISO, and rejects the rest', () => {
  assert.equal(parseTime('1793491200'), Date.parse('2026-11-01T00:00:00Z'));
  assert.equal(parseTime('1793491200000'), Date.parse('2026-11-01T00:00:00Z'));
  assert.equal(parseTime('2026-11-01T00:00:00Z'), Date.parse('2026-11-01T00:00:00Z'));
  assert.equal(parseTime(''), undefined);
  assert.ok(Number.isNaN(parseTime('tomorrow')!));
  assert.ok(Number.isNaN(parseTime('99999999999999999')!));
});
