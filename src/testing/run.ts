// Running policy test suites offline: compile each suite's data with the mappings, then decide
// every expected (and, unless told otherwise, every unlisted) resource/action at the pinned time.
import { manualClock } from '../clock.js';
import { loadConfig } from '../config.js';
import { createEngine, type Decision } from '../engine/authorizer.js';
import { loadIdentities } from '../identities.js';
import { loadMappings, type MappingSet } from '../mapping/load.js';
import { formatBound } from '../policy/time.js';
import type { PolicyRule } from '../policy/types.js';
import { readSnapshot, type VendorData } from '../snapshot/read.js';
import { type CompileResult, compileVendorData } from '../vendor-compiler.js';
import { loadWorkspaceIdentities } from '../workspace.js';
import { type Expected, findSuites, loadSuite, type Suite } from './suite.js';

export interface RunOptions {
  /** Config file for the default mappings and identities. Default: rbac.config.yaml when present. */
  readonly config?: string;
  /** Only tests whose name (or "suite › test") matches this glob (`*`, `?`). Default: all. */
  readonly filter?: string;
  readonly cwd?: string;
}

/** One decision a test checked. */
export interface Check {
  readonly principal: string;
  readonly resource: string;
  readonly action: string;
  readonly expected: Expected;
  readonly actual: Expected;
  /** False when the expectation came from `unlisted: deny`, not from the test's `expect`. */
  readonly listed: boolean;
  readonly decision: Decision;
}

export interface CaseResult {
  readonly name: string;
  readonly line: number;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly skipReason?: string;
  readonly checks: number;
  readonly failures: readonly Check[];
}

export interface SuiteResult {
  readonly file: string;
  readonly name: string;
  readonly cases: readonly CaseResult[];
  /** Policy rules of the suite's compiled data, and how many of them decided some check. */
  readonly rules: { readonly total: number; readonly exercised: number };
  /** Rules no check reached, as `p, sub, obj, act, eft`. */
  readonly unexercised: readonly string[];
  readonly compile: Pick<CompileResult, 'unmatched' | 'skipped' | 'ruleHits' | 'shadowHits'>;
}

export interface RunResult {
  readonly suites: readonly SuiteResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

const EMPTY: VendorData = { users: [], grants: [], links: [], notices: [], problems: [] };

/**
 * Finds, loads and runs suites.
 *
 * @throws SuiteError when a suite is invalid; ConfigError, MappingError when the config or mappings are.
 */
export async function runSuites(paths: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const files = await findSuites(paths);
  const suites = await Promise.all(files.map((f) => loadSuite(f, options.cwd ? { cwd: options.cwd } : {})));
  const runner = await createSuiteRunner(options);
  const results: SuiteResult[] = [];
  for (const s of suites) results.push(await runner(s));
  return summarize(results);
}

export function summarize(suites: readonly SuiteResult[]): RunResult {
  const count = (st: CaseResult['status']) =>
    suites.reduce((n, s) => n + s.cases.filter((c) => c.status === st).length, 0);
  return { suites, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
}

/** A runner with the config's mappings and identities loaded once (and per-suite overrides cached). */
export async function createSuiteRunner(
  options: RunOptions = {},
): Promise<(suite: Suite) => Promise<SuiteResult>> {
  const config = await loadConfig(options.config, options.cwd ? { cwd: options.cwd } : {});
  const mappingCache = new Map<string, Promise<MappingSet>>();
  const mappingsAt = (p: string) => {
    let m = mappingCache.get(p);
    if (!m) {
      m = loadMappings(p);
      mappingCache.set(p, m);
    }
    return m;
  };
  const match = options.filter === undefined ? () => true : globMatcher(options.filter);

  return async (suite) => {
    const [mappings, identities, data] = await Promise.all([
      mappingsAt(suite.mappings ?? config.mappings),
      suite.identities !== undefined ? loadIdentities(suite.identities) : loadWorkspaceIdentities(config),
      suite.snapshot !== undefined ? readSnapshot(suite.snapshot) : EMPTY,
    ]);
    const compiled = compileVendorData(
      { ...data, grants: [...data.grants, ...suite.grants] },
      mappings,
      identities,
      { shadows: true },
    );
    const clock = manualClock(0);
    const authz = await createEngine({
      policies: compiled.policy,
      provenance: compiled.provenance,
      clock,
      cache: false,
    });
    // Every (resource, action) the policy or the suite mentions: what "unlisted" ranges over.
    const universe = new Map<string, Set<string>>();
    const add = (r: string, a: string) => {
      let s = universe.get(r);
      if (!s) {
        s = new Set();
        universe.set(r, s);
      }
      s.add(a);
    };
    for (const r of compiled.policy.rules) add(r.obj, r.act);
    for (const t of suite.tests) for (const [r, acts] of t.expect) for (const a of acts.keys()) add(r, a);

    const exercised = new Set<string>();
    const cases: CaseResult[] = [];
    for (const t of suite.tests) {
      if (!match(t.name) && !match(`${suite.name} › ${t.name}`)) continue;
      if (t.skip !== undefined) {
        cases.push({
          name: t.name,
          line: t.line,
          status: 'skip',
          skipReason: t.skip,
          checks: 0,
          failures: [],
        });
        continue;
      }
      clock.set(t.now);
      const failures: Check[] = [];
      let checks = 0;
      for (const principal of t.principals) {
        for (const [resource, actions] of universe) {
          for (const action of actions) {
            const listed = t.expect.get(resource)?.get(action);
            if (listed === undefined && t.unlisted === 'ignore') continue;
            // Near misses only for a failure, where they are shown: most checks pass.
            let decision = authz.explain(principal, resource, action, { nearMisses: false });
            if (decision.rule) exercised.add(decisionRuleKey(decision.rule));
            checks++;
            const actual: Expected = decision.allowed ? 'allow' : 'deny';
            const expected = listed ?? 'deny';
            if (actual !== expected) {
              decision = authz.explain(principal, resource, action);
              failures.push({
                principal,
                resource,
                action,
                expected,
                actual,
                listed: listed !== undefined,
                decision,
              });
            }
          }
        }
      }
      cases.push({ name: t.name, line: t.line, status: failures.length ? 'fail' : 'pass', checks, failures });
    }
    const all = compiled.policy.rules.map((r) => [policyRuleKey(r), r] as const);
    return {
      file: suite.file,
      name: suite.name,
      cases,
      rules: { total: all.length, exercised: all.filter(([k]) => exercised.has(k)).length },
      unexercised: all
        .filter(([k]) => !exercised.has(k))
        .map(([, r]) => `p, ${r.sub}, ${r.obj}, ${r.act}, ${r.eft}`),
      compile: {
        unmatched: compiled.unmatched,
        skipped: compiled.skipped,
        ruleHits: compiled.ruleHits,
        shadowHits: compiled.shadowHits,
      },
    };
  };
}

const decisionRuleKey = (r: NonNullable<Decision['rule']>) =>
  JSON.stringify([r.sub, r.obj, r.act, r.eft, r.from, r.until]);
const policyRuleKey = (r: PolicyRule) =>
  JSON.stringify([r.sub, r.obj, r.act, r.eft, formatBound(r.from), formatBound(r.until)]);

/** A case-sensitive glob (`*` any run of characters, `?` one character) matching whole names. */
export function globMatcher(glob: string): (name: string) => boolean {
  const re = new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('')}$`,
    's',
  );
  return (name) => re.test(name);
}
