import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import {
  type Authorizer,
  type AuthorizerOptions,
  type ChangeResult,
  createEngine,
} from './engine/authorizer.js';
import { ConfigError, reporter } from './errors.js';
import { VENDORS, type Vendor } from './grants.js';
import { type Health, healthReport } from './health.js';
import type { Identities } from './identities.js';
import type { MappingSet } from './mapping/load.js';
import { createDecisionLog, type DecisionLogOptions } from './observe/decision-log.js';
import type { MetricsRegistry } from './observe/metrics.js';
import type { ObserverFactory } from './observe/observer.js';
import { diffPolicies } from './policy/diff.js';
import { createFileStore, isPolicyStore, type PolicyStore, replacePolicy } from './policy/policy-store.js';
import { openConfiguredStore } from './store/configured.js';
import type { Freshness } from './store/follower.js';
import { isPostgresStore, joinSharedStore } from './store/instance.js';
import type { PostgresStore } from './store/postgres/store.js';
import type { ChangeTransport } from './store/types.js';
import { runSync, type SyncOptions, type SyncSummary, type VendorOutcome } from './sync/run.js';
import { type CompileResult, compileSnapshot } from './vendor-compiler.js';
import { loadWorkspace } from './workspace.js';

export interface CreateAuthorizerOptions extends AuthorizerOptions {
  /**
   * A config file (like the CLI's `--config`): its `policies`, `mappings` and `identities` are
   * loaded unless the matching option is given. Default: none (use `policies`, default "policies").
   */
  readonly config?: string;
  /**
   * Mapping folder or file, used by compileSnapshot() and sync(). Default: the config's `mappings`;
   * when the config names none, "mappings" beside the config (or in the working directory) if that
   * exists, else the package's own default mappings.
   */
  readonly mappings?: string;
  /** Identities file, used by compileSnapshot(). Default: the config's, else "identities.yaml" if present. */
  readonly identities?: string;
  /**
   * Where the policy is kept and where sync() and compileSnapshot({ write }) put it: a PolicyStore
   * (`createFileStore(dir)`), or a shared PostgreSQL store (`createPostgresStore(...)`), which this
   * instance then follows. Default: the file store of the policies folder.
   */
  readonly store?: PolicyStore | PostgresStore;
  /** With a PostgreSQL store: what carries changes between instances (`createRedisTransport`, `createPgNotifyTransport`). Default: the poll only. */
  readonly propagation?: ChangeTransport;
  /** With a PostgreSQL store: how often to confirm with the store without a message, ms. Default 30000. */
  readonly pollMs?: number;
  /**
   * With a PostgreSQL store: once this instance has not confirmed it is current for this long
   * (ms; must exceed `pollMs`), `enforce` denies and `enforceStrict` throws (the middleware answers
   * 503). Default: no bound.
   */
  readonly maxStaleness?: number;
  /**
   * A prom-client `Registry` to register this authorizer's metrics in (`rbac_*`: decisions, cache,
   * policy, freshness, syncs; see the README's Metrics). Decisions are counted in plain numbers and
   * read at scrape time. One authorizer per registry; close() removes them. Default: no metrics.
   * @throws ConfigError `metrics` when it is not a Registry or already holds `rbac_*` metrics.
   */
  readonly metrics?: MetricsRegistry;
  /** Writes sampled decisions as JSON lines (README "Decision log"). Default: off. */
  readonly decisionLog?: DecisionLogOptions;
}

