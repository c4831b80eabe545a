// The emulator's Zoom side driven by Zoom's official Node SDK (@zoom/rivet), checked against the
// bundled example data read straight from examples/snapshot (not through the project's reader).
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { AccountsS2SAuthClient } from '@zoom/rivet/accounts';
import { UsersS2SAuthClient } from '@zoom/rivet/users';
import axios from 'axios';
import { EMULATOR_CREDENTIALS as C } from '../../src/emulator/server.js';
import { exampleEmulator } from '../helpers/emulator.js';

/** Where the SDK always asks for Server-to-Server tokens (OAUTH_BASE_URL + OAUTH_TOKEN_PATH in its source). */
const SDK_TOKEN_URL = 'https://zoom.us/oauth/token';
const ZOOM = 'examples/snapshot/zoom';

interface SnapUser {
  id?: string;
  email: string;
  status?: string;
  [k: string]: unknown;
}
interface SnapUserPage {
  page_size: number;
  users: SnapUser[];
}
interface SnapRole {
  id: string;
  name: string;
  description?: string;
  type?: string;
  total_members?: number;
  privileges: string[];
}
interface SnapRoleList {
  total_records: number;
  roles: { id: string; name: string; description?: string; total_members: number }[];
}

const snap = async <T>(...path: string[]): Promise<T> =>
  JSON.parse(await readFile(join(ZOOM, ...path), 'utf8')) as T;
const userPages = async () =>
  Promise.all(
    (await readdir(join(ZOOM, 'users')))
      .filter((f) => /^page-\d+\.json$/.test(f))
      .sort()
      .map((f) => snap<SnapUserPage>('users', f)),
  );
