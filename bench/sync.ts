// Sync benchmark, in a fresh process: `sync.ts <users> <perSecond>`; one JSON line. Starts the
// emulator (its own process, seeded data for <users> people per vendor, rate limit <perSecond>
// per vendor) and syncs all three vendors with a client budget of <perSecond>.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { emulatorConfig } from '../src/cli/sync.js';
import { loadIdentities } from '../src/identities.js';
import { loadMappings } from '../src/mapping/load.js';
import { runSync } from '../src/sync/run.js';
import { vendorSettings } from '../src/sync/settings.js';

const [usersArg, rateArg] = process.argv.slice(2) as [string, string];
const rate = Number(rateArg);
const dir = await mkdtemp(join(tmpdir(), 'rbac-bench-sync-'));
const identities = join(dir, 'identities.yaml');
const cli = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const emu = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    cli,
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
  vendorSettings(vendors);
  const [mappings, ids] = await Promise.all([
    loadMappings(join(import.meta.dirname, '..', 'mappings')),
    loadIdentities(identities),
  ]);
  const config = {
    file: undefined,
    policies: join(dir, 'policies'),
    mappings: '',
    identities,
    identitiesRequired: true,
    snapshot: undefined,
    vendors,
  };
  let peakHeap = 0;
  const sampler = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    if (process.env['BENCH_TRACE']) console.error(JSON.stringify(process.memoryUsage()));
  }, 250);
  const t0 = performance.now();
  const summary = await runSync({ config, mappings, identities: ids }, { timeoutMs: 30_000 });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  (globalThis as { gc?: () => void }).gc?.();
  const liveHeapMB = Math.round(process.memoryUsage().heapUsed / 1048576);
  const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as {
    requests: Record<string, number>;
    rateLimited: Record<string, number>;
  };
  console.log(
    JSON.stringify({
      users: Number(usersArg),
      rate,
      seconds,
      ok: summary.ok,
      rules: summary.rules,
      links: summary.links,
      maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      peakHeapMB: Math.round(peakHeap / 1048576),
      liveHeapMB,
      failures: summary.vendors.flatMap((v) => v.failures.slice(0, 2)),
      vendors: summary.vendors.map((v) => ({
        vendor: v.vendor,
        status: v.status,
        units: v.units,
        sent: stats.requests[v.vendor] ?? 0,
        rateLimited: stats.rateLimited[v.vendor] ?? 0,
        retries: v.retries,
      })),
    }),
  );
} finally {
  emu.kill();
  await rm(dir, { recursive: true, force: true });
}
