// What every vendor adapter does the same way: a client-side rate limit, retries (429 with
// Retry-After, 5xx and network errors with jittered backoff, bounded), per-request timeouts,
// cancellation, one token renewal on an expired-token answer, and tokens cached with single flight.
// A daily limit (or a Retry-After beyond what is worth waiting) stops the vendor's fetch: nothing more
// is sent to that vendor until the time it named. Used as the `fetch` of each openapi-fetch client.
import { type Dispatcher, request as undiciRequest } from 'undici';
import { ConfigError, VendorError, type VendorFailure } from '../errors.js';

/**
 * How a vendor answer should be treated, beyond HTTP status (some vendors answer errors with 200):
 * `auth-expired` renews the token and sends again, once; `resend` sends again at once, once, when
 * the answer corrected what the request was built from (Tuya's clock offset); `retry` waits a
 * backoff of at least a second (a vendor "busy" code) and counts as a retry.
 */
export type Verdict = 'ok' | 'auth-expired' | 'resend' | 'retry';

export interface HttpEvents {
  /** A retry is about to happen (429, 5xx, network, vendor "busy"). */
  retry?(info: { reason: string; waitMs: number; attempt: number }): void;
  /** A request was sent (each attempt). */
  request?(): void;
}

export interface VendorFetchOptions {
  readonly vendor: string;
  /** The fetch to use. Default: globalThis.fetch. */
  readonly fetch?: typeof fetch;
  /** Client-side budget, requests per second. */
  readonly perSecond: number;
  /** Requests that may go at once after an idle period. Default: a tenth of perSecond (at least 1), so a
   * fresh start does not overrun a vendor that counts per second. */
  readonly burst?: number;
  /** Retries after the first attempt. Default 4. */
  readonly retries?: number;
  /** Backoff base and cap in ms (full jitter). Default 500 / 20000. */
  readonly backoffMs?: readonly [number, number];
  /**
   * A Retry-After longer than this fails at once instead of waiting, and nothing more is sent
   * through this fetch until that time (like a daily limit, which also stops it). Default 60000.
   */
  readonly maxRetryAfterMs?: number;
  /** Per attempt. Default 30000. */
  readonly timeoutMs?: number;
  /** Cancels everything in flight and every wait. */
  readonly signal?: AbortSignal;
  readonly events?: HttpEvents;
  /** For tests: randomness of the jitter. Default Math.random. */
  readonly random?: () => number;
  /**
   * The clock and the waits: backoff, Retry-After (dates are read against `now()`), the client-side
   * rate limiter and per-request timeouts. Default `realTimers`; tests pass `virtualTimers()`.
   */
  readonly timers?: Timers;
}

/** Time as the vendor fetch sees it, injectable so that tests never wait for real time. */
export interface Timers {
  /** The time in epoch ms. */
  now(): number;
  /** Resolves after `ms`; rejects with `signal.reason` as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Arms a per-request timeout: `fire` runs after `ms` unless the returned function disarms it first. */
  timeout(ms: number, fire: () => void): () => void;
}

/** The system clock and setTimeout. */
export const realTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal),
  timeout: (ms, fire) => {
    const t = setTimeout(fire, ms);
    return () => clearTimeout(t);
  },
};

/** Timers whose clock only moves when a wait ends (or `advance` is called), for tests. */
export interface VirtualTimers extends Timers {
  /** Every wait asked for, in order (backoff, Retry-After and rate-limiter waits alike). */
  readonly waits: readonly number[];
  /** Moves the clock forward without a wait. */
  advance(ms: number): void;
}

/**
 * A virtual clock: each `sleep(ms)` is recorded in `waits` and ends after a turn of the event loop,
 * earliest due first, moving the clock to its due time (waits that overlap in time overlap here
 * too). A whole sync with Retry-After waits and rate limits thus runs at once. Per-request timeouts
 * stay on real timers unless `options.timeout` is given: a virtual clock moved by other requests'
 * waits would otherwise time out requests that are merely in flight.
 *
 * @example const timers = virtualTimers(); await runSync(ctx, { timers }); timers.waits // [1000, ...]
 */
