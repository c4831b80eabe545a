// The app under load for bench/load.ts, in its own process: `load-server.ts <people>`, forked with an
// IPC channel. It forks the vendor emulator (load-emulator.ts: seeded data for <people> people per
// vendor), makes a workspace for it (mappings, identities, config), runs a first full sync, and
// serves the example app's routes (examples/app/server.ts: Express 5, authorize() with the same
// options) from an authorizer built as the example builds it. Messages: it sends { type: 'ready',
// port, templates }; on 'start' a sync loop begins (a tick each second, or right after the previous
// one when it took longer: the emulator changes 12 people's data, then a sync refreshes those people
// and applies the difference to the live authorizer; never two at once); on 'stop' the loop ends,
// every recorded response is checked against plain casbin over the policy in force when it was
// decided, and { type: 'result', ... } is sent.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Enforcer } from 'casbin';
import express, { type Request } from 'express';
import { createAuthorizer } from '../src/authorizer.js';
import { emulatorConfig } from '../src/cli/emulate.js';
import { loadConfig } from '../src/config.js';
import type { PolicyChange } from '../src/engine/authorizer.js';
import { loadIdentities } from '../src/identities.js';
import { loadMappings } from '../src/mapping/load.js';
import { authorize } from '../src/middleware/express.js';
import type { RouteTable } from '../src/middleware/routes.js';
import { createCasbinEnforcer } from '../src/policy/casbin.js';
import { MODEL_TEXT } from '../src/policy/model.js';
import { readPolicy } from '../src/policy/store.js';
import { formatNow } from '../src/policy/time.js';
import { linkKey, type Policy, type PolicyRule, ruleKey } from '../src/policy/types.js';
import { runSync, type SyncContext } from '../src/sync/run.js';
import { rng } from '../test/helpers/random.js';
import type { Mutated } from './load-emulator.js';

/** One request the client sends: [x-user, method, path]. */
export type Template = [string, string, string];

export interface LoadServerResult {
  type: 'result';
  responses: number;
  statuses: Record<string, number>;
  /** Distinct (status, user, method, path, version range) checked against the oracle. */
  distinct: number;
  wrong: number;
  wrongExamples: string[];
  /** Of `distinct`, answers the policy at the start of the run would have given otherwise (a sync changed them). */
  changedSinceStart: number;
  /** Inside the app: from its first middleware to the response's 'finish', ms. */
  handling: { p50: number; p99: number; max: number };
  /** The app process's event-loop delay during the run, ms. */
  eventLoopDelay: { p50: number; p99: number; max: number };
  /** Responses during which a sync was applied (between the request's arrival and its response). */
  straddling: number;
  /** Decisions not made synchronously inside authorize() (checked against every version in range). */
  asyncDecisions: number;
  versions: number;
  syncs: {
    runs: number;
    changes: number;
    meanMs: number;
    /** The same tick (12 people changed, then refreshed) on the idle app before the run, mean of 3. */
    idleMs: number;
    maxMs: number;
    /** Ticks whose mutate + sync took longer than the 1 s period (the next one started late). */
    overran: number;
    notOk: number;
    errors: string[];
  };
  oracle: {
    enforcers: number;
    casbinCalls: number;
    ms: number;
    partitionChecked: number;
    partitionDisagreements: number;
  };
  /** After the run: a full sync (dry run) of every vendor; 0 = the live policy is what the vendors say. */
  final: { ok: boolean; pendingChanges: number; liveEqualsFiles: boolean; ms: number };
}

/** The example app's route table (examples/app/server.ts), unchanged. */
const routes: RouteTable = {
  'GET /recordings/:id': 'zoom:recording',
  'PUT /recordings/:id': { resource: 'zoom:recording', action: 'edit' },
  'GET /groups/:groupId': 'vonage:group:{groupId}',
  'PUT /groups/:groupId': 'vonage:group:{groupId}',
  'POST /devices/:permissionId/commands': { resource: 'tuya:permission:{permissionId}', action: 'use' },
};