const roleIds = async () =>
  (await readdir(join(ZOOM, 'roles'), { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => decodeURIComponent(e.name))
    .sort();
const sorted = (xs: readonly string[] | undefined) => [...(xs ?? [])].sort();

/** The body of a 200 answer (the SDK itself throws on any non-2xx one). */
function body<T>(r: { statusCode: number; data?: T | undefined }): T {
  assert.equal(r.statusCode, 200);
  assert.ok(r.data !== undefined, 'a body');
  return r.data;
}

/**
 * The example emulator on a free loopback port and the SDK's Users and Accounts clients pointed at
 * it: the API through the SDK's own `baseUrl` option; the token URL, which the SDK does not let
 * callers change, by rewriting that one URL in an interceptor on the axios instance the SDK uses.
 * Anything else that would leave the emulator is refused. Both are undone when the test ends.
 */
async function zoomSdk(t: TestContext) {
  const emulator = await exampleEmulator();
  const base = `${emulator.url}/zoom/`;
  const tokenRequests: string[] = [];
  const interceptor = axios.interceptors.request.use((config) => {
    if (config.url === SDK_TOKEN_URL) {
      config.url = `${emulator.url}/zoom/oauth/token`;
      tokenRequests.push(`${config.method?.toUpperCase()} ${config.url}`);
    }
    const url = config.url ?? '';
    const full = /^https?:\/\//.test(url) ? url : `${config.baseURL ?? ''}${url}`;
    if (!full.startsWith(base)) throw new Error(`refused a request outside the emulator: ${full}`);
    config.proxy = false;
    return config;
  });
  t.after(async () => {
    axios.interceptors.request.eject(interceptor);
    await emulator.close();
  });
  const options = { ...C.zoom, baseUrl: `${emulator.url}/zoom/v2`, disableReceiver: true } as const;
  return {
    emulator,
    tokenRequests,
    users: new UsersS2SAuthClient(options).endpoints.users,
    roles: new AccountsS2SAuthClient(options).endpoints.roles,
  };
}

describe("Zoom's official SDK against the emulator", () => {
  test('gets its Server-to-Server token from the emulator once and lists the active users page by page', async (t) => {
    const { emulator, tokenRequests, users } = await zoomSdk(t);
    const snapshot = await userPages();
    const pageSize = snapshot[0]?.page_size ?? 0;
    assert.equal(snapshot.length, 2, 'the example has two pages of users');
    // Zoom lists active users unless asked for another status. The example's pages also hold a
    // pending user (and count it in total_records), so the active ones are compared here and the
    // pending one below.
    const all = snapshot.flatMap((p) => p.users);
    const active = all.filter((u) => (u.status ?? 'active') === 'active');

    const pages = [];
    let next = '';
    do {
      const page = body(
        await users.listUsers({
          query: { page_size: pageSize, ...(next !== '' ? { next_page_token: next } : {}) },
        }),
      );
      pages.push(page);
      next = page.next_page_token ?? '';
    } while (next !== '' && pages.length < 10);

    assert.equal(pages.length, Math.ceil(active.length / pageSize));
    assert.equal(pages.length, 2);
    assert.deepEqual(
      pages.flatMap((p) => p.users),
      active,
    );
    assert.deepEqual(pages[0]?.users, snapshot[0]?.users, 'the first page is the example first page');
    assert.deepEqual(
      pages.map((p) => [p.page_number, p.page_count, p.page_size, p.total_records]),
      pages.map((_, i) => [i + 1, pages.length, pageSize, active.length]),
    );

    const pending = body(await users.listUsers({ query: { status: 'pending' } }));
    assert.deepEqual(
      pending.users,
      all.filter((u) => u.status === 'pending'),
    );
    assert.equal(pending.users?.length, 1);
    assert.equal(pending.users?.[0]?.id, undefined, 'a pending user has no id yet');

    assert.deepEqual(tokenRequests, [`POST ${emulator.url}/zoom/oauth/token`], 'one token, reused');
    assert.equal(emulator.state.stats.tokensIssued, 1);
  });

  test("reads each user's permissions, by id and by email, as the example holds them", async (t) => {
    const { users } = await zoomSdk(t);
    const ids = (await readdir(join(ZOOM, 'users'), { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => decodeURIComponent(e.name));
    assert.ok(ids.length >= 3);
    const listed = (await userPages()).flatMap((p) => p.users);
    for (const id of ids) {
      const file = await snap<{ permissions: string[] }>('users', encodeURIComponent(id), 'permissions.json');
      const byId = body(await users.getUserPermissions({ path: { userId: id } }));
      assert.deepEqual(sorted(byId.permissions), sorted(file.permissions), id);
      const email = listed.find((u) => u.id === id)?.email;
      assert.ok(email, `${id} is listed`);
      const byEmail = body(await users.getUserPermissions({ path: { userId: email } }));
      assert.deepEqual(sorted(byEmail.permissions), sorted(file.permissions), email);
    }
    await assert.rejects(users.getUserPermissions({ path: { userId: 'nobody' } }), /\[404\/1001\]/);
  });

  test('lists the roles with the description, type and member count of each', async (t) => {
    const { roles } = await zoomSdk(t);
    const list = await snap<SnapRoleList>('roles', 'page-0001.json');
    const r = body(await roles.listRoles({}));
    assert.equal(r.total_records, list.total_records);
    // The example's role list and its role details disagree on descriptions ("Account admin" vs
    // "Admin"); Zoom has one description per role, and the emulator keeps the detail body's.
    const expected = [];
    for (const summary of list.roles) {
      const detail = await snap<SnapRole>('roles', encodeURIComponent(summary.id), 'role.json');
      expected.push({
        id: summary.id,
        name: summary.name,
        description: detail.description,
        total_members: summary.total_members,
        type: detail.type,
      });
    }
    assert.deepEqual(r.roles, expected);
    assert.ok(expected.every((x) => typeof x.description === 'string' && x.description !== ''));
  });

  test('filters the role list by type: common roles unless another type is asked for', async (t) => {
    const { emulator, roles } = await zoomSdk(t);
    emulator.state.dataset.zoom.roles.push({
      id: 'Riq1',
      name: 'Revenue Accelerator analyst',
      description: 'Zoom IQ role',
      type: 'iq',
      privileges: ['UsageReport:Read'],
      members: [],
    });
    const common = (await snap<SnapRoleList>('roles', 'page-0001.json')).roles.map((x) => x.id);
    const ids = (x: { roles?: { id?: string }[] }) => (x.roles ?? []).map((role) => role.id);

    const byDefault = body(await roles.listRoles({}));
    assert.deepEqual(ids(byDefault), common);
    assert.equal(byDefault.total_records, common.length);
    assert.deepEqual(ids(body(await roles.listRoles({ query: { type: 'common' } }))), common);
    const iq = body(await roles.listRoles({ query: { type: 'iq' } }));
    assert.deepEqual(iq.roles, [
      {
        id: 'Riq1',
        name: 'Revenue Accelerator analyst',
        description: 'Zoom IQ role',
        total_members: 0,
        type: 'iq',
      },
    ]);
    assert.equal(iq.total_records, 1);
  });

  test("serves each role's detail and members exactly as the example holds them", async (t) => {
    const { roles } = await zoomSdk(t);
    const ids = await roleIds();
    assert.deepEqual(ids, ['1', '2', 'Rc0ffee']);
    for (const roleId of ids) {
      const detail = body(await roles.getRoleInformation({ path: { roleId } }));
      assert.deepEqual(detail, await snap<SnapRole>('roles', encodeURIComponent(roleId), 'role.json'));
      const members = body(await roles.listMembersInRole({ path: { roleId } }));
      assert.deepEqual(
        members,
        await snap<unknown>('roles', encodeURIComponent(roleId), 'members', 'page-0001.json'),
      );
    }
    await assert.rejects(roles.getRoleInformation({ path: { roleId: 'R-none' } }), /\[404\/1018\]/);
  });

  test("PATCHes a role's privileges and description, then serves them in the detail, the list and the members' permissions", async (t) => {
    const { roles, users } = await zoomSdk(t);
    const roleId = 'Rc0ffee';
    const before = await snap<SnapRole>('roles', roleId, 'role.json');
    const untouched = await snap<SnapRole>('roles', '1', 'role.json');
    const privileges = ['Recording:Read', 'Recording:Edit', 'Dashboard:Read'];
    const description = 'Custom role: reads and edits recordings, sees the dashboard';

    const patched = await roles.updateRoleInformation({
      path: { roleId },
      body: { description, privileges },
    });
    assert.equal(patched.statusCode, 204);

    const detail = body(await roles.getRoleInformation({ path: { roleId } }));
    assert.deepEqual(detail, { ...before, description, privileges });
    const listed = body(await roles.listRoles({}));
    assert.equal(listed.roles?.find((r) => r.id === roleId)?.description, description);
    // Carol holds this role and nothing outside it: her effective permissions follow the role.
    const carol = body(await users.getUserPermissions({ path: { userId: 'z-carol' } }));
    assert.deepEqual(sorted(carol.permissions), sorted(privileges));
    assert.deepEqual(body(await roles.getRoleInformation({ path: { roleId: '1' } })), untouched);

    // A rejected update changes nothing.
    await assert.rejects(
      roles.updateRoleInformation({
        path: { roleId },
        body: { privileges: ['User:Read'], description: 42 as unknown as string },
      }),
      /\[400\/300\]/,
    );
    assert.deepEqual(body(await roles.getRoleInformation({ path: { roleId } })), detail);
  });
});
