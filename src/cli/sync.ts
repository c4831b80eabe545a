// `rbac-normalizer sync`: fetch the vendors, merge, write through the store, print the summary.

import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { escapeControls } from '../engine/format.js';
import { PolicyLockError } from '../errors.js';
import { VENDORS, type Vendor } from '../grants.js';
import { ruleToCasbin } from '../policy/store.js';
import { openConfiguredStore } from '../store/configured.js';
import { checkRecordTarget, recordGuards } from '../sync/record.js';
import { runSync, type SyncProgress, type SyncSummary } from '../sync/run.js';
import { loadWorkspace } from '../workspace.js';
import type { CommandContext } from './context.js';
import { whole } from './options.js';
import { plural } from './words.js';

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
        .argParser(whole('--diff-limit', 0)),
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
        const { mappings, identities } = await loadWorkspace(config);
        const bars = ctx.isTTY && !opts.json ? progressBars(io) : undefined;
        // Ctrl-C or a scheduler's SIGTERM cancels the run, which then removes its temporary files
        // and writes nothing; a second signal ends the process at once (the default behaviour).
        const interrupt = new AbortController();
        const onSignal = (signal: NodeJS.Signals) =>
          interrupt.abort(new Error(`sync interrupted by ${signal}: nothing was written`));
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let summary: SyncSummary;
        const shared = await openConfiguredStore(config);
        try {
          summary = await runSync(
            { config, mappings, identities, ...(shared ? { store: shared.policyStore } : {}) },
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
          if (err instanceof PolicyLockError) {
            io.err(`error: ${escapeControls(err.message)} (exit ${EXIT_LOCKED})\n`);
            ctx.setExit(EXIT_LOCKED);
            return;
          }
          // Interrupted: not a failure to decide but the documented stop (exit 1, nothing written).
          if (!interrupt.signal.aborted) throw err;
          io.err(`error: ${escapeControls((interrupt.signal.reason as Error).message)}\n`);
          ctx.setExit(1);
          return;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          bars?.stop();
          await shared?.close();
        }
        if (opts.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
        else io.out(formatSummary(summary, config.policies));
        ctx.setExit(summary.ok ? 0 : 1);
      },
    );
}

/** Exit code of `sync` when another process holds the policies folder's lock (nothing was changed). */
export const EXIT_LOCKED = 3;

/** Changes a dry run prints (and, by default, the most of each kind a sync keeps for its summary). */
const SHOWN_CHANGES = 200;

/** People-readable summary of a sync. */
export function formatSummary(s: SyncSummary, policies: string): string {
  const lines: string[] = [];
  for (const v of s.vendors) {
    const units =
      v.vendor === 'zoom' ? plural(v.units, 'role or user', 'roles and users') : plural(v.units, 'user');
    const traffic = v.requests
      ? `, ${plural(v.requests, 'request')}, ${plural(v.retries, 'retry', 'retries')} (${v.rateLimited} rate-limited)`
      : '';
    lines.push(
      `${v.vendor.padEnd(7)} ${v.status.padEnd(8)} ${v.status === 'skipped' ? v.notice : `${units}${traffic}`}`,
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
    `changes: +${plural(c.addRules, 'rule')}, -${plural(c.removeRules, 'rule')}, +${plural(c.addLinks, 'link')}, -${plural(c.removeLinks, 'link')}`,
  );
  if (s.dryRun) {
    const show = [
      ...d.addRules.map((r) => `  + p, ${ruleToCasbin(r).join(', ')}`),
      ...d.removeRules.map((r) => `  - p, ${ruleToCasbin(r).join(', ')}`),
      ...d.addLinks.map((l) => `  + g, ${l.member}, ${l.role}`),
      ...d.removeLinks.map((l) => `  - g, ${l.member}, ${l.role}`),
    ];
    // `diff` holds what the sync kept (`--diff-limit` of each kind): all of it is shown.
    const total = c.addRules + c.removeRules + c.addLinks + c.removeLinks;
    lines.push(...show);
    if (total > show.length) lines.push(`  ... and ${total - show.length} more`);
  }
  for (const h of s.stale)
    lines.push(
      `stale: ${h.vendor} ${h.holder}: rules kept from ${h.lastSuccess ?? 'an earlier run'} (${h.error})`,
    );
  if (s.recorded) lines.push(`recorded the responses as a snapshot in ${s.recorded}`);
  lines.push(
    s.dryRun
      ? `dry run: nothing written (${plural(s.rules, 'rule')}, ${plural(s.links, 'link')} would be in ${policies})`
      : `policy: ${plural(s.rules, 'rule')}, ${plural(s.links, 'link')} → ${policies} (${Math.round(s.durationMs)} ms)`,
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
