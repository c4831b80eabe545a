// The middleware's own cost per request, in-process (no HTTP, no client on the same cores): each
// app's request handler is driven with node:http IncomingMessage/ServerResponse objects over a fake
// socket that discards what is written, one request after another, bare and with authorize(),
// interleaved round by round. `middleware.ts [batchMs] [rounds]` prints one JSON line.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { Registry } from 'prom-client';
import { type CreateAuthorizerOptions, createAuthorizer } from '../src/authorizer.js';
import {
  BENCH_PATH,
  BENCH_USER,
  benchApp,
  benchPolicy,
  type Framework,
  type RequestHandler,
} from './apps.js';

/** One app with authorize() in front; what it is given beyond the bench's own settings. */
export interface MiddlewareVariant {
  readonly label: string;
  /** Passed to createAuthorizer() beside the bench policy, e.g. `{ metrics: registry }`. */
  readonly authorizer?: Partial<CreateAuthorizerOptions>;
  /** Passed to authorize() beside the authorizer, routes and subject, e.g. `{ callId: false }`. */
  readonly middleware?: Record<string, unknown>;
}

export interface MiddlewareResult {
  readonly framework: Framework;
  /** Requests per batch (each app runs one batch per round). */
  readonly requests: number;
  readonly rounds: number;
  /** Median ns per request of the bare app. */
  readonly bare: number;
  readonly variants: readonly {
    readonly label: string;
    /** Median ns per request with authorize(). */
    readonly ns: number;
    /** Median over rounds of (this variant − bare) in the same round: the middleware's own cost. */
    readonly overhead: number;
    /**
     * Median over rounds of bare / this variant in the same round: the share of the bare app's
     * throughput kept (pairs taken side by side vary far less than each app's own median).
     */
    readonly ratio: number;
  }[];
}

/** authorize() as configured by default, and with a call id per request. */
export const DEFAULT_VARIANTS: readonly MiddlewareVariant[] = [
  { label: 'authorize()' },
  { label: 'authorize({ callId: true })', middleware: { callId: true } },
  { label: 'authorize(), metrics on', authorizer: { metrics: new Registry() } },
];
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** A socket that takes every write at once and drops it. */
function nullSocket(): Duplex {
  return new Duplex({
    read() {},
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/**
 * Sends `n` GET requests through `handler`, one after another; resolves with the CPU time (user +
 * system, all threads) per request in ns: on shared cores wall time mostly measures the neighbours.
 */
function drive(handler: RequestHandler, n: number): Promise<number> {
  const socket = nullSocket();
  const headers = { host: 'bench.test', 'x-user': BENCH_USER, accept: '*/*' };
  return new Promise((resolve, reject) => {
    let left = n;
    const t0 = process.cpuUsage();
    const next = () => {
      if (left-- === 0) {
        const t = process.cpuUsage(t0);
        return resolve(((t.user + t.system) * 1000) / n);
      }
      const req = new IncomingMessage(socket as never);
      req.method = 'GET';
      req.url = BENCH_PATH;
      req.headers = { ...headers };
      req.httpVersion = '1.1';
      req.httpVersionMajor = 1;
      req.httpVersionMinor = 1;
      req.complete = true;
      req.push(null);
      const res = new ServerResponse(req);
      res.assignSocket(socket as never);
      res.once('finish', () => {
        res.detachSocket(socket as never);
        if (res.statusCode !== 200) reject(new Error(`the bench request was answered ${res.statusCode}`));
        else next();
      });
      handler(req, res);
    };
    next();
  });
}

/**
 * Each framework's bare app and one app per variant, `rounds` rounds of one batch each (after a
 * warm-up), in a rotating order; medians per app and of the per-round differences. A batch takes
 * about `batchMs` of the bare app's time: short batches side by side see the same neighbours. A
 * variant's `authorizer` options reach createAuthorizer(), so an option that watches decisions
 * (metrics, a decision log) is measured by adding a variant that passes it.
 */
export async function middlewareBench(
  options: { batchMs?: number; rounds?: number; variants?: readonly MiddlewareVariant[] } = {},
): Promise<MiddlewareResult[]> {
  const { batchMs = 50, rounds = 41, variants = DEFAULT_VARIANTS } = options;
  const policies = benchPolicy();
  const authorizers = await Promise.all(
    variants.map((v) => createAuthorizer({ ...v.authorizer, policies, cache: { max: 10_000 } })),
  );
  const results: MiddlewareResult[] = [];
  for (const framework of ['express', 'koa'] as const) {
    const apps = [
      benchApp(framework, undefined),
      ...variants.map((v, i) => benchApp(framework, authorizers[i], v.middleware)),
    ];
    for (const app of apps) await drive(app, 3000);
    const requests = Math.max(
      100,
      Math.round((batchMs * 1e6) / (await drive(apps[0] as RequestHandler, 1000))),
    );
    const times: number[][] = apps.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < apps.length; k++) {
        // No gc() between batches: a full collection shrinks the young generation, and the next
        // batch then pays for growing it again (several times the cost per request).
        const i = (k + r) % apps.length;
        (times[i] as number[]).push(await drive(apps[i] as RequestHandler, requests));
      }
    }
    const bare = times[0] as number[];
    results.push({
      framework,
      requests,
      rounds,
      bare: median(bare),
      variants: variants.map((v, i) => {
        const t = times[i + 1] as number[];
        return {
          label: v.label,
          ns: median(t),
          overhead: median(t.map((x, r) => x - (bare[r] as number))),
          ratio: median(t.map((x, r) => (bare[r] as number) / x)),
        };
      }),
    });
  }
  await Promise.all(authorizers.map((a) => a.close()));
  return results;
}

if (import.meta.filename === process.argv[1]) {
  const [batchMs, rounds] = process.argv.slice(2).map(Number);
  const results = await middlewareBench({
    ...(batchMs ? { batchMs } : {}),
    ...(rounds ? { rounds } : {}),
  });
  console.log(JSON.stringify(results));
}
