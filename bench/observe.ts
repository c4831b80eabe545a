// Cached enforce with observability on (issue 15): `observe.ts <users> <dir>` prints one JSON line.
// Four setups over the same policy folder: none, metrics (a prom-client registry), the decision log
// at 1% sampling (JSON lines to a temporary file), and both. Each runs in a process of its own, as
// a deployment would (one authorizer per process: several in one process share JIT-compiled code
// and slow each other down in ways no deployment sees), over the same 10k hot keys with a warm
// cache; the setups alternate over ROUNDS rounds, all on one core, and the median of each is kept, so a
// noisy neighbour on the VM hits every setup alike. Each process runs V8 single-threaded (below).
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { type CreateAuthorizerOptions, createAuthorizer } from '../src/authorizer.js';
import { rng } from '../test/helpers/random.js';
import { ACTS, AREAS } from './data.js';

const SETUPS = ['none', 'metrics', 'log 1%', 'log 1% + metrics'] as const;
const ROUNDS = 9;
/** Batches (400k calls each) run before the 7 that are measured. */
const WARM = 5;

/** `taskset -c <last core>` when taskset runs here, else undefined. */
function pinning(): string[] | undefined {
  const last = availableParallelism() - 1;
  try {
    execFileSync('taskset', ['-c', String(last), 'true'], { stdio: 'ignore' });
    return ['taskset', '-c', String(last)];
  } catch {
    return undefined;
  }
}
type Setup = (typeof SETUPS)[number];
const hr = () => Number(process.hrtime.bigint()) / 1e6;
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

/** One setup in this process: the median decisions per second of 7 batches, and the log's size. */
async function measure(setup: Setup, users: number, dir: string) {
  const r = rng(7);
  const hot = Array.from({ length: 10_000 }, () => {
    const u = `user${r.int(users)}@example.com`;
    return r.chance(0.5)
      ? ([u, r.pick(AREAS), r.pick(ACTS)] as const)
      : ([u, `vonage:group:${r.int(1000)}`, 'read'] as const);
  });
  const subs = hot.map((q) => q[0]);
  const objs = hot.map((q) => q[1]);
  const acts = hot.map((q) => q[2]);
  const n = hot.length;
  const logDir = await mkdtemp(join(tmpdir(), 'rbac-bench-log-'));
  const logFile = join(logDir, 'decisions.jsonl');
  const options: CreateAuthorizerOptions = {
    policies: dir,
    cache: { max: 100_000 },
    ...(setup.includes('metrics') ? { metrics: new Registry() } : {}),
    ...(setup.startsWith('log') ? { decisionLog: { destination: logFile, sample: 0.01 } } : {}),
  };
  const authz = await createAuthorizer(options);
  let sink = 0;
  const batch = (rounds: number) => {
    for (let k = 0; k < rounds; k++)
      for (let i = 0; i < n; i++) if (authz.enforce(subs[i]!, objs[i]!, acts[i]!)) sink++;
  };
  // Batches of 40 rounds; the first WARM are not counted. Warmed until steady, by the same loop
  // that is measured (a warm-up of another shape left the measured loop to be compiled in its
  // first batches): the decision cache holds every hot key, and the log has drawn each hot key a
  // few times (2M calls, about 20k logged), so its code is compiled and the deciding rules' facts
  // are built, as in a server that has been running. With 200k calls of warm-up, the first three
  // batches of the log setups still compiled code and built facts, which is once per process.
  const perSec: number[] = [];
  for (let b = 0; b < WARM + 7; b++) {
    const s = hr();
    batch(40);
    // The log's chunks go out between batches, as a server's event loop would let them; the time
    // they take on this thread is counted.
    await new Promise((resolve) => setImmediate(resolve));
    if (b >= WARM) perSec.push((40 * n) / ((hr() - s) / 1000));
  }
  await authz.close();
  const logBytes = (await stat(logFile).catch(() => ({ size: 0 }))).size;
  await rm(logDir, { recursive: true, force: true });
  return { perSec: median(perSec), logBytes, sink: sink > 0 };
}

const [first, ...rest] = process.argv.slice(2);
if (first === 'setup') {
  const [setup, users, dir] = rest as [Setup, string, string];
  console.log(JSON.stringify(await measure(setup, Number(users), dir)));
} else {
  const [users, dir] = [first as string, rest[0] as string];
  const runs = new Map<Setup, number[]>(SETUPS.map((s) => [s, []]));
  let logBytes = 0;
  // Every setup on the same core when taskset is there: on the shared VM one core is often much
  // slower than the other, which would otherwise decide which setup looks faster.
  const pin = pinning();
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of round % 2 ? [...SETUPS].reverse() : SETUPS) {
      // V8 compiles on the main thread: with its concurrent compiler, each process settled at one of
      // several speeds (4.7 to 9 M/s for the same setup, the same core), which decided the medians;
      // with --single-threaded the same setup ran at 8.8 to 10.4 M/s in every process. It also
      // puts all garbage collection on the measured thread, so the log's allocations are counted.
      const args = ['--single-threaded', '--import', 'tsx', import.meta.filename, 'setup', setup, users, dir];
      const out = execFileSync(
        pin?.[0] ?? process.execPath,
        pin ? [...pin.slice(1), process.execPath, ...args] : args,
        {
          encoding: 'utf8',
          maxBuffer: 1 << 24,
        },
      );
      const m = JSON.parse(out.trim().split('\n').pop()!);
      runs.get(setup)!.push(m.perSec);
      if (setup === 'log 1% + metrics') logBytes = m.logBytes;
    }
  }
  const perSec = Object.fromEntries([...runs].map(([s, xs]) => [s, median(xs)]));
  console.log(JSON.stringify({ perSec, logBytes }));
}
