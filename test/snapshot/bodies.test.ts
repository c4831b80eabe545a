// The vendor body checker: what each vendor may send (numbers for strings, strings for numbers,
// extra fields, missing optional fields, nulls, empty lists) and what each unusable value costs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BodyKind, checkBody, type TuyaPermissionEnvelope } from '../../src/snapshot/bodies.js';

/** Checks a body and returns what the product reads from it, or the unusable field. */
function check(kind: BodyKind, body: unknown) {
  const r = checkBody(kind, structuredClone(body));
  return r.ok
    ? { body: r.body, issues: r.issues.map((i) => `${i.effect} ${i.field}`) }
    : { unusable: r.field, message: r.message };
}

describe('Zoom bodies', () => {
  test('ids sent as numbers are read as strings, extra fields ignored, pending users kept without an id', () => {
    assert.deepEqual(
      check('zoom.users', {
        page_size: 300,
        total_records: 3,
        next_page_token: '',
        users: [
          { id: 'z-1', email: 'a@example.com', role_id: 2, pmi: 123, custom_attributes: [{ key: 'x' }] },
          { id: 42, email: null, status: 'active' },
          { email: 'pending@example.com', status: 'pending' },
        ],
      }),
      {
        body: {
          page_size: 300,
          total_records: 3,
          next_page_token: '',
          users: [
            { id: 'z-1', email: 'a@example.com', role_id: '2', pmi: 123, custom_attributes: [{ key: 'x' }] },
            { id: '42', status: 'active' },
            { email: 'pending@example.com', status: 'pending' },
          ],
        },
        issues: [],
      },
    );
  });

  test('a privilege that is not a string is skipped, the rest of the role kept', () => {
    assert.deepEqual(check('zoom.role', { id: 2, name: 'Member', privileges: ['Recording:Read', 7, null] }), {
      body: { id: '2', name: 'Member', privileges: ['Recording:Read'] },
      issues: ['skipped privileges[1]', 'skipped privileges[2]'],
    });
  });

  test('a role without privileges, or with null privileges, is a role with none', () => {
    assert.deepEqual(check('zoom.role', { id: '3' }), { body: { id: '3' }, issues: [] });
    assert.deepEqual(check('zoom.role', { id: '3', privileges: null }), { body: { id: '3' }, issues: [] });
  });

  test('a member without a readable id is skipped; an unreadable email is ignored', () => {
    assert.deepEqual(
      check('zoom.members', {
        members: [{ id: 'a' }, { email: 'x@example.com' }, { id: {}, email: 'y' }, { id: 7, email: 3 }],
      }),
      {
        body: { members: [{ id: 'a' }, { id: '7' }] },
        issues: ['skipped members[1].id', 'skipped members[2].id', 'ignored members[3].email'],
      },
    );
  });

  test('a role body without an id, a listing without users, or a list that is not a list is unusable', () => {
    assert.equal(check('zoom.role', { name: 'x' }).unusable, 'id');
    assert.equal(check('zoom.users', { next_page_token: '' }).unusable, 'users');
    assert.equal(check('zoom.permissions', { permissions: 'Recording:Read' }).unusable, 'permissions');
    assert.equal(check('zoom.roles', []).unusable, '(body)');
  });

  test('empty lists are fine', () => {
    assert.deepEqual(check('zoom.permissions', { permissions: [] }), {
      body: { permissions: [] },
      issues: [],
    });
    assert.deepEqual(check('zoom.members', { members: [], next_page_token: '' }), {
      body: { members: [], next_page_token: '' },
      issues: [],
    });
  });
});

