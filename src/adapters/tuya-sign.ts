// Tuya's HMAC-SHA256 request signature (projects created after 2021-06-30), from the reference §3.3:
//   sign = HEX_UPPER(HMAC-SHA256(secret, client_id [+ access_token] + t + nonce + stringToSign))
//   stringToSign = METHOD \n SHA256_HEX(body) \n <signed headers: none> \n path[?sorted decoded query]
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
  /** Full URL or path with query. */
  readonly url: string;
  readonly body?: string;
}

/** The string Tuya signs for a request (without the client/token/time prefix). */
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
