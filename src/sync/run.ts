// sync: list users → fetch → map → diff against the current policy → apply the diff incrementally.
// A vendor, user or role that fails keeps its previous rules (flagged stale); the new files are
// written under temporary names and replace the old ones (by rename) only once everything is
// decided, so a crash leaves the previous policy.
import { setMaxListeners } from 'node:events';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { HttpEvents, Timers } from '../adapters/http.js';
import { createTuyaAdapter } from '../adapters/tuya.js';
import type {
  FetchedUnit,
  FetchOptions,
  FetchResult,
  UnitFailure,
  VendorAdapter,
} from '../adapters/types.js';
import { createVonageAdapter } from '../adapters/vonage.js';
import { createZoomAdapter } from '../adapters/zoom.js';
import { createVendorCompiler } from '../compile.js';
import type { Config } from '../config.js';
import type { Authorizer } from '../engine/authorizer.js';
import { ConfigError, VendorError } from '../errors.js';
import { VENDORS, type Vendor } from '../grants.js';
import { type Identities, roleSubject } from '../identities.js';
import type { MappingSet } from '../mapping/load.js';
import { diffPolicies, type PolicyDiff } from '../policy/diff.js';
import {
  holderKey,
  readSyncState,
  type StaleHolder,
  type SyncState,
  writeSyncState,
} from '../policy/sync-state.js';
import {
  type FetchedBody,
  MEMORY_ROOT,
  memoryFiles,
  readSnapshot,
  type SnapshotProblem,
  type VendorData,
  type VendorUser,
} from '../snapshot/read.js';
import { createPolicySpill, finishMerge, type MergeOutput, type PolicyChangeCounts } from './policy-merge.js';
import { vendorSettings } from './settings.js';

/** Progress callbacks (the CLI draws them on a TTY). */
export interface SyncProgress {
  start?(vendor: Vendor, total: number): void;
  done?(vendor: Vendor): void;
  retry?(vendor: Vendor, info: { reason: string; waitMs: number }): void;
  request?(vendor: Vendor): void;
  finish?(vendor: Vendor, outcome: VendorOutcome): void;
}

export interface SyncOptions {
  /** Only these vendors (others keep their rules). Default: every configured vendor. */
  readonly vendors?: readonly Vendor[];
  /**
   * Refresh only these people (ids in the identities file) or accounts (`zoom:<id or email>`,
   * `vonage:<userId>`, `tuya:<uid>`), one request set each; everyone else keeps their rules.
   * Default: everyone (a full sync).
   */
  readonly users?: readonly string[];
  /** Compute and report the diff; change nothing. Default false. */
  readonly dryRun?: boolean;
  /**
   * The most changes of each kind (rules/links added/removed) kept in `SyncSummary.diff`;
   * `SyncSummary.changes` always counts all of them. Default: all.
   */
  readonly diffLimit?: number;
  /** Also write the raw responses as a snapshot folder that `compile` can use offline. */
  readonly record?: string;
  readonly signal?: AbortSignal;
  /** For tests: the fetch the adapters use. */
  readonly fetch?: typeof fetch;
  readonly progress?: SyncProgress;
  /** Environment for vendor settings. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Time source for sync-state. Default Date.now. */
  readonly now?: () => number;
  /** Per-request timeout (ms) and retries for the adapters. */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /**
   * Internal, for tests: the adapters' clock and waits (backoff, Retry-After, rate limit, timeouts),
   * e.g. `virtualTimers()` so a sync with retries runs without waiting. Default the real ones.
   */
  readonly timers?: Timers;
}

