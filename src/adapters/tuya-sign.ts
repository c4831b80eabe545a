// Tuya's HMAC-SHA256 request signature (projects created after 2021-06-30), from the reference §3.3:
//   sign = HEX_UPPER(HMAC-SHA256(secret, client_id [+ access_token] + t + nonce + stringToSign))
//   stringToSign = METHOD \n SHA256_HEX(body) \n <signed headers: none> \n path[?sorted decoded query]
// The path is the one the Tuya host receives, relative to the configured base URL (see signedPath).
import { createHash, createHmac } from 'node:crypto';

export interface SignInput {
  readonly clientId: string;
  readonly secret: string;
  /** Omitted for token calls. */
  readonly accessToken?: string | undefined;
  /** Epoch ms as sent in the `t` header. */
  readonly t: number | string;
  readonly nonce?: string;
  readonly method: string;
  /**
   * Path with query as the Tuya host receives it (see signedPath). A full URL is signed over its
   * whole path, which is only right when the base URL has no path.
   */
  readonly url: string;
  readonly body?: string;
}

/**
 * The path and query to sign for a request sent under `baseUrl`: the request's path relative to the
 * base URL's path, i.e. what the Tuya host receives when a proxy or mount adds a prefix, plus the
 * query as sent. A request outside the base URL's path is returned with its whole path.
 * Example: signedPath('http://proxy/tuya', 'http://proxy/tuya/v1.0/token?grant_type=1')
 * → '/v1.0/token?grant_type=1'.
 */
export function signedPath(baseUrl: string | URL, requestUrl: string | URL): string {
  const prefix = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const { pathname, search } = new URL(requestUrl, baseUrl);
  const inside = prefix !== '' && (pathname === prefix || pathname.startsWith(`${prefix}/`));
  return (inside ? pathname.slice(prefix.length) || '/' : pathname) + search;
}

/**
 * The string Tuya signs for a request (without the client/token/time prefix). Repeated query keys
 * keep every value, sorted by key and then in the order sent (the sort is stable).
 */
export function stringToSign(method: string, url: string, body = ''): string {
  const u = new URL(url, 'http://x');
  const params = [...u.searchParams.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const query = params.map(([k, v]) => `${k}=${v}`).join('&');
  const path = decodeURIComponent(u.pathname);
  const hash = createHash('sha256').update(body, 'utf8').digest('hex');
  return `${method.toUpperCase()}\n${hash}\n\n${path}${query ? `?${query}` : ''}`;
}

/** The `sign` header value. */
export function tuyaSign(input: SignInput): string {
  const str =
    input.clientId +
    (input.accessToken ?? '') +
    String(input.t) +
    (input.nonce ?? '') +
    stringToSign(input.method, input.url, input.body ?? '');
  return createHmac('sha256', input.secret).update(str, 'utf8').digest('hex').toUpperCase();
}
