// Vonage Contact Center adapter: client-credentials OAuth, the v4 Accept header, users and each
// user's group and access permissions, with page/limit paging that tolerates a first page of 0 or 1.
import createClient from 'openapi-fetch';
import { ConfigError, VendorError } from '../errors.js';
import { encodeIdSegment, pageFile } from '../snapshot/layout.js';
import {
  basic,
  callJson,
  oauthTokens,
  shape,
  type TransportOptions,
  transport,
  type Where,
} from './common.js';
import type { paths } from './generated/vonage.js';
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
import { checkUrl } from './zoom.js';

export interface VonageOptions extends TransportOptions {
  /** Region API root, e.g. https://emea.api.newvoicemedia.com/useradmin. Required. */
  readonly baseUrl: string;
  /** e.g. https://emea.newvoicemedia.com/Auth/connect/token. Required. */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Default "users:read". */
  readonly scope?: string;
  /** Client-side budget in requests/s. Default 2.5 (Vonage's own sample throttles to 160/min). */
  readonly perSecond?: number;
  /** Page size. Default 1000 (the API allows 1-5000). */
  readonly limit?: number;
}

export const VONAGE_ACCEPT = 'application/vnd.newvoicemedia.v4+json';
const MAX_PAGES = 100_000;

type Paged =
  | '/users'
  | '/users/{userId}/permissions/groups'
  | '/users/{userId}/permissions/accessPermissions';