export interface VendorOutcome {
  readonly vendor: Vendor;
  /** ok: all fetched; partial: some users/roles failed; failed: nothing fetched; skipped: not configured. */
  readonly status: 'ok' | 'partial' | 'failed' | 'skipped';
  readonly units: number;
  readonly failures: readonly {
    readonly unit: 'user' | 'role';
    readonly id: string;
    readonly error: string;
    /** For a body that could not be used: its file in the snapshot layout and the field. */
    readonly file?: string;
    readonly field?: string;
  }[];
  /**
   * What was left out of usable bodies: grants or members skipped (a required field unreadable) and
   * optional fields ignored. At most 100 are listed; `problemCount` counts them all.
   */
  readonly problems: readonly SnapshotProblem[];
  readonly problemCount: number;
  /**
   * What the mappings and subject resolution said about this vendor's data: values no mapping
   * rule matched, grants a rule matched but could not turn into a rule (e.g. a temporary grant
   * without a readable end), accounts sharing an email, pending users. At most 100.
   */
  readonly notices: readonly string[];
  readonly error?: string;
  readonly notice?: string;
  readonly requests: number;
  readonly retries: number;
  readonly rateLimited: number;
}

export interface SyncSummary {
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly vendors: readonly VendorOutcome[];
  /** The changes made (or, on a dry run, that would be): at most `diffLimit` of each kind. */
  readonly diff: PolicyDiff;
  /** How many changes of each kind, exactly. */
  readonly changes: PolicyChangeCounts;
  /** Subjects whose cached decisions were dropped (0 on a dry run or without an authorizer). */
  readonly invalidatedSubjects: number;
  readonly stale: readonly StaleHolder[];
  readonly rules: number;
  readonly links: number;
  readonly durationMs: number;
  readonly recorded?: string;
}

export interface SyncContext {
  readonly config: Config;
  readonly mappings: MappingSet;
  readonly identities: Identities;
  /** A live authorizer to update incrementally; optional (the CLI writes files only). */
  readonly authorizer?: Pick<Authorizer, 'applyChanges' | 'getPolicy' | 'setStale'>;
}

/**
 * Runs one sync.
 *
 * @throws ConfigError before any request when vendor settings are wrong.
 */
