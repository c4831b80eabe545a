// Tuya adapter: signed requests (HMAC-SHA256), developer token with refresh (single flight, since a
// refresh token is single-use), clock offset from the server's `t`, and the IAM permission list per
// user with last_row_key paging. Tuya users come from the identities file.
import createClient from 'openapi-fetch';
import { VendorError } from '../errors.js';
import { encodeIdSegment, pageFile } from '../snapshot/layout.js';
import {
  callJson,
  checked,
  checkUrl,
  resultText,
  shape,
  type TransportOptions,
  transport,
  type Where,
} from './common.js';
import type { paths } from './generated/tuya.js';
import {
  checkPathId,
  createTokenCache,
  createVendorFetch,
  type OutgoingRequest,
  realTimers,
  type VendorAnswer,
  type Verdict,
} from './http.js';
import { signedPath, tuyaSign } from './tuya-sign.js';
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

export interface TuyaOptions extends TransportOptions {
  /** Data-centre host, e.g. https://openapi.tuyaus.com. Required. */
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The Tuya user ids to fetch (from the identities file). */
  readonly users: readonly string[];
  /** Client-side budget in requests/s. Default 10 (the IAM limit is not published). */
  readonly perSecond?: number;
  /** Page size asked for. Default 100. */
  readonly pageSize?: number;
}

const MAX_PAGES = 10_000;
const TOKEN_EXPIRED = new Set([1010, 1011, 1012]);
const BUSY = new Set([500, 1110, 1111]);
const TIME_INVALID = 1013;

interface TokenState {
  access: string;
  refresh: string;
}

