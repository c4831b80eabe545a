// The PostgreSQL store at 100k users (`node --expose-gc --import tsx bench/store.ts`): load into an
// authorizer (fresh process), a 10k-user sync as one commit, propagation to 4 followers over Redis
// and over NOTIFY, catch-up after 1,000 missed commits, and full reloads in steady state; with the
// file store beside it where there is a peer. Needs PostgreSQL and Redis (BENCH_PG_URL,
// BENCH_REDIS_URL); uses a schema of its own and drops it. Prints a table, then one JSON line
// ({ rows, ok }) that bench/run.ts reads.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from 'pg';
import { createEngine } from '../src/engine/authorizer.js';
import { writePolicy } from '../src/policy/store.js';
import type { Policy, PolicyRule, RoleLink } from '../src/policy/types.js';
import {
  type ChangeTransport,
  createPgNotifyTransport,
  createPolicyFollower,
  createPostgresStore,
  createRedisTransport,
  type FollowEvent,
  type PolicyFollower,
  type PostgresStore,
  type StoreChange,
} from '../src/store/index.js';
import { syntheticPolicy } from './data.js';

const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const USERS = 100_000;
const CHANGED = 10_000;
const SMALL_COMMITS = Number(process.env['BENCH_STORE_COMMITS'] ?? 200);
const MISSED = 1000;
const FOLLOWERS = 4;
const OPEN = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const f = (x: number, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d });
const met = (ok: boolean) => (ok ? 'met' : 'NOT MET');