const people = Number(process.argv[2] ?? 500);
const PERIOD_MS = 1000;
const send = (m: object) => process.send!(m);

// The vendors, in their own process.
const emulator: ChildProcess = fork(join(import.meta.dirname, 'load-emulator.ts'), [String(people)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
let closing = false;
emulator.once('exit', (code) => {
  if (closing) return;
  console.error(`load-server: the emulator exited (${String(code)})`);
  process.exit(1);
});
const [hello] = (await once(emulator, 'message')) as [{ url: string; identities: string }];
const pending = new Map<number, (m: Mutated) => void>();
emulator.on('message', (m: Mutated) => pending.get(m.tick)?.(m));
const mutate = (tick: number) =>
  new Promise<Mutated>((resolve) => {
    pending.set(tick, resolve);
    emulator.send({ type: 'mutate', tick });
  });

// A workspace like test/helpers/emulator.ts syncWorkspace(), with the seeded people's identities.
const dir = await mkdtemp(join(tmpdir(), 'rbac-bench-load-'));
await cp(join(import.meta.dirname, '..', 'mappings'), join(dir, 'mappings'), { recursive: true });
await writeFile(join(dir, 'identities.yaml'), hello.identities);
const configFile = join(dir, 'rbac.config.yaml');
// A client budget well above what a refresh of a dozen people needs: the sync is never held back by it.
const vendors = emulatorConfig(hello.url).replace(/ }$/gm, ', perSecond: 1000 }');
await writeFile(
  configFile,
  `policies: policies/\nmappings: mappings/\nidentities: identities.yaml\n${vendors}\n`,
);
const config = await loadConfig(configFile);

// First sync: files only (what `rbac-normalizer sync` does before the app starts).
const t0 = performance.now();
const first = await runSync({
  config,
  mappings: await loadMappings(config.mappings),
  identities: await loadIdentities(config.identities),
});
if (!first.ok) throw new Error(`the first sync failed: ${JSON.stringify(first.vendors)}`);
const firstSyncMs = performance.now() - t0;

// The app's authorizer, as the example app builds it.
const authz = await createAuthorizer({ config: configFile });

// The sync's view of the authorizer: applyChanges bumps `version` right after the engine applied the
// change (nothing runs in between: both are synchronous) and keeps the policy then in force.
let version = 0;
const snapshots: Policy[] = [authz.getPolicy()];
const live: NonNullable<SyncContext['authorizer']> = {
  getPolicy: () => authz.getPolicy(),
  setStale: (s) => authz.setStale(s),
  applyChanges(change: PolicyChange) {
    const r = authz.applyChanges(change);
    version++;
    snapshots.push(authz.getPolicy());
    return r;
  },
};
const syncContext: SyncContext = {
  config,
  mappings: authz.mappings,
  identities: authz.identities,
  authorizer: live,
};

// What the app answered: (status, user, method, path, versions in force when it was decided) → count.
const seen = new Map<string, number>();
const statuses: Record<string, number> = {};
/** Time from the app's first middleware to the response's 'finish', ns. */
const handling = createHistogram();
let recording = false;
let responses = 0;
let straddling = 0;
let asyncDecisions = 0;
const decidedAt = new WeakMap<Request, number>();
const asyncDecided = new WeakSet<Request>();

const app = express();
app.use((req, res, next) => {
  if (!recording) return next();
  const arrived = version;
  const t = process.hrtime.bigint();
  res.once('finish', () => {
    handling.record(Number(process.hrtime.bigint() - t) || 1);
    const end = version;
    if (end !== arrived) straddling++;
    // authorize() decides synchronously here (the request functions are): the version current when
    // it was called is the policy the decision was made on. Otherwise, any version up to the finish.
    const at = decidedAt.get(req) ?? arrived;
    const hi = asyncDecided.has(req) || !decidedAt.has(req) ? end : at;
    const key = `${res.statusCode}\t${req.get('x-user')}\t${req.method}\t${req.path}\t${at}\t${hi}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
    responses++;
  });
  next();
});
const authorizeMw = authorize({
  authorizer: authz,
  routes,
  decisionHeader: true,
  subject: (req) => req.get('x-user'),
});
app.use((req, res, next) => {
  decidedAt.set(req, version);
  const out = authorizeMw(req, res, next);
  if (out instanceof Promise) {
    asyncDecided.add(req);
    asyncDecisions++;
  }
  return out;
});
app.use((_req, res) => {
  res.json({ ok: true, authorization: res.locals['authorization'] });
});
const server = createServer(app);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

// The request mix: per person, both /recordings routes, both /groups routes for each Vonage group
// they hold a rule on, their Tuya permissions, and a random group and device (mostly no rule).
const templates: Template[] = [];
{
  const r = rng(7);
  const byPerson = new Map<string, PolicyRule[]>();
  for (const rule of snapshots[0]!.rules) byPerson.set(rule.sub, [...(byPerson.get(rule.sub) ?? []), rule]);
  const added = new Set<string>();
  const add = (t: Template) => {
    if (added.has(t.join(' '))) return;
    added.add(t.join(' '));
    templates.push(t);
  };
  for (const id of authz.identities.keys()) {
    add([id, 'GET', `/recordings/${r.int(1000)}`]);
    add([id, 'PUT', `/recordings/${r.int(1000)}`]);
    for (const rule of byPerson.get(id) ?? []) {
      const g = /^vonage:group:(.+)$/.exec(rule.obj)?.[1];
      if (g) {
        add([id, 'GET', `/groups/${g}`]);
        add([id, 'PUT', `/groups/${g}`]);
      }
      const t = /^tuya:permission:(.+)$/.exec(rule.obj)?.[1];
      if (t) add([id, 'POST', `/devices/${t}/commands`]);
    }
    add([id, 'GET', `/groups/g-${r.int(50)}`]);
    add([id, 'POST', `/devices/${232371800 + r.int(100)}/commands`]);
  }
  for (let i = templates.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [templates[i], templates[j]] = [templates[j]!, templates[i]!];
  }
}

// Each second: the vendors change, then a sync refreshes the people who changed. Never two at once.
const eld = monitorEventLoopDelay({ resolution: 10 });
const syncStats = { runs: 0, changes: 0, totalMs: 0, maxMs: 0, overran: 0, notOk: 0, errors: [] as string[] };
let stopping = false;
let loop: Promise<void> | undefined;
let tick = 0;
/** One tick: the vendors change, then a sync refreshes those people. Returns its duration, ms. */
async function syncOnce(): Promise<number> {
  const start = performance.now();
  const { people: changed } = await mutate(++tick);
  if (recording) send({ type: 'hot', people: changed }); // the client asks about them more often
  try {
    const s = await runSync(syncContext, { users: changed, diffLimit: 0 });
    const c = s.changes;
    syncStats.changes += c.addRules + c.removeRules + c.addLinks + c.removeLinks;
    if (!s.ok) syncStats.notOk++;
  } catch (err) {
    syncStats.errors.push((err as Error).message);
  }
  return performance.now() - start;
}
async function syncLoop() {
  while (!stopping) {
    const ms = await syncOnce();
    syncStats.runs++;
    syncStats.totalMs += ms;
    syncStats.maxMs = Math.max(syncStats.maxMs, ms);
    if (ms > PERIOD_MS) syncStats.overran++;
    else if (!stopping) await sleep(PERIOD_MS - ms);
  }
}
// The same tick with no load, for comparison (and to warm the sync path up): the mean of three.
let idleSyncMs = 0;
for (let i = 0; i < 3; i++) idleSyncMs += (await syncOnce()) / 3;
Object.assign(syncStats, { changes: 0, notOk: 0 });
let startVersion = 0;

process.on('message', (m: { type: string }) => {
  if (m.type === 'start') {
    recording = true;
    startVersion = version;
    eld.enable();
    // BENCH_LOAD_SYNC=0: the same run without the sync loop, for comparison.
    if (process.env['BENCH_LOAD_SYNC'] !== '0') loop = syncLoop();
    send({ type: 'started' });
  } else if (m.type === 'stop') {
    recording = false;
    eld.disable();
    stopping = true;
    void finish();
  }
});
send({ type: 'ready', port: (server.address() as { port: number }).port, templates, firstSyncMs, people });

async function finish() {
  await loop;
  server.closeAllConnections();
  server.close();
  const oracle = await verify();
  // Does the live policy say what the vendors say? A full sync, dry run, of everything.
  const f0 = performance.now();
  const final = await runSync(syncContext, { dryRun: true, diffLimit: 0 });
  const c = final.changes;
  const onDisk = await readPolicy(config.policies);
  const result: LoadServerResult = {
    type: 'result',
    responses,
    statuses,
    distinct: seen.size,
    ...oracle.check,
    handling: {
      p50: handling.percentile(50) / 1e6,
      p99: handling.percentile(99) / 1e6,
      max: handling.max / 1e6,
    },
    eventLoopDelay: { p50: eld.percentile(50) / 1e6, p99: eld.percentile(99) / 1e6, max: eld.max / 1e6 },
    straddling,
    asyncDecisions,
    versions: version - startVersion,
    syncs: {
      runs: syncStats.runs,
      changes: syncStats.changes,
      meanMs: syncStats.totalMs / Math.max(1, syncStats.runs),
      idleMs: idleSyncMs,
      maxMs: syncStats.maxMs,
      overran: syncStats.overran,
      notOk: syncStats.notOk,
      errors: syncStats.errors.slice(0, 5),
    },
    oracle: oracle.stats,
    final: {
      ok: final.ok,
      pendingChanges: c.addRules + c.removeRules + c.addLinks + c.removeLinks,
      liveEqualsFiles: samePolicy(authz.getPolicy(), onDisk),
      ms: performance.now() - f0,
    },
  };
  send(result);
  closing = true;
  emulator.send({ type: 'close' });
  await rm(dir, { recursive: true, force: true });
  process.disconnect();
}

function samePolicy(a: Policy, b: Policy): boolean {
  const keys = (p: Policy) => [...p.rules.map(ruleKey), ...p.links.map(linkKey)].sort().join('\n');
  return keys(a) === keys(b);
}

/** What the example app's routes ask for, read from the request independently of the middleware. */
function target(method: string, path: string): [string, string] | undefined {
  let m = /^\/recordings\/[^/]+$/.exec(path);
  if (m && method === 'GET') return ['zoom:recording', 'read'];
  if (m && method === 'PUT') return ['zoom:recording', 'edit'];
  m = /^\/groups\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return [`vonage:group:${m[1]}`, 'read'];
  if (m && method === 'PUT') return [`vonage:group:${m[1]}`, 'write'];
  m = /^\/devices\/([^/]+)\/commands$/.exec(path);
  if (m && method === 'POST') return [`tuya:permission:${m[1]}`, 'use'];
  return undefined;
}

/**
 * Checks every distinct response against plain casbin (`enforceSync`, the shipped model) over the
 * policy of the version(s) in force when it was decided. Casbin scans every `p` line per call (about
 * 20 ms at 500 people), so each call gets only the `p` lines for the asked resource, with every `g`
 * link: exact, since the model's matcher starts with `r.obj == p.obj &&` (checked below), and a
 * sample is re-checked against casbin over the whole policy. Enforcers and answers are memoized by
 * content (same lines, same question → same answer).
 */
async function verify() {
  const started = performance.now();
  const modelLine = /^m = (.*)$/m.exec(MODEL_TEXT)?.[1] ?? '';
  if (!modelLine.startsWith('r.obj == p.obj && '))
    throw new Error(`the model's matcher no longer starts with r.obj == p.obj: ${modelLine}`);
  if ((await readFile(join(config.policies, 'model.conf'), 'utf8')) !== MODEL_TEXT)
    throw new Error('the policies folder holds a model other than the shipped one');
  // The decision time: every windowed rule in the data spans days around the run.
  const nowIso = formatNow(Date.now());
  const ids = new Map<string, number>();
  const intern = (s: string) => {
    const id = ids.get(s) ?? ids.size;
    ids.set(s, id);
    return id;
  };
  const views = snapshots.map((p) => {
    const byObj = new Map<string, PolicyRule[]>();
    for (const r of p.rules) byObj.set(r.obj, [...(byObj.get(r.obj) ?? []), r]);
    return {
      policy: p,
      byObj,
      links: intern(p.links.map(linkKey).sort().join('\n')),
      parts: new Map<string, number>(),
    };
  });
  const enforcers = new Map<number, Enforcer>();
  const answers = new Map<string, boolean>();
  let casbinCalls = 0;
  async function oracle(v: number, sub: string, obj: string, act: string): Promise<boolean> {
    const view = views[v]!;
    let part = view.parts.get(obj);
    if (part === undefined) {
      const rules = view.byObj.get(obj) ?? [];
      part = intern(`${view.links}\n${rules.map(ruleKey).sort().join('\n')}`);
      view.parts.set(obj, part);
      if (!enforcers.has(part))
        enforcers.set(part, await createCasbinEnforcer({ rules, links: view.policy.links }));
    }
    const key = `${part}\t${sub}\t${act}`;
    let allowed = answers.get(key);
    if (allowed === undefined) {
      allowed = enforcers.get(part)!.enforceSync(sub, obj, act, nowIso);
      casbinCalls++;
      answers.set(key, allowed);
    }
    return allowed;
  }

  let wrong = 0;
  let changedSinceStart = 0;
  const wrongExamples: string[] = [];
  const checked: [number, string, string, string][] = [];
  for (const key of seen.keys()) {
    const [status, sub, method, path, lo, hi] = key.split('\t') as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const t = target(method, path);
    let ok = false;
    const expected: boolean[] = [];
    if (t) {
      for (let v = Number(lo); v <= Number(hi); v++) {
        const allowed = await oracle(v, sub, t[0], t[1]);
        expected.push(allowed);
        checked.push([v, sub, t[0], t[1]]);
        if (String(allowed ? 200 : 403) === status) ok = true;
      }
      if (ok && (await oracle(startVersion, sub, t[0], t[1])) !== (status === '200')) changedSinceStart++;
    }
    if (!ok) {
      wrong++;
      if (wrongExamples.length < 10)
        wrongExamples.push(
          `${sub} ${method} ${path} → ${status} at versions ${lo}..${hi}; casbin: ${expected.join(',')}`,
        );
    }
  }

  // The partition is exact by the matcher; still, re-ask a sample of casbin over whole policies.
  const r = rng(11);
  const full = new Map<number, Enforcer>();
  let partitionChecked = 0;
  let partitionDisagreements = 0;
  const versionsSampled = new Set(Array.from({ length: 4 }, () => r.pick(checked)?.[0]));
  const sample = checked.filter((c) => versionsSampled.has(c[0]));
  for (let i = 0; i < 150 && sample.length > 0; i++) {
    const [v, sub, obj, act] = r.pick(sample);
    if (!full.has(v)) full.set(v, await createCasbinEnforcer(snapshots[v]!));
    partitionChecked++;
    if (full.get(v)!.enforceSync(sub, obj, act, nowIso) !== (await oracle(v, sub, obj, act)))
      partitionDisagreements++;
  }
  return {
    check: { wrong, wrongExamples, changedSinceStart },
    stats: {
      enforcers: enforcers.size,
      casbinCalls,
      ms: performance.now() - started,
      partitionChecked,
      partitionDisagreements,
    },
  };
}
