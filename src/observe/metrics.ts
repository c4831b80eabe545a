// Prometheus metrics (prom-client), opt-in with createAuthorizer({ metrics: registry }); only
// src/observe/ imports prom-client. Decisions are tallied in plain numbers (decision-tally.ts) and
// the engine's state is read at scrape time, so the hot path never calls prom-client.
import {
  Counter,
  Gauge,
  type Histogram,
  type Metric,
  type Registry,
  type RegistryContentType,
} from 'prom-client';
import { ConfigError } from '../errors.js';
import type { Health } from '../health.js';
import type { Freshness } from '../store/follower.js';
import type { SyncSummary } from '../sync/types.js';
import { DECISION_BUCKETS, DecisionTally, OUTCOMES } from './decision-tally.js';
import { type ObserverFactory, type ObserverHost, TIMED_ONE_IN } from './observer.js';
import { createSyncMetrics } from './sync-metrics.js';

/** A prom-client Registry (`new Registry()` or `register`, the global one), Prometheus or OpenMetrics. */
export type MetricsRegistry = Registry<RegistryContentType>;

/** Every metric's name: the README's `## Metrics` table lists each. */
export const METRIC_NAMES = [
  'rbac_decisions_total',
  'rbac_decision_duration_seconds',
  'rbac_cache_hits_total',
  'rbac_cache_misses_total',
  'rbac_cache_evictions_total',
  'rbac_cache_entries',
  'rbac_policy_rules',
  'rbac_policy_links',
  'rbac_policy_version',
  'rbac_policy_loaded_timestamp_seconds',
  'rbac_policy_last_confirmed_timestamp_seconds',
  'rbac_vendor_last_success_timestamp_seconds',
  'rbac_stale_units',
  'rbac_syncs_total',
  'rbac_sync_duration_seconds',
  'rbac_vendor_syncs_total',
  'rbac_vendor_requests_total',
  'rbac_vendor_rate_limited_total',
  'rbac_vendor_retries_total',
] as const;

export interface MetricsOptions {
  /** Where the metrics are registered (once `register()` is called). */
  readonly registry: MetricsRegistry;
  /** Told when a scrape cannot read what it reports (the metrics then keep their last values). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** What the metrics read at scrape time, besides the engine they watch. */
export interface MetricSources {
  readonly freshness: () => Freshness;
  /** Read once per scrape (it reads the stored sync state): last success and stale units per vendor. */
  readonly health: () => Promise<Health>;
}

export interface Metrics {
  /** The decision observer: times about one decision in TIMED_ONE_IN and counts refusals. */
  readonly observe: ObserverFactory;
  /** Registers every metric. @throws ConfigError `metrics` when the registry already has one of them. */
  register(sources: MetricSources): void;
  /** A sync ran for `seconds`: its summary, or undefined when it threw. */
  synced(summary: SyncSummary | undefined, seconds: number): void;
  /** Removes this instance's metrics from the registry (a later authorizer may then register its own). */
  unregister(): void;
}

/**
 * Builds the metrics of one authorizer. Nothing is registered until `register()`, so an authorizer
 * that fails to start leaves the registry as it was. One authorizer per registry: the names carry
 * no instance label, so a second one is refused rather than mixed in.
 *
 * @throws ConfigError `metrics` when `registry` is not a prom-client Registry or already holds an
 * `rbac_` metric.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { registry, onError } = options;
  checkRegistry(registry);
  const tally = new DecisionTally();
  let host: ObserverHost | undefined;
  let sources: MetricSources | undefined;

  // One health() per scrape: every collector of one registry.metrics() call starts in the same tick.
  let pending: Promise<Health> | undefined;
  const health = (): Promise<Health> | undefined => {
    if (sources === undefined) return undefined;
    pending ??= sources.health().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  /** Runs `apply` with the health of this scrape; on a failure the metric keeps its last values. */
  const withHealth = async (apply: (h: Health) => void): Promise<void> => {
    try {
      const h = await health();
      if (h !== undefined) apply(h);
    } catch (error) {
      onError?.(error);
    }
  };
  const stat = (pick: (s: ReturnType<ObserverHost['stats']>) => number) => () =>
    host === undefined ? 0 : pick(host.stats());
  const seconds = (ms: number | null | undefined) => (ms == null || !Number.isFinite(ms) ? 0 : ms / 1000);

