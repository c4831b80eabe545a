// The sync state a run leaves: when each account was last fetched, and which are stale.
import type { UnitFailure } from '../adapters/types.js';
import type { Vendor } from '../grants.js';
import { holderKey, type StaleHolder, type SyncState } from '../policy/sync-state.js';
import type { VendorOutcome } from './types.js';

export const unitKey = (f: UnitFailure) => holderKey(f.vendor, f.unit === 'role' ? `role:${f.id}` : f.id);

/**
 * The new sync state: every holder fetched gets `at` as its last success; stale are every failed
 * unit, every holder of a vendor that failed as a whole (only the asked-for accounts on a refresh),
 * and earlier stale holders this run did not fetch again.
 */
export function syncState(run: {
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
