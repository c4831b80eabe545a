// The sync() metrics: runs, their times, and each vendor's outcome, requests, 429s and retries,
// counted as each run ends (off the hot path, so straight into prom-client).
import { Counter, Histogram, type Metric } from 'prom-client';
import { VENDORS } from '../grants.js';
import type { SyncSummary, VendorOutcome } from '../sync/types.js';

/** Upper bounds (seconds) of the sync-time histogram: one run takes seconds to minutes. */
const SYNC_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

const STATUSES: readonly VendorOutcome['status'][] = ['ok', 'partial', 'failed', 'skipped'];

export interface SyncMetrics {
  /** Every sync metric, unregistered, each label set at 0. */
  readonly metrics: readonly Metric[];
  /** A sync ran for `seconds`: its summary, or undefined when it threw. */
  synced(summary: SyncSummary | undefined, seconds: number): void;
}

export function createSyncMetrics(): SyncMetrics {
  const syncs = new Counter({
    name: 'rbac_syncs_total',
    help: 'sync() runs of this instance: ok, incomplete (a vendor failed, in part or whole) or error (threw)',
    labelNames: ['status'] as const,
    registers: [],
  });
  const duration = new Histogram({
    name: 'rbac_sync_duration_seconds',
    help: 'How long sync() runs of this instance took',
    buckets: SYNC_BUCKETS,
    registers: [],
  });
  const vendorSyncs = new Counter({
    name: 'rbac_vendor_syncs_total',
    help: "Vendors' outcomes in sync() runs: ok, partial, failed or skipped (not configured)",
    labelNames: ['vendor', 'status'] as const,
    registers: [],
  });
  const perVendor = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['vendor'] as const, registers: [] });
  const requests = perVendor('rbac_vendor_requests_total', 'Vendor API requests made by sync() runs');
  const rateLimited = perVendor(
    'rbac_vendor_rate_limited_total',
    'Vendor answers that reported a rate limit (HTTP 429, Tuya code 1110)',
  );
  const retries = perVendor('rbac_vendor_retries_total', 'Vendor requests sent again after a failure');
  // Every series from the start, so that a rate over the first failure is not empty.
  for (const status of ['ok', 'incomplete', 'error']) syncs.inc({ status }, 0);
  for (const vendor of VENDORS) {
    for (const c of [requests, rateLimited, retries]) c.inc({ vendor }, 0);
    for (const status of STATUSES) vendorSyncs.inc({ vendor, status }, 0);
  }
  return {
    metrics: [syncs, duration, vendorSyncs, requests, rateLimited, retries] as Metric[],
    synced(summary, seconds) {
      if (Number.isFinite(seconds) && seconds >= 0) duration.observe(seconds);
      syncs.inc({ status: summary === undefined ? 'error' : summary.ok ? 'ok' : 'incomplete' });
      for (const v of summary?.vendors ?? []) {
        vendorSyncs.inc({ vendor: v.vendor, status: v.status });
        requests.inc({ vendor: v.vendor }, v.requests);
        rateLimited.inc({ vendor: v.vendor }, v.rateLimited);
        retries.inc({ vendor: v.vendor }, v.retries);
      }
    },
  };
}
