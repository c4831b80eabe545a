// Helpers the three adapters share for turning an HTTP answer into checked data or a VendorError.
import { ConfigError, VendorError, type VendorFailure } from '../errors.js';
import type { Vendor } from '../grants.js';
import { type BodyKind, type BodyTypes, checkBody } from '../snapshot/bodies.js';
import type { FetchedBody } from '../snapshot/read.js';
import {
  createTokenCache,
  createVendorFetch,
  type HttpEvents,
  parsedBody,
  realTimers,
  type Timers,
  type VendorFetchOptions,
} from './http.js';

export interface Where {
  readonly vendor: Vendor;
  readonly endpoint: string;
  readonly user?: string | undefined;
}

// Errors of a token request, already named after the token endpoint: the API call that needed the
// token must not re-label them with its own endpoint (the token request is what failed).
const tokenErrors = new WeakSet<VendorError>();

/**
 * Re-labels an error from the HTTP layer with the templated endpoint and user, keeping its
 * failure, status, vendor code and `detail`. An error of a token request is returned as it is.
 */
export function inContext(err: unknown, where: Where): VendorError {
  if (err instanceof VendorError) {
    if (tokenErrors.has(err)) return err;
    return new VendorError(
      {
        vendor: where.vendor,
        endpoint: where.endpoint,
        user: where.user,
        failure: err.failure,
        status: err.status,
        vendorCode: err.vendorCode,
        message: err.detail,
      },
      { cause: err.cause ?? err },
    );
  }
  return new VendorError(
    { ...where, failure: 'network', message: err instanceof Error ? err.message : String(err) },
    { cause: err },
  );
}

const FAILURE_BY_STATUS: Record<number, VendorFailure> = {
  400: 'invalid-request',
  401: 'auth',
  403: 'forbidden',
  404: 'not-found',
  429: 'rate-limited',
};

/** A non-2xx answer as a VendorError, with the vendor's code and message when the body has them. */
export function httpError(where: Where, status: number, text: string): VendorError {
  let code: string | number | undefined;
  let message = `HTTP ${status}`;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const c =
      body['code'] ?? body['error_code'] ?? body['statusCode'] ?? (body['error'] as { code?: unknown })?.code;
    if (typeof c === 'string' || typeof c === 'number') code = c;
    const m =
      body['message'] ??
      body['msg'] ??
      body['error_msg'] ??
      body['error_description'] ??
      (body['error'] as { message?: unknown })?.message ??
      body['title'] ??
      body['error'];
    if (typeof m === 'string') message = m;
  } catch {
    // Not JSON: keep the status alone (bodies are not echoed; they may be large or hold data).
  }
  return new VendorError({
    ...where,
    status,
    vendorCode: code,
    failure: FAILURE_BY_STATUS[status] ?? (status >= 500 ? 'server' : 'invalid-request'),
    message: message.slice(0, 300),
  });
}

/** An error from a token endpoint: 400 and 401 there mean the credentials (or grant) were refused. */
export function tokenError(where: Where, status: number, text: string): VendorError {
  const e = httpError(where, status, text);
  if (status !== 400 && status !== 401) return e;
  return new VendorError({
    vendor: e.vendor,
    endpoint: e.endpoint,
    failure: 'auth',
    status: e.status,
    vendorCode: e.vendorCode,
    message: `credentials refused (${e.detail})`,
  });
}

/** Parses JSON text or throws VendorError('invalid-response'). */
export function parseBody(where: Where, text: string, response?: Response): unknown {
  const known = response && parsedBody(response);
  if (known !== undefined) return known;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new VendorError(
      { ...where, failure: 'invalid-response', message: `the body is not JSON (${text.length} bytes)` },
      { cause: err },
    );
  }
}

/** Runs one openapi-fetch call made with `parseAs: 'text'`: the JSON body, or VendorError naming `where`. */
export async function callJson(
  where: Where,
  send: () => Promise<{ response: Response; data?: unknown; error?: unknown }>,
): Promise<unknown> {
  let r: { response: Response; data?: unknown; error?: unknown };
  try {
    r = await send();
  } catch (err) {
    throw inContext(err, where);
  }
  const text = resultText(r);
  if (!r.response.ok) throw httpError(where, r.response.status, text);
  return parseBody(where, text, r.response);
}

/**
 * One vendor body through the body checker: the normalized body and what to keep of it for the
 * unit (its text as received, and the check, so the snapshot reader neither parses nor checks it
 * again). `file` is where the body goes in the snapshot layout.
 *
 * @throws VendorError('invalid-response') naming the file and the field when the body is unusable.
 */
export function checked<K extends BodyKind>(
  where: Where,
  kind: K,
  file: string,
  text: string,
  value: unknown,
): { body: BodyTypes[K]; fetched: FetchedBody } {
  const result = checkBody(kind, value);
  if (!result.ok)
    throw new VendorError({
      ...where,
      failure: 'invalid-response',
      file,
      field: result.field,
      message: `${file}: "${result.field}" ${result.message}`,
    });
  return { body: result.body, fetched: { text, checked: result } };
}

/** callJson, then `checked`: one call's body, parsed once and checked once. */
export async function callChecked<K extends BodyKind>(
  where: Where,
  kind: K,
  file: string,
  send: () => Promise<{ response: Response; data?: unknown; error?: unknown }>,
): Promise<{ body: BodyTypes[K]; fetched: FetchedBody }> {
  let text = '';
  const value = await callJson(where, async () => {
    const r = await send();
    text = resultText(r);
    return r;
  });
  return checked(where, kind, file, text, value);
}