// --- child: `store.ts load pg <schema>` or `store.ts load file <dir>`; prints one JSON line -------
async function loadChild(kind: string, where: string) {
  gc();
  const t0 = performance.now();
  let rules = 0;
  if (kind === 'pg') {
    const store = createPostgresStore({ url: PG_URL, schema: where });
    const snap = await store.load();
    const readMs = performance.now() - t0;
    const authz = await createEngine({ policies: snap.policy, provenance: snap.provenance });
    rules = snap.policy.rules.length;
    if (!authz) throw new Error('no authorizer');
    const ms = performance.now() - t0;
    await store.close();
    return { ms, readMs, rules, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
  }
  const authz = await createEngine({ policies: where });
  const ms = performance.now() - t0;
  if (!authz) throw new Error('no authorizer');
  return { ms, rules, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

function child(kind: string, where: string): { ms: number; readMs?: number; peakRssMB: number } {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), 'load', kind, where],
    { encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

// --- the 10k-user sync: their rules and links replaced by modified ones ----------------------------
function tenKChange(policy: Policy): { change: StoreChange; next: Policy } {
  const changed = (s: string) => {
    const m = /^user(\d+)@example\.com$/.exec(s);
    return m !== null && Number(m[1]) < CHANGED;
  };
  const removeRules: PolicyRule[] = [];
  const addRules: PolicyRule[] = [];
  const keptRules: PolicyRule[] = [];
  for (const r of policy.rules) {
    if (!changed(r.sub)) {
      keptRules.push(r);
      continue;
    }
    removeRules.push(r);
    const g = /^vonage:group:(\d+)$/.exec(r.obj);
    // A group grant moves to the next group; a temporary grant is extended by a day.
    addRules.push(
      g ? { ...r, obj: `vonage:group:${(Number(g[1]) + 1) % 1000}` } : { ...r, until: r.until + 86_400_000 },
    );
  }
  // Users without rules of their own get one new group grant, so every one of the 10k changes.
  const withRules = new Set(removeRules.map((r) => r.sub));
  for (let u = 0; u < CHANGED; u++) {
    const sub = `user${u}@example.com`;
    if (!withRules.has(sub))
      addRules.push({ sub, obj: `vonage:group:${u % 1000}`, act: 'read', eft: 'allow', ...OPEN });
  }
  const removeLinks: RoleLink[] = [];
  const addLinks: RoleLink[] = [];
  const keptLinks: RoleLink[] = [];
  for (const l of policy.links) {
    if (!changed(l.member)) {
      keptLinks.push(l);
      continue;
    }
    removeLinks.push(l);
    addLinks.push({ member: l.member, role: `role:zoom:${(Number(l.role.split(':')[2]) + 1) % 50}` });
  }
  return {
    change: { removeRules, addRules, removeLinks, addLinks },
    next: { rules: [...keptRules, ...addRules], links: [...keptLinks, ...addLinks] },
  };
}

/** One user's rules replaced: the small commit of the propagation and catch-up measures. */
let smallN = 0;
function smallChange(): StoreChange {
  const u = 50_000 + (smallN % 40_000);
  const sub = `user${u}@example.com`;
  smallN++;
  return {
    removeRulesMatching: [{ sub }],
    addRules: [{ sub, obj: `vonage:group:${smallN % 1000}`, act: 'read', eft: 'allow', ...OPEN }],
  };
}

// --- followers ------------------------------------------------------------------------------------
interface Instance {
  readonly id: number;
  readonly store: PostgresStore;
  readonly transport: ChangeTransport;
  readonly follower: PolicyFollower;
  readonly authz: Awaited<ReturnType<typeof createEngine>>;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
};

async function main() {
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const channel = `bench_${randomBytes(6).toString('hex')}`;
  const tmp = mkdtempSync(join(tmpdir(), 'rbac-store-bench-'));
  const rows: string[][] = [];
  const row = (...c: string[]) => rows.push(c);
  let ok = true;
  const writer = createPostgresStore({ url: PG_URL, schema, changeLogRetention: 5000 });
  const notifyWriter = createPostgresStore({
    url: PG_URL,
    schema,
    notifyChannel: channel,
    changeLogRetention: 5000,
  });
  const publisher = createRedisTransport({ url: REDIS_URL, channel });
  const instances: Instance[] = [];
  // Reloads and applied versions per follower, counted from the callback.
  let reloads = 0;
  let counting = false;
  let onDelta: (i: number, version: number) => void = () => {};

  async function startFollower(
    i: number,
    transport: ChangeTransport,
    version?: number,
    authz?: Instance['authz'],
  ) {
    const store = createPostgresStore({ url: PG_URL, schema });
    const a = authz ?? (await createEngine({ policies: { rules: [], links: [] } }));
    const follower = await createPolicyFollower({
      store,
      authorizer: a,
      transport,
      pollMs: 60_000,
      ...(version === undefined ? {} : { version }),
      onApplied: (e: FollowEvent) => {
        if (e.kind === 'reload') {
          if (counting) reloads++;
        } else onDelta(i, e.delta.version);
      },
    });
    return { id: i, store, transport, follower, authz: a };
  }
  async function stopAll() {
    for (const x of instances.splice(0)) {
      await x.follower.close();
      await x.transport.close();
      await x.store.close();
    }
  }
  /** Commits, publishes (Redis) and resolves with ms from commit returned to the last follower applying. */
  async function commitAndWait(store: PostgresStore, change: StoreChange, publish: boolean) {
    let last = 0;
    const seen = new Set<number>();
    let target = Number.POSITIVE_INFINITY;
    let done!: () => void;
    let timer: NodeJS.Timeout | undefined;
    const all = new Promise<void>((resolve, reject) => {
      done = resolve;
      timer = setTimeout(
        () => reject(new Error(`followers did not apply version ${target} within 30 s`)),
        30_000,
      );
    });
    onDelta = (i, v) => {
      if (v < target) return;
      seen.add(i);
      last = performance.now();
      if (seen.size === instances.length) done();
    };
    const t0 = performance.now();
    const r = await store.commit(change);
    const t1 = performance.now();
    target = r.version;
    if (publish) await publisher.publish(r.message);
    // A delta applied before target was known (NOTIFY can beat commit()'s return): ask each follower.
    for (const x of instances) if (x.follower.freshness().version >= target) seen.add(x.id);
    if (seen.size === instances.length) {
      last = Math.max(last, performance.now());
      done();
    }
    await all.finally(() => clearTimeout(timer));
    return { commitMs: t1 - t0, propagationMs: last - t1, version: r.version };
  }

  try {
    await writer.migrate();
    const policy = syntheticPolicy(USERS);
    const label = `100k users (${f(policy.rules.length, 0)} p, ${f(policy.links.length, 0)} g)`;
    let t = performance.now();
    await writer.commit({ addRules: policy.rules, addLinks: policy.links });
    const seedMs = performance.now() - t;
    const fileDir = join(tmp, 'file');
    await writePolicy(fileDir, policy);
    console.error(`seeded ${schema} in ${f(seedMs, 0)} ms`);

    // 1. Load into an authorizer, in a fresh process.
    const lp = child('pg', schema);
    const lf = child('file', fileDir);
    const loadOk = lp.ms <= 1500 && lp.peakRssMB <= 300;
    ok &&= loadOk;
    row(
      label,
      'load → authorizer ready, fresh process (target <= 1.5 s, <= 300 MB peak RSS)',
      `${f(lp.ms, 0)} ms (store.load() ${f(lp.readMs ?? 0, 0)} ms), ${lp.peakRssMB} MB peak RSS: ${met(loadOk)}`,
      `${f(lf.ms, 0)} ms, ${lf.peakRssMB} MB peak RSS`,
      `${f(lp.ms / lf.ms, 1)}x the time`,
    );

    // 4 followers over Redis (each loads the policy at start; reloads are counted from here on).
    for (let i = 0; i < FOLLOWERS; i++)
      instances.push(await startFollower(i, createRedisTransport({ url: REDIS_URL, channel })));
    counting = true;

    // 2. A sync changing 10k users, as one commit (then carried to the 4 followers).
    const { change, next } = tenKChange(policy);
    const big = await commitAndWait(writer, change, true);
    const nextDir = join(tmp, 'file-next');
    await writePolicy(nextDir, policy); // same starting point as the store: the old policy on disk
    gc();
    t = performance.now();
    await writePolicy(nextDir, next);
    const fileWriteMs = performance.now() - t;
    const bigOk = big.commitMs <= 3000;
    ok &&= bigOk;
    const n = (change.removeRules?.length ?? 0) + (change.addRules?.length ?? 0);
    const m = (change.removeLinks?.length ?? 0) + (change.addLinks?.length ?? 0);
    row(
      label,
      `sync changing 10k users as one commit (${f(n, 0)} rule + ${f(m, 0)} link changes) (target <= 3 s)`,
      `${f(big.commitMs, 0)} ms: ${met(bigOk)}; applied by 4 followers ${f(big.propagationMs, 0)} ms later`,
      `${f(fileWriteMs, 0)} ms writing the new policy`,
      `${f(big.commitMs / fileWriteMs, 1)}x the time`,
    );

    // 3. Propagation, Redis.
    const propagate = async (store: PostgresStore, publish: boolean, name: string) => {
      const samples: number[] = [];
      const commits: number[] = [];
      for (let k = 0; k < 10; k++) await commitAndWait(store, smallChange(), publish); // warm-up
      for (let k = 0; k < SMALL_COMMITS; k++) {
        const r = await commitAndWait(store, smallChange(), publish);
        samples.push(r.propagationMs);
        commits.push(r.commitMs);
      }
      const p99 = pct(samples, 0.99);
      const good = p99 <= 50;
      ok &&= good;
      row(
        label,
        `${name}: commit returned → last of 4 followers applied, p50 / p99 of ${SMALL_COMMITS} one-user commits (target p99 <= 50 ms)`,
        `${f(pct(samples, 0.5), 1)} / ${f(p99, 1)} ms: ${met(good)} (commit itself p50 ${f(pct(commits, 0.5), 1)} ms)`,
        '',
        '',
      );
    };
    await propagate(writer, true, 'propagation over Redis');

    // 4. Catch-up: one follower stops, 1,000 commits, then a new follower from the version it held.
    const gone = instances.shift()!;
    const held = gone.follower.freshness().version;
    await gone.follower.close();
    await gone.transport.close();
    await gone.store.close();
    let head = 0;
    for (let k = 0; k < MISSED; k++) head = (await commitAndWait(writer, smallChange(), true)).version;
    t = performance.now();
    const back = await startFollower(0, createRedisTransport({ url: REDIS_URL, channel }), held, gone.authz);
    await back.follower.waitForVersion(head);
    const catchUpMs = performance.now() - t;
    instances.unshift(back);
    const catchOk = catchUpMs <= 1000 && back.follower.freshness().version >= head;
    ok &&= catchOk;
    row(
      label,
      `catch-up of a new follower after ${f(MISSED, 0)} missed commits (target <= 1 s)`,
      `${f(catchUpMs, 0)} ms (version ${held} → ${head}): ${met(catchOk)}`,
      '',
      '',
    );
    await stopAll();

    // 3. Propagation, NOTIFY (the writer's commit notifies in its transaction).
    counting = false;
    for (let i = 0; i < FOLLOWERS; i++)
      instances.push(await startFollower(i, createPgNotifyTransport({ url: PG_URL, channel })));
    counting = true;
    await propagate(notifyWriter, false, 'propagation over NOTIFY');
    await stopAll();

    // 5. Full reloads in steady state.
    ok &&= reloads === 0;
    row(
      label,
      'full reloads by followers during the 10k sync, propagation and catch-up (target 0)',
      `${reloads}: ${met(reloads === 0)}`,
      '',
      '',
    );
  } finally {
    await stopAll().catch(() => {});
    await publisher.close().catch(() => {});
    await writer.close().catch(() => {});
    await notifyWriter.close().catch(() => {});
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await c.end();
    rmSync(tmp, { recursive: true, force: true });
  }
  const header = ['data', 'measure', 'PostgreSQL store', 'file store', 'PostgreSQL vs file'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(header));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  console.log(JSON.stringify({ rows, ok }));
  if (!ok) process.exitCode = 1;
}

if (process.argv[2] === 'load') {
  console.log(JSON.stringify(await loadChild(process.argv[3]!, process.argv[4]!)));
} else {
  await main();
}
