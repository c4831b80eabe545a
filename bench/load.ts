// Load test (issue 12): the example Express app at its saturation rate while a sync applies changes
// every second. `node --import tsx bench/load.ts`; BENCH_LOAD_SECONDS (default 30), BENCH_LOAD_PEOPLE
// (default 500 people per vendor), BENCH_LOAD_CONNECTIONS (default 50), BENCH_LOAD_SYNC=0 (the same
// run without the sync loop, for comparison).
//
// Three processes: this one (autocannon), the app (load-server.ts: the example app's routes and
// authorize() options, its sync loop, and the bookkeeping of which policy version decided each
// response) and the vendors (load-emulator.ts). Saturation = autocannon with 50 connections and no
// rate cap: as many requests as the app answers. After a 2 s warm-up the app starts recording and
// the sync loop starts, for the measured window; then the app checks every distinct answer against
// plain casbin over the policy that was in force when it was decided, and a final full sync (dry
// run) checks the live policy against the vendors. Prints a summary and, last, one JSON line; exits
// 1 on any 5xx, wrong decision, failed sync, client error or final mismatch.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import autocannon from 'autocannon';
import type { LoadServerResult, Template } from './load-server.js';

const seconds = Number(process.env['BENCH_LOAD_SECONDS'] ?? 30);
const people = Number(process.env['BENCH_LOAD_PEOPLE'] ?? 500);
const connections = Number(process.env['BENCH_LOAD_CONNECTIONS'] ?? 50);
const WARMUP_MS = 2000;
if (!(seconds > 0 && people >= 20 && connections > 0))
  throw new Error(
    'BENCH_LOAD_SECONDS, BENCH_LOAD_PEOPLE (>= 20) and BENCH_LOAD_CONNECTIONS must be positive numbers',
  );

const server = fork(join(import.meta.dirname, 'load-server.ts'), [String(people)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
// A stuck run fails rather than hangs: the setup and the checks take well under 10 minutes.
const watchdog = setTimeout(
  () => {
    console.error('load: no result after 10 minutes past the run; stopping');
    server.kill();
    process.exit(1);
  },
  (seconds + 600) * 1000,
);
watchdog.unref();
const exited = once(server, 'exit').then(([code]) => {
  throw new Error(`the load server exited early (${String(code)})`);
});
const next = <T>(type: string) =>
  Promise.race([
    new Promise<T>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        server.off('message', on);
        resolve(m as T);
      };
      server.on('message', on);
    }),
    exited,
  ]);

const ready = await next<{ port: number; templates: Template[]; firstSyncMs: number }>('ready');
const { templates } = ready;
// A third of the requests are about the people whose vendor data changed in the last two ticks, so
// the answers a sync changes are asked for right before and right after it applies them.
let hot: Template[] = [];
let recent: string[][] = [];
server.on('message', (m: { type: string; people?: string[] }) => {
  if (m.type !== 'hot' || !m.people) return;
  recent = [...recent.slice(-1), m.people];
  const changed = new Set(recent.flat());
  hot = templates.filter((t) => changed.has(t[0]));
});
let i = 0;
let h = 0;
const options = {
  url: `http://127.0.0.1:${ready.port}`,
  connections,
  requests: [
    {
      setupRequest: (req: autocannon.Request) => {
        const [user, method, path] =
          hot.length > 0 && i % 3 === 0 ? hot[h++ % hot.length]! : templates[i % templates.length]!;
        i++;
        return { ...req, method: method as autocannon.Request['method'], path, headers: { 'x-user': user } };
      },
    },
  ],
};
console.log(
  `load: ${people} people per vendor (first sync ${(ready.firstSyncMs / 1000).toFixed(1)} s), ${templates.length} distinct requests, ${connections} connections, no rate cap, ${seconds} s`,
);

// One autocannon run on one set of connections: the warm-up (JIT, the decision cache, and the
// connections, which a busy server accepts about one per event-loop turn), then the measured window.
// Client numbers are for the window only.
const latency = createHistogram(); // µs
const codes: Record<string, number> = {};
let measuring = false;
let windowStart = 0;
let answered = 0;
let windowErrors = 0;
const instance = autocannon({ ...options, duration: WARMUP_MS / 1000 + seconds }, () => {});
instance.on('response', (_client, statusCode, _bytes, ms) => {
  if (!measuring) return;
  answered++;
  codes[statusCode] = (codes[statusCode] ?? 0) + 1;
  latency.record(Math.max(1, Math.round(ms * 1000)));
});
instance.on('reqError', () => {
  if (measuring) windowErrors++;
});
const started = next('started');
setTimeout(() => {
  measuring = true;
  windowStart = performance.now();
  server.send({ type: 'start' });
}, WARMUP_MS);
const [run] = (await once(instance, 'done')) as [autocannon.Result];
measuring = false;
const windowSeconds = (performance.now() - windowStart) / 1000;
await started;
server.send({ type: 'stop' });
const r = await next<LoadServerResult>('result');
await Promise.race([once(server, 'exit'), exited.catch(() => undefined)]);

const count = (codeIs: (code: number) => boolean) =>
  Object.entries(codes).reduce((t, [c, n]) => t + (codeIs(Number(c)) ? n : 0), 0);