export interface FullAuthorizer extends Authorizer {
  /** The mappings loaded at construction. */
  readonly mappings: MappingSet;
  /** The identities loaded at construction. */
  readonly identities: Identities;
  /**
   * Compiles a snapshot with the loaded mappings and identities and applies the difference to the
   * live policy incrementally (only affected subjects' cached decisions are dropped). With
   * `write: true` the result is also written to the policies folder (atomically).
   */
  compileSnapshot(
    dir: string,
    options?: { write?: boolean },
  ): Promise<CompileResult & { readonly change: ChangeResult }>;
  /**
   * Fetches the vendors configured in the config's `vendors:` (or the environment), maps, writes the
   * policies folder and applies the difference to this authorizer incrementally.
   * @throws ConfigError before any request when vendor settings are wrong.
   */
  sync(options?: SyncOptions): Promise<SyncSummary>;
  /**
   * Runs sync() now and then every `intervalMs` (never two at once). Results and errors go to the
   * callbacks; stop() waits for a run in progress.
   */
  syncEvery(
    intervalMs: number,
    options?: SyncOptions & { onResult?: (s: SyncSummary) => void; onError?: (e: unknown) => void },
  ): { stop(): Promise<void> };
  /**
   * The store version this instance holds, when it last confirmed with the store that it is
   * current, and when it last loaded the whole policy (PostgreSQL store; with a file store, version
   * 0 and the load time).
   */
  freshness(): Freshness;
  /**
   * Resolves once this instance holds `version` or later (read-after-write across instances: pass
   * the `version` a sync returned). Resolves at once with a file store.
   * @throws StoreError `timeout` after `timeout` ms (default 10000).
   */
  waitForVersion(version: number, options?: { timeout?: number }): Promise<void>;
  /** Stops following the store (subscriptions, the poll) and flushes the decision log (closing its file). */
  close(): Promise<void>;
  /**
   * Policy version and load time, when the instance last confirmed it is current, the last sync
   * per vendor (from the stored sync state, and the outcome of this process's last sync), stale
   * units, cache counters.
   */
  health(): Promise<Health>;
}

/**
 * Creates an authorizer. With `config`, loads exactly what the CLI would: the compiled policy, the
 * mappings and the identities named by the config file.
 *
 * @throws ConfigError, MappingError, IdentitiesError or PolicyError when something cannot be loaded.
 * @example
 * const authz = await createAuthorizer({ config: 'rbac.config.yaml' });
 * if (authz.enforce('alice', 'zoom:recording', 'read')) { ... }
 */
