// The local vendor emulator: one loopback HTTP server that answers as Zoom (/zoom), Vonage Contact
// Center (/vonage) and Tuya (/tuya) do according to the reference, with fault knobs. It shares no
// code with the adapters: auth, signatures and paging are implemented here from the reference.
// The whole emulator can sit under a path prefix (basePath), as a vendor does behind a proxy.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import { type Dataset, prng, seededDataset } from './dataset.js';
import { tuyaRoutes } from './tuya.js';
import { vonageRoutes } from './vonage.js';
import { zoomRoutes } from './zoom.js';

export type EmulatedVendor = 'zoom' | 'vonage' | 'tuya';

export interface EmulatorCredentials {
  zoom: { accountId: string; clientId: string; clientSecret: string };
  vonage: { clientId: string; clientSecret: string };
  tuya: { clientId: string; clientSecret: string };
}

/** The credentials the emulator accepts unless told otherwise. */
export const EMULATOR_CREDENTIALS: EmulatorCredentials = {
  zoom: { accountId: 'emu-account', clientId: 'emu-zoom-client', clientSecret: 'emu-zoom-secret' },
  vonage: { clientId: 'emu-vonage-client', clientSecret: 'emu-vonage-secret' },
  tuya: { clientId: 'emu-tuya-client', clientSecret: 'emu-tuya-secret' },
};

export interface Faults {
  /** Added before every answer, ms. */
  latencyMs: number;
  /** Share (0-1) of API answers replaced by a 503. */
  errorRate: number;
  /** Share (0-1) of API answers whose JSON body is cut short. */
  malformedRate: number;
  /** User ids (or Zoom role ids) whose API answers always have their JSON body cut short. */
  malformedUnits: string[];
  /** Lifetime of issued tokens in seconds; undefined = each vendor's own (3599 / 7200 / 7200). */
  tokenTtlSeconds: number | undefined;
  /** Requests per second each vendor accepts before answering 429 (Tuya: code 1110); false = no limit. */
  rateLimit: Record<EmulatedVendor, number> | false;
  /** User ids (or Zoom role ids) whose permission calls always answer 500. */
  failUsers: string[];
  /** Vonage's first page number (the reference disagrees: 1 on endpoint pages, 0 on general pages). */
  vonageFirstPage: 0 | 1;
  /** Zoom plan: "free" accounts cannot change roles. */
  zoomPlan: 'free' | 'pro';
  /**
   * Per vendor, a countdown: once that many more API requests (token requests not counted) have
   * been answered, every token the vendor issued stops working, once (expiry in the middle of a run).
   */
  expireTokensAfter: Partial<Record<EmulatedVendor, number>>;
  /**
   * Per vendor, a countdown: the next `count` API answers (token requests not counted) are `status`:
   * 429 as the vendor reports its rate limit (Tuya: code 1110), 503 as a bare Service Unavailable.
   */
  burst: Partial<Record<EmulatedVendor, { status: 429 | 503; count: number }>>;
  /**
   * Retry-After on 429 answers: undefined = the rest of the current one-second window, a number of
   * seconds, or 'none' for no header (Zoom is reported to omit it).
   */
  retryAfter: number | 'none' | undefined;
  /**
   * A countdown: once that many more Zoom API requests have been answered, Zoom answers every API
   * request with its daily-limit 429 (X-RateLimit-Type: Daily-limit, Retry-After: the next 00:00
   * UTC as an ISO-8601 date). undefined = no daily limit.
   */
  zoomDailyLimitAfter: number | undefined;
  /** Vendors that answer every request, token requests included, with a 503 (down for the whole run). */
  down: EmulatedVendor[];
  /** User ids (or Zoom role ids) → ms: their API answers come that much later (slower than a timeout). */
  slowUnits: Record<string, number>;
  /** How far the Tuya server's clock is ahead of the real one, ms: it checks `t` against it and reports it. */
  tuyaClockOffsetMs: number;
  /** Tuya answers carry no `t`, so a client cannot learn the server's clock from them. */
  tuyaOmitTime: boolean;
}