export function virtualTimers(
  options: { readonly start?: number; readonly timeout?: Timers['timeout'] } = {},
): VirtualTimers {
  let t = options.start ?? Date.now();
  let seq = 0;
  const waits: number[] = [];
  const pending: { due: number; seq: number; end: () => void }[] = [];
  const tick = () => {
    let first = 0;
    for (let i = 1; i < pending.length; i++) {
      const a = pending[i] as (typeof pending)[number];
      const b = pending[first] as (typeof pending)[number];
      if (a.due < b.due || (a.due === b.due && a.seq < b.seq)) first = i;
    }
    const [next] = pending.splice(first, 1);
    if (!next) return;
    t = Math.max(t, next.due);
    next.end();
  };
  return {
    waits,
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    sleep: (ms, signal) => {
      waits.push(ms);
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const entry = {
          due: t + Math.max(0, ms),
          seq: seq++,
          end: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          const i = pending.indexOf(entry);
          if (i >= 0) pending.splice(i, 1);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        pending.push(entry);
        setImmediate(tick);
      });
    },
    timeout: options.timeout ?? realTimers.timeout,
  };
}

/** One attempt about to be sent. `prepare` sets its auth headers (and signatures) in place. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  /** The body as text (vendor calls send form or JSON bodies), or undefined. */
  readonly body: string | undefined;
}

/** A vendor answer, read whole. */
export interface VendorAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (once; the adapter reuses it), or undefined when it is not JSON. */
  json(): unknown;
}

export interface VendorFetchHooks {
  /** Sets auth headers (and signatures) on each attempt; runs after the rate limiter. */
  readonly prepare?: (request: OutgoingRequest) => Promise<void> | void;
  /** Says whether an answer is fine, an expired token, or worth a retry (some vendors answer errors with 200). */
  readonly classify?: (answer: VendorAnswer) => Promise<Verdict> | Verdict;
  /**
   * Drops the cached token after an expired-token answer to `request` (the attempt that carried
   * it), unless another request has already renewed it.
   */
  readonly renewAuth?: (request: OutgoingRequest) => void;
  /** The templated endpoint and user, for error messages. Default: the URL path. */
  readonly describe?: (request: Request) => { endpoint: string; user?: string | undefined };
}

/** JSON bodies already parsed while classifying an answer, by the Response handed back. */
const parsedBodies = new WeakMap<Response, unknown>();

/** The JSON of a vendor fetch's answer if classifying it already parsed it (so it is parsed once). */
export function parsedBody(response: Response): unknown {
  return parsedBodies.get(response);
}

/**
 * A fetch with the shared vendor behaviour. Throws VendorError for what retries could not fix.
 * Requests go through undici's `request` (no web streams: a sync sends tens of thousands of small
 * requests, and each fetch() Response is kept for the garbage collector's slower old generation),
 * or through `options.fetch` when one is given.
 */