export async function createAuthorizer(options: CreateAuthorizerOptions = {}): Promise<FullAuthorizer> {
  const onError = options.onError === undefined ? undefined : reporter(options.onError);
  // prom-client is loaded only for an authorizer with metrics (it takes tens of ms to load).
  const metrics =
    options.metrics === undefined
      ? undefined
      : (await import('./observe/metrics.js')).createMetrics({
          registry: options.metrics,
          onError,
        });
  // Checked before anything is loaded; its file is opened once the engine exists.
  const decisionLog =
    options.decisionLog === undefined
      ? undefined
      : await createDecisionLog(options.decisionLog, (e) => onError?.(e));
  const config = await loadConfig(options.config, {});
  const policiesDir = typeof options.policies === 'string' ? options.policies : config.policies;
  if (options.store !== undefined && !isPolicyStore(options.store) && !isPostgresStore(options.store))
    throw new ConfigError(
      'store',
      'must be a PolicyStore (createFileStore(dir)) or createPostgresStore(...)',
    );
  const { mappings, identities } = await loadWorkspace(config, {
    mappings: options.mappings,
    identities: options.identities,
  });
  const loadedAt = (options.clock ?? systemClock).now();
  // A config's `store:` (postgres://) is opened here; a `store` option wins over it.
  const configured = options.store === undefined ? await openConfiguredStore(config) : undefined;
  const postgres = isPostgresStore(options.store) ? options.store : configured?.postgres;
  const { store: _s, metrics: _m, decisionLog: _d, ...engineOptions } = options;
  const clock = options.clock ?? systemClock;
  const propagation = options.propagation ?? configured?.propagation;
  const pollMs = options.pollMs ?? config.pollMs;
  const maxStaleness = options.maxStaleness ?? config.maxStaleness;
  // Who watches decisions (the decision log, metrics): each adds a factory here.
  const observers: ObserverFactory[] = [];
  if (metrics) observers.push(metrics.observe);
  if (decisionLog) observers.push(decisionLog.observe);
  let shared: Awaited<ReturnType<typeof joinSharedStore>> | undefined;
  const engine = await createEngine(
    {
      ...engineOptions,
      policies: postgres
        ? { rules: [], links: [] }
        : ((options.store as PolicyStore | undefined) ?? options.policies ?? config.policies),
    },
    {
      observers,
      policyVersion: () => shared?.freshness().version ?? 0,
      // With a shared store: no decision once this instance is not known to be current.
      ...(postgres ? { ready: () => shared?.checkFresh() } : {}),
    },
  );
  shared = postgres
    ? await joinSharedStore(engine, {
        postgres,
        propagation,
        pollMs,
        maxStaleness,
        clock: options.clock,
        onError,
      })
    : undefined;
  const store =
    shared?.store ??
    (options.store as PolicyStore | undefined) ??
    (isPolicyStore(options.policies) ? options.policies : createFileStore(policiesDir));
  const syncContext = {
    config: { ...config, policies: policiesDir },
    mappings,
    identities,
    // With a shared store, this instance's commits reach its engine through the follower.
    ...(shared ? {} : { authorizer: engine }),
    store,
  };
  const lastOutcomes = new Map<Vendor, { status: VendorOutcome['status']; at: string; error?: string }>();
  const remember = async (run: () => Promise<SyncSummary>): Promise<SyncSummary> => {
    const started = clock.now();
    let summary: SyncSummary;
    try {
      summary = await run();
    } catch (error) {
      metrics?.synced(undefined, (clock.now() - started) / 1000);
      throw error;
    }
    metrics?.synced(summary, (clock.now() - started) / 1000);
    const at = new Date(clock.now()).toISOString();
    for (const v of summary.vendors)
      lastOutcomes.set(v.vendor, { status: v.status, at, ...(v.error ? { error: v.error } : {}) });
    return summary;
  };
  /** Why this instance may not decide now (a shared store past maxStaleness), else undefined. */
  const unfresh = (): string | undefined => {
    try {
      shared?.checkFresh();
      return undefined;
    } catch (err) {
      return err instanceof Error ? err.message : 'not known to be current';
    }
  };
  const freshness = (): Freshness => shared?.freshness() ?? { version: 0, lastHeardAt: loadedAt, loadedAt };
  /** The health report, and what the sync state's read threw (the report then says why). */
  const report = async (): Promise<{ health: Health; stateFailure?: unknown }> => {
    // The stored sync state is for the report; the store being down must not make a serving
    // instance look unready (it serves its last policy until maxStaleness).
    let state: Awaited<ReturnType<PolicyStore['readState']>>;
    let stateFailure: { error: unknown } | undefined;
    try {
      state = await store.readState();
    } catch (error) {
      stateFailure = { error };
    }
    const health = healthReport({
      freshness: freshness(),
      stats: engine.stats(),
      state,
      stateError:
        stateFailure === undefined
          ? undefined
          : stateFailure.error instanceof Error
            ? stateFailure.error.message
            : String(stateFailure.error),
      lastOutcomes,
      vendors: VENDORS,
      unfresh: unfresh(),
    });
    return stateFailure === undefined ? { health } : { health, stateFailure: stateFailure.error };
  };
  const health = async (): Promise<Health> => (await report()).health;
  const authorizer = Object.assign(engine, {
    sync: (opts: SyncOptions = {}) => remember(() => runSync(syncContext, opts)),
    syncEvery(
      intervalMs: number,
      opts: SyncOptions & { onResult?: (s: SyncSummary) => void; onError?: (e: unknown) => void } = {},
    ) {
      if (!Number.isFinite(intervalMs) || intervalMs < 1000)
        throw new ConfigError('intervalMs', 'must be at least 1000 ms');
      const { onResult, onError, ...rest } = opts;
      let running: Promise<void> | undefined;
      let stopped = false;
      const tick = () => {
        if (running || stopped) return;
        running = remember(() => runSync(syncContext, rest))
          .then(
            (s) => onResult?.(s),
            (e) => onError?.(e),
          )
          .finally(() => {
            running = undefined;
          });
      };
      tick();
      const timer = setInterval(tick, intervalMs);
      timer.unref();
      return {
        async stop() {
          stopped = true;
          clearInterval(timer);
          await running;
        },
      };
    },
    mappings,
    identities,
    health,
    freshness,
    waitForVersion: async (version: number, opts: { timeout?: number } = {}) => {
      await shared?.follower.waitForVersion(version, opts);
    },
    close: async () => {
      metrics?.unregister();
      await shared?.close();
      await configured?.close();
      await decisionLog?.close();
    },
    async compileSnapshot(dir: string, opts: { write?: boolean } = {}) {
      const result = await compileSnapshot(dir, mappings, identities);
      if (opts.write) await replacePolicy(store, result.policy, result.provenance);
      const change = engine.applyChanges({
        ...diffPolicies(engine.getPolicy(), result.policy),
        provenance: result.provenance,
      });
      return { ...result, change };
    },
  });
  // Last, so that an authorizer that failed to start registered nothing.
  try {
    // The metrics read only the stored sync state from the report: a failed read keeps their last values.
    metrics?.register({
      freshness,
      health: async () => {
        const r = await report();
        if ('stateFailure' in r) throw r.stateFailure;
        return r.health;
      },
    });
  } catch (error) {
    await authorizer.close();
    throw error;
  }
  return authorizer;
}