/** @throws ConfigError naming the option when one is missing or malformed (before any request). */
export function createVonageAdapter(options: VonageOptions): VendorAdapter {
  const common = transport(
    'vonage',
    { ...options },
    ['clientId', 'clientSecret', 'baseUrl', 'tokenUrl'],
    2.5,
  );
  const baseUrl = checkUrl(options.baseUrl, 'vendors.vonage.baseUrl');
  const tokenUrl = checkUrl(options.tokenUrl, 'vendors.vonage.tokenUrl');
  const limit = options.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 5000)
    throw new ConfigError('vendors.vonage.limit', 'must be an integer from 1 to 5000');
  const tokens = oauthTokens(
    common,
    { vendor: 'vonage', endpoint: 'POST /Auth/connect/token' },
    () => ({
      url: tokenUrl,
      init: {
        method: 'POST',
        headers: {
          authorization: basic(options.clientId, options.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', scope: options.scope ?? 'users:read' }),
      },
    }),
    7200,
  );
  const apiFetch = createVendorFetch(common, {
    prepare: async (req) => {
      req.headers.set('authorization', `Bearer ${await tokens.get()}`);
      req.headers.set('accept', VONAGE_ACCEPT);
    },
    classify: (res) => (res.status === 401 ? 'auth-expired' : 'ok'),
    renewAuth: () => tokens.invalidate(),
  });
  const client = createClient<paths>({ baseUrl, fetch: apiFetch, headers: { accept: VONAGE_ACCEPT } });

  let firstPage: 0 | 1 | undefined;

  async function page(
    path: Paged,
    where: Where,
    userId: string | undefined,
    n: number,
  ): Promise<Record<string, unknown>> {
    const query = { page: n, limit };
    return shape(where).object(
      await callJson(where, () =>
        path === '/users'
          ? client.GET('/users', { params: { query: { ...query, include: 'Active' } }, parseAs: 'text' })
          : client.GET(path, { params: { path: { userId: userId as string }, query }, parseAs: 'text' }),
      ),
    );
  }

  /**
   * Every page of a listing. The reference disagrees on whether the first page is 0 or 1: ask for
   * page 0; a 400, or an answer labelled page 1, means 1-based numbering.
   */
  async function allPages(path: Paged, listKey: string, userId?: string): Promise<Record<string, unknown>[]> {
    const where: Where = { vendor: 'vonage', endpoint: `GET ${path}`, user: userId };
    if (userId !== undefined) checkPathId(userId, where);
    const s = shape(where);
    let first: Record<string, unknown>;
    let n: 0 | 1;
    if (firstPage !== undefined) {
      n = firstPage;
      first = await page(path, where, userId, n);
    } else {
      try {
        first = await page(path, where, userId, 0);
        n = (first['meta'] as { page?: unknown } | undefined)?.page === 1 ? 1 : 0;
      } catch (err) {
        if (!(err instanceof VendorError && err.status === 400)) throw err;
        first = await page(path, where, userId, 1);
        n = 1;
      }
      firstPage = n; // the numbering is the server's; learn it once
    }
    const out = [first];
    let body = first;
    for (let i = 0; i < MAX_PAGES; i++) {
      const items = s.array(body, listKey);
      const meta = body['meta'] === undefined ? {} : s.object(body['meta'], '"meta"');
      const pageCount = s.number(meta, 'pageCount', true);
      const lastIndex = pageCount === undefined ? undefined : n === 0 ? pageCount - 1 : pageCount;
      const current = s.number(meta, 'page', true) ?? n + i;
      if (items.length === 0) break;
      if (lastIndex !== undefined ? current >= lastIndex : items.length < limit) break;
      body = await page(path, where, userId, current + 1);
      out.push(body);
    }
    return out;
  }

  return {
    vendor: 'vonage',
    async fetchAll(opts: FetchOptions = {}): Promise<FetchResult> {
      const sink = unitSink('vonage', opts);
      const failures: UnitFailure[] = [];
      const ids = await listUsers(sink);
      opts.progress?.total(ids.length);
      await pool(ids, opts.concurrency ?? 8, async (userId) => {
        await fetchUnit(sink, failures, { vendor: 'vonage', kind: 'user', id: userId }, async () => ({
          files: await permissionPages(userId, new UnitFiles()),
        }));
        opts.progress?.done();
      });
      return { vendor: 'vonage', files: sink.files, failures, units: ids.length };
    },

    /** One user: GET /users/{userId} (for the email), then their group and access permission pages. */
    fetchUser(userId, opts = {}) {
      return fetchOneUser('vonage', userId, opts, async () => {
        const where: Where = { vendor: 'vonage', endpoint: 'GET /users/{userId}', user: userId };
        checkPathId(userId, where);
        const s = shape(where);
        const user = s.object(
          await callJson(where, () =>
            client.GET('/users/{userId}', { params: { path: { userId } }, parseAs: 'text' }),
          ),
        );
        if (s.string(user, 'userId') !== userId) throw s.fail('"userId" is not the user asked for');
        s.string(user, 'email', true);
        const unit = new UnitFiles();
        unit.add(`vonage/users/${pageFile(1)}`, { users: [user] });
        return { files: await permissionPages(userId, unit) };
      });
    },
  };

  /**
   * GET /users, every page, as the listing unit; returns the user ids (the pages themselves are
   * not kept once committed, however many users there are).
   */
  async function listUsers(sink: ReturnType<typeof unitSink>): Promise<string[]> {
    const ids = new Set<string>();
    const listing = new UnitFiles();
    const s = shape({ vendor: 'vonage', endpoint: 'GET /users' });
    (await allPages('/users', 'users')).forEach((body, i) => {
      for (const u of s.array(body, 'users')) {
        ids.add(s.string(u, 'userId') as string);
        s.string(u, 'email', true);
      }
      listing.add(`vonage/users/${pageFile(i + 1)}`, body);
    });
    await sink.commit('listing', undefined, listing);
    return [...ids];
  }

  /** A user's group and access permission pages, checked, added to `unit`. */
  async function permissionPages(userId: string, unit: UnitFiles): Promise<UnitFiles> {
    const base = `vonage/users/${encodeIdSegment(userId)}`;
    const groups = await allPages('/users/{userId}/permissions/groups', 'groupPermissions', userId);
    groups.forEach((b, i) => {
      checkItems(b, 'groupPermissions', ['groupId', 'groupPermission'], userId, 'groups');
      unit.add(`${base}/groups/${pageFile(i + 1)}`, b);
    });
    const access = await allPages(
      '/users/{userId}/permissions/accessPermissions',
      'accessPermissions',
      userId,
    );
    access.forEach((b, i) => {
      checkItems(b, 'accessPermissions', ['permissionKey', 'permissionLevel'], userId, 'accessPermissions');
      unit.add(`${base}/accessPermissions/${pageFile(i + 1)}`, b);
    });
    return unit;
  }
}

function checkItems(
  body: Record<string, unknown>,
  key: string,
  fields: string[],
  userId: string,
  what: string,
) {
  const where: Where = {
    vendor: 'vonage',
    endpoint: `GET /users/{userId}/permissions/${what}`,
    user: userId,
  };
  const s = shape(where);
  const owner = s.string(body, 'userId', true);
  if (owner !== undefined && owner !== userId) throw s.fail(`"userId" is ${owner}, not the user asked for`);
  for (const item of s.array(body, key)) for (const f of fields) s.string(item, f);
}