  const metrics = [
    new Counter({
      name: 'rbac_decisions_total',
      help: 'enforce()/enforceStrict() decisions by result (allow, deny) and reason',
      labelNames: ['result', 'reason'] as const,
      registers: [],
      collect() {
        this.reset();
        const decided = host?.decisions();
        for (const o of OUTCOMES)
          this.inc(
            { result: o.result, reason: o.reason },
            (tally.outcomes[o.index] ?? 0) + (decided?.[o.index] ?? 0),
          );
      },
    }),
    decisionHistogram(tally),
    scraped(
      Counter,
      'rbac_cache_hits_total',
      'Decisions answered from the cache',
      stat((s) => s.hits),
    ),
    scraped(
      Counter,
      'rbac_cache_misses_total',
      'Decisions not in the cache',
      stat((s) => s.misses),
    ),
    scraped(
      Counter,
      'rbac_cache_evictions_total',
      "Subjects' cached decisions dropped to make room",
      stat((s) => s.evictions),
    ),
    scraped(
      Gauge,
      'rbac_cache_entries',
      'Decisions in the cache',
      stat((s) => s.cached),
    ),
    scraped(
      Gauge,
      'rbac_policy_rules',
      'Rules (p lines) in the policy held',
      stat((s) => s.rules),
    ),
    scraped(
      Gauge,
      'rbac_policy_links',
      'Role links (g lines) in the policy held',
      stat((s) => s.links),
    ),
    scraped(
      Gauge,
      'rbac_policy_version',
      'Store version of the policy held (0 with a file store)',
      () => host?.policyVersion() ?? 0,
    ),
    scraped(
      Gauge,
      'rbac_policy_loaded_timestamp_seconds',
      'When the whole policy was last loaded (Unix seconds; 0 never)',
      () => seconds(sources?.freshness().loadedAt),
    ),
    scraped(
      Gauge,
      'rbac_policy_last_confirmed_timestamp_seconds',
      'When this instance last confirmed it holds the current policy (Unix seconds; 0 never)',
      () => seconds(sources?.freshness().lastHeardAt),
    ),
    new Gauge({
      name: 'rbac_vendor_last_success_timestamp_seconds',
      help: "Latest successful fetch of any of the vendor's accounts (Unix seconds; absent: never)",
      labelNames: ['vendor'] as const,
      registers: [],
      collect() {
        return withHealth((h) => {
          this.reset();
          for (const v of h.vendors)
            if (v.lastSuccess !== null) this.set({ vendor: v.vendor }, seconds(Date.parse(v.lastSuccess)));
        });
      },
    }),
    new Gauge({
      name: 'rbac_stale_units',
      help: 'Vendor accounts and roles whose rules are kept from an earlier sync',
      labelNames: ['vendor'] as const,
      registers: [],
      collect() {
        return withHealth((h) => {
          for (const v of h.vendors) this.set({ vendor: v.vendor }, v.stale);
        });
      },
    }),
  ];
  const sync = createSyncMetrics();
  const all = [...(metrics as Metric[]), ...sync.metrics];
  // The names as registered: an OpenMetrics scrape renames a counter (drops `_total`) in place, and
  // prom-client's types leave the name out.
  const named = all.map((m) => [(m as unknown as { readonly name: string }).name, m] as const);

  let registered = false;
  return {
    observe: (h) => {
      host = h;
      return tally;
    },
    register(s) {
      checkRegistry(registry);
      sources = s;
      for (const m of all) registry.registerMetric(m);
      registered = true;
    },
    synced: sync.synced,
    unregister() {
      if (!registered) return;
      registered = false;
      for (const [name, m] of named)
        if (registry.getSingleMetric(name) === m) registry.removeSingleMetric(name);
    },
  };
}

function checkRegistry(registry: unknown): asserts registry is MetricsRegistry {
  const r = registry as Partial<Record<string, unknown>> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r['registerMetric'] !== 'function' ||
    typeof r['getSingleMetric'] !== 'function' ||
    typeof r['removeSingleMetric'] !== 'function'
  )
    throw new ConfigError('metrics', "must be a prom-client Registry (new Registry() from 'prom-client')");
  const taken = METRIC_NAMES.find(
    (name) => (registry as MetricsRegistry).getSingleMetric(name) !== undefined,
  );
  if (taken !== undefined)
    throw new ConfigError(
      'metrics',
      `the registry already has ${taken}: one authorizer per registry (close() the other one first, or give each its own Registry)`,
    );
}

/** A label-less counter or gauge whose value is read at scrape time. */
function scraped(
  Kind: typeof Counter | typeof Gauge,
  name: string,
  help: string,
  read: () => number,
): Counter | Gauge {
  if (Kind === Gauge)
    return new Gauge({
      name,
      help,
      registers: [],
      collect() {
        this.set(read());
      },
    });
  return new Counter({
    name,
    help,
    registers: [],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * The decision-time histogram, from the tally's buckets at scrape time. prom-client's Histogram
 * can only observe one value at a time, so this is a metric object of the shape the registry reads
 * (`get()` as Histogram returns it); resetMetrics() leaves it as it is, like the other counts.
 */
function decisionHistogram(tally: DecisionTally): Histogram {
  const name = 'rbac_decision_duration_seconds';
  const help = `How long enforce()/enforceStrict() took: a random sample of about one call in ${TIMED_ONE_IN}, or the decision log's when larger`;
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    labelNames: [],
    reset() {},
    async get() {
      const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
      let cumulative = 0;
      DECISION_BUCKETS.forEach((le, i) => {
        cumulative += tally.buckets[i] ?? 0;
        values.push({ labels: { le }, value: cumulative, metricName: `${name}_bucket` });
      });
      const count = tally.timed();
      values.push(
        { labels: { le: '+Inf' }, value: count, metricName: `${name}_bucket` },
        { labels: {}, value: tally.sum, metricName: `${name}_sum` },
        { labels: {}, value: count, metricName: `${name}_count` },
      );
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
  return metric as unknown as Histogram;
}
