// sync, as it reads: fetch (fetch.ts, units.ts) → merge with the stored policy (policy-merge.ts) →
// state (state.ts) → write through the store (policy/policy-store.ts) → apply to the live index.
// A vendor, user or role that fails keeps its previous rules (flagged stale); the new files are
// written under temporary names and put in place as one commit (policy/commit.ts) only once
// everything is decided, holding the policies folder's lock throughout, so a crash leaves the
// previous policy or the new one and two syncs never overwrite each other's change.
import { setMaxListeners } from 'node:events';
import type { UnitFailure } from '../adapters/types.js';
import { VENDORS, type Vendor } from '../grants.js';
import { roleSubject } from '../identities.js';
import { diffPolicies } from '../policy/diff.js';
import { removeTree } from '../policy/durable.js';
import { createFileStore, type StoreChange } from '../policy/policy-store.js';
import { holderKey } from '../policy/sync-state.js';
import { accountsOf } from './accounts.js';
import { fetchVendors, vendorAdapters } from './fetch.js';
import { createPolicySpill, finishMerge, type MergeOutput } from './policy-merge.js';
import { checkRecordTarget, type Recorder, recordGuards, startRecording } from './record.js';
import { createSpillDir } from './spill-dir.js';
import { syncState, unitKey } from './state.js';
import type { SyncContext, SyncOptions, SyncSummary } from './types.js';
import { createUnitIntake } from './units.js';

export type {
  SyncContext,
  SyncOptions,
  SyncProgress,
  SyncSummary,
  VendorOutcome,
} from './types.js';

/**
 * Runs one sync, holding the policies folder's lock from before the first request to the end
 * (calls in this process wait for each other; see policy/lock.ts), after finishing any commit a
 * crash interrupted and removing what killed syncs left.
 *
 * @throws ConfigError before any request when vendor settings or `record` are wrong.
 * @throws PolicyLockError before any request when another process holds the lock.
 */
export async function runSync(ctx: SyncContext, options: SyncOptions = {}): Promise<SyncSummary> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const wanted = options.vendors ?? VENDORS;
  const accounts = options.users ? accountsOf(options.users, ctx.identities) : undefined;
  const store = ctx.store ?? createFileStore(ctx.config.policies);
  const guards = recordGuards(ctx.config, options.dryRun ?? false);
  if (options.record !== undefined) await checkRecordTarget(options.record, guards);
  // A unit that cannot be compiled (e.g. a value no mapping rule matches, with "unmatched: error")
  // stops every vendor's fetch: the run fails and nothing is written.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  setMaxListeners(0, signal); // every request in flight and every wait listens to it
  const { adapters, outcomes } = vendorAdapters(ctx, options, accounts, signal);

  const writer = await store.lock('sync', options.signal);
  let spillDir: string | undefined;
  let output: MergeOutput | undefined;
  let recorder: Recorder | undefined;
  let change: StoreChange | undefined;
  let version: number | undefined;
  try {
    // Fetch: every vendor at once, each unit compiled into the external sort as it arrives.
    spillDir = await createSpillDir();
    const spill = createPolicySpill(spillDir);
    if (options.record) recorder = await startRecording(options.record, guards);
    const intake = createUnitIntake({ mappings: ctx.mappings, identities: ctx.identities, spill, recorder });
    const onUnit = intake.onUnit;

    const results = await fetchVendors(adapters, onUnit, options.progress, stop);
    // Cancelled: the vendors' answers are incomplete, so nothing is written.
    if (options.signal?.aborted) throw options.signal.reason;
    outcomes.push(...results.map((r) => ({ ...r.outcome, ...intake.report(r.vendor) })));
    outcomes.sort((a, b) => VENDORS.indexOf(a.vendor) - VENDORS.indexOf(b.vendor));

    // Merge: what stays from before: vendors not fetched (not asked, not configured, or failed) and failed
    // units. No policy yet (first sync) is an empty one; an unreadable one stops the run, since
    // carrying failed users' rules over needs it.
    const previousState = await store.readState();
    await spill.addPrevious(store);
    const fetchedVendors = new Set<string>(results.filter((r) => r.result).map((r) => r.vendor));
    const fetchedHolders = new Set<string>();
    for (const v of fetchedVendors) for (const key of intake.holdersOf(v as Vendor)) fetchedHolders.add(key);
    intake.clear();
    const failedUnits = new Map<string, UnitFailure>();
    for (const r of results) for (const f of r.result?.failures ?? []) failedUnits.set(unitKey(f), f);
    const failedVendors = outcomes.filter((x) => x.status === 'failed');
    const failedVendorNames = new Set<string>(failedVendors.map((o) => o.vendor));
    // On a full sync, every holder of a vendor that failed as a whole is stale.
    const staleHolders = new Map<string, { vendor: string; holder: string }>();
    if (!options.dryRun) change = writer.begin();
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
        ...(change ? { change } : {}),
        keep: ctx.authorizer !== undefined && !options.dryRun,
        diffLimit: options.diffLimit ?? Number.POSITIVE_INFINITY,
      },
    );

    // State, then write: the policy and its sync state as one commit, then the live index.
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
      // The sync state belongs to the same commit as the policy.
      await change?.state(state);
      version = (await change?.commit())?.version;
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
      ...(version !== undefined ? { version } : {}),
    };
  } catch (err) {
    // Nothing half-recorded or half-written is left behind (what committed is already in place).
    await recorder?.discard();
    await change?.abort();
    throw err;
  } finally {
    try {
      if (spillDir) await removeTree(spillDir);
    } finally {
      await writer.release();
    }
  }
}
