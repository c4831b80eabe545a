// Vonage Contact Center adapter: client-credentials OAuth, the v4 Accept header, users and each
// user's group and access permissions, with page/limit paging that tolerates a first page of 0 or 1.
import createClient from 'openapi-fetch';
import { ConfigError, VendorError } from '../errors.js';
import type { BodyTypes } from '../snapshot/bodies.js';
import { encodeIdSegment, pageFile } from '../snapshot/layout.js';
import type { FetchedBody } from '../snapshot/read.js';
import {
  basic,
  callChecked,
  checkUrl,
  oauthTokens,
  shape,
  synthesized,
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
    // Only the token this request carried: another request may have renewed it already.
    renewAuth: (req) => tokens.invalidate((t) => req.headers.get('authorization') === `Bearer ${t}`),
  });
  const client = createClient<paths>({ baseUrl, fetch: apiFetch, headers: { accept: VONAGE_ACCEPT } });

  let firstPage: 0 | 1 | undefined;

  /** One page of a listing, checked; `file` names it in the snapshot layout. */
  async function page<P extends Paged>(
    path: P,
    where: Where,
    userId: string | undefined,
    n: number,
    file: () => string,
  ) {
    const query = { page: n, limit };
    return callChecked(where, KIND_OF[path], file(), () =>
      path === '/users'
        ? client.GET('/users', { params: { query: { ...query, include: 'Active' } }, parseAs: 'text' })
        : client.GET(path as Exclude<Paged, '/users'>, {
            params: { path: { userId: userId as string }, query },
            parseAs: 'text',
          }),
    ) as Promise<{ body: BodyTypes[(typeof KIND_OF)[P]]; fetched: FetchedBody }>;
  }

  /**
   * Every page of a listing, each checked and filed as `base/page-NNNN.json` (numbered from 1
   * whatever the server's numbering). The reference disagrees on whether the first page is 0 or 1:
   * ask for page 0; a 400, or an answer labelled page 1, means 1-based numbering. A page that names
   * another user is unusable.
   */
  async function allPages<P extends Paged>(path: P, base: string, userId?: string) {
    const where: Where = { vendor: 'vonage', endpoint: `GET ${path}`, user: userId };
    if (userId !== undefined) checkPathId(userId, where);
    const out: { body: BodyTypes[(typeof KIND_OF)[P]]; fetched: FetchedBody }[] = [];
    const fileOf = () => `${base}/${pageFile(out.length + 1)}`;
    let first: Awaited<ReturnType<typeof page<P>>>;
    let n: 0 | 1;
    if (firstPage !== undefined) {
      n = firstPage;
      first = await page(path, where, userId, n, fileOf);
    } else {
      try {
        first = await page(path, where, userId, 0, fileOf);
        n = first.body.meta?.page === 1 ? 1 : 0;
      } catch (err) {
        if (!(err instanceof VendorError && err.status === 400)) throw err;
        first = await page(path, where, userId, 1, fileOf);
        n = 1;
      }
      firstPage = n; // the numbering is the server's; learn it once
    }
    let current = first;
    for (let i = 0; i < MAX_PAGES; i++) {
      const { body } = current;
      const owner = 'userId' in body ? body.userId : undefined;
      if (userId !== undefined && owner !== undefined && owner !== userId)
        throw shape(where).fail(`${fileOf()}: "userId" is ${owner}, not the user asked for`);
      out.push(current);
      const items = (body as Record<string, unknown>)[LIST_OF[path]] as unknown[];
      const pageCount = body.meta?.pageCount;
      const lastIndex = pageCount === undefined ? undefined : n === 0 ? pageCount - 1 : pageCount;
      const at = body.meta?.page ?? n + i;
      if (items.length === 0) break;
      if (lastIndex !== undefined ? at >= lastIndex : items.length < limit) break;
      current = await page(path, where, userId, at + 1, fileOf);
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
        const file = `vonage/users/${pageFile(1)}`;
        const { body: user } = await callChecked(where, 'vonage.user', file, () =>
          client.GET('/users/{userId}', { params: { path: { userId } }, parseAs: 'text' }),
        );
        if (user.userId !== userId) throw shape(where).fail(`${file}: "userId" is not the user asked for`);
        const unit = new UnitFiles();
        unit.add(file, synthesized(where, 'vonage.users', file, { users: [user] }));
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
    for (const { body, fetched } of await allPages('/users', 'vonage/users')) {
      for (const u of body.users) ids.add(u.userId);
      listing.add(`vonage/users/${pageFile(listing.files.size + 1)}`, fetched);
    }
    await sink.commit('listing', undefined, listing);
    return [...ids];
  }

  /** A user's group and access permission pages, checked, added to `unit`. */
  async function permissionPages(userId: string, unit: UnitFiles): Promise<UnitFiles> {
    const base = `vonage/users/${encodeIdSegment(userId)}`;
    for (const [path, folder] of [
      ['/users/{userId}/permissions/groups', 'groups'],
      ['/users/{userId}/permissions/accessPermissions', 'accessPermissions'],
    ] as const) {
      const pages = await allPages(path, `${base}/${folder}`, userId);
      for (const [i, { fetched }] of pages.entries())
        unit.add(`${base}/${folder}/${pageFile(i + 1)}`, fetched);
    }
    return unit;
  }
}

const KIND_OF = {
  '/users': 'vonage.users',
  '/users/{userId}/permissions/groups': 'vonage.groups',
  '/users/{userId}/permissions/accessPermissions': 'vonage.access',
} as const;
const LIST_OF: Record<Paged, string> = {
  '/users': 'users',
  '/users/{userId}/permissions/groups': 'groupPermissions',
  '/users/{userId}/permissions/accessPermissions': 'accessPermissions',
};
