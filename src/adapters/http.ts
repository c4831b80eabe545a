// What every vendor adapter does the same way: a client-side rate limit, retries (429 with
// Retry-After, 5xx and network errors with jittered backoff, bounded), per-request timeouts,
// cancellation, one token renewal on an expired-token answer, and tokens cached with single flight.
// Used as the `fetch` of each openapi-fetch client.
import { VendorError, type VendorFailure } from '../errors.js';

/** How a vendor answer should be treated, beyond HTTP status (some vendors answer errors with 200). */
export type Verdict = 'ok' | 'auth-expired' | 'retry';

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
  /** A Retry-After longer than this (e.g. a daily limit) fails at once instead of waiting. Default 60000. */
  readonly maxRetryAfterMs?: number;
  /** Per attempt. Default 30000. */
  readonly timeoutMs?: number;
  /** Cancels everything in flight and every wait. */
  readonly signal?: AbortSignal;
  readonly events?: HttpEvents;
  /** For tests: randomness of the jitter. Default Math.random. */
  readonly random?: () => number;
}

export interface VendorFetchHooks {
  /** Sets auth headers (and signatures) on each attempt; runs after the rate limiter. */
  readonly prepare?: (request: Request) => Promise<Request> | Request;
  /** Looks at an answer (a clone) and says whether it is fine, an expired token, or worth a retry. */
  readonly classify?: (response: Response) => Promise<Verdict> | Verdict;
  /** Drops the cached token after an expired-token answer. */
  readonly renewAuth?: () => void;
  /** The templated endpoint and user, for error messages. Default: the URL path. */
  readonly describe?: (request: Request) => { endpoint: string; user?: string | undefined };
}

/** A fetch with the shared vendor behaviour. Throws VendorError for what retries could not fix. */
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
  } = options;
  const doFetch = options.fetch ?? globalThis.fetch;
  const limiter = createRateLimiter(options.perSecond, options.burst);
  const backoff = (attempt: number) =>
    Math.floor(random() * Math.min(backoffMs[1], backoffMs[0] * 2 ** attempt));

  return async (input, init) => {
    const original = input instanceof Request && init === undefined ? input : new Request(input, init);
    const where = hooks.describe?.(original) ?? { endpoint: new URL(original.url).pathname };
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
    for (let attempt = 0; ; attempt++) {
      const wait = async (reason: string, ms: number, error: VendorError) => {
        if (attempt >= retries) throw error;
        events?.retry?.({ reason, waitMs: ms, attempt: attempt + 1 });
        await sleep(ms, signal).catch((e) => {
          throw fail('aborted', 'cancelled', { cause: e });
        });
      };
      await limiter.take(signal).catch((e) => {
        throw fail('aborted', 'cancelled', { cause: e });
      });
      if (signal?.aborted) throw fail('aborted', 'cancelled', { cause: signal.reason });
      // One timer per attempt, cleared as soon as the whole body is in: AbortSignal.timeout() would keep
      // every request (and its response) alive for the full timeout.
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(new Error('timeout')), timeoutMs);
      const onAbort = () => timeout.abort(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const request = new Request(await (hooks.prepare?.(original.clone()) ?? original.clone()), {
        signal: timeout.signal,
      });
      let response: Response;
      try {
        events?.request?.();
        const raw = await doFetch(request);
        // Vendor pages are small JSON: read them whole, inside the timeout.
        const body = raw.status === 204 || raw.body === null ? null : await raw.arrayBuffer();
        response = new Response(body, {
          status: raw.status,
          statusText: raw.statusText,
          headers: raw.headers,
        });
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
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
      if (response.status === 429) {
        const after = retryAfterMs(response.headers.get('retry-after'), Date.now());
        const error = fail('rate-limited', 'rate limited (429)', { status: 429 });
        if (after !== undefined && after > maxRetryAfterMs) {
          discard(response);
          throw fail('rate-limited', `rate limited; the vendor asks to wait ${Math.round(after / 1000)} s`, {
            status: 429,
          });
        }
        discard(response);
        await wait('429', after ?? backoff(attempt), error);
        continue;
      }
      if (response.status >= 500) {
        discard(response);
        await wait(
          `HTTP ${response.status}`,
          backoff(attempt),
          fail('server', 'server error', { status: response.status }),
        );
        continue;
      }
      let verdict: Verdict = 'ok';
      if (hooks.classify) {
        const probe = response.clone();
        verdict = await hooks.classify(probe);
        discard(probe); // a tee'd body must be consumed or cancelled on both sides
      }
      if (verdict === 'auth-expired' && !renewed) {
        renewed = true;
        discard(response);
        hooks.renewAuth?.();
        attempt--; // a token renewal is not a retry
        continue;
      }
      if (verdict === 'retry') {
        discard(response);
        // A vendor that reports its limit in the body (Tuya 1110) gives no Retry-After: wait out a window.
        await wait(
          'vendor busy',
          Math.max(1000, backoff(attempt)),
          fail('rate-limited', 'the vendor asked to slow down'),
        );
        continue;
      }
      return response;
    }
  };
}

/** Drops an unread body without waiting (cancelling a cloned body only settles once both sides are done). */
function discard(response: Response): void {
  if (response.body && !response.bodyUsed) response.body.cancel().catch(() => {});
}

/** Retry-After as ms: delta-seconds or an HTTP/ISO date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isFinite(t) ? Math.max(0, t - now) : undefined;
}

/** A token bucket: `perSecond` refill, `burst` capacity. take() waits for a token, in order. */
export function createRateLimiter(perSecond: number, burst?: number) {
  if (!(perSecond > 0)) throw new RangeError('perSecond must be > 0');
  const capacity = Math.max(1, burst ?? Math.ceil(perSecond / 10));
  let tokens = capacity;
  let last = performance.now();
  let queue = Promise.resolve();
  return {
    take(signal?: AbortSignal): Promise<void> {
      const turn = queue.then(async () => {
        for (;;) {
          const now = performance.now();
          tokens = Math.min(capacity, tokens + ((now - last) / 1000) * perSecond);
          last = now;
          if (tokens >= 1) {
            tokens -= 1;
            return;
          }
          await sleep(((1 - tokens) / perSecond) * 1000, signal);
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
    /** Forget the token (after the vendor said it expired); the next get() fetches a new one. */
    invalidate(): void {
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

/** Reads a JSON body, or throws VendorError('invalid-response') naming the endpoint. */
export async function readJson(
  response: Response,
  where: { vendor: string; endpoint: string; user?: string | undefined },
): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new VendorError(
      {
        ...where,
        failure: 'invalid-response',
        status: response.status,
        message: `the body is not JSON (${text.length} bytes)`,
      },
      { cause: err },
    );
  }
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
