// Fetching: one adapter per wanted, configured vendor, every vendor at once, each unit handed on as
// it arrives; a vendor that fails as a whole becomes a failed outcome, anything else stops the run.
import type { HttpEvents } from '../adapters/http.js';
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
import { VendorError } from '../errors.js';
import { VENDORS, type Vendor } from '../grants.js';
import type { FetchedBody } from '../snapshot/read.js';
import { vendorSettings } from './settings.js';
import type { SyncContext, SyncOptions, SyncProgress, VendorOutcome } from './types.js';

export interface Counters {
  requests: number;
  retries: number;
  rateLimited: number;
}

export function skipped(vendor: Vendor, notice: string): VendorOutcome {
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

export interface VendorRun {
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
export function vendorAdapters(
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
export async function fetchVendors(
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
export async function fetchUsers(adapter: VendorAdapter, ids: readonly string[], options: FetchOptions) {
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
