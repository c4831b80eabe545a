// Tuya as the emulator plays it: every request signed (HMAC-SHA256 over client_id [+ access_token]
// + t + nonce + METHOD\nSHA256(body)\nHeaders\nURL, reference §3.3), errors as HTTP 200 with success
// false, a developer token with single-use refresh tokens, and the IAM permission list with
// last_row_key paging (snake_case or the camelCase of Tuya's own request example).
import { createHash, createHmac } from 'node:crypto';
import { type Answer, type Ctx, tid, tuyaTime } from './server.js';

const PAGE_MAX = 50; // like the reference's example, the server may serve fewer than asked for
const SKEW_MS = 5 * 60_000;

export async function tuyaRoutes(ctx: Ctx): Promise<Answer> {
  const { path, req, url, state } = ctx;
  const fail = (code: number, msg: string): Answer => ({
    status: 200,
    body: { success: false, code, msg, ...tuyaTime(state), tid: tid() },
  });
  const ok = (result: unknown): Answer => ({
    status: 200,
    body: { success: true, result, ...tuyaTime(state), tid: tid() },
  });
  const h = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const clientId = h('client_id');
  const t = h('t');
  const sign = h('sign');
  const accessToken = h('access_token');
  if (!clientId) return fail(1005, 'clientId invalid');
  if (clientId !== state.credentials.tuya.clientId) return fail(1005, 'clientId invalid');
  if (!t || !sign || h('sign_method') !== 'HMAC-SHA256') return fail(1105, 'header is missing');
  const serverNow = Date.now() + state.faults.tuyaClockOffsetMs; // the clock-skew knob
  if (!/^\d{13}$/.test(t) || Math.abs(Number(t) - serverNow) > SKEW_MS)
    return fail(1013, 'request time is invalid');
  const isToken = path === '/v1.0/token' || path.startsWith('/v1.0/token/');
  const expected = signature(state.credentials.tuya.clientSecret, {
    prefix: clientId + (isToken ? '' : (accessToken ?? '')) + t + (h('nonce') ?? ''),
    method: req.method ?? 'GET',
    // The path as Tuya's host receives it: after any proxy prefix and the /tuya mount.
    path,
    query: url.searchParams,
    headers: signedHeaders(h('signature-headers'), h),
    body: ctx.rawBody,
  });
  if (sign !== expected) return fail(1004, 'sign invalid');

  if (path === '/v1.0/token') {
    if (url.searchParams.get('grant_type') !== '1') return fail(1003, 'grant type invalid');
    return ok(issue(ctx));
  }
  if (path.startsWith('/v1.0/token/')) {
    const refresh = decodeURIComponent(path.slice('/v1.0/token/'.length));
    if (!state.tuyaRefresh.delete(refresh)) return fail(1012, 'token status is invalid');
    return ok(issue(ctx));
  }
  if (!state.tokenValid('tuya', accessToken)) return fail(1010, 'token invalid');
  const m = /^\/v2\.0\/cloud\/iam\/permission\/user\/([^/]+)$/.exec(path);
  if (m && req.method === 'GET') {
    const uid = decodeURIComponent(m[1] ?? '');
    if (state.faults.failUsers.includes(uid))
      return { status: 500, body: { success: false, code: 500, msg: 'system error' } };
    const all = [...(state.dataset.tuya.permissions.get(uid) ?? [])].sort(
      (a, b) => Number(a['permission_id']) - Number(b['permission_id']),
    );
    // The doc's parameter table says last_row_key/page_size, its request example lastRowKey/pageSize
    // (reference §3.5, §3.6): accept both, snake_case first.
    const q = url.searchParams;
    const lastRaw = q.get('last_row_key') ?? q.get('lastRowKey');
    const sizeRaw = q.get('page_size') ?? q.get('pageSize');
    if (lastRaw !== null && !/^\d+$/.test(lastRaw)) return fail(1109, 'param is illegal: last_row_key');
    if (sizeRaw !== null && !/^\d+$/.test(sizeRaw)) return fail(1109, 'param is illegal: page_size');
    const size = Math.min(PAGE_MAX, Math.max(1, Number(sizeRaw ?? 20)));
    const after = lastRaw === null ? Number.NEGATIVE_INFINITY : Number(lastRaw);
    const rest = all.filter((p) => Number(p['permission_id']) > after);
    const list = rest.slice(0, size);
    const last = list.at(-1);
    return ok({
      user_id: uid,
      permission_list: list,
      last_row_key:
        last === undefined ? (lastRaw === null ? 0 : Number(lastRaw)) : Number(last['permission_id']),
      page_size: size,
    });
  }
  return fail(1108, 'uri path invalid');
}

function issue(ctx: Ctx) {
  const { token, ttl } = ctx.state.newToken('tuya', 7200);
  const refresh = createHash('sha256').update(token).digest('hex').slice(0, 32);
  ctx.state.tuyaRefresh.add(refresh);
  return { access_token: token, refresh_token: refresh, expire_time: ttl, uid: 'emu-developer' };
}

/**
 * The Headers part of stringToSign: each header named in Signature-Headers (names joined by ":") as
 * the line `name:value` followed by "\n", in the listed order; "" without the header (or when it is
 * empty, as Tuya's Node SDK sends it). This is the Go connector's form (connector/sign/base.go); the
 * Java connector joins the lines without the last "\n" (reference §3.10, §5.12), which is refused.
 */
function signedHeaders(list: string | undefined, h: (name: string) => string | undefined): string {
  const names = (list ?? '').split(':').filter((n) => n !== '');
  return names.map((n) => `${n}:${h(n.toLowerCase()) ?? ''}\n`).join('');
}

/** The emulator's own reading of Tuya's signature rules (reference §3.3). */
function signature(
  secret: string,
  r: {
    prefix: string;
    method: string;
    path: string;
    query: URLSearchParams;
    headers: string;
    body: Uint8Array;
  },
): string {
  // Every key=value pair is signed, values decoded; sorted by key, and a repeated key keeps its values
  // in the order they were sent (a stable sort). The Go connector signs only a repeated key's first
  // value; collapsing would let a second value ride along unsigned.
  const pairs = [...r.query.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const q = pairs.map(([k, v]) => `${k}=${v}`).join('&');
  const url = decodeURIComponent(r.path) + (q ? `?${q}` : '');
  const contentHash = createHash('sha256').update(r.body).digest('hex');
  const str = `${r.prefix}${r.method.toUpperCase()}\n${contentHash}\n${r.headers}\n${url}`;
  return createHmac('sha256', secret).update(str).digest('hex').toUpperCase();
}