export function createVendorFetch(
  options: VendorFetchOptions,
  hooks: VendorFetchHooks = {},
): (input: Request | string | URL, init?: RequestInit) => Promise<Response> {
  const {
    vendor,
    retries = 4,
    backoffMs = [500, 20_000],
    maxRetryAfterMs = 60_000,
    timeoutMs = 30_000,
    signal,
    events,
    random = Math.random,
    timers = realTimers,
  } = options;
  const send = options.fetch ? viaFetch(options.fetch) : viaUndici;
  const limiter = createRateLimiter(options.perSecond, options.burst, timers);
  const backoff = (attempt: number) =>
    Math.floor(random() * Math.min(backoffMs[1], backoffMs[0] * 2 ** attempt));
  // Set by a daily limit or an over-long Retry-After: until then, every call fails without a request.
  let stopped: { until: number; why: string } | undefined;

  return async (input, init) => {
    const original = input instanceof Request && init === undefined ? input : new Request(input, init);
    const where = hooks.describe?.(original) ?? { endpoint: new URL(original.url).pathname };
    const body = original.body === null ? undefined : await original.text();
    const fail = (
      failure: VendorFailure,
      message: string,
      extra: { status?: number; cause?: unknown } = {},
    ) =>
      new VendorError(
        { vendor, endpoint: where.endpoint, user: where.user, failure, message, status: extra.status },
        { cause: extra.cause },
      );
    let renewed = false;
    let resent = false;
    for (let attempt = 0; ; attempt++) {
      if (stopped && timers.now() < stopped.until) throw fail('rate-limited', `not sent: ${stopped.why}`);
      const wait = async (reason: string, ms: number, error: VendorError) => {
        if (attempt >= retries) throw error;
        events?.retry?.({ reason, waitMs: ms, attempt: attempt + 1 });
        await timers.sleep(ms, signal).catch((e) => {
          throw fail('aborted', 'cancelled', { cause: e });
        });
      };
      await limiter.take(signal).catch((e) => {
        throw fail('aborted', 'cancelled', { cause: e });
      });
      if (signal?.aborted) throw fail('aborted', 'cancelled', { cause: signal.reason });
      const request: OutgoingRequest = {
        method: original.method,
        url: original.url,
        headers: new Headers(original.headers),
        body,
      };
      await hooks.prepare?.(request);
      // One timer per attempt, cleared as soon as the whole body is in: AbortSignal.timeout() would keep
      // every request (and its response) alive for the full timeout.
      const timeout = new AbortController();
      const disarm = timers.timeout(timeoutMs, () => timeout.abort(new Error('timeout')));
      const onAbort = () => timeout.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      let raw: RawAnswer;
      try {
        events?.request?.();
        // Vendor pages are small JSON: read them whole, inside the timeout.
        raw = await send(request, timeout.signal);
      } catch (err) {
        if (signal?.aborted) throw fail('aborted', 'cancelled', { cause: err });
        const timedOut = timeout.signal.aborted;
        const error = fail(
          timedOut ? 'timeout' : 'network',
          timedOut ? `no answer within ${timeoutMs} ms` : 'network error',
          { cause: err },
        );
        await wait(timedOut ? 'timeout' : 'network', backoff(attempt), error);
        continue;
      } finally {
        disarm();
        signal?.removeEventListener('abort', onAbort);
      }
      if (raw.status === 429) {
        const now = timers.now();
        const after = retryAfterMs(raw.headers.get('retry-after'), now);
        // A daily quota (Zoom says so in X-RateLimit-Type) is not worth waiting for, whatever
        // Retry-After says (it may be missing, or the next midnight a few seconds away).
        const daily = /daily/i.test(raw.headers.get('x-ratelimit-type') ?? '');
        if (daily || (after !== undefined && after > maxRetryAfterMs)) {
          const until = after === undefined ? Number.POSITIVE_INFINITY : now + after;
          const why = `${daily ? 'daily rate limit reached' : 'rate limited'}${
            after === undefined ? '' : `; the vendor asks to wait ${Math.round(after / 1000)} s`
          }${Number.isFinite(until) ? ` (until ${new Date(until).toISOString()})` : ''}`;
          stopped = { until, why };
          throw fail('rate-limited', why, { status: 429 });
        }
        // Without Retry-After, wait at least one window of a per-second limit.
        await wait(
          '429',
          after ?? Math.max(1000, backoff(attempt)),
          fail('rate-limited', 'rate limited (429)', { status: 429 }),
        );
        continue;
      }
      if (raw.status >= 500) {
        await wait(
          `HTTP ${raw.status}`,
          backoff(attempt),
          fail('server', 'server error', { status: raw.status }),
        );
        continue;
      }
      const answer = readAnswer(raw);
      const verdict: Verdict = hooks.classify ? await hooks.classify(answer) : 'ok';
      if (verdict === 'auth-expired' && !renewed) {
        renewed = true;
        hooks.renewAuth?.(request);
        attempt--; // a token renewal is not a retry
        continue;
      }
      if (verdict === 'resend' && !resent) {
        resent = true;
        attempt--; // nor is sending again what the answer corrected
        continue;
      }
      if (verdict === 'retry') {
        // A vendor that reports its limit in the body (Tuya 1110) gives no Retry-After: wait out a window.
        await wait(
          'vendor busy',
          Math.max(1000, backoff(attempt)),
          fail('rate-limited', 'the vendor asked to slow down'),
        );
        continue;
      }
      const response = new Response(raw.status === 204 || raw.status === 304 ? null : answer.text, {
        status: raw.status,
        headers: raw.headers,
      });
      const parsed = answer.parsed();
      if (parsed !== undefined) parsedBodies.set(response, parsed);
      return response;
    }
  };
}

interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: ArrayBuffer;
}

async function viaUndici(req: OutgoingRequest, signal: AbortSignal): Promise<RawAnswer> {
  const headers: Record<string, string> = {};
  req.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const r = await undiciRequest(req.url, {
    method: req.method as Dispatcher.HttpMethod,
    headers,
    body: req.body ?? null,
    signal,
  });
  const body = await r.body.arrayBuffer();
  const out = new Headers();
  for (const [k, v] of Object.entries(r.headers)) {
    if (Array.isArray(v)) for (const x of v) out.append(k, x);
    else if (v !== undefined) out.set(k, v);
  }
  return { status: r.statusCode, headers: out, body };
}

