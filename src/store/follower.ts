// Keeps one authorizer current with a store: deltas applied strictly in version order, a catch-up
// from the change log whenever something may have been missed (a message, a reconnect, the poll),
// and a full atomic reload only when the log no longer reaches back.
import { type Clock, systemClock } from '../clock.js';
import type { Authorizer, ChangeResult } from '../engine/authorizer.js';
import { ConfigError, StoreError } from '../errors.js';
import { catchUpFromLog, oneAtATime } from './catch-up.js';
import { systemScheduler } from './scheduler.js';
import type { ChangeDelta, ChangeSource, ChangeTransport, CommitResult, Scheduler } from './types.js';

/** What a follower changes: the three Authorizer methods it calls. */
export type FollowedAuthorizer = Pick<Authorizer, 'applyChanges' | 'loadPolicy' | 'setStale'>;

export type FollowEvent =
  | { readonly kind: 'delta'; readonly delta: ChangeDelta; readonly result: ChangeResult }
  | { readonly kind: 'reload'; readonly version: number };

export interface PolicyFollowerOptions {
  /** Where the policy and its change log are (createPostgresStore). */
  readonly store: ChangeSource;
  /** The authorizer to keep current. */
  readonly authorizer: FollowedAuthorizer;
  /** The change feed that says when to look (Redis, LISTEN/NOTIFY). Default: none, the poll only. */
  readonly transport?: ChangeTransport;
  /** How often to check the store even without a message, in ms. Default: 30000. */
  readonly pollMs?: number;
  /** Time source for freshness(). Default: the system clock. */
  readonly clock?: Clock;
  /** Timers for the poll and waitForVersion's timeout. Default: real timers. */
  readonly scheduler?: Scheduler;
  /**
   * The `origin` of this process's own store. Messages from it are left alone: its commits reach
   * the follower through committed() (the poll is the backstop if one does not), so the publishing
   * instance never reads back or reloads its own change. Default: none.
   */
  readonly origin?: string;
  /** The version the authorizer already holds. Default: none, so the policy is loaded at start. */
  readonly version?: number;
  /** Deltas read per store call while catching up. Default: 100. */
  readonly batch?: number;
  /** Receives errors of background catch-ups (each is retried on the next message or poll). */
  readonly onError?: (error: unknown) => void;
  /** Called after each delta is applied and after each full reload. */
  readonly onApplied?: (event: FollowEvent) => void;
}

export interface Freshness {
  /** The store version the authorizer holds. */
  readonly version: number;
  /** When the follower last confirmed with the store that it was current (epoch ms), or null. */
  readonly lastHeardAt: number | null;
  /** When the whole policy was last loaded (epoch ms), or null when it never was. */
  readonly loadedAt: number | null;
}

export interface PolicyFollower {
  freshness(): Freshness;
  /**
   * Resolves once the authorizer holds `version` or later (read-after-write: pass the version a
   * commit returned). Asks the store at once rather than waiting for a message.
   * @throws StoreError `timeout` after `timeout` ms (default 10000), `closed` after close().
   */
  waitForVersion(version: number, options?: { readonly timeout?: number }): Promise<void>;
  /** Checks the store now, as the poll does; resolves when caught up. */
  poll(): Promise<void>;
  /**
   * Hands this process's own commit to the follower: applied directly when it is the next
   * version (no store read, no reload), so its own message is then ignored.
   */
  committed(result: CommitResult): void;
  /** Stops the poll and the subscription; pending waitForVersion calls reject as closed. */
  close(): Promise<void>;
}

const DEFAULT_POLL_MS = 30_000;
const DEFAULT_WAIT_MS = 10_000;

/**
 * Subscribes, brings the authorizer to the store's current version (a full load unless `version`
 * says what it already holds), and keeps it there.
 *
 * @throws ConfigError for an invalid option; StoreError when the initial load fails.
 * @example
 * const follower = await createPolicyFollower({ store, authorizer, transport: createRedisTransport({ url }) });
 * const { version } = await store.commit(change);
 * await follower.waitForVersion(version); // this instance now decides with the change
 */