export async function runSync(ctx: SyncContext, options: SyncOptions = {}): Promise<SyncSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const wanted = options.vendors ?? VENDORS;
  const accounts = options.users ? accountsOf(options.users, ctx.identities) : undefined;
  // A unit that cannot be compiled (e.g. a value no mapping rule matches, with "unmatched: error")
  // stops every vendor's fetch: the run fails and nothing is written.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  setMaxListeners(0, signal); // every request in flight and every wait listens to it
  const { adapters, outcomes } = vendorAdapters(ctx, options, accounts, signal);

  // Each unit (a listing, a user, a role) is recorded, read, compiled and handed to an external
  // sort as soon as it is fetched, so neither the raw responses nor the compiled policy of a large
  // account are held whole. Units are tagged with their vendor: a vendor that fails as a whole
  // after some units arrived contributes none of them.
  const compileUnit = createVendorCompiler(ctx.mappings, ctx.identities);
  const holders = new Map<Vendor, Set<string>>();
  const listed = new Map<string, VendorUser>();
  const problems = new Map<Vendor, { list: SnapshotProblem[]; count: number }>();
  const notices = new Map<Vendor, string[]>();
  // Zoom: what each user's roles give, so their own permissions (fetched after the roles) only
  // become direct grants for the rest.
  const zoomRolePrivileges = new Map<string, Set<string>>();
  const zoomMemberRoles = new Map<string, string[]>();
  const spillDir = await mkdtemp(join(tmpdir(), 'rbac-normalizer-sync-'));
  let output: MergeOutput | undefined;
  let recorder: Recorder | undefined;
  try {
    const spill = createPolicySpill(spillDir);
    if (options.record) recorder = await startRecording(options.record);
    const onUnit = async (unit: FetchedUnit) => {
      if (recorder) await recorder.write(unit.files);
      const data = await readSnapshot(MEMORY_ROOT, {
        files: memoryFiles(unit.files),
        strict: false,
        knownUser: (vendor, id) => listed.get(holderKey(vendor, id)),
        knownRolePrivileges: (id) =>
          (zoomMemberRoles.get(id) ?? []).flatMap((r) => [...(zoomRolePrivileges.get(r) ?? [])]),
      });
      if (data.problems.length > 0) {
        const p = problems.get(unit.vendor) ?? { list: [], count: 0 };
        problems.set(unit.vendor, p);
        p.count += data.problems.length;
        p.list.push(...data.problems.slice(0, Math.max(0, 100 - p.list.length)));
      }
      if (unit.vendor === 'zoom' && unit.kind === 'role') {
        for (const g of data.grants) {
          if (g.holder.type !== 'role') continue;
          const set = zoomRolePrivileges.get(g.holder.roleId) ?? new Set<string>();
          zoomRolePrivileges.set(g.holder.roleId, set.add(g.raw));
        }
        for (const l of data.links)
          zoomMemberRoles.set(l.user.vendorUserId, [
            ...(zoomMemberRoles.get(l.user.vendorUserId) ?? []),
            l.roleId,
          ]);
      }
      const into = holders.get(unit.vendor) ?? new Set<string>();
      holders.set(unit.vendor, into);
      for (const u of data.users) {
        const key = holderKey(u.vendor, u.vendorUserId); // one string per account, in both
        listed.set(key, u);
        into.add(key);
      }
      for (const key of grantHolderKeys(data)) into.add(key);
      const compiled = compileUnit(data);
      const said = [
        ...compiled.notices,
        ...compiled.unmatched.map((u) => `no mapping rule for ${u.kind} ${u.raw} (held by ${u.holder})`),
        ...compiled.skipped.map((g) => `skipped ${g.raw} (held by ${g.holder}, rule ${g.rule}): ${g.reason}`),
      ];
      if (said.length > 0) {
        const list = notices.get(unit.vendor) ?? [];
        notices.set(unit.vendor, list);
        list.push(...said.slice(0, Math.max(0, 100 - list.length)));
      }
      await spill.addFetched(unit.vendor, compiled);
    };

    const results = await fetchVendors(adapters, onUnit, options.progress, stop);
    // Cancelled: the vendors' answers are incomplete, so nothing is written.
    if (options.signal?.aborted) throw options.signal.reason;
    zoomRolePrivileges.clear();
    zoomMemberRoles.clear();
    outcomes.push(
      ...results.map((r) => ({
        ...r.outcome,
        problems: problems.get(r.vendor)?.list ?? [],
        problemCount: problems.get(r.vendor)?.count ?? 0,
        notices: notices.get(r.vendor) ?? [],
      })),
    );
    outcomes.sort((a, b) => VENDORS.indexOf(a.vendor) - VENDORS.indexOf(b.vendor));

    // What stays from before: vendors not fetched (not asked, not configured, or failed) and failed
    // units. No policy yet (first sync) is an empty one; an unreadable one stops the run, since
    // carrying failed users' rules over needs it.
    const dir = ctx.config.policies;
    const previousState = await readSyncState(dir);
    await spill.addPrevious(dir);
    const fetchedVendors = new Set<string>(results.filter((r) => r.result).map((r) => r.vendor));
    const fetchedHolders = new Set<string>();
    for (const v of fetchedVendors) for (const key of holders.get(v as Vendor) ?? []) fetchedHolders.add(key);
    holders.clear();
    listed.clear();
    const failedUnits = new Map<string, UnitFailure>();
    for (const r of results) for (const f of r.result?.failures ?? []) failedUnits.set(unitKey(f), f);
    const failedVendors = outcomes.filter((x) => x.status === 'failed');
    const failedVendorNames = new Set<string>(failedVendors.map((o) => o.vendor));
    // On a full sync, every holder of a vendor that failed as a whole is stale.
    const staleHolders = new Map<string, { vendor: string; holder: string }>();
    output = await finishMerge(
      spill.merge({
        fetchedVendors,
        // A full sync replaces everything of the vendors it fetched but failed units; a refresh of
        // some users replaces only the holders (users, and their Zoom role) it fetched.
        keep: accounts
          ? (p) => !fetchedHolders.has(holderKey(p.vendor, p.holder))
          : (p) => !fetchedVendors.has(p.vendor) || failedUnits.has(holderKey(p.vendor, p.holder)),
        failedRoles: new Set(
          [...failedUnits.values()].filter((f) => f.unit === 'role').map((f) => roleSubject(f.vendor, f.id)),
        ),
        seen: (p) => {
          if (!accounts && failedVendorNames.has(p.vendor))
            staleHolders.set(holderKey(p.vendor, p.holder), p);
        },
      }),
      {
        ...(options.dryRun ? {} : { write: dir }),
        keep: ctx.authorizer !== undefined && !options.dryRun,
        diffLimit: options.diffLimit ?? Number.POSITIVE_INFINITY,
      },
    );

    const state = syncState({
      at: new Date(now()).toISOString(),
      previous: previousState,
      staleHolders: staleHolders.values(),
      fetchedHolders,
      failedUnits: failedUnits.values(),
      failedVendors,
      accounts,
      wanted,
    });

    const recorded = await recorder?.finish();
    let invalidatedSubjects = 0;
    if (!options.dryRun) {
      await output.commit();
      await writeSyncState(dir, state);
      if (ctx.authorizer && output.policy) {
        const next = output.policy;
        const live = diffPolicies(ctx.authorizer.getPolicy(), next.policy);
        invalidatedSubjects = ctx.authorizer.applyChanges({
          ...live,
          provenance: next.provenance,
        }).invalidatedSubjects;
        ctx.authorizer.setStale(state.stale);
      }
    }
    const anyFailure = outcomes.some((o) => o.status === 'failed' || o.status === 'partial');
    return {
      ok: !anyFailure && outcomes.some((o) => o.status !== 'skipped'), // nothing fetched is not ok
      dryRun: options.dryRun ?? false,
      vendors: outcomes,
      diff: output.diff,
      changes: output.changes,
      invalidatedSubjects,
      stale: state.stale,
      rules: output.rules,
      links: output.links,
      durationMs: performance.now() - started,
      ...(recorded ? { recorded } : {}),
    };
  } catch (err) {
    // Nothing half-recorded or half-written is left behind (what committed is already in place).
    await recorder?.discard();
    await output?.abort();
    throw err;
  } finally {
    await rm(spillDir, { recursive: true, force: true });
  }
}