/** @throws ConfigError naming the option when one is missing or malformed (before any request). */
export function createTuyaAdapter(options: TuyaOptions): VendorAdapter {
  const common = transport('tuya', { ...options }, ['clientId', 'clientSecret', 'baseUrl'], 10);
  const baseUrl = checkUrl(options.baseUrl, 'vendors.tuya.baseUrl');
  const pageSize = options.pageSize ?? 100;
  let offset = 0; // server time - local time, learned from each answer's `t`
  // Signatures carry the wall clock, which is what Tuya checks; token expiry follows the injected
  // clock, as Zoom's and Vonage's do.
  const now = () => Date.now() + offset;
  const clock = (common.timers ?? realTimers).now;

  const sign = (req: OutgoingRequest, accessToken?: string): void => {
    const t = String(Math.round(now()));
    const body = req.body ?? '';
    req.headers.set('client_id', options.clientId);
    req.headers.set('t', t);
    req.headers.set('sign_method', 'HMAC-SHA256');
    if (accessToken) req.headers.set('access_token', accessToken);
    req.headers.set(
      'sign',
      tuyaSign({
        clientId: options.clientId,
        secret: options.clientSecret,
        accessToken,
        t,
        method: req.method,
        // The path the Tuya host receives: a proxy's or mount's prefix in baseUrl is not signed.
        url: signedPath(baseUrl, req.url),
        body,
      }),
    );
  };

  /** Tuya answers errors with HTTP 200 and success false; some are worth a renewal or a retry. */
  const classify = (answer: VendorAnswer): Verdict => {
    if (answer.status < 200 || answer.status > 299) return answer.status === 401 ? 'auth-expired' : 'ok';
    const body = answer.json() as Record<string, unknown> | undefined;
    // Not a JSON object: the caller reports the malformed body.
    if (typeof body !== 'object' || body === null) return 'ok';
    const serverTime = typeof body['t'] === 'number';
    if (serverTime) offset = (body['t'] as number) - Date.now();
    if (body['success'] !== false) return 'ok';
    const code = Number(body['code'] ?? body['error_code']);
    if (TOKEN_EXPIRED.has(code)) return 'auth-expired';
    if (BUSY.has(code)) return 'retry';
    // Clock skew: the offset is now learned from `t`, so sign again and send at once (once). Without
    // a `t` there is nothing to correct from, and waiting would not help: the caller reports it.
    if (code === TIME_INVALID) return serverTime ? 'resend' : 'ok';
    return 'ok';
  };

  const tokenFetch = createVendorFetch(
    { ...common, perSecond: 2, burst: 2 },
    { prepare: (r) => sign(r), classify },
  );
  const tokenClient = createClient<paths>({ baseUrl, fetch: tokenFetch });
  let refreshToken: string | undefined;
  const tokens = createTokenCache<TokenState>({
    now: clock,
    fetchToken: async () => {
      // A refresh token is single-use; if refreshing fails, start over with grant_type=1.
      if (refreshToken !== undefined) {
        const r = refreshToken;
        refreshToken = undefined;
        try {
          return await tokenCall('GET /v1.0/token/{refresh_token}', () =>
            tokenClient.GET('/v1.0/token/{refresh_token}', {
              params: { path: { refresh_token: r } },
              parseAs: 'text',
            }),
          );
        } catch (err) {
          if (!(err instanceof VendorError)) throw err;
        }
      }
      return tokenCall('GET /v1.0/token', () =>
        tokenClient.GET('/v1.0/token', { params: { query: { grant_type: 1 } }, parseAs: 'text' }),
      );
    },
  });

  async function tokenCall(
    endpoint: string,
    send: () => Promise<{ response: Response; data?: unknown; error?: unknown }>,
  ): Promise<{ value: TokenState; expiresAt: number }> {
    const where: Where = { vendor: 'tuya', endpoint };
    const { body } = await envelope(where, send);
    const s = shape(where);
    const result = s.object(body['result'], '"result"');
    const access = s.string(result, 'access_token') as string;
    const refresh = s.string(result, 'refresh_token') as string;
    const seconds = s.number(result, 'expire_time', true) ?? s.number(result, 'expire', true) ?? 7200;
    refreshToken = refresh;
    return { value: { access, refresh }, expiresAt: clock() + seconds * 1000 };
  }

  /** The JSON envelope of a successful call, or VendorError with Tuya's code and message. */
  async function envelope(
    where: Where,
    send: () => Promise<{ response: Response; data?: unknown; error?: unknown }>,
  ): Promise<{ body: Record<string, unknown>; text: string }> {
    const s = shape(where);
    let text = '';
    const body = s.object(
      await callJson(where, async () => {
        const r = await send();
        text = resultText(r);
        return r;
      }),
    );
    if (body['success'] !== true) {
      const code = body['code'] ?? body['error_code'];
      const msg = body['msg'] ?? body['error_msg'];
      const text = typeof msg === 'string' ? msg.slice(0, 300) : 'success is not true';
      const credentials = [1001, 1004, 1005].includes(Number(code));
      const failure = credentials
        ? 'auth'
        : Number(code) === 1106
          ? 'forbidden'
          : TOKEN_EXPIRED.has(Number(code))
            ? 'auth'
            : BUSY.has(Number(code))
              ? 'rate-limited'
              : Number(code) === TIME_INVALID
                ? 'invalid-request'
                : 'invalid-response';
      throw new VendorError({
        ...where,
        failure,
        vendorCode: typeof code === 'number' || typeof code === 'string' ? code : undefined,
        // Secret invalid, sign invalid and clientId invalid all come from the credentials (a wrong
        // secret signs wrongly): name the settings to check, never their values.
        message: credentials
          ? `${text} (credentials refused: check vendors.tuya.clientId and vendors.tuya.clientSecret)`
          : Number(code) === TIME_INVALID
            ? `${text}: this machine's clock and Tuya's differ by more than Tuya accepts and could not be corrected from the answer's server time ("t"); check the system clock`
            : text,
      });
    }
    return { body, text };
  }

  const apiFetch = createVendorFetch(common, {
    prepare: async (req) => sign(req, (await tokens.get()).access),
    classify,
    // Only the token this request carried: renewing again would spend the single-use refresh token
    // and invalidate the pair another request just got.
    renewAuth: (req) => tokens.invalidate((t) => req.headers.get('access_token') === t.access),
  });
  const client = createClient<paths>({ baseUrl, fetch: apiFetch });

  return {
    vendor: 'tuya',
    async fetchAll(opts: FetchOptions = {}): Promise<FetchResult> {
      const sink = unitSink('tuya', opts);
      const failures: UnitFailure[] = [];
      const users = [...new Set(options.users)];
      // A token first: bad credentials or signatures fail the vendor as a whole, not each user.
      await tokens.get();
      opts.progress?.total(users.length);
      await pool(users, opts.concurrency ?? 8, async (uid) => {
        await fetchUnit(sink, failures, { vendor: 'tuya', kind: 'user', id: uid }, async () => ({
          files: await permissionPages(uid),
        }));
        opts.progress?.done();
      });
      return { vendor: 'tuya', files: sink.files, failures, units: users.length };
    },

    /** One user's permission pages (any uid, listed in the identities file or not). */
    async fetchUser(uid, opts = {}) {
      await tokens.get(); // as in fetchAll: bad credentials fail the vendor, not the user
      return fetchOneUser('tuya', uid, opts, async () => ({ files: await permissionPages(uid) }));
    },
  };

  /** Every page of one user's IAM permissions (last_row_key paging), checked. */
  async function permissionPages(uid: string): Promise<UnitFiles> {
    const unit = new UnitFiles();
    const where: Where = {
      vendor: 'tuya',
      endpoint: 'GET /v2.0/cloud/iam/permission/user/{user_id}',
      user: uid,
    };
    checkPathId(uid, where);
    let lastRowKey: string | undefined;
    for (let n = 1; n <= MAX_PAGES; n++) {
      const { body, text } = await envelope(where, () =>
        client.GET('/v2.0/cloud/iam/permission/user/{user_id}', {
          params: {
            path: { user_id: uid },
            // Omit last_row_key on the first call: an empty value would be signed and rejected.
            query: {
              page_size: pageSize,
              ...(lastRowKey !== undefined ? { last_row_key: lastRowKey } : {}),
            },
          },
          parseAs: 'text',
        }),
      );
      const file = `tuya/users/${encodeIdSegment(uid)}/permissions/${pageFile(n)}`;
      const { body: page, fetched } = checked(where, 'tuya.permissions', file, text, body);
      const { user_id: owner, permission_list: list, last_row_key: next } = page.result;
      if (owner !== undefined && owner !== uid)
        throw shape(where).fail(`${file}: "result.user_id" is ${owner}, not the user asked for`);
      unit.add(file, fetched);
      const served = page.result.page_size ?? pageSize;
      // No has_more in this API: stop on an empty or short page, or a cursor that does not move.
      if (list.length === 0 || list.length < served || next === undefined) break;
      if (next === lastRowKey) break;
      lastRowKey = next;
    }
    return unit;
  }
}
