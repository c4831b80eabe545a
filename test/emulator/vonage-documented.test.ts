// Vonage Contact Center has no official client, so the emulator's User Admin API is checked against
// the examples in Vonage's documentation (docs-vcc.atlassian.net, space VCCA; see
// shared/reference/vendors.md §2). The expected bodies below are copied from those pages.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { seededDataset } from '../../src/emulator/dataset.js';
import { EMULATOR_CREDENTIALS as C, type Emulator, startEmulator } from '../../src/emulator/server.js';
import { exampleEmulator } from '../helpers/emulator.js';

const V4 = 'application/vnd.newvoicemedia.v4+json';

// "Get user's group permissions": GET /users/8e22b1fe-.../permissions/groups, example response.
const GROUPS_EXAMPLE = {
  meta: { page: 1, count: 3, pageCount: 1, totalCount: 3 },
  userId: '2f201ffa-62ff-407c-a3b4-bbc7933beb33',
  groupPermissions: [
    {
      groupId: '687c104e-f28a-4985-9467-8f96a5868117',
      groupDisplayId: '9876',
      groupName: 'Group1',
      groupPermission: 'Read',
    },
    {
      groupId: '3615beae-3974-4c33-b38d-9ec230b2284c',
      groupDisplayId: '5678',
      groupName: 'Group2',
      groupPermission: 'Read',
    },
    {
      groupId: '38c791f5-961e-4578-979f-5f375a9e49ec',
      groupDisplayId: '1234',
      groupName: 'Group3',
      groupPermission: 'Write',
    },
  ],
};

// "Get user's access permissions": GET /users/{userId}/permissions/accessPermissions, example response.
const ACCESS_EXAMPLE = {
  meta: { page: 1, count: 2, pageCount: 1, totalCount: 2 },
  userId: '895db16f-5270-6ef8-e173-10ea365aefcc',
  accessPermissions: [
    { permissionKey: 'CPA_View', permissionLevel: 'Yes' },
    { permissionKey: 'CPA_ACD', permissionLevel: 'Modify' },
  ],
};

// "Get users": the example user (the page's agentConfiguration block is left out; the example as
// published also has a stray comma after "email").
const USER_EXAMPLE = {
  userId: '8e22b1fe-d2ea-403d-8c03-50eb21188e79',
  username: 'supervisor',
  name: 'Supervisor',
  email: 'supervisor@vonage.com',
  lastLoginTime: '2021-08-26T07:37:55.465Z',
  active: true,
  locked: false,
  ssoExternalId: 'exampleSso',
  userAccountConfiguration: { role: 'Supervisor', chargeable: true, actAsAgent: true },
};

// "Versioning (User Admin API)": the two errors for a missing or unsupported version. "Responses
// (User Admin API)" quotes only their `message`, which these bodies carry.
const VERSION_MISSING = {
  statusCode: 400,
  error: 'Bad Request',
  message: 'Version missing from Accept header!',
};
const VERSION_INVALID = {
  statusCode: 400,
  error: 'Bad Request',
  message: 'Invalid api-version! Valid values: 4',
};

// Agents API "Responses" (same gateway; User Admin documents no 401 body of its own).
const DENIED = { message: 'Authorization has been denied for this request.' };

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