interface Counters {
  requests: number;
  retries: number;
  rateLimited: number;
}

const unitKey = (f: UnitFailure) => holderKey(f.vendor, f.unit === 'role' ? `role:${f.id}` : f.id);

function skipped(vendor: Vendor, notice: string): VendorOutcome {
  return {
    vendor,
    status: 'skipped',
    units: 0,
    failures: [],
    problems: [],
    problemCount: 0,
    notices: [],
    notice,
    requests: 0,
    retries: 0,
    rateLimited: 0,
  };
}

/**
 * The new sync state: every holder fetched gets `at` as its last success; stale are every failed
 * unit, every holder of a vendor that failed as a whole (only the asked-for accounts on a refresh),
 * and earlier stale holders this run did not fetch again.
 */
function syncState(run: {
  at: string;
  previous: SyncState | undefined;
  /** On a full sync, every holder of a vendor that failed as a whole (from the previous provenance). */
  staleHolders: Iterable<{ vendor: string; holder: string }>;
  fetchedHolders: ReadonlySet<string>;
  failedUnits: Iterable<UnitFailure>;
  failedVendors: readonly VendorOutcome[];
  accounts: Map<Vendor, string[]> | undefined;
  wanted: readonly Vendor[];
}): SyncState {
  const lastSuccess: Record<string, string> = { ...(run.previous?.lastSuccess ?? {}) };
  for (const key of run.fetchedHolders) lastSuccess[key] = run.at;
  const stale = new Map<string, StaleHolder>();
  const mark = (vendor: string, holder: string, error: string) =>
    stale.set(holderKey(vendor, holder), {
      vendor,
      holder,
      lastSuccess: lastSuccess[holderKey(vendor, holder)] ?? null,
      error,
    });
  for (const f of run.failedUnits) mark(f.vendor, f.unit === 'role' ? `role:${f.id}` : f.id, f.error.message);
  const errors = new Map(run.failedVendors.map((o) => [o.vendor as string, o.error ?? 'vendor failed']));
  for (const o of run.failedVendors)
    for (const id of run.accounts?.get(o.vendor) ?? []) mark(o.vendor, id, errors.get(o.vendor) ?? '');
  for (const h of run.staleHolders) mark(h.vendor, h.holder, errors.get(h.vendor) ?? 'vendor failed');
  for (const h of run.previous?.stale ?? []) {
    const key = holderKey(h.vendor, h.holder);
    const refetched = run.accounts ? run.fetchedHolders.has(key) : run.wanted.includes(h.vendor as Vendor);
    if (!refetched && !stale.has(key)) stale.set(key, h);
  }
  return { updatedAt: run.at, lastSuccess, stale: [...stale.values()] };
}

