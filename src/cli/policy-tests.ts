// CLI commands for proving mappings offline: test, coverage, diff.

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { loadConfig } from '../config.js';
import { type AccessChange, diffAccess } from '../engine/access.js';
import { escapeControls } from '../engine/format.js';
import { ConfigError } from '../errors.js';
import { loadMappings } from '../mapping/load.js';
import { formatBound } from '../policy/time.js';
import { readSnapshot } from '../snapshot/read.js';
import { mappingCoverage } from '../testing/coverage.js';
import { REPORTERS, type Reporter, report } from '../testing/report.js';
import { runSuites } from '../testing/run.js';
import { compileVendorData } from '../vendor-compiler.js';
import { loadWorkspace, loadWorkspaceIdentities } from '../workspace.js';
import type { CommandContext } from './context.js';
import { plural } from './words.js';

const DEFAULT_SUITES = 'policies/tests';

export function registerPolicyTestCommands(program: Command, ctx: CommandContext): void {
  const { io } = ctx;

  program
    .command('test')
    .description(
      'run policy test suites (*_test.yaml) offline: exit 0 all pass, 1 a failure, 2 an invalid suite',
    )
    .argument('[paths...]', `suite files or folders (default: ${DEFAULT_SUITES})`)
    .addOption(ctx.configOption())
    .addOption(new Option('--reporter <name>', 'output format').choices([...REPORTERS]).default('spec'))
    .option('--filter <glob>', 'only tests whose name (or "suite › test") matches, e.g. "bob*"')
    .action(async (paths: string[], opts: { config?: string; reporter: Reporter; filter?: string }) => {
      const result = await runSuites(paths.length ? paths : [DEFAULT_SUITES], {
        ...(opts.config !== undefined ? { config: opts.config } : {}),
        ...(opts.filter !== undefined ? { filter: opts.filter } : {}),
      });
      io.out(report(result, opts.reporter));
      if (result.passed + result.failed + result.skipped === 0) io.err('warning: no tests matched\n');
      ctx.setExit(result.failed > 0 ? 1 : 0);
    });

  program
    .command('coverage')
    .description(
      'vendor values no mapping rule matched, rules never matched or shadowed, and policy rules the tests exercise',
    )
    .addOption(ctx.configOption())
    .option('-s, --snapshot <dir>', 'snapshot folder (default: the config\'s "snapshot")')
    .option('--tests <paths...>', `suite files or folders (default: ${DEFAULT_SUITES} when it exists)`)
    .option('--fail-under <percent>', 'exit 1 when any coverage figure is below this percentage')
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: {
        config?: string;
        snapshot?: string;
        tests?: string[];
        failUnder?: string;
        json?: boolean;
      }) => {
        const failUnder = opts.failUnder === undefined ? undefined : Number(opts.failUnder);
        if (failUnder !== undefined && !(failUnder >= 0 && failUnder <= 100))
          throw new ConfigError('--fail-under', `must be a percentage from 0 to 100, got ${opts.failUnder}`);
        const config = await loadConfig(opts.config);
        const snapshot = opts.snapshot ?? config.snapshot;
        if (!snapshot)
          throw new ConfigError('--snapshot', 'give --snapshot DIR or set "snapshot:" in the config');
        const [{ mappings, identities }, data] = await Promise.all([
          loadWorkspace(config),
          readSnapshot(snapshot),
        ]);
        const compiled = compileVendorData(data, mappings, identities, { shadows: true });
        const cov = mappingCoverage(mappings, compiled);
        const testPaths = opts.tests ?? ((await isDir(DEFAULT_SUITES)) ? [DEFAULT_SUITES] : []);
        const tests = testPaths.length
          ? await runSuites(testPaths, opts.config !== undefined ? { config: opts.config } : {})
          : undefined;
        const exercised = tests?.suites.reduce((n, s) => n + s.rules.exercised, 0) ?? 0;
        const total = tests?.suites.reduce((n, s) => n + s.rules.total, 0) ?? 0;
        const figures: [string, number][] = [
          ['mapping rules matched', pct(cov.rules.matched, cov.rules.total)],
        ];
        if (tests) figures.push(['policy rules exercised by tests', pct(exercised, total)]);
        const below = failUnder === undefined ? [] : figures.filter(([, v]) => v < failUnder);
        if (opts.json) {
          io.out(
            `${JSON.stringify(
              {
                snapshot,
                ...cov,
                ...(tests
                  ? {
                      tests: {
                        rules: { total, exercised },
                        unexercised: tests.suites.flatMap((s) =>
                          s.unexercised.map((r) => ({ suite: s.file, rule: r })),
                        ),
                      },
                    }
                  : {}),
                figures: Object.fromEntries(figures),
                ...(failUnder !== undefined ? { failUnder, below: below.map(([k]) => k) } : {}),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          const lines = [`coverage of ${config.mappings} by ${snapshot}`];
          lines.push('', `vendor values no rule matched: ${cov.unmatched.length ? '' : 'none'}`);
          for (const u of cov.unmatched)
            lines.push(`  ${u.vendor} ${u.kind} ${u.value}  ×${u.count}  held by ${u.holders.join(', ')}`);
          lines.push('', `mapping rules never matched: ${cov.neverMatched.length ? '' : 'none'}`);
          for (const r of cov.neverMatched)
            lines.push(`  ${r.where}${r.id ? ` (${r.id})` : ''}  ${r.vendor} ${r.kind}`);
          lines.push('', `mapping rules shadowed by earlier rules: ${cov.shadowed.length ? '' : 'none'}`);
          for (const r of cov.shadowed)
            lines.push(
              `  ${r.where}${r.id ? ` (${r.id})` : ''}  ${r.vendor} ${r.kind}: ${r.values === 1 ? 'its value' : `all its ${r.values} values`} went to an earlier rule`,
            );
          if (tests) {
            const un = tests.suites.flatMap((s) => s.unexercised.map((r) => `  ${r}  (${s.file})`));
            lines.push('', `policy rules no test reached: ${un.length ? '' : 'none'}`, ...un);
          }
          lines.push('');
          for (const [k, v] of figures) lines.push(`${k}: ${v.toFixed(1)}%`);
          for (const [k, v] of below) lines.push(`FAIL: ${k} ${v.toFixed(1)}% < ${failUnder}%`);
          io.out(`${lines.map(escapeControls).join('\n')}\n`);
        }
        ctx.setExit(below.length ? 1 : 0);
      },
    );

  program
    .command('diff')
    .description(
      'who gains and who loses which (resource, action) between two snapshots and/or mapping folders',
    )
    .addOption(ctx.configOption())
    .requiredOption(
      '--from <paths...>',
      'the "before" side: a snapshot folder and/or a mappings folder or file',
    )
    .requiredOption('--to <paths...>', 'the "after" side: a snapshot folder and/or a mappings folder or file')
    .option('--json', 'print the differences as JSON')
    .option('--exit-code', 'exit 1 when there are differences (like git diff --exit-code)')
    .action(
      async (opts: { config?: string; from: string[]; to: string[]; json?: boolean; exitCode?: boolean }) => {
        const config = await loadConfig(opts.config);
        const identities = await loadWorkspaceIdentities(config);
        const side = async (paths: string[], flag: string) => {
          let snapshot: string | undefined;
          let mappings: string | undefined;
          for (const p of paths) {
            const kind = await kindOf(p);
            if (kind === undefined)
              throw new ConfigError(flag, `${p} is neither a snapshot folder nor a mappings folder or file`);
            if (kind === 'snapshot') snapshot = p;
            else mappings = p;
          }
          snapshot ??= config.snapshot;
          if (!snapshot)
            throw new ConfigError(flag, 'name a snapshot folder, or set "snapshot:" in the config');
          const [m, data] = await Promise.all([
            loadMappings(mappings ?? config.mappings),
            readSnapshot(snapshot),
          ]);
          return {
            label: `${snapshot} + ${mappings ?? config.mappings}`,
            policy: compileVendorData(data, m, identities).policy,
          };
        };
        const [a, b] = [await side(opts.from, '--from'), await side(opts.to, '--to')];
        const diff = diffAccess(a.policy, b.policy);
        if (opts.json) {
          const iv = (c: AccessChange) => ({
            resource: c.resource,
            action: c.action,
            windows: c.intervals.map((i) => ({
              from: formatBound(i.from) || null,
              until: formatBound(i.until) || null,
            })),
          });
          io.out(
            `${JSON.stringify(
              {
                from: a.label,
                to: b.label,
                subjects: diff.map((d) => ({
                  subject: d.subject,
                  gains: d.gains.map(iv),
                  losses: d.losses.map(iv),
                })),
              },
              null,
              2,
            )}\n`,
          );
        } else {
          const lines = [`--- ${a.label}`, `+++ ${b.label}`];
          for (const d of diff) {
            lines.push(d.subject);
            for (const [sign, list] of [
              ['+', d.gains],
              ['-', d.losses],
            ] as const) {
              for (const c of list) lines.push(`  ${sign} ${c.resource} ${c.action}  ${windows(c)}`);
            }
          }
          const gain = diff.filter((d) => d.gains.length).length;
          const lose = diff.filter((d) => d.losses.length).length;
          lines.push(
            diff.length
              ? `${plural(gain, 'subject')} ${gain === 1 ? 'gains' : 'gain'} access, ${lose} ${lose === 1 ? 'loses' : 'lose'} access`
              : 'no change in access',
          );
          io.out(`${lines.map(escapeControls).join('\n')}\n`);
        }
        ctx.setExit(opts.exitCode && diff.length ? 1 : 0);
      },
    );
}

function windows(c: AccessChange): string {
  return c.intervals
    .map((i) =>
      i.from === Number.NEGATIVE_INFINITY && i.until === Number.POSITIVE_INFINITY
        ? 'always'
        : `[${formatBound(i.from) || '-∞'}, ${formatBound(i.until) || '+∞'})`,
    )
    .join(', ');
}

const pct = (n: number, of: number) => (of === 0 ? 100 : (100 * n) / of);

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** A snapshot has a vendor folder; mappings are YAML files (or a folder of them). */
async function kindOf(p: string): Promise<'snapshot' | 'mappings' | undefined> {
  const s = await stat(p).catch(() => undefined);
  if (s?.isFile()) return /\.ya?ml$/.test(p) ? 'mappings' : undefined;
  if (!s?.isDirectory()) return undefined;
  for (const v of ['zoom', 'vonage', 'tuya']) if (await isDir(join(p, v))) return 'snapshot';
  return (await readdir(p)).some((f) => /\.ya?ml$/.test(f)) ? 'mappings' : undefined;
}