export async function createPolicyFollower(options: PolicyFollowerOptions): Promise<PolicyFollower> {
  const { store, authorizer, transport } = options;
  if (typeof store?.changesSince !== 'function' || typeof store.load !== 'function')
    throw new ConfigError('store', 'must have load() and changesSince() (createPostgresStore)');
  if (typeof authorizer?.applyChanges !== 'function' || typeof authorizer.loadPolicy !== 'function')
    throw new ConfigError('authorizer', 'must be an Authorizer (createAuthorizer)');
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  if (!Number.isFinite(pollMs) || pollMs < 1) throw new ConfigError('pollMs', 'must be a number of ms >= 1');
  const batch = options.batch ?? 100;
  if (!Number.isSafeInteger(batch) || batch < 1) throw new ConfigError('batch', 'must be a positive integer');
  if (options.version !== undefined && (!Number.isSafeInteger(options.version) || options.version < 0))
    throw new ConfigError('version', 'must be a store version (an integer >= 0)');
  const clock = options.clock ?? systemClock;
  const scheduler = options.scheduler ?? systemScheduler;
  const report = (e: unknown) => options.onError?.(e);

  let applied = options.version ?? -1;
  let lastHeardAt: number | null = null;
  let loadedAt: number | null = null;
  let closed = false;
  const waiters = new Set<{ version: number; done(error?: StoreError): void }>();

  const settle = () => {
    for (const w of waiters) if (applied >= w.version) w.done();
  };

  function applyDelta(d: ChangeDelta): void {
    const result = authorizer.applyChanges({
      addRules: d.addRules,
      removeRules: d.removeRules,
      addLinks: d.addLinks,
      removeLinks: d.removeLinks,
      provenance: d.provenance,
    });
    if (d.state) authorizer.setStale(d.state.stale);
    applied = d.version;
    settle();
    options.onApplied?.({ kind: 'delta', delta: d, result });
  }

  /** The whole policy from one snapshot; the authorizer swaps its index only once it is built. */
  async function reload(): Promise<void> {
    const snap = await store.load();
    if (closed) return;
    await authorizer.loadPolicy(snap.policy, snap.provenance);
    authorizer.setStale(snap.state?.stale ?? []);
    applied = snap.version;
    loadedAt = lastHeardAt = clock.now();
    settle();
    options.onApplied?.({ kind: 'reload', version: snap.version });
  }

  const target = {
    applied: () => applied,
    apply: applyDelta,
    reload,
    closed: () => closed,
    current: () => {
      lastHeardAt = clock.now();
    },
  };
  async function catchUp(): Promise<void> {
    if (applied < 0) return reload(); // nothing loaded yet
    await catchUpFromLog(store, target, batch);
  }
  const catchUps = oneAtATime(catchUp, () => closed);
  const sync = () => catchUps.run();
  const trigger = () => {
    if (!closed) sync().catch(report);
  };

  const unsubscribe = await transport?.subscribe({
    message: (m) => {
      if (m === undefined) trigger();
      else if (m.version > applied && (options.origin === undefined || m.origin !== options.origin))
        trigger();
    },
    reconnected: trigger,
    error: report,
  });
  try {
    await sync();
  } catch (err) {
    // Without a loaded policy there is nothing to serve; with one, the poll will try again.
    if (options.version === undefined) {
      await unsubscribe?.().catch(() => {});
      throw err;
    }
    report(err);
  }
  const stopPoll = scheduler.every(pollMs, trigger);

  return {
    freshness: () => ({ version: applied, lastHeardAt, loadedAt }),

    waitForVersion(version, opts = {}) {
      const timeout = opts.timeout ?? DEFAULT_WAIT_MS;
      if (closed) return Promise.reject(closedError('waitForVersion'));
      if (applied >= version) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const w = {
          version,
          done(error?: StoreError) {
            waiters.delete(w);
            cancel();
            if (error) reject(error);
            else resolve();
          },
        };
        const cancel = scheduler.after(timeout, () =>
          w.done(
            new StoreError({
              failure: 'timeout',
              operation: 'waitForVersion',
              message: `version ${version} was not applied within ${timeout} ms (holding ${applied})`,
            }),
          ),
        );
        waiters.add(w);
        trigger();
      });
    },

    poll: () => (closed ? Promise.reject(closedError('poll')) : sync()),

    committed(result) {
      if (closed || result.version <= applied) return;
      if (!catchUps.busy() && result.version === applied + 1) {
        applyDelta(result.delta);
        lastHeardAt = clock.now(); // it was the store's head when it committed
      } else {
        trigger();
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      stopPoll();
      for (const w of waiters) w.done(closedError('waitForVersion'));
      await unsubscribe?.().catch(report);
      await catchUps.settled();
    },
  };
}

function closedError(operation: string): StoreError {
  return new StoreError({ failure: 'closed', operation, message: 'the follower was closed' });
}