describe('Vonage bodies', () => {
  test('a display id sent as a number is a string; group ids as numbers too; nulls are missing', () => {
    assert.deepEqual(
      check('vonage.groups', {
        meta: { page: '1', count: 2, pageCount: 1, totalCount: 2 },
        userId: 'u1',
        groupPermissions: [
          { groupId: 17, groupDisplayId: 5678, groupName: null, groupPermission: 'Read', isDefault: true },
          { groupId: 'g2', groupPermission: 'None' },
        ],
      }),
      {
        body: {
          meta: { page: 1, count: 2, pageCount: 1, totalCount: 2 },
          userId: 'u1',
          groupPermissions: [
            { groupId: '17', groupDisplayId: '5678', groupPermission: 'Read', isDefault: true },
            { groupId: 'g2', groupPermission: 'None' },
          ],
        },
        issues: [],
      },
    );
  });

  test('a grant whose permission cannot be read is skipped and reported; the other grants stay', () => {
    const r = check('vonage.groups', {
      groupPermissions: [
        { groupId: 'g1', groupPermission: { level: 'Write' } },
        { groupId: 'g2', groupPermission: 'Write' },
        { groupPermission: 'Read' },
        'Write',
      ],
    });
    assert.deepEqual(r, {
      body: { groupPermissions: [{ groupId: 'g2', groupPermission: 'Write' }] },
      issues: [
        'skipped groupPermissions[0].groupPermission',
        'skipped groupPermissions[2].groupId',
        'skipped groupPermissions[3]',
      ],
    });
  });

  test('an unreadable optional field is ignored and reported, never a failure', () => {
    assert.deepEqual(
      check('vonage.access', {
        meta: { page: 'first' },
        accessPermissions: [{ permissionKey: 'CPA_ACD', permissionLevel: 'Modify' }],
      }),
      {
        body: { meta: {}, accessPermissions: [{ permissionKey: 'CPA_ACD', permissionLevel: 'Modify' }] },
        issues: ['ignored meta.page'],
      },
    );
  });

  test('user ids as numbers; a user without an id is skipped', () => {
    assert.deepEqual(
      check('vonage.users', { users: [{ userId: 12, email: 'a@example.com' }, { email: 'b' }] }),
      {
        body: { users: [{ userId: '12', email: 'a@example.com' }] },
        issues: ['skipped users[1].userId'],
      },
    );
  });

  test('a page whose list is missing or not a list is unusable', () => {
    assert.equal(check('vonage.groups', { userId: 'u1' }).unusable, 'groupPermissions');
    assert.equal(check('vonage.access', { accessPermissions: { a: 1 } }).unusable, 'accessPermissions');
  });
});

describe('Tuya bodies', () => {
  const page = (list: unknown[], extra: Record<string, unknown> = {}) => ({
    success: true,
    t: 1700000000000,
    result: { user_id: 'ay1', permission_list: list, last_row_key: 5, page_size: '10', ...extra },
  });

  test('type, ids and times as numbers or numeric strings read the same; blank optional times are missing', () => {
    const asNumbers = check(
      'tuya.permissions',
      page([{ permission_id: 232371810, type: 1, start_time: 1793491200, end_time: 1796083200000 }]),
    );
    const asStrings = check(
      'tuya.permissions',
      page([
        { permission_id: '232371810', type: '1', start_time: ' 1793491200 ', end_time: '1796083200000' },
      ]),
    );
    assert.deepEqual(asNumbers, asStrings);
    assert.deepEqual(asNumbers, {
      body: {
        success: true,
        t: 1700000000000,
        result: {
          user_id: 'ay1',
          permission_list: [
            { permission_id: '232371810', type: '1', start_time: '1793491200', end_time: '1796083200000' },
          ],
          last_row_key: '5',
          page_size: 10,
        },
      },
      issues: [],
    });
    assert.deepEqual(
      check('tuya.permissions', page([{ permission_id: 1, type: '0', start_time: null, end_time: '' }])),
      {
        body: {
          success: true,
          t: 1700000000000,
          result: {
            user_id: 'ay1',
            permission_list: [{ permission_id: '1', type: '0' }],
            last_row_key: '5',
            page_size: 10,
          },
        },
        issues: [],
      },
    );
  });

  test('an unreadable time is dropped and reported; an unreadable permission id skips that permission', () => {
    const r = check(
      'tuya.permissions',
      page([
        { permission_id: 'abc', type: 0 },
        { permission_id: 2, type: 1, start_time: 'yesterday', end_time: 1796083200 },
      ]),
    );
    assert.ok('body' in r);
    assert.deepEqual((r.body as TuyaPermissionEnvelope).result.permission_list, [
      { permission_id: '2', type: '1', end_time: '1796083200' },
    ]);
    assert.deepEqual(r.issues, [
      'skipped result.permission_list[0].permission_id',
      'ignored result.permission_list[1].start_time',
    ]);
  });

  test('a long id keeps its digits (no rounding through a double)', () => {
    const r = check('tuya.permissions', page([{ permission_id: '9007199254740993123' }]));
    assert.ok('body' in r);
    assert.equal(
      (r.body as TuyaPermissionEnvelope).result.permission_list[0]?.permission_id,
      '9007199254740993123',
    );
  });

  test('success=false, or a missing result, is unusable and says what Tuya answered', () => {
    const failed = check('tuya.permissions', { success: false, code: 1106, msg: 'permission deny' });
    assert.equal(failed.unusable, 'success');
    assert.match(String(failed.message), /code 1106: permission deny/);
    assert.equal(check('tuya.permissions', { success: true }).unusable, 'result');
    assert.equal(
      check('tuya.permissions', { success: true, result: { permission_list: 'x' } }).unusable,
      'result.permission_list',
    );
  });
});
