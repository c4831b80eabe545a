// CLI commands that talk to vendors (or the emulator): sync, emulate, zoom push-role.

import { readFile, writeFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { createZoomAdapter } from '../adapters/zoom.js';
import { loadConfig } from '../config.js';
import { identitiesYaml, seededDataset, snapshotDataset } from '../emulator/dataset.js';
import { EMULATOR_CREDENTIALS, type Faults, startEmulator } from '../emulator/server.js';
import { escapeControls } from '../engine/format.js';
import { ConfigError, MappingError, PolicyLockError } from '../errors.js';
import { VENDORS, type Vendor } from '../grants.js';
import { loadIdentities } from '../identities.js';
import { loadMappings } from '../mapping/load.js';
import { parseYamlSource } from '../mapping/yaml-source.js';
import { ruleToCasbin } from '../policy/store.js';
import { checkRecordTarget, recordGuards } from '../sync/record.js';
import { runSync, type SyncProgress, type SyncSummary } from '../sync/run.js';
import { vendorSettings } from '../sync/settings.js';
import { type Permission, pushRole } from '../zoom/push-role.js';
import type { CommandContext } from './policy-tests.js';

export function registerSyncCommands(program: Command, ctx: CommandContext & { isTTY: boolean }): void {
  const { io } = ctx;

  program
    .command('sync')
    .description('fetch permissions from the vendors, map them, and apply the difference to the policy')
    .addOption(ctx.configOption())
    .addOption(new Option('--vendor <name...>', 'only these vendors (repeatable)').choices([...VENDORS]))
    .option(
      '--user <id...>',
      'refresh only these people (identities file) or accounts (zoom:<id|email>, vonage:<id>, tuya:<uid>)',
    )
    .option('--dry-run', 'print the difference and change nothing')
    .addOption(
      new Option('--diff-limit <n>', 'changes of each kind listed in the summary (counts are always exact)')
        .default(SHOWN_CHANGES)
        .argParser(parseDiffLimit),
    )
    .option('--record <dir>', 'also write the raw responses as a snapshot folder (for compile, offline)')
    .option('--json', 'print the summary as JSON')
    .action(
      async (opts: {
        config?: string;
        vendor?: Vendor[];
        user?: string[];
        dryRun?: boolean;
        diffLimit: number;
        record?: string;
        json?: boolean;
      }) => {
        const config = await loadConfig(opts.config);
        if (opts.record !== undefined)
          await checkRecordTarget(opts.record, recordGuards(config, opts.dryRun ?? false), '--record');
        const [mappings, identities] = await Promise.all([
          loadMappings(config.mappings),
          loadIdentities(config.identities, { optional: !config.identitiesRequired }),
        ]);
        const bars = ctx.isTTY && !opts.json ? progressBars(io) : undefined;
        // Ctrl-C or a scheduler's SIGTERM cancels the run, which then removes its temporary files
        // and writes nothing; a second signal ends the process at once (the default behaviour).
        const interrupt = new AbortController();
        const onSignal = (signal: NodeJS.Signals) =>
          interrupt.abort(new Error(`sync interrupted by ${signal}: nothing was written`));
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let summary: SyncSummary;
        try {
          summary = await runSync(
            { config, mappings, identities },
            {
              ...(opts.vendor ? { vendors: opts.vendor } : {}),
              ...(opts.user ? { users: opts.user } : {}),
              ...(opts.dryRun ? { dryRun: true } : {}),
              diffLimit: opts.diffLimit,
              ...(opts.record ? { record: opts.record } : {}),
              ...(bars ? { progress: bars.progress } : {}),
              signal: interrupt.signal,
            },
          );
        } catch (err) {
          if (!(err instanceof PolicyLockError)) throw err;
          io.err(`error: ${err.message} (exit ${EXIT_LOCKED})\n`);
          ctx.setExit(EXIT_LOCKED);
          return;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          bars?.stop();
        }
        if (opts.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
        else io.out(formatSummary(summary, config.policies));
        ctx.setExit(summary.ok ? 0 : 1);
      },
    );

  program
    .command('zoom')
    .description('Zoom-specific commands')
    .command('push-role')
    .description(
      'write a desired set of permissions back to a Zoom role (PATCH /roles/{roleId}), through the mapping in reverse',
    )
    .argument('<roleId>', 'the Zoom role id')
    .requiredOption(
      '--permissions <file>',
      'YAML: resource → list of actions, e.g. "zoom:recording: [read, edit]"',
    )
    .option('--dry-run', 'show the difference and change nothing')
    .option('--json', 'print the plan as JSON')
    .addOption(ctx.configOption())
    .action(
      async (
        roleId: string,
        opts: { permissions: string; dryRun?: boolean; json?: boolean; config?: string },
      ) => {
        const config = await loadConfig(opts.config);
        const settings = vendorSettings(config.vendors).zoom;
        if (!settings)
          throw new ConfigError(
            'vendors.zoom',
            'Zoom is not configured (vendors.zoom in the config, or ZOOM_* variables)',
          );
        const [mappings, desired] = await Promise.all([
          loadMappings(config.mappings),
          readPermissions(opts.permissions),
        ]);
        const plan = await pushRole(
          createZoomAdapter(settings),
          roleId,
          desired,
          mappings,
          opts.dryRun ? { dryRun: true } : {},
        );
        if (opts.json) io.out(`${JSON.stringify(plan, null, 2)}\n`);
        else {
          const lines = [
            `role ${plan.roleId}${plan.roleName ? ` (${plan.roleName})` : ''}: ${plan.current.length} → ${plan.next.length} privileges`,
          ];
          for (const p of plan.add) lines.push(`  + ${p}`);
          for (const p of plan.remove) lines.push(`  - ${p}`);
          if (plan.add.length + plan.remove.length === 0) lines.push('  (no change)');
          for (const u of plan.unmapped)
            lines.push(`no Zoom privilege maps to ${u.resource} ${u.action}: not pushed`);
          lines.push(
            plan.applied
              ? 'PATCH /roles/{roleId}: done'
              : plan.unmapped.length
                ? 'nothing sent: fix the permissions above first (a permission is never silently dropped)'
                : opts.dryRun
                  ? 'dry run: nothing sent'
                  : 'nothing to send',
          );
          io.out(`${lines.map(escapeControls).join('\n')}\n`);
        }
        ctx.setExit(plan.unmapped.length ? 1 : 0);
      },
    );

  program
    .command('emulate')
    .description('run the local vendor emulator (Zoom, Vonage, Tuya on one loopback port) until stopped')
    .option('-p, --port <port>', 'port (0 = any free port)', '4010')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--users <n>', 'seeded data set with this many people per vendor', '5')
    .option('--seed <n>', 'seed for the data set and fault dice', '1')
    .option('--snapshot <dir>', 'serve the data of a snapshot folder instead (e.g. examples/snapshot)')
    .option(
      '--identities-out <file>',
      'write an identities file for the data set (Tuya users are known only through it)',
    )
    .option('--rate-limit <perSecond>', 'answer 429 (Tuya: code 1110) beyond this many requests/s per vendor')
    .option('--latency <ms>', 'delay every answer')
    .option('--error-rate <share>', 'share of answers that are 503 (0-1)')
    .option('--malformed-rate <share>', 'share of answers with a broken JSON body (0-1)')
    .option('--token-ttl <seconds>', 'lifetime of issued tokens')
    .option('--fail-user <id...>', 'user (or Zoom role) ids whose permission calls always fail')
    .option('--vonage-first-page <n>', 'Vonage first page number, 0 or 1', '1')
    .action(async (opts: Record<string, string | string[] | undefined>) => {
      const num = (k: string, v: string | undefined) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0)
          throw new ConfigError(`--${k}`, `must be a number, got ${JSON.stringify(v)}`);
        return n;
      };
      const s = (k: string) => opts[k] as string | undefined;
      const dataset = s('snapshot')
        ? await snapshotDataset(s('snapshot') as string)
        : seededDataset({ users: num('users', s('users')) ?? 5, seed: num('seed', s('seed')) ?? 1 });
      const rate = num('rate-limit', s('rateLimit'));
      const faults: Partial<Faults> = {
        ...(rate !== undefined ? { rateLimit: { zoom: rate, vonage: rate, tuya: rate } } : {}),
        ...(s('latency') !== undefined ? { latencyMs: num('latency', s('latency')) as number } : {}),
        ...(s('errorRate') !== undefined ? { errorRate: num('error-rate', s('errorRate')) as number } : {}),
        ...(s('malformedRate') !== undefined
          ? { malformedRate: num('malformed-rate', s('malformedRate')) as number }
          : {}),
        ...(s('tokenTtl') !== undefined
          ? { tokenTtlSeconds: num('token-ttl', s('tokenTtl')) as number }
          : {}),
        ...(opts['failUser'] ? { failUsers: opts['failUser'] as string[] } : {}),
        vonageFirstPage: s('vonageFirstPage') === '0' ? 0 : 1,
      };
      if (s('identitiesOut')) await writeFile(s('identitiesOut') as string, identitiesYaml(dataset));
      const emu = await startEmulator({
        dataset,
        faults,
        seed: num('seed', s('seed')) ?? 1,
        port: num('port', s('port')) ?? 4010,
        host: s('host') ?? '127.0.0.1',
      });
      io.out(
        `vendor emulator on ${emu.url} (Ctrl-C to stop). Point rbac.config.yaml at it:\n\n${emulatorConfig(emu.url)}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await emu.close();
    });
}

async function readPermissions(file: string): Promise<Permission[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--permissions', `cannot read ${file} (${(err as NodeJS.ErrnoException).code})`);
  }
  const parsed = parseYamlSource(text, file, 'the file is empty; write "zoom:recording: [read, edit]" lines');
  if ('problems' in parsed) throw new MappingError(parsed.problems);
  const data = parsed.source.data;
  const bad = () =>
    new ConfigError(
      '--permissions',
      `${file} must map resources to lists of actions, e.g. "zoom:recording: [read, edit]"`,
    );
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw bad();
  const out: Permission[] = [];
  for (const [resource, actions] of Object.entries(data)) {
    if (!Array.isArray(actions) || actions.some((a) => typeof a !== 'string' || a === '')) throw bad();
    for (const action of actions as string[]) out.push({ resource, action });
  }
  return out;
}

/** A `vendors:` config section for an emulator at `url`, with the credentials it accepts. */
export function emulatorConfig(url: string): string {
  const c = EMULATOR_CREDENTIALS;
  return [
    'vendors:',
    `  zoom: { baseUrl: ${url}/zoom/v2, tokenUrl: ${url}/zoom/oauth/token, accountId: ${c.zoom.accountId}, clientId: ${c.zoom.clientId}, clientSecret: ${c.zoom.clientSecret} }`,
    `  vonage: { baseUrl: ${url}/vonage/useradmin, tokenUrl: ${url}/vonage/Auth/connect/token, clientId: ${c.vonage.clientId}, clientSecret: ${c.vonage.clientSecret} }`,
    `  tuya: { baseUrl: ${url}/tuya, clientId: ${c.tuya.clientId}, clientSecret: ${c.tuya.clientSecret} }`,
  ].join('\n');
}

/** Exit code of `sync` when another process holds the policies folder's lock (nothing was changed). */
export const EXIT_LOCKED = 3;

/** Changes a dry run prints (and, by default, the most of each kind a sync keeps for its summary). */
const SHOWN_CHANGES = 200;

function parseDiffLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigError('--diff-limit', `must be a whole number >= 0, got ${value}`);
  return n;
}

/** People-readable summary of a sync. */
export function formatSummary(s: SyncSummary, policies: string): string {
  const lines: string[] = [];
  for (const v of s.vendors) {
    const what = v.vendor === 'zoom' ? 'roles and users' : 'users';
    const traffic = v.requests
      ? `, ${v.requests} requests, ${v.retries} retries (${v.rateLimited} rate-limited)`
      : '';
    lines.push(
      `${v.vendor.padEnd(7)} ${v.status.padEnd(8)} ${v.status === 'skipped' ? v.notice : `${v.units} ${what}${traffic}`}`,
    );
    if (v.error) lines.push(`        error: ${v.error}`);
    for (const f of v.failures.slice(0, 20)) lines.push(`        failed ${f.unit} ${f.id}: ${f.error}`);
    if (v.failures.length > 20) lines.push(`        ... and ${v.failures.length - 20} more`);
    for (const p of v.problems.slice(0, 20))
      lines.push(`        ${p.effect} ${p.file}${p.field ? ` "${p.field}"` : ''}: ${p.message}`);
    if (v.problemCount > 20) lines.push(`        ... and ${v.problemCount - 20} more`);
    for (const n of v.notices.slice(0, 20)) lines.push(`        notice: ${n}`);
    if (v.notices.length > 20) lines.push(`        ... and ${v.notices.length - 20} more notices`);
  }
  const d = s.diff;
  const c = s.changes;
  lines.push(
    `changes: +${c.addRules} rules, -${c.removeRules} rules, +${c.addLinks} links, -${c.removeLinks} links`,
  );
  if (s.dryRun) {
    const show = [
      ...d.addRules.map((r) => `  + p, ${ruleToCasbin(r).join(', ')}`),
      ...d.removeRules.map((r) => `  - p, ${ruleToCasbin(r).join(', ')}`),
      ...d.addLinks.map((l) => `  + g, ${l.member}, ${l.role}`),
      ...d.removeLinks.map((l) => `  - g, ${l.member}, ${l.role}`),
    ];
    const total = c.addRules + c.removeRules + c.addLinks + c.removeLinks;
    const shown = show.slice(0, SHOWN_CHANGES);
    lines.push(...shown);
    if (total > shown.length) lines.push(`  ... and ${total - shown.length} more`);
  }
  for (const h of s.stale)
    lines.push(
      `stale: ${h.vendor} ${h.holder}: rules kept from ${h.lastSuccess ?? 'an earlier run'} (${h.error})`,
    );
  if (s.recorded) lines.push(`recorded the responses as a snapshot in ${s.recorded}`);
  lines.push(
    s.dryRun
      ? `dry run: nothing written (${s.rules} rules, ${s.links} links would be in ${policies})`
      : `policy: ${s.rules} rules, ${s.links} links → ${policies} (${Math.round(s.durationMs)} ms)`,
  );
  if (!s.ok) lines.push('some data could not be fetched: exit 1 (the rules of what failed were kept)');
  return `${lines.map(escapeControls).join('\n')}\n`;
}

/** Progress on a TTY: one bar per vendor with users done of total, rate, retries and ETA. */
function progressBars(io: CommandContext['io']): { progress: SyncProgress; stop(): void } {
  const multi = new cliProgress.MultiBar(
    {
      format: '{vendor} [{bar}] {value}/{total} {unit} | {rate}/s | retries {retries} | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stream: { write: (t: string) => io.err(t), isTTY: true } as unknown as NodeJS.WritableStream,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<
    Vendor,
    { bar: cliProgress.SingleBar; retries: number; start: number; done: number }
  >();
  return {
    progress: {
      start(vendor, total) {
        const bar = multi.create(total, 0, {
          vendor: vendor.padEnd(6),
          unit: vendor === 'zoom' ? 'roles and users' : 'users',
          rate: '0',
          retries: 0,
        });
        bars.set(vendor, { bar, retries: 0, start: performance.now(), done: 0 });
      },
      done(vendor) {
        const b = bars.get(vendor);
        if (!b) return;
        b.done++;
        const rate = (b.done / Math.max(0.001, (performance.now() - b.start) / 1000)).toFixed(1);
        b.bar.update(b.done, { rate, retries: b.retries });
      },
      retry(vendor) {
        const b = bars.get(vendor);
        if (b) b.retries++;
      },
    },
    stop: () => multi.stop(),
  };
}