const client = {
  reqPerSec: answered / windowSeconds,
  p50: latency.percentile(50) / 1000,
  p99: latency.percentile(99) / 1000,
  max: latency.max / 1000,
  s2xx: count((c) => c >= 200 && c < 300),
  s403: count((c) => c === 403),
  other4xx: count((c) => c >= 400 && c < 500 && c !== 403),
};
// 5xx over the whole run (warm-up included): as the client saw them, and as the app recorded them.
const fivexx = Math.max(
  run['5xx'],
  Object.entries(r.statuses).reduce((t, [c, n]) => t + (Number(c) >= 500 ? n : 0), 0),
);
const clientErrors = run.errors + run.timeouts;
const problems = [
  fivexx > 0 && `${fivexx} 5xx`,
  r.wrong > 0 && `${r.wrong} wrong decisions`,
  (r.syncs.errors.length > 0 || r.syncs.notOk > 0) && `${r.syncs.errors.length + r.syncs.notOk} failed syncs`,
  clientErrors > 0 && `${clientErrors} client errors/timeouts`,
  (!r.final.ok || r.final.pendingChanges > 0 || !r.final.liveEqualsFiles) &&
    `final check: ${r.final.pendingChanges} changes pending, live policy ${r.final.liveEqualsFiles ? '=' : '!='} files`,
  r.oracle.partitionDisagreements > 0 && `${r.oracle.partitionDisagreements} oracle partition disagreements`,
].filter((x): x is string => typeof x === 'string');
const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d });
const statuses = Object.entries(r.statuses)
  .map(([c, n]) => `${c}: ${f(n)}`)
  .join(', ');
console.log(
  [
    `client: ${f(client.reqPerSec)} req/s (${f(answered)} answers in ${f(windowSeconds, 1)} s); latency p50 ${f(client.p50, 1)} ms, p99 ${f(client.p99, 1)} ms, max ${f(client.max)} ms`,
    `        2xx ${f(client.s2xx)}, 403 ${f(client.s403)}, other 4xx ${f(client.other4xx)}, 5xx ${fivexx}, errors ${windowErrors} (whole run, warm-up included: ${run.errors} errors, ${run.timeouts} timeouts)`,
    `app:    handling (first middleware → response finished) p50 ${f(r.handling.p50, 2)} ms, p99 ${f(r.handling.p99, 2)} ms, max ${f(r.handling.max)} ms; event-loop delay p50 ${f(r.eventLoopDelay.p50)} ms, p99 ${f(r.eventLoopDelay.p99)} ms, max ${f(r.eventLoopDelay.max)} ms`,
    `syncs:  ${r.syncs.runs} (each: the emulator changes 12 people, then a sync refreshes them), ${f(r.syncs.changes)} rule/link changes applied in ${r.versions} policy versions; mean ${f(r.syncs.meanMs)} ms (${f(r.syncs.idleMs)} ms on the idle app before the run), max ${f(r.syncs.maxMs)} ms, ${r.syncs.overran} over the 1 s period; ${r.syncs.notOk} not ok, ${r.syncs.errors.length} errors ${r.syncs.errors.join('; ')}`,
    `check:  ${f(r.responses)} responses recorded by the app (${statuses}); ${f(r.distinct)} distinct (answer, user, route, policy version) checked against plain casbin: ${r.wrong} wrong; ${f(r.changedSinceStart)} of them differ from the policy at the start of the window; ${f(r.straddling)} straddling a sync, ${r.asyncDecisions} decided asynchronously`,
    `oracle: ${f(r.oracle.casbinCalls)} casbin enforceSync calls on ${f(r.oracle.enforcers)} enforcers in ${f(r.oracle.ms / 1000, 1)} s; resource partition re-checked against whole-policy casbin: ${r.oracle.partitionDisagreements} disagreements of ${r.oracle.partitionChecked}`,
    `final:  full sync (dry run) after the run: ${r.final.ok ? 'ok' : 'FAILED'}, ${r.final.pendingChanges} changes pending, live policy ${r.final.liveEqualsFiles ? 'equals' : 'DIFFERS FROM'} the written files (${f(r.final.ms / 1000, 1)} s)`,
    ...r.wrongExamples.map((w) => `wrong:  ${w}`),
    problems.length ? `FAILED: ${problems.join(', ')}` : 'ok: no 5xx, no wrong decision',
  ].join('\n'),
);
console.log(
  JSON.stringify({
    ok: problems.length === 0,
    problems,
    seconds,
    people,
    connections,
    ...client,
    requests: answered,
    s5xx: fivexx,
    errors: clientErrors,
    responses: r.responses,
    checked: r.distinct,
    wrong: r.wrong,
    changedSinceStart: r.changedSinceStart,
    straddling: r.straddling,
    syncs: r.syncs.runs,
    changes: r.syncs.changes,
    versions: r.versions,
    syncMeanMs: r.syncs.meanMs,
    syncMaxMs: r.syncs.maxMs,
    syncIdleMs: r.syncs.idleMs,
    overran: r.syncs.overran,
    eventLoopDelayMaxMs: r.eventLoopDelay.max,
  }),
);
process.exitCode = problems.length ? 1 : 0;