/** The emulator's Vonage side, and a GET helper that sends the v4 Accept header and a token unless told not to. */
async function vonage(t: TestContext, emulator: Emulator) {
  t.after(() => emulator.close());
  const basic = Buffer.from(`${C.vonage.clientId}:${C.vonage.clientSecret}`).toString('base64');
  const tokenAnswer = await fetch(`${emulator.url}/vonage/Auth/connect/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=users:read',
  });
  assert.equal(tokenAnswer.status, 200);
  const token = ((await tokenAnswer.json()) as { access_token: string }).access_token;
  const get = async (
    path: string,
    headers: { accept?: string | null; authorization?: string | null } = {},
  ): Promise<Answer> => {
    const h: Record<string, string> = {};
    const accept = headers.accept === undefined ? V4 : headers.accept;
    const authorization = headers.authorization === undefined ? `Bearer ${token}` : headers.authorization;
    if (accept !== null) h['accept'] = accept;
    if (authorization !== null) h['authorization'] = authorization;
    const r = await fetch(`${emulator.url}/vonage/useradmin${path}`, { headers: h });
    return {
      status: r.status,
      contentType: r.headers.get('content-type') ?? '',
      body: (await r.json()) as Record<string, unknown>,
    };
  };
  return { emulator, get };
}

/** An emulator whose Vonage account holds only what a test puts in it. */
const emptyEmulator = () => startEmulator({ dataset: seededDataset({ users: 0 }) });

describe("the emulator's Vonage User Admin API against Vonage's documented examples", () => {
  test('answers the group-permissions example exactly, meta first and then the user id', async (t) => {
    const { emulator, get } = await vonage(t, await emptyEmulator());
    const v = emulator.state.dataset.vonage;
    v.users.push({ userId: GROUPS_EXAMPLE.userId, active: true });
    v.groups.set(GROUPS_EXAMPLE.userId, structuredClone(GROUPS_EXAMPLE.groupPermissions));
    const r = await get(`/users/${GROUPS_EXAMPLE.userId}/permissions/groups`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, GROUPS_EXAMPLE);
    assert.deepEqual(Object.keys(r.body), ['meta', 'userId', 'groupPermissions']);
    assert.match(r.contentType, /json/);
  });

  test('answers the access-permissions example exactly, meta first and then the user id', async (t) => {
    const { emulator, get } = await vonage(t, await emptyEmulator());
    const v = emulator.state.dataset.vonage;
    v.users.push({ userId: ACCESS_EXAMPLE.userId, active: true });
    v.access.set(ACCESS_EXAMPLE.userId, structuredClone(ACCESS_EXAMPLE.accessPermissions));
    const r = await get(`/users/${ACCESS_EXAMPLE.userId}/permissions/accessPermissions`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, ACCESS_EXAMPLE);
    assert.deepEqual(Object.keys(r.body), ['meta', 'userId', 'accessPermissions']);
  });

  test('lists and gets the documented user unchanged, with paging meta on the list only', async (t) => {
    const { emulator, get } = await vonage(t, await emptyEmulator());
    emulator.state.dataset.vonage.users.push(structuredClone(USER_EXAMPLE));
    const list = await get('/users');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, {
      meta: { page: 1, count: 1, pageCount: 1, totalCount: 1 },
      users: [USER_EXAMPLE],
    });
    const one = await get(`/users/${USER_EXAMPLE.userId}`);
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, USER_EXAMPLE);
  });

  test('include picks active users by default, archived ones or all of them', async (t) => {
    const { emulator, get } = await vonage(t, await emptyEmulator());
    const archived = {
      ...structuredClone(USER_EXAMPLE),
      userId: 'a0000000-0000-4000-8000-000000000000',
      active: false,
    };
    emulator.state.dataset.vonage.users.push(structuredClone(USER_EXAMPLE), archived);
    const ids = async (query: string) =>
      ((await get(`/users${query}`)).body['users'] as { userId: string }[]).map((u) => u.userId);
    assert.deepEqual(await ids(''), [USER_EXAMPLE.userId]);
    assert.deepEqual(await ids('?include=Active'), [USER_EXAMPLE.userId]);
    assert.deepEqual(await ids('?include=Archived'), [archived.userId]);
    assert.deepEqual(await ids('?include=All'), [USER_EXAMPLE.userId, archived.userId]);
  });

  test('pages with limit and page as the endpoint pages document: first page 1, default limit 25', async (t) => {
    const { emulator, get } = await vonage(t, await emptyEmulator());
    for (let i = 0; i < 30; i++)
      emulator.state.dataset.vonage.users.push({
        ...USER_EXAMPLE,
        userId: `u-${String(i).padStart(2, '0')}`,
      });
    const page = async (query: string) => {
      const r = await get(`/users${query}`);
      assert.equal(r.status, 200, query);
      return { meta: r.body['meta'], ids: (r.body['users'] as { userId: string }[]).map((u) => u.userId) };
    };
    const first = await page('');
    assert.deepEqual(first.meta, { page: 1, count: 25, pageCount: 2, totalCount: 30 });
    assert.deepEqual(first.ids[0], 'u-00');
    assert.deepEqual(await page('?page=1'), first);
    const second = await page('?page=2');
    assert.deepEqual(second.meta, { page: 2, count: 5, pageCount: 2, totalCount: 30 });
    assert.deepEqual(second.ids, ['u-25', 'u-26', 'u-27', 'u-28', 'u-29']);
    assert.deepEqual((await page('?limit=7&page=5')).meta, {
      page: 5,
      count: 2,
      pageCount: 5,
      totalCount: 30,
    });
    assert.deepEqual((await page('?limit=5000')).meta, { page: 1, count: 30, pageCount: 1, totalCount: 30 });
    // Minimum page 1, limit 1 to 5000: anything else is a 400 with a message.
    for (const query of ['?page=0', '?limit=0', '?limit=5001', '?page=1000000001', '?limit=x']) {
      const r = await get(`/users${query}`);
      assert.equal(r.status, 400, query);
      assert.equal(typeof r.body['message'], 'string', query);
    }
  });

  test("with the first-page knob at 0, pages count from 0 as the Responses page's example shows", async (t) => {
    const { emulator, get } = await vonage(t, await emptyEmulator());
    emulator.setFaults({ vonageFirstPage: 0 });
    for (let i = 0; i < 200; i++)
      emulator.state.dataset.vonage.users.push({ ...USER_EXAMPLE, userId: `u-${i}` });
    // "Responses (User Admin API)": { "meta": { "page": 0, "count": 25, "pageCount": 8, "totalCount": 200 }, ... }
    const first = await get('/users');
    assert.equal(first.status, 200);
    assert.deepEqual(first.body['meta'], { page: 0, count: 25, pageCount: 8, totalCount: 200 });
    assert.deepEqual(Object.keys(first.body)[0], 'meta');
    assert.deepEqual(await get('/users?page=0'), first);
    const next = await get('/users?page=1');
    assert.deepEqual(next.body['meta'], { page: 1, count: 25, pageCount: 8, totalCount: 200 });
    assert.equal((next.body['users'] as { userId: string }[])[0]?.userId, 'u-25');
    const last = await get('/users?page=7');
    assert.deepEqual(last.body['meta'], { page: 7, count: 25, pageCount: 8, totalCount: 200 });
  });

  test("the example account's per-user lists page the same way, with the user id on every page", async (t) => {
    const { get } = await vonage(t, await exampleEmulator());
    const alice = '2f9207ca-8922-4245-bfc5-d8f42939e29a';
    const p1 = await get(`/users/${alice}/permissions/groups?limit=2`);
    const p2 = await get(`/users/${alice}/permissions/groups?limit=2&page=2`);
    assert.deepEqual(p1.body['meta'], { page: 1, count: 2, pageCount: 2, totalCount: 3 });
    assert.deepEqual(p2.body['meta'], { page: 2, count: 1, pageCount: 2, totalCount: 3 });
    assert.equal(p1.body['userId'], alice);
    assert.equal(p2.body['userId'], alice);
    const access = await get(`/users/${alice}/permissions/accessPermissions`);
    assert.deepEqual(Object.keys(access.body), ['meta', 'userId', 'accessPermissions']);
  });

  test('requires the versioned Accept header, with the documented error bodies', async (t) => {
    const { get } = await vonage(t, await exampleEmulator());
    for (const accept of [null, 'application/json', '*/*']) {
      const r = await get('/users', { accept });
      assert.equal(r.status, 400, String(accept));
      assert.deepEqual(r.body, VERSION_MISSING, String(accept));
    }
    for (const accept of ['application/vnd.newvoicemedia.v2+json', 'application/vnd.newvoicemedia.v5+json']) {
      const r = await get('/users', { accept });
      assert.equal(r.status, 400, accept);
      assert.deepEqual(r.body, VERSION_INVALID, accept);
    }
    const ok = await get('/users');
    assert.equal(ok.status, 200);
    assert.match(ok.contentType, /^application\/vnd\.newvoicemedia\.v4\+json/);
  });

  test('answers 401 without a token, with a token it never issued, and once the token has expired', async (t) => {
    const { emulator, get } = await vonage(t, await exampleEmulator());
    assert.equal((await get('/users')).status, 200);
    for (const authorization of [null, 'Bearer not-a-token', 'Basic abc']) {
      const r = await get('/users', { authorization });
      assert.equal(r.status, 401, String(authorization));
      assert.deepEqual(r.body, DENIED, String(authorization));
    }
    emulator.expireTokens();
    const expired = await get('/users');
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, DENIED);
  });
});