export const DEFAULT_FAULTS: Faults = {
  latencyMs: 0,
  errorRate: 0,
  malformedRate: 0,
  malformedUnits: [],
  tokenTtlSeconds: undefined,
  rateLimit: false,
  failUsers: [],
  vonageFirstPage: 1,
  zoomPlan: 'pro',
  expireTokensAfter: {},
  burst: {},
  retryAfter: undefined,
  zoomDailyLimitAfter: undefined,
  down: [],
  slowUnits: {},
  tuyaClockOffsetMs: 0,
  tuyaOmitTime: false,
};

export interface EmulatorStats {
  requests: Record<EmulatedVendor, number>;
  rateLimited: Record<EmulatedVendor, number>;
  errors: number;
  malformed: number;
  tokensIssued: number;
}

/** What a vendor handler gets: the request, its parsed URL and body, and the shared state. */
export interface Ctx {
  readonly req: IncomingMessage;
  readonly url: URL;
  /** Path after the base path and the vendor prefix, e.g. "/v2/users". */
  readonly path: string;
  /** The body as UTF-8 text. */
  readonly body: string;
  /** The body's exact bytes (what a signature over the body covers). */
  readonly rawBody: Buffer;
  readonly state: State;
}

/** An answer: status, JSON body (or raw text), headers. */
export interface Answer {
  status: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
}

export interface State {
  dataset: Dataset;
  credentials: EmulatorCredentials;
  faults: Faults;
  stats: EmulatorStats;
  /** token → expiry (epoch ms), per vendor. */
  tokens: Record<EmulatedVendor, Map<string, number>>;
  /** Tuya refresh tokens that may still be used once. */
  tuyaRefresh: Set<string>;
  random: () => number;
  newToken(vendor: EmulatedVendor, defaultTtl: number): { token: string; ttl: number };
  tokenValid(vendor: EmulatedVendor, token: string | undefined): boolean;
}

export interface Emulator {
  /**
   * Origin, e.g. http://127.0.0.1:41234; vendors are under `${url}${basePath}/zoom` (/vonage, /tuya),
   * the admin endpoints under `${url}${basePath}/_emulator/`.
   */
  readonly url: string;
  readonly state: State;
  /** Changes fault knobs for the rest of the run. */
  setFaults(faults: Partial<Faults>): void;
  /** Makes every issued token invalid (token expiry mid-run). */
  expireTokens(): void;
  close(): Promise<void>;
}

export interface EmulatorOptions {
  /** Default: seeded data for 5 people. */
  readonly dataset?: Dataset;
  readonly credentials?: EmulatorCredentials;
  readonly faults?: Partial<Faults>;
  /** Seed for the fault dice. Default 1. */
  readonly seed?: number;
  /** Default 0 (a free port). */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /**
   * Path prefix the whole emulator sits under, like a vendor behind a path-prefix proxy: "/proxy"
   * puts Tuya under /proxy/tuya. Default "" (none). Anything outside it answers 404.
   * @throws ConfigError when it does not start with "/".
   */
  readonly basePath?: string;
}