/** A body the adapter puts together itself (a single-user refresh), checked like a fetched one. */
export function synthesized<K extends BodyKind>(
  where: Where,
  kind: K,
  file: string,
  body: unknown,
): FetchedBody {
  return checked(where, kind, file, JSON.stringify(body), body).fetched;
}

/** A small shape checker: every `need` throws VendorError('invalid-response') naming the field. */
export function shape(where: Where) {
  const bad = (msg: string) => new VendorError({ ...where, failure: 'invalid-response', message: msg });
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  return {
    object(x: unknown, name = 'the body'): Record<string, unknown> {
      if (!isObj(x)) throw bad(`${name} must be a JSON object`);
      return x;
    },
    array(o: Record<string, unknown>, key: string, optional = false): Record<string, unknown>[] {
      const v = o[key];
      if ((v === undefined || v === null) && optional) return [];
      if (!Array.isArray(v)) throw bad(`"${key}" must be an array`);
      v.forEach((item, i) => {
        if (!isObj(item)) throw bad(`"${key}[${i}]" must be an object`);
      });
      return v as Record<string, unknown>[];
    },
    strings(o: Record<string, unknown>, key: string): string[] {
      const v = o[key];
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))
        throw bad(`"${key}" must be an array of strings`);
      return v as string[];
    },
    string(o: Record<string, unknown>, key: string, optional = false): string | undefined {
      const v = o[key];
      if ((v === undefined || v === null) && optional) return undefined;
      if (typeof v !== 'string') throw bad(`"${key}" must be a string`);
      return v;
    },
    scalar(o: Record<string, unknown>, key: string, optional = false): string | undefined {
      const v = o[key];
      if ((v === undefined || v === null) && optional) return undefined;
      if (typeof v === 'string') return v;
      if (typeof v === 'number' && Number.isFinite(v)) return String(v);
      throw bad(`"${key}" must be a number or a string`);
    },
    number(o: Record<string, unknown>, key: string, optional = false): number | undefined {
      const v = o[key];
      if ((v === undefined || v === null) && optional) return undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`"${key}" must be a number`);
      return v;
    },
    fail: bad,
  };
}

/** Basic auth header value. */
export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** The body text of an openapi-fetch result made with `parseAs: 'text'` (errors come back parsed). */
export function resultText(r: { data?: unknown; error?: unknown; response: Response }): string {
  const v = r.response.ok ? r.data : r.error;
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The transport options every adapter takes. */
export interface TransportOptions {
  /** Client-side budget in requests/s (each vendor has its own default). */
  readonly perSecond?: number;
  /** The fetch to use (tests). Default: globalThis.fetch. */
  readonly fetch?: typeof fetch;
  /** Per attempt, ms. Default 30000. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. Default 4. */
  readonly retries?: number;
  /** Cancels every request and wait. */
  readonly signal?: AbortSignal;
  /** Retry and request callbacks (progress, counters). */
  readonly events?: HttpEvents;
  /** The clock and the waits (backoff, Retry-After, rate limit, timeouts). Default the real ones; for tests. */
  readonly timers?: Timers;
}

/** Checks required string settings (naming `vendors.<vendor>.<key>`) and builds the vendor fetch options. */
export function transport(
  vendor: Vendor,
  options: TransportOptions & Record<string, unknown>,
  required: readonly string[],
  defaultPerSecond: number,
): VendorFetchOptions {
  for (const k of required) {
    if (typeof options[k] !== 'string' || options[k] === '')
      throw new ConfigError(`vendors.${vendor}.${k}`, 'is required');
  }
  return {
    vendor,
    perSecond: options.perSecond ?? defaultPerSecond,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.events ? { events: options.events } : {}),
    ...(options.timers ? { timers: options.timers } : {}),
  };
}

/**
 * A bearer-token cache over an OAuth token endpoint (Zoom S2S, Vonage client credentials): one
 * request at a time, renewed before `expires_in`, refused credentials as VendorError('auth').
 */
export function oauthTokens(
  common: VendorFetchOptions,
  where: Where,
  request: () => { url: string | URL; init: RequestInit },
  defaultTtlSeconds: number,
) {
  const tokenFetch = createVendorFetch({ ...common, perSecond: 2, burst: 2 });
  const now = (common.timers ?? realTimers).now;
  return createTokenCache({
    now,
    fetchToken: async () => {
      try {
        let res: Response;
        try {
          const { url, init } = request();
          res = await tokenFetch(url, init);
        } catch (err) {
          throw inContext(err, where);
        }
        const text = await res.text();
        if (!res.ok) throw tokenError(where, res.status, text);
        const s = shape(where);
        const body = s.object(parseBody(where, text));
        const token = s.string(body, 'access_token') as string;
        const expiresIn = s.number(body, 'expires_in', true) ?? defaultTtlSeconds;
        return { value: token, expiresAt: now() + expiresIn * 1000 };
      } catch (err) {
        if (err instanceof VendorError) tokenErrors.add(err);
        throw err;
      }
    },
  });
}

/** An http(s) URL setting, without trailing slashes. @throws ConfigError naming `key`. */
export function checkUrl(value: string, key: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    return value.replace(/\/+$/, '');
  } catch {
    throw new ConfigError(key, `must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
}
