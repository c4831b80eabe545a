// Sync benchmark: `sync.ts <users> <perSecond>`; one JSON line. Starts the emulator (its own
// process, seeded data for <users> people per vendor, rate limit <perSecond> per vendor) and runs
// `rbac-normalizer sync` (the compiled CLI, its own process, memory measured inside it) with a
// client budget of <perSecond> per vendor. Needs `npm run build` first (bench/run.ts does it).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { emulatorConfig } from '../src/cli/emulate.js';

const [usersArg, rateArg] = process.argv.slice(2) as [string, string];
const rate = Number(rateArg);
const dir = await mkdtemp(join(tmpdir(), 'rbac-bench-sync-'));
const identities = join(dir, 'identities.yaml');
const root = join(import.meta.dirname, '..');
const source = join(root, 'src', 'cli', 'main.ts');
const emu = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    source,
    'emulate',
    '--port',
    '0',
    '--users',
    usersArg,
    '--rate-limit',
    rateArg,
    '--identities-out',
    identities,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  emu.stdout.setEncoding('utf8');
  emu.stdout.on('data', (c: string) => {
    out += c;
    const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m?.[1]) resolve(m[1]);
  });
  emu.once('exit', () => reject(new Error(`emulator exited: ${out}`)));
});
try {
  const vendors = (parse(emulatorConfig(url)) as { vendors: Record<string, Record<string, unknown>> })
    .vendors;
  for (const v of Object.values(vendors)) v['perSecond'] = rate;
  const config = join(dir, 'rbac.config.yaml');
  await writeFile(
    config,
    stringify({
      vendors,
      identities,
      mappings: join(root, 'mappings'),
      policies: join(dir, 'policies'),
    }),
  );
  // What a user runs: the installed CLI (compiled, plain node), in its own process.
  const runCli = async () => {
    const t0 = performance.now();
    const cli = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        join(import.meta.dirname, 'process-memory.mjs'),
        join(root, 'bin', 'rbac-normalizer.js'),
        'sync',
        '--config',
        config,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    cli.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    cli.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
    const seconds = (performance.now() - t0) / 1000;
    const memoryLine = err.split('\n').find((l) => l.startsWith('{"processMemory"'));
    if (code === 2 || !memoryLine) throw new Error(`sync failed (exit ${code}): ${err}`);
    const memory = JSON.parse(memoryLine).processMemory as { maxRssMB: number; peakHeapMB: number };
    // The text summary (what a cron job logs): "zoom    ok       20 roles, ..." and "policy: N rules, M links".
    const counts = /policy: (\d+) rules, (\d+) links → .* \((\d+) ms\)/.exec(out);
    return { code, out, seconds, memory, counts };
  };
  const { code, out, seconds, memory, counts } = await runCli();
  const status = (vendor: string) => new RegExp(`^${vendor} +(\\w+) +(\\d+)`, 'm').exec(out);
  const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as {
    requests: Record<string, number>;
    rateLimited: Record<string, number>;
  };
  console.log(
    JSON.stringify({
      users: Number(usersArg),
      rate,
      // The sync's own duration (from its summary), without the CLI's start-up and exit.
      seconds: counts ? Number(counts[3]) / 1000 : seconds,
      processSeconds: seconds,
      ok: code === 0,
      rules: Number(counts?.[1]),
      links: Number(counts?.[2]),
      ...memory,
      ...(code === 0 ? {} : { output: out.slice(0, 2000) }),
      vendors: ['zoom', 'vonage', 'tuya'].map((vendor) => ({
        vendor,
        status: status(vendor)?.[1],
        units: Number(status(vendor)?.[2]),
        sent: stats.requests[vendor] ?? 0,
        rateLimited: stats.rateLimited[vendor] ?? 0,
      })),
      // The steady state: the same sync again, nothing changed (the previous policy is read too).
      again: await runCli().then((r) => ({ ok: r.code === 0, ...r.memory })),
    }),
  );
} finally {
  emu.kill();
  await rm(dir, { recursive: true, force: true });
}
