// `npm run bench`: ours vs plain casbin (CommonJS build, enforceSync, same model and data), one run,
// side by side with ratios. Each measurement runs in a fresh process. Never gated in CI.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writePolicy } from '../src/policy/store.js';
import { syntheticPolicy } from './data.js';
import { httpBench } from './http.js';
import type { MiddlewareResult } from './middleware.js';

const sizes = (process.env['BENCH_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
const root = join(import.meta.dirname, '..', '.bench');
const scripts: Record<string, string> = { apply: 'apply.ts', sync: 'sync.ts' };
const child = (task: string, users: number, dir: string) =>
  JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(import.meta.dirname, scripts[task] ?? 'child.ts'),
        ...(scripts[task] ? [] : [task]),
        String(users),
        dir,
      ],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
      },
    )
      .trim()
      .split('\n')
      .pop()!,
  );
const f = (x: number, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d });
const us = (x: number) => (x >= 1000 ? `${f(x / 1000, 1)} ms` : `${f(x, 2)} µs`);
const rows: string[][] = [];
const row = (...c: string[]) => rows.push(c);

console.log(`node ${process.version}; casbin CommonJS build, enforceSync; times are from this one run\n`);
for (const users of sizes) {
  const dir = join(root, String(users));
  mkdirSync(dir, { recursive: true });
  const policy = syntheticPolicy(users);
  await writePolicy(dir, policy);
  const label = `${f(users / 1000, 0)}k users (${f(policy.rules.length, 0)} p, ${f(policy.links.length, 0)} g)`;
  const lo = child('load-ours', users, dir);
  const lc = child('load-casbin', users, dir);
  row(
    label,
    'load policy.csv → ready',
    `${f(lo.ms, 0)} ms, ${lo.rssMB} MB RSS`,
    `${f(lc.ms, 0)} ms, ${lc.rssMB} MB RSS`,
    `${f(lc.ms / lo.ms, 1)}x faster`,
  );
  const u = child('uncached', users, dir);
  row(
    label,
    'uncached allow p50 / p99',
    `${us(u.oursAllow.p50)} / ${us(u.oursAllow.p99)}`,
    `${us(u.casbinAllow.p50)} / ${us(u.casbinAllow.p99)}`,
    `${f(u.casbinAllow.p99 / u.oursAllow.p99, 0)}x (p99)`,
  );
  row(
    label,
    'uncached deny p50 / p99',
    `${us(u.oursDeny.p50)} / ${us(u.oursDeny.p99)}`,
    `${us(u.casbinDeny.p50)} / ${us(u.casbinDeny.p99)}`,
    `${f(u.casbinDeny.p99 / u.oursDeny.p99, 0)}x (p99)`,
  );
  const c = child('cached', users, dir);
  row(
    label,
    'cached enforce (warm, 10k hot keys), median (best) of 7 batches',
    `${f(c.oursPerSec / 1e6, 2)} (${f(c.bestPerSec / 1e6, 2)}) M/s, hit ${f(c.hitRate * 100, 1)}%`,
    `${f(c.casbinPerSec, 0)} /s (no cache)`,
    `${f(c.oursPerSec / c.casbinPerSec, 0)}x`,
  );
  row(label, 'differential check vs casbin', `${u.disagreements} disagreements of ${u.checked}`, '', '');
}
if (sizes.includes(100_000) && process.env['BENCH_APPLY'] !== '0') {
  const a = child('apply', 100_000, join(root, '100000'));
  row(
    '100k users',
    `apply one user's 60 changed rules (+ cache invalidation) p50 / p99 / max of ${f(a.oneSamples, 0)}`,
    `${f(a.oneMedianMs, 3)} / ${f(a.oneP99Ms, 3)} / ${f(a.oneMaxMs, 1)} ms (${a.gcPauses} GC pauses, longest ${f(a.gcMaxMs, 1)} ms)`,
    `${f(a.casbinAddMs, 0)} ms addPolicies, ${f(a.casbinRemoveMs, 0)} ms removePolicies`,
    `${f(a.casbinAddMs / a.oneMedianMs, 0)}x (add, p50)`,
  );
  row(
    '100k users',
    `diff + apply touching ${f(a.touched, 0)} users (${f(a.changes, 0)} changes)`,
    `${f(a.diffMs + a.applyMs, 0)} ms (diff ${f(a.diffMs, 0)}, apply ${f(a.applyMs, 0)})`,
    'one user at a time: quadratic (~9 min for 100k users, reference)',
    '',
  );
}
if (process.env['BENCH_REVERSE'] !== '0') {
  // Reverse queries (issue 15, bench/reverse.ts) at 100k users, on the policy written above when
  // the sizes include 100k; casbin's own helpers as the peer (see the notes in reverse.ts).
  const dir = join(root, '100000');
  const args = ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'reverse.ts'), '100000'];
  const rv = JSON.parse(
    execFileSync(process.execPath, sizes.includes(100_000) ? [...args, dir] : args, {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    })
      .trim()
      .split('\n')
      .pop()!,
  );
  const ms = (x: number) => `${f(x, x < 1 ? 3 : 1)} ms`;
  row(
    '100k users',
    `whoCan on ${rv.target.obj} ${rv.target.act} (${f(rv.target.n, 0)} people, ${f(rv.target.share * 100, 0)}%) p50 / p99 of ${rv.whoCan.n} (CPU p99)`,
    `${ms(rv.whoCan.p50)} / ${ms(rv.whoCan.p99)} (${ms(rv.whoCan.cpu.p99)}); ${rv.disagreements} disagreements with enforce`,
    `getImplicitUsersForPermission ≈ ${f(rv.casbinWhoCan.estimatedMs / 1000, 0)} s (est.: ${f(rv.casbinWhoCan.subjects, 0)} subjects × enforce p50 ${ms(rv.casbinWhoCan.enforceP50Ms)})`,
    `≈${f(rv.casbinWhoCan.estimatedMs / rv.whoCan.p99, 0)}x (p99, est.)`,
  );
  row(
    '100k users',
    `whatCan for one person (${f(rv.meanPermissions, 0)} permissions) p50 / p99 of ${f(rv.whatCan.n, 0)} (CPU p99)`,
    `${ms(rv.whatCan.p50)} / ${ms(rv.whatCan.p99)} (${ms(rv.whatCan.cpu.p99)})`,
    `getImplicitPermissionsForUser (rows, no deny or window applied) ${ms(rv.casbinWhatCan.p50)} / ${ms(rv.casbinWhatCan.p99)}`,
    `${f(rv.casbinWhatCan.p99 / rv.whatCan.p99, 1)}x (p99)`,
  );
}
if (process.env['BENCH_OBSERVE'] !== '0') {
  // Cached enforce with the decision log at 1% and metrics on (issue 15, bench/observe.ts): each
  // setup in a process of its own, alternating; the peer is the same authorizer without them.
  const users = sizes.includes(100_000) ? 100_000 : sizes.at(-1)!;
  const dir = join(root, String(users));
  const o = JSON.parse(
    execFileSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'observe.ts'), String(users), dir],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    )
      .trim()
      .split('\n')
      .pop()!,
  );
  const none = o.perSec['none'];
  for (const setup of ['metrics', 'log 1%', 'log 1% + metrics']) {
    row(
      `${f(users / 1000, 0)}k users`,
      `cached enforce (10k hot keys) with ${setup === 'metrics' ? 'metrics on' : setup === 'log 1%' ? 'the decision log at 1%' : 'the decision log at 1% and metrics on'}, median of 9 processes on one core`,
      `${f(o.perSec[setup] / 1e6, 2)} M/s`,
      `${f(none / 1e6, 2)} M/s without (same run)`,
      `${f(o.perSec[setup] / none, 2)} of without`,
    );
  }
}
if (process.env['BENCH_SYNC'] !== '0') {
  execFileSync('npm', ['run', 'build'], { stdio: 'ignore' }); // the sync bench runs the compiled CLI
  const rate = Number(process.env['BENCH_SYNC_RATE'] ?? 200);
  for (const n of (process.env['BENCH_SYNC_USERS'] ?? '1000,10000').split(',').map(Number)) {
    const s = child('sync', n, String(rate));
    const busiest = s.vendors.reduce((a: { sent: number }, b: { sent: number }) => (b.sent > a.sent ? b : a));
    const absorbed = s.vendors.reduce((t: number, v: { rateLimited: number }) => t + v.rateLimited, 0);
    row(
      `sync ${f(n / 1000, 0)}k users/vendor`,
      `emulator limit = client budget = ${rate} req/s per vendor`,
      `${s.ok ? 'ok' : 'FAILED'} in ${f(s.seconds, 1)} s; ${busiest.vendor} ${f(busiest.sent / s.seconds, 0)} req/s = ${f((100 * busiest.sent) / s.seconds / rate, 0)}% of budget; ${absorbed} 429s absorbed`,
      `CLI process: peak RSS ${s.maxRssMB} MB, heap peak ${s.peakHeapMB} MB, live after GC ${s.liveHeapMB} MB; again with nothing changed: ${s.again.maxRssMB} MB, heap peak ${s.again.peakHeapMB} MB`,
      '',
    );
  }
}
if (process.env['BENCH_MIDDLEWARE'] !== '0') {
  // The middleware's own cost per request without HTTP (bench/middleware.ts), in a fresh process.
  const results: MiddlewareResult[] = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'middleware.ts')], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    })
      .trim()
      .split('\n')
      .pop()!,
  );
  for (const m of results) {
    for (const v of m.variants) {
      row(
        `${m.framework === 'koa' ? 'Koa 3' : 'Express 5'} hello world`,
        `in-process CPU ns/request (no HTTP), median of ${m.rounds} interleaved batches of ${f(m.requests, 0)}`,
        `${v.overhead < 0 ? '' : '+'}${f(v.overhead, 0)} ns per request with ${v.label} (paired)`,
        `${f(m.bare, 0)} ns bare app`,
        `${v.ratio.toFixed(2)} of bare (paired)`,
      );
    }
  }
}
if (process.env['BENCH_HTTP'] !== '0') {
  for (const h of await httpBench()) {
    const range = (xs: number[]) => `${f(Math.min(...xs) / 1000, 1)}k–${f(Math.max(...xs) / 1000, 1)}k`;
    row(
      `${h.framework === 'koa' ? 'Koa 3' : 'Express 5'} hello world`,
      `HTTP req/s, autocannon 50 conns, best of ${h.bareRuns.length} alternating runs (range)`,
      `${f(h.authz, 0)} req/s with authorize(), metrics on (${range(h.authzRuns)})`,
      `${f(h.bare, 0)} req/s bare app (${range(h.bareRuns)})`,
      `${f(h.authz / h.bare, 2)} of bare (paired median ${f(h.pairedRatio, 2)})`,
    );
  }
}
if (process.env['BENCH_LOAD'] !== '0') {
  // Load test (issue 12, bench/load.ts): the example Express app at saturation while a sync applies
  // changes every second. It prints its own summary; any 5xx or wrong decision fails the bench.
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'load.ts')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const lines = run.stdout.trim().split('\n');
  console.log(`${lines.slice(0, -1).join('\n')}\n`);
  let l: Record<string, number> & { ok?: boolean; problems?: string[] } = {};
  try {
    l = JSON.parse(lines.at(-1) ?? '{}');
  } catch {}
  if (run.status !== 0 || !l.ok) process.exitCode = 1;
  row(
    'load: Express app + sync every 1 s',
    `${l.seconds ?? '?'} s at saturation (autocannon ${l.connections ?? '?'} conns, no rate cap), ${f(l.people ?? 0, 0)} people per vendor`,
    l.ok
      ? `${f(l.reqPerSec!, 0)} req/s, p99 ${f(l.p99!, 0)} ms, ${l.s5xx} 5xx, ${l.wrong} wrong of ${f(l.checked!, 0)} checked (${l.straddling} straddling), ${l.syncs} syncs`
      : `FAILED (exit ${run.status}): ${(l.problems ?? ['no result']).join(', ')}`,
    l.ok ? `syncs ${f(l.syncMeanMs! / 1000, 1)} s each under load (${f(l.syncIdleMs!, 0)} ms idle)` : '',
    '',
  );
}
if (process.env['BENCH_STORE'] !== '0') {
  // The PostgreSQL store at 100k users (bench/store.ts; needs PostgreSQL and Redis): the peer column
  // holds the file store here, not casbin. Its own table goes to stdout, its rows end up in this one.
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(import.meta.dirname, 'store.ts')],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
  );
  let s: { rows?: string[][]; ok?: boolean } = {};
  try {
    s = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
  } catch {}
  if (run.status !== 0 || !s.ok) process.exitCode = 1;
  if (!s.rows) row('PostgreSQL store', 'bench/store.ts', `FAILED (exit ${run.status})`, '', '');
  for (const r of s.rows ?? []) row(r[0]!, `store: ${r[1]}`, r[2]!, r[3] ? `file store: ${r[3]}` : '', r[4]!);
}
const header = ['data', 'measure', 'rbac-normalizer', 'plain casbin', 'ours vs casbin'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
console.log(
  '\nTargets: cached >= 5 M/s; uncached p99 <= 20 µs at 100k users; load 100k users <= 1 s and <= 300 MB RSS; middleware >= 0.9 of the bare app req/s; one user change <= 1 ms and a 10k-user diff <= 2 s at 100k users; sync >= 90% of the budget, <= 200 MB at 10k users.',
);
