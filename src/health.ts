// What an operator asks of an instance: which policy it holds and since when, whether it is fresh,
// how the vendors are syncing, how many accounts are stale, and the decision cache.

import type { VENDORS } from './grants.js';
import type { SyncState } from './policy/sync-state.js';
import type { Freshness } from './store/follower.js';
import type { VendorOutcome } from './sync/types.js';

type Vendor = (typeof VENDORS)[number];

export interface VendorHealth {
  readonly vendor: Vendor;
  /** The latest successful fetch of any of the vendor's accounts (sync state), ISO, or null. */
  readonly lastSuccess: string | null;
  /** The outcome of the last sync this process ran, if it ran one. */
  readonly lastOutcome: {
    readonly status: VendorOutcome['status'];
    readonly at: string;
    readonly error?: string;
  } | null;
  /** Accounts and roles of this vendor whose rules are kept from an earlier sync. */
  readonly stale: number;
}

export interface Health {
  /**
   * True when this instance may answer: a policy is loaded (rules, or a store version) and, with a
   * shared store, it is not past `maxStaleness`. What a readiness probe (`/healthz`) answers.
   */
  readonly ready: boolean;
  /** Why it is not ready; absent when ready. */
  readonly notReady?: string;
  readonly policy: {
    readonly version: number;
    /** When this instance last loaded the whole policy (ISO), or null. */
    readonly loadedAt: string | null;
    readonly rules: number;
    readonly links: number;
  };
  /** When this instance last confirmed it holds the store's current version (ISO), or null. */
  readonly lastHeardAt: string | null;
  /** When the last sync (of any process) wrote its state (ISO), or null when none did. */
  readonly lastSyncAt: string | null;
  /**
   * Why the stored sync state could not be read (the store unreachable): `lastSyncAt`, the
   * vendors' `lastSuccess` and the stale counts are then unknown. Absent when it was read.
   */
  readonly stateError?: string;
  readonly vendors: readonly VendorHealth[];
  /** Stale units, all vendors together. */
  readonly staleUnits: number;
  readonly cache: {
    readonly cached: number;
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
  };
}

const iso = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/** Builds the health report from what the instance knows. */
export function healthReport(input: {
  freshness: Freshness;
  stats: { rules: number; links: number; cached: number; hits: number; misses: number; evictions: number };
  state: SyncState | undefined;
  lastOutcomes: ReadonlyMap<Vendor, { status: VendorOutcome['status']; at: string; error?: string }>;
  vendors: readonly Vendor[];
  /** Why no decision may be made now (a shared store past maxStaleness), or undefined. */
  unfresh: string | undefined;
  /** Why the sync state could not be read, or undefined. */
  stateError?: string | undefined;
}): Health {
  const { freshness, stats, state } = input;
  const notReady =
    stats.rules === 0 && freshness.version === 0
      ? 'no policy loaded (no rules, no store version)'
      : input.unfresh;
  const vendors = input.vendors.map((vendor): VendorHealth => {
    let last: string | null = null;
    for (const [key, at] of Object.entries(state?.lastSuccess ?? {}))
      if (key.startsWith(`${vendor}:`) && (last === null || at > last)) last = at;
    return {
      vendor,
      lastSuccess: last,
      lastOutcome: input.lastOutcomes.get(vendor) ?? null,
      stale: (state?.stale ?? []).filter((h) => h.vendor === vendor).length,
    };
  });
  return {
    ready: notReady === undefined,
    ...(notReady === undefined ? {} : { notReady }),
    policy: {
      version: freshness.version,
      loadedAt: iso(freshness.loadedAt),
      rules: stats.rules,
      links: stats.links,
    },
    lastHeardAt: iso(freshness.lastHeardAt),
    lastSyncAt: state?.updatedAt ?? null,
    ...(input.stateError === undefined ? {} : { stateError: input.stateError }),
    vendors,
    staleUnits: state?.stale.length ?? 0,
    cache: { cached: stats.cached, hits: stats.hits, misses: stats.misses, evictions: stats.evictions },
  };
}