interface VendorRun {
  vendor: Vendor;
  adapter: VendorAdapter;
  counters: Counters;
  /** The accounts to refresh (a refresh of some users); absent for a full sync. */
  ids?: string[];
}

/**
 * An adapter for each wanted, configured vendor with something to fetch, and a skipped outcome for
 * the others.
 *
 * @throws ConfigError when vendor settings are wrong (before any request).
 */
function vendorAdapters(
  ctx: SyncContext,
  options: SyncOptions,
  accounts: Map<Vendor, string[]> | undefined,
  signal: AbortSignal,
): { adapters: VendorRun[]; outcomes: VendorOutcome[] } {
  const settings = vendorSettings(ctx.config.vendors, options.env);
  const wanted = options.vendors ?? VENDORS;
  const outcomes: VendorOutcome[] = [];
  const adapters: VendorRun[] = [];
  for (const vendor of VENDORS) {
    if (!wanted.includes(vendor)) continue;
    const counters: Counters = { requests: 0, retries: 0, rateLimited: 0 };
    const events: HttpEvents = {
      request: () => {
        counters.requests++;
        options.progress?.request?.(vendor);
      },
      retry: (i) => {
        counters.retries++;
        if (i.reason === '429' || i.reason === 'vendor busy') counters.rateLimited++;
        options.progress?.retry?.(vendor, i);
      },
    };
    const common = {
      events,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      signal,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.timers ? { timers: options.timers } : {}),
    };
    const s = settings[vendor];
    if (!s) {
      outcomes.push(
        skipped(
          vendor,
          `${vendor} is not configured (vendors.${vendor} in the config, or its environment variables)`,
        ),
      );
      continue;
    }
    const ids = accounts?.get(vendor);
    if (accounts && !ids?.length) {
      outcomes.push(skipped(vendor, `none of the requested users has a ${vendor} account`));
      continue;
    }
    let adapter: VendorAdapter;
    if (vendor === 'zoom') adapter = createZoomAdapter({ ...settings.zoom!, ...common });
    else if (vendor === 'vonage') adapter = createVonageAdapter({ ...settings.vonage!, ...common });
    else {
      const users = ids ?? [
        ...[...ctx.identities.values()].map((a) => a.tuya).filter((u): u is string => u !== undefined),
        ...(settings.tuya?.users ?? []),
      ];
      if (users.length === 0) {
        outcomes.push(
          skipped(
            vendor,
            'no Tuya users: Tuya accounts come from the identities file (person: { tuya: uid }) and vendors.tuya.users',
          ),
        );
        continue;
      }
      adapter = createTuyaAdapter({ ...settings.tuya!, users, ...common });
    }
    adapters.push({ vendor, adapter, counters, ...(ids ? { ids } : {}) });
  }

  return { adapters, outcomes };
}

/**
 * Fetches every vendor at once (each has its own host and budget). A vendor that fails with a
 * VendorError gives a failed outcome; any other error (a unit that cannot be compiled, a
 * cancellation) stops every vendor and rejects.
 */