function viaFetch(f: typeof fetch) {
  return async (req: OutgoingRequest, signal: AbortSignal): Promise<RawAnswer> => {
    const init: RequestInit = { method: req.method, headers: req.headers, signal };
    if (req.body !== undefined) init.body = req.body;
    const raw = await f(new Request(req.url, init));
    return { status: raw.status, headers: raw.headers, body: await raw.arrayBuffer() };
  };
}

/** The answer's text, and its JSON parsed at most once. */
function readAnswer(raw: RawAnswer): VendorAnswer & { parsed(): unknown } {
  const text = new TextDecoder().decode(raw.body);
  let parsed: unknown;
  let tried = false;
  const json = () => {
    if (!tried) {
      tried = true;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    return parsed;
  };
  return { status: raw.status, headers: raw.headers, text, json, parsed: () => (tried ? parsed : undefined) };
}

/** Retry-After as ms: delta-seconds or an HTTP/ISO date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/**
 * A token bucket: `perSecond` refill, `burst` capacity. take() waits for a token, in order.
 * Time comes from `timers` (default the system clock); a clock that steps back refills nothing.
 */
export function createRateLimiter(perSecond: number, burst?: number, timers: Timers = realTimers) {
  if (!(perSecond > 0)) throw new ConfigError('perSecond', `must be a number > 0, got ${String(perSecond)}`);
  const capacity = Math.max(1, burst ?? Math.ceil(perSecond / 10));
  let tokens = capacity;
  let last = timers.now();
  let queue = Promise.resolve();
  return {
    take(signal?: AbortSignal): Promise<void> {
      const turn = queue.then(async () => {
        for (;;) {
          const now = timers.now();
          tokens = Math.min(capacity, tokens + (Math.max(0, now - last) / 1000) * perSecond);
          last = now;
          if (tokens >= 1) {
            tokens -= 1;
            return;
          }
          // Whole milliseconds, at least one: a wait of a fraction of a millisecond can vanish in
          // the clock's rounding (epoch ms are ~1.7e12) and the loop would never refill.
          await timers.sleep(Math.max(1, Math.ceil(((1 - tokens) / perSecond) * 1000)), signal);
        }
      });
      queue = turn.catch(() => {});
      return turn;
    },
  };
}

/** A cached credential with single-flight renewal: concurrent callers share one token request. */
export function createTokenCache<T>(options: {
  readonly fetchToken: () => Promise<{ value: T; expiresAt: number }>;
  /** Renew this long before expiry. Default 60000. */
  readonly earlyMs?: number;
  readonly now?: () => number;
}) {
  const now = options.now ?? Date.now;
  const early = options.earlyMs ?? 60_000;
  let current: { value: T; expiresAt: number } | undefined;
  let inflight: Promise<T> | undefined;
  return {
    get(): Promise<T> {
      if (current && now() < current.expiresAt - early) return Promise.resolve(current.value);
      inflight ??= options
        .fetchToken()
        .then((t) => {
          current = t;
          return t.value;
        })
        .finally(() => {
          inflight = undefined;
        });
      return inflight;
    },
    /**
     * Forgets the token (after the vendor said it expired); the next get() fetches a new one. With
     * `rejected`, only when the cached token is the one the vendor refused: a request that carried
     * an older token, refused after another request renewed it, must not throw the new one away.
     */
    invalidate(rejected?: (value: T) => boolean): void {
      if (current && rejected && !rejected(current.value)) return;
      current = undefined;
    },
    /** The cached value, if any (no renewal). */
    peek(): T | undefined {
      return current?.value;
    },
  };
}

/** setTimeout as a promise that rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Path ids that URL parsing would turn into "go up" (`.`, `..`, also percent-encoded) cannot be sent safely. */
export function checkPathId(id: string, where: { vendor: string; endpoint: string }): string {
  if (typeof id !== 'string' || id === '' || /^(\.|%2e){1,2}$/i.test(id))
    throw new VendorError({
      ...where,
      user: String(id),
      failure: 'invalid-request',
      message: 'an id that is empty, "." or ".." cannot be used in a URL path',
    });
  return id;
}