/** Starts the emulator; resolves once it listens. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/'))
    throw new ConfigError('basePath', `must start with "/", got ${JSON.stringify(options.basePath)}`);
  const vendors: EmulatedVendor[] = ['zoom', 'vonage', 'tuya'];
  const per = <T>(f: () => T) =>
    Object.fromEntries(vendors.map((v) => [v, f()])) as Record<EmulatedVendor, T>;
  const state: State = {
    dataset: options.dataset ?? seededDataset({ users: 5 }),
    credentials: options.credentials ?? EMULATOR_CREDENTIALS,
    faults: { ...DEFAULT_FAULTS, ...options.faults },
    stats: { requests: per(() => 0), rateLimited: per(() => 0), errors: 0, malformed: 0, tokensIssued: 0 },
    tokens: per(() => new Map<string, number>()),
    tuyaRefresh: new Set(),
    random: prng(options.seed ?? 1),
    newToken(vendor, defaultTtl) {
      const token = randomBytes(18).toString('base64url');
      const ttl = this.faults.tokenTtlSeconds ?? defaultTtl;
      this.tokens[vendor].set(token, Date.now() + ttl * 1000);
      this.stats.tokensIssued++;
      return { token, ttl };
    },
    tokenValid(vendor, token) {
      const exp = token === undefined ? undefined : this.tokens[vendor].get(token);
      return exp !== undefined && Date.now() < exp;
    },
  };
  const routes = { zoom: zoomRoutes, vonage: vonageRoutes, tuya: tuyaRoutes };
  const window = per(() => ({ second: 0, count: 0 }));

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const rawBody = Buffer.concat(chunks);
      const body = rawBody.toString('utf8');
      const inside = url.pathname.startsWith(`${basePath}/`);
      if (!inside) return write(res, { status: 404, body: { message: 'outside the emulator base path' } });
      const pathname = url.pathname.slice(basePath.length);
      if (pathname.startsWith('/_emulator/')) return write(res, admin(pathname, req.method ?? 'GET', body));
      const vendor = vendors.find((v) => pathname === `/${v}` || pathname.startsWith(`/${v}/`));
      if (!vendor) return write(res, { status: 404, body: { message: 'no such vendor' } });
      state.stats.requests[vendor]++;
      const f = state.faults;
      if (f.down.includes(vendor)) {
        state.stats.errors++;
        return write(res, UNAVAILABLE);
      }
      if (state.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, state.faults.latencyMs));
      const ctx: Ctx = { req, url, path: pathname.slice(vendor.length + 1) || '/', body, rawBody, state };
      const isToken = /token/i.test(ctx.path);
      const slow = ctx.path
        .split('/')
        .reduce((ms, seg) => Math.max(ms, f.slowUnits[safeDecode(seg)] ?? 0), 0);
      if (!isToken && slow > 0) await pause(slow, res);
      if (!isToken) {
        const expiring = f.expireTokensAfter[vendor];
        if (expiring !== undefined && expiring <= 0) {
          state.tokens[vendor].clear();
          delete f.expireTokensAfter[vendor];
        } else if (expiring !== undefined) f.expireTokensAfter[vendor] = expiring - 1;
        const burst = f.burst[vendor];
        if (burst && burst.count > 0) {
          burst.count--;
          if (burst.status === 429) {
            state.stats.rateLimited[vendor]++;
            return write(res, rateLimited(vendor, 1000 - (Date.now() % 1000), state));
          }
          state.stats.errors++;
          return write(res, UNAVAILABLE);
        }
        if (vendor === 'zoom' && f.zoomDailyLimitAfter !== undefined) {
          if (f.zoomDailyLimitAfter <= 0) {
            state.stats.rateLimited.zoom++;
            return write(res, zoomDailyLimit());
          }
          f.zoomDailyLimitAfter--;
        }
      }
      // Rate limit (fixed one-second windows), as the vendor reports it.
      const limit = state.faults.rateLimit === false ? undefined : state.faults.rateLimit[vendor];
      if (limit !== undefined) {
        const sec = Math.floor(Date.now() / 1000);
        const w = window[vendor];
        if (w.second !== sec) {
          w.second = sec;
          w.count = 0;
        }
        if (++w.count > limit) {
          state.stats.rateLimited[vendor]++;
          return write(res, rateLimited(vendor, 1000 - (Date.now() % 1000), state));
        }
      }
      if (!isToken && state.random() < state.faults.errorRate) {
        state.stats.errors++;
        return write(res, {
          status: 503,
          text: 'Service Unavailable',
          headers: { 'content-type': 'text/plain' },
        });
      }
      const answer = await routes[vendor](ctx);
      if (
        !isToken &&
        answer.status < 300 &&
        answer.body !== undefined &&
        (state.random() < state.faults.malformedRate ||
          ctx.path.split('/').some((seg) => state.faults.malformedUnits.includes(safeDecode(seg))))
      ) {
        state.stats.malformed++;
        const text = JSON.stringify(answer.body);
        return write(res, {
          ...answer,
          body: undefined,
          text: text.slice(0, Math.max(1, Math.floor(text.length / 2))),
        });
      }
      write(res, answer);
    } catch (err) {
      write(res, { status: 500, body: { message: `emulator error: ${(err as Error).message}` } });
    }
  });

  function admin(path: string, method: string, body: string): Answer {
    if (path === '/_emulator/faults' && method === 'POST') {
      Object.assign(state.faults, JSON.parse(body || '{}'));
      return { status: 200, body: state.faults };
    }
    if (path === '/_emulator/expire-tokens' && method === 'POST') {
      expireTokens();
      return { status: 204 };
    }
    if (path === '/_emulator/stats') return { status: 200, body: state.stats };
    return { status: 404, body: { message: 'no such admin endpoint' } };
  }

  function expireTokens() {
    for (const v of vendors) state.tokens[v].clear();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    state,
    setFaults: (f) => Object.assign(state.faults, f),
    expireTokens,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const UNAVAILABLE: Answer = {
  status: 503,
  text: 'Service Unavailable',
  headers: { 'content-type': 'text/plain' },
};

function rateLimited(vendor: EmulatedVendor, waitMs: number, state: State): Answer {
  const { retryAfter } = state.faults;
  const seconds = String(retryAfter ?? Math.max(1, Math.ceil(waitMs / 1000)));
  const after: Record<string, string> = retryAfter === 'none' ? {} : { 'retry-after': seconds };
  if (vendor === 'tuya') {
    // Tuya reports over-limit as code 1110 in a 200 answer.
    return {
      status: 200,
      body: {
        success: false,
        code: 1110,
        msg: 'concurrent request over limit',
        ...tuyaTime(state),
        tid: tid(),
      },
    };
  }
  if (vendor === 'zoom') {
    return {
      status: 429,
      body: {
        code: 429,
        message: 'You have reached the maximum per-second rate limit for this API. Try again later.',
      },
      headers: { ...after, 'x-ratelimit-type': 'QPS' },
    };
  }
  return { status: 429, body: { message: 'Too Many Requests' }, headers: after };
}

/** Zoom's daily-limit answer (reference §1.5): Retry-After is the next 00:00 UTC, as an ISO-8601 date. */
function zoomDailyLimit(): Answer {
  const midnight = new Date();
  midnight.setUTCHours(24, 0, 0, 0);
  return {
    status: 429,
    body: {
      code: 429,
      message:
        'You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.',
    },
    headers: {
      'retry-after': midnight.toISOString().replace('.000Z', 'Z'),
      'x-ratelimit-type': 'Daily-limit',
      'x-ratelimit-category': 'Medium',
    },
  };
}

/** The `t` of a Tuya answer: the Tuya server's clock (offset by the fault knob), unless omitted. */
export function tuyaTime(state: State): { t?: number } {
  return state.faults.tuyaOmitTime ? {} : { t: Date.now() + state.faults.tuyaClockOffsetMs };
}

/** Waits `ms`, or less if the client gives up on the request first (nothing lingers after a timeout). */
function pause(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    res.once('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

function write(res: ServerResponse, a: Answer): void {
  const headers: Record<string, string> = { ...(a.headers ?? {}) };
  let payload = '';
  if (a.text !== undefined) payload = a.text;
  else if (a.body !== undefined) payload = JSON.stringify(a.body);
  if (payload !== '' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json; charset=utf-8';
  res.writeHead(a.status, headers);
  res.end(payload);
}

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

export const tid = () => randomBytes(8).toString('hex');