async function fetchVendors(
  adapters: readonly VendorRun[],
  onUnit: (unit: FetchedUnit) => Promise<void>,
  progress: SyncProgress | undefined,
  stop: AbortController,
): Promise<{ vendor: Vendor; result: FetchResult | undefined; outcome: VendorOutcome }[]> {
  return Promise.all(
    adapters.map(async ({ vendor, adapter, counters, ids }) => {
      try {
        const fetchOptions = {
          onUnit,
          progress: {
            total: (n: number) => progress?.start?.(vendor, n),
            done: () => progress?.done?.(vendor),
          },
        };
        const r = ids ? await fetchUsers(adapter, ids, fetchOptions) : await adapter.fetchAll(fetchOptions);
        const outcome: VendorOutcome = {
          vendor,
          status: r.failures.length ? 'partial' : 'ok',
          units: r.units,
          failures: r.failures.map((f) => ({
            unit: f.unit,
            id: f.id,
            error: f.error.message,
            ...(f.error.file !== undefined ? { file: f.error.file } : {}),
            ...(f.error.field !== undefined ? { field: f.error.field } : {}),
          })),
          problems: [],
          problemCount: 0,
          notices: [],
          ...counters,
        };
        progress?.finish?.(vendor, outcome);
        return { vendor, result: r as FetchResult | undefined, outcome };
      } catch (err) {
        if (!(err instanceof VendorError) || stop.signal.aborted) {
          stop.abort(err);
          throw stop.signal.reason;
        }
        const outcome: VendorOutcome = {
          vendor,
          status: 'failed',
          units: 0,
          failures: [],
          problems: [],
          problemCount: 0,
          notices: [],
          error: err.message,
          ...counters,
        };
        progress?.finish?.(vendor, outcome);
        return { vendor, result: undefined, outcome };
      }
    }),
  );
}

/** fetchUser for each id, as one result. */
async function fetchUsers(adapter: VendorAdapter, ids: readonly string[], options: FetchOptions) {
  const failures: UnitFailure[] = [];
  options.progress?.total(ids.length);
  const one = { ...(options.onUnit ? { onUnit: options.onUnit } : {}) };
  for (const id of ids) {
    const r = await adapter.fetchUser(id, one);
    failures.push(...r.failures);
    options.progress?.done();
  }
  return { vendor: adapter.vendor, files: new Map<string, FetchedBody>(), failures, units: ids.length };
}

/**
 * The vendor accounts of the people or `vendor:id` accounts asked for.
 *
 * @throws ConfigError (key "users") naming one that is neither.
 */
function accountsOf(users: readonly string[], identities: Identities): Map<Vendor, string[]> {
  const out = new Map<Vendor, string[]>();
  const add = (vendor: Vendor, id: string) => {
    const list = out.get(vendor) ?? [];
    if (!list.includes(id)) list.push(id);
    out.set(vendor, list);
  };
  for (const u of users) {
    const person = identities.get(u);
    const account = /^(zoom|vonage|tuya):(.+)$/s.exec(u);
    if (person) {
      for (const v of VENDORS) {
        const id = person[v];
        if (id !== undefined) add(v, id);
      }
    } else if (account) add(account[1] as Vendor, account[2] as string);
    else
      throw new ConfigError(
        'users',
        `${JSON.stringify(u)} is not a person in the identities file; name an account as zoom:<id or email>, vonage:<userId> or tuya:<uid>`,
      );
  }
  return out;
}

/** Holder keys (for lastSuccess) of the grants and Zoom role links of a unit (its users are added with their listing). */
function* grantHolderKeys(data: VendorData): Iterable<string> {
  for (const g of data.grants)
    yield holderKey(g.vendor, g.holder.type === 'user' ? g.holder.vendorUserId : `role:${g.holder.roleId}`);
  for (const l of data.links) yield holderKey(l.vendor, `role:${l.roleId}`);
}

/**
 * Records fetched responses as a snapshot folder, unit by unit, into a temporary folder beside the
 * target that replaces it whole (by rename) once the run is done.
 */
type Recorder = Awaited<ReturnType<typeof startRecording>>;

async function startRecording(target: string) {
  const tmp = join(dirname(target), `.${basename(target)}-${Date.now()}-${process.pid}.recording`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  return {
    async write(files: ReadonlyMap<string, FetchedBody>): Promise<void> {
      for (const [rel, { text }] of files) {
        const file = join(tmp, ...rel.split('/'));
        await mkdir(dirname(file), { recursive: true });
        // The body exactly as the vendor sent it (what compile checks again, offline).
        await writeFile(file, text.endsWith('\n') ? text : `${text}\n`);
      }
    },
    async finish(): Promise<string> {
      await rm(target, { recursive: true, force: true });
      await rename(tmp, target);
      return target;
    },
    discard: () => rm(tmp, { recursive: true, force: true }),
  };
}
