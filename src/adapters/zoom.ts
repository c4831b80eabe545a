// Zoom adapter: Server-to-Server OAuth, users and roles (a whole account as role rules plus
// user→role links), per-user permissions for one user, and role write-back (PATCH /roles/{roleId}).
import createClient from 'openapi-fetch';
import { VendorError } from '../errors.js';
import { encodeIdSegment, pageFile } from '../snapshot/layout.js';
import type { FetchedBody } from '../snapshot/read.js';
import {
  basic,
  callChecked,
  checkUrl,
  httpError,
  inContext,
  oauthTokens,
  resultText,
  shape,
  synthesized,
  type TransportOptions,
  transport,
  type Where,
} from './common.js';
import type { components, paths } from './generated/zoom.js';
import { checkPathId, createVendorFetch } from './http.js';
import {
  type FetchOptions,
  type FetchResult,
  fetchOneUser,
  fetchUnit,
  pool,
  type UnitFailure,
  UnitFiles,
  unitSink,
  type VendorAdapter,
} from './types.js';

export interface ZoomOptions extends TransportOptions {
  /** Default https://api.zoom.us/v2. */
  readonly baseUrl?: string;
  /** Default https://zoom.us/oauth/token. */
  readonly tokenUrl?: string;
  readonly accountId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Client-side budget in requests/s. Default 10 (Zoom's Medium label is 20/s on Pro, shared by all apps). */
  readonly perSecond?: number;
}

const PAGE_SIZE = 300;
const MAX_PAGES = 10_000;
type Role = components['schemas']['Role'];

export interface ZoomAdapter extends VendorAdapter {
  /** One user's effective permissions (GET /users/{userId}/permissions). */
  userPermissions(userId: string): Promise<string[]>;
  /** A role with its privileges (GET /roles/{roleId}). */
  getRole(roleId: string): Promise<Role>;
  /** Replaces a role's privileges (PATCH /roles/{roleId}). */
  setRolePrivileges(roleId: string, privileges: readonly string[]): Promise<void>;
}

/**
 * @throws ConfigError naming the option when one is missing or malformed (before any request).
 */
export function createZoomAdapter(options: ZoomOptions): ZoomAdapter {
  const common = transport('zoom', { ...options }, ['accountId', 'clientId', 'clientSecret'], 10);
  const baseUrl = checkUrl(options.baseUrl ?? 'https://api.zoom.us/v2', 'vendors.zoom.baseUrl');
  const tokenUrl = checkUrl(options.tokenUrl ?? 'https://zoom.us/oauth/token', 'vendors.zoom.tokenUrl');
  const tokens = oauthTokens(
    common,
    { vendor: 'zoom', endpoint: 'POST /oauth/token' },
    () => {
      const url = new URL(tokenUrl);
      url.searchParams.set('grant_type', 'account_credentials');
      url.searchParams.set('account_id', options.accountId);
      return {
        url,
        init: { method: 'POST', headers: { authorization: basic(options.clientId, options.clientSecret) } },
      };
    },
    3600,
  );
  const apiFetch = createVendorFetch(common, {
    prepare: async (req) => {
      req.headers.set('authorization', `Bearer ${await tokens.get()}`);
    },
    // Zoom: 401 with code 124 is an expired or invalid token; renew once and retry.
    classify: async (res) => (res.status === 401 ? 'auth-expired' : 'ok'),
    // Only the token this request carried: another request may have renewed it already.
    renewAuth: (req) => tokens.invalidate((t) => req.headers.get('authorization') === `Bearer ${t}`),
  });
  const client = createClient<paths>({ baseUrl, fetch: apiFetch });

  const adapter: ZoomAdapter = {
    vendor: 'zoom',

    /**
     * The listing (users, roles), then each role (privileges and members) and each user's effective
     * permissions as units of their own. Roles come first: a user's permissions are read against
     * the privileges their roles already give.
     */
    async fetchAll(opts: FetchOptions = {}): Promise<FetchResult> {
      const sink = unitSink('zoom', opts);
      const failures: UnitFailure[] = [];
      const { roles, users } = await listAccount(sink);
      opts.progress?.total(roles.length + users.length);
      await pool(roles, opts.concurrency ?? 8, async (roleId) => {
        await fetchUnit(sink, failures, { vendor: 'zoom', kind: 'role', id: roleId }, async () => {
          const unit = new UnitFiles();
          const base = `zoom/roles/${encodeIdSegment(roleId)}`;
          unit.add(`${base}/role.json`, (await roleBody(roleId)).fetched);
          let next = '';
          for (let page = 1; page <= MAX_PAGES; page++) {
            const w: Where = {
              vendor: 'zoom',
              endpoint: 'GET /roles/{roleId}/members',
              user: `role ${roleId}`,
            };
            checkPathId(roleId, w);
            const file = `${base}/members/${pageFile(page)}`;
            const { body, fetched } = await callChecked(w, 'zoom.members', file, () =>
              client.GET('/roles/{roleId}/members', {
                params: {
                  path: { roleId },
                  query: { page_size: PAGE_SIZE, ...(next ? { next_page_token: next } : {}) },
                },
                parseAs: 'text',
              }),
            );
            unit.add(file, fetched);
            const t = body.next_page_token ?? '';
            if (t === '' || t === next) break;
            next = t;
          }
          return { files: unit };
        });
        opts.progress?.done();
      });
      await pool(users, opts.concurrency ?? 8, async (userId) => {
        await fetchUnit(sink, failures, { vendor: 'zoom', kind: 'user', id: userId }, async () => {
          const unit = new UnitFiles();
          unit.add(...(await permissionsBody(userId)));
          return { files: unit };
        });
        opts.progress?.done();
      });
      return { vendor: 'zoom', files: sink.files, failures, units: roles.length + users.length };
    },

    /**
     * One user: GET /users/{userId} (for the id, email and role), their effective permissions, and
     * their role's privileges. The unit holds a listing of that user, the role, and a members page
     * naming only that user (the role's other members are not asked for).
     */
    fetchUser(userId, opts = {}) {
      return fetchOneUser('zoom', userId, opts, async () => {
        const where: Where = { vendor: 'zoom', endpoint: 'GET /users/{userId}', user: userId };
        checkPathId(userId, where);
        const listingFile = `zoom/users/${pageFile(1)}`;
        const { body: user } = await callChecked(where, 'zoom.user', listingFile, () =>
          client.GET('/users/{userId}', { params: { path: { userId } }, parseAs: 'text' }),
        );
        if (user.id === undefined)
          throw shape(where).fail(`${listingFile}: "id" is missing (a pending user?)`);
        const id = user.id;
        const unit = new UnitFiles();
        unit.add(
          listingFile,
          synthesized(where, 'zoom.users', listingFile, { users: [user], next_page_token: '' }),
        );
        unit.add(...(await permissionsBody(id)));
        if (user.role_id !== undefined) {
          const base = `zoom/roles/${encodeIdSegment(user.role_id)}`;
          unit.add(`${base}/role.json`, (await roleBody(user.role_id)).fetched);
          const members = `${base}/members/${pageFile(1)}`;
          const member = { id, ...(user.email !== undefined ? { email: user.email } : {}) };
          unit.add(
            members,
            synthesized(where, 'zoom.members', members, { members: [member], next_page_token: '' }),
          );
        }
        return { id, files: unit };
      });
    },

    async userPermissions(userId) {
      const [, fetched] = await permissionsBody(userId);
      return (
        fetched.checked.ok ? (fetched.checked.body as { permissions: string[] }).permissions : []
      ).slice();
    },

    async getRole(roleId) {
      return (await roleBody(roleId)).body;
    },

    async setRolePrivileges(roleId, privileges) {
      const where: Where = { vendor: 'zoom', endpoint: 'PATCH /roles/{roleId}', user: `role ${roleId}` };
      checkPathId(roleId, where);
      let response: Response;
      let text = '';
      try {
        const r = await client.PATCH('/roles/{roleId}', {
          params: { path: { roleId } },
          body: { privileges: [...privileges] },
          parseAs: 'text',
        });
        response = r.response;
        text = resultText(r);
      } catch (err) {
        throw inContext(err, where);
      }
      if (!response.ok) throw roleUpdateError(httpError(where, response.status, text));
    },
  };
  return adapter;

  /** GET /users/{userId}/permissions, checked, as [snapshot path, body]. */
  async function permissionsBody(userId: string): Promise<[string, FetchedBody]> {
    const where: Where = { vendor: 'zoom', endpoint: 'GET /users/{userId}/permissions', user: userId };
    checkPathId(userId, where);
    const file = `zoom/users/${encodeIdSegment(userId)}/permissions.json`;
    const { fetched } = await callChecked(where, 'zoom.permissions', file, () =>
      client.GET('/users/{userId}/permissions', { params: { path: { userId } }, parseAs: 'text' }),
    );
    return [file, fetched];
  }

  /** GET /roles/{roleId}, checked; a body naming another role is unusable. */
  async function roleBody(roleId: string) {
    const where: Where = { vendor: 'zoom', endpoint: 'GET /roles/{roleId}', user: `role ${roleId}` };
    checkPathId(roleId, where);
    const file = `zoom/roles/${encodeIdSegment(roleId)}/role.json`;
    const r = await callChecked(where, 'zoom.role', file, () =>
      client.GET('/roles/{roleId}', { params: { path: { roleId } }, parseAs: 'text' }),
    );
    if (r.body.id !== roleId)
      throw shape(where).fail(`${file}: "id" is ${r.body.id}, not the role asked for`);
    return r;
  }

  /**
   * GET /users (next_page_token paging, for ids and emails) and GET /roles, as the listing unit;
   * returns the role ids and the user ids (the pages themselves are not kept once committed).
   */
  async function listAccount(
    sink: ReturnType<typeof unitSink>,
  ): Promise<{ roles: string[]; users: string[] }> {
    const listing = new UnitFiles();
    const users: string[] = [];
    let token = '';
    for (let page = 1; page <= MAX_PAGES; page++) {
      const where: Where = { vendor: 'zoom', endpoint: 'GET /users' };
      const file = `zoom/users/${pageFile(page)}`;
      const { body, fetched } = await callChecked(where, 'zoom.users', file, () =>
        client.GET('/users', {
          params: {
            query: {
              status: 'active',
              page_size: PAGE_SIZE,
              ...(token ? { next_page_token: token } : {}),
            },
          },
          parseAs: 'text',
        }),
      );
      for (const u of body.users) if (u.id !== undefined) users.push(u.id);
      listing.add(file, fetched);
      const next = body.next_page_token ?? '';
      if (next === '' || next === token) break;
      token = next;
    }
    // The role list (each role's privileges and members are then a unit of their own).
    const where: Where = { vendor: 'zoom', endpoint: 'GET /roles' };
    const file = `zoom/roles/${pageFile(1)}`;
    const { body, fetched } = await callChecked(where, 'zoom.roles', file, () =>
      client.GET('/roles', { parseAs: 'text' }),
    );
    listing.add(file, fetched);
    await sink.commit('listing', undefined, listing);
    return { roles: body.roles.map((r) => r.id), users: [...new Set(users)] };
  }
}

/** Zoom's documented answers for PATCH /roles/{roleId}, in words an admin can act on. */
function roleUpdateError(e: VendorError): VendorError {
  const hints: Record<string, string> = {
    '200': 'Zoom requires a paid (Pro or higher) account to change roles',
    '300': 'this role cannot be updated (built-in roles such as Owner cannot be changed)',
    '1018': 'the role does not exist',
    '4700': 'the app lacks the role:write:admin scope',
  };
  const byStatus: Record<number, string> = {
    404: 'the role does not exist',
    403: 'the app lacks the role:write:admin scope, or the account may not manage roles',
  };
  const hint = hints[String(e.vendorCode)] ?? (e.status !== undefined ? byStatus[e.status] : undefined);
  if (!hint) return e;
  return new VendorError(
    {
      vendor: e.vendor,
      endpoint: e.endpoint,
      user: e.user,
      failure: e.failure,
      status: e.status,
      vendorCode: e.vendorCode,
      message: `${hint} (${e.detail})`,
    },
    { cause: e },
  );
}
