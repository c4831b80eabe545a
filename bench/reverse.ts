// Reverse queries (issue 15) in a fresh process: `reverse.ts [users] [dir]` (default 100k users; the
// policy folder run.ts wrote, else .bench/reverse-<users>, written here) prints one JSON line.
// whoCan on the (resource, action) whose audience is closest to 20% of people, and whatCan for one
// person, p50/p99, beside casbin's own reverse helpers on the same policy:
// - getImplicitPermissionsForUser: the person's rows and their roles' rows, with no deny or window
//   applied (less than whatCan answers, so a lower bound for a casbin-based whatCan);
// - getImplicitUsersForPermission(obj, act, now): one enforce() per subject of the policy; far too
//   slow to run at this size, so its time is extrapolated from the mean of a sample of enforce calls.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createEngine } from '../src/engine/authorizer.js';
import { createCasbinEnforcer } from '../src/policy/casbin.js';
import { writePolicy } from '../src/policy/store.js';
import { formatNow } from '../src/policy/time.js';
import { rng } from '../test/helpers/random.js';
import { ACTS, AREAS, syntheticPolicy } from './data.js';

const users = Number(process.argv[2] ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const hr = () => Number(process.hrtime.bigint()) / 1e6;

function stats(samples: number[]) {
  samples.sort((a, b) => a - b);
  const p = (x: number) => samples[Math.min(samples.length - 1, Math.floor(samples.length * x))]!;
  return { n: samples.length, p50: p(0.5), p99: p(0.99), max: samples[samples.length - 1]! };
}

/**
 * Times `fn` (ms per call) for at least `minN` calls and until `budgetMs` is spent, at most `maxN`:
 * wall time, and the process's CPU time per call (on a shared VM the two differ by the wait for a
 * core). A full GC first, then `warm` calls not measured: right after a full GC V8's young
 * generation is small and grows back over the next calls, which is the GC we forced, not the query.
 */
async function time(fn: (i: number) => unknown, budgetMs: number, minN: number, maxN: number, warm = 0) {
  const wall: number[] = [];
  const cpu: number[] = [];
  gc();
  for (let i = 0; i < warm; i++) await fn(maxN + i);
  const start = hr();
  for (let i = 0; (hr() - start < budgetMs || wall.length < minN) && wall.length < maxN; i++) {
    const c0 = process.cpuUsage();
    const t0 = hr();
    const pending = promiseOf(fn(i));
    if (pending !== undefined) await pending;
    wall.push(hr() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ...stats(wall), cpu: stats(cpu) };
}

/**
 * `r` if it is a promise. The loop keeps only this, not the answer: an answer held in a local until
 * the next call is still reachable when a young-generation GC falls in that call, which then copies
 * it too (for whoCan at 100k users, ~19k objects more: p99 12 ms instead of 5-7 ms on the VM). That
 * is a cost of this loop holding the last answer, not of the query.
 */
function promiseOf(r: unknown): Promise<unknown> | undefined {
  return r instanceof Promise ? r : undefined;
}

const dir = process.argv[3] ?? join(import.meta.dirname, '..', '.bench', `reverse-${users}`);
const policy = syntheticPolicy(users);
// Loaded from policy.csv, as a deployment loads it (names are then flat strings, not concatenations).
if (process.argv[3] === undefined || !existsSync(join(dir, 'policy.csv'))) await writePolicy(dir, policy);
const now = Date.now();
const load0 = loadavg()[0]!;
const authz = await createEngine({ policies: dir, cache: false, clock: { now: () => now } });
const people = new Set(policy.links.map((l) => l.member));
for (const r of policy.rules) if (!r.sub.startsWith('role:')) people.add(r.sub);

// The (resource, action) reached by the share of people closest to 20% (this also warms the code up).
let target = { obj: AREAS[0]!, act: ACTS[0]!, n: 0 };
for (const obj of AREAS)
  for (const act of ACTS) {
    const n = authz.whoCan(obj, act).subjects.length;
    if (Math.abs(n / people.size - 0.2) < Math.abs(target.n / people.size - 0.2)) target = { obj, act, n };
  }

// Answers checked against enforce on a sample, so the timings are of a correct answer.
const r = rng(15);
const listed = new Set(authz.whoCan(target.obj, target.act).subjects.map((s) => s.subject));
let disagreements = 0;
const sample = 2000;
for (let i = 0; i < sample; i++) {
  const u = `user${r.int(users)}@example.com`;
  if (authz.enforce(u, target.obj, target.act) !== listed.has(u)) disagreements++;
  const what = authz.whatCan(u);
  for (const p of what.permissions.slice(0, 5)) if (!authz.enforce(u, p.resource, p.action)) disagreements++;
}

const whoCan = await time(() => authz.whoCan(target.obj, target.act), 4000, 200, 1000, 30);
const person = (i: number) => `user${(i * 7919) % users}@example.com`;
const whatCan = await time((i) => authz.whatCan(person(i)), 2000, 1000, 50_000, 1000);
let permissions = 0;
for (let i = 0; i < 500; i++) permissions += authz.whatCan(person(i)).permissions.length;

const casbin = await createCasbinEnforcer(dir);
const nowIso = formatNow(now);
const CASBIN_WARM = 5;
let rows = 0;
const casbinWhatCan = await time(
  async (i) => {
    rows += (await casbin.getImplicitPermissionsForUser(person(i))).length;
  },
  3000,
  20,
  2000,
  CASBIN_WARM,
);
// getImplicitUsersForPermission enforces once per subject of the policy (p subjects and g members).
const subjects = new Set<string>([...people, ...policy.rules.map((x) => x.sub)]);
const enforce = await time(
  (i) => casbin.enforceSync(person(i), target.obj, target.act, nowIso),
  3000,
  10,
  200,
);
const enforceP50 = enforce.p50;

console.log(
  JSON.stringify({
    users,
    loadAverage: [load0, loadavg()[0]],
    people: people.size,
    target: { ...target, share: target.n / people.size },
    disagreements,
    checked: sample,
    whoCan,
    whatCan,
    meanPermissions: permissions / 500,
    casbinWhatCan,
    casbinRowsPerUser: rows / (casbinWhatCan.n + CASBIN_WARM),
    casbinWhoCan: {
      estimatedMs: subjects.size * enforceP50,
      subjects: subjects.size,
      enforceP50Ms: enforceP50,
      enforceSamples: enforce.n,
    },
  }),
);
