// One app instance on the shared PostgreSQL store: the engine starts from one snapshot, a follower
// keeps it at the store's version (Redis or NOTIFY messages, catch-up from the change log, a poll as
// the backstop), this instance's own commits reach it directly and are published, and a freshness
// bound makes decisions fail closed when the instance cannot confirm it is current.
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import type { Authorizer } from '../engine/authorizer.js';
import { ConfigError, DecisionError } from '../errors.js';
import type { PolicyStore } from '../policy/policy-store.js';
import { createPolicyFollower, type Freshness, type PolicyFollower } from './follower.js';
import { postgresPolicyStore } from './postgres/policy-store.js';
import type { PostgresStore } from './postgres/store.js';
import type { ChangeTransport } from './types.js';

/** Whether `x` is a PostgresStore (createPostgresStore). */
export const isPostgresStore = (x: unknown): x is PostgresStore =>
  typeof x === 'object' &&
  x !== null &&
  typeof (x as PostgresStore).changesSince === 'function' &&
  typeof (x as PostgresStore).commit === 'function' &&
  typeof (x as PostgresStore).migrate === 'function';

export interface SharedStoreOptions {
  readonly postgres: PostgresStore;
  /** Carries each committed version to the other instances. Default: none (the poll only). */
  readonly propagation?: ChangeTransport | undefined;
  /** How often to confirm with the store without a message, ms. Default 30000. */
  readonly pollMs?: number | undefined;
  /** Decisions fail closed once the instance has not confirmed it is current for this long, ms. */
  readonly maxStaleness?: number | undefined;
  readonly clock?: Clock | undefined;
  readonly onError?: ((error: unknown) => void) | undefined;
}

export interface SharedStore {
  /** The PolicyStore sync and compile write through (its commits are applied here and published). */
  readonly store: PolicyStore;
  readonly follower: PolicyFollower;
  freshness(): Freshness;
  /** Throws DecisionError when the freshness bound is exceeded (checked by every decision). */
  checkFresh(): void;
  close(): Promise<void>;
}

/**
 * Loads the engine from one snapshot of the store and starts following it.
 *
 * @throws ConfigError for a bad option; StoreError when the store cannot be read.
 */
export async function joinSharedStore(engine: Authorizer, options: SharedStoreOptions): Promise<SharedStore> {
  const { postgres, propagation } = options;
  const clock = options.clock ?? systemClock;
  const maxStaleness = options.maxStaleness;
  if (maxStaleness !== undefined && (!Number.isFinite(maxStaleness) || maxStaleness <= 0))
    throw new ConfigError('maxStaleness', 'must be a number of ms > 0');
  const pollMs = options.pollMs ?? 30_000;
  if (maxStaleness !== undefined && maxStaleness <= pollMs)
    throw new ConfigError(
      'maxStaleness',
      `must be longer than pollMs (${pollMs} ms): the poll is what confirms the instance is current`,
    );
  const snap = await postgres.load();
  await engine.loadPolicy(snap.policy, snap.provenance);
  engine.setStale(snap.state?.stale ?? []);
  let follower: PolicyFollower | undefined;
  const store = postgresPolicyStore({
    store: postgres,
    async onCommit(result) {
      follower?.committed(result);
      await propagation?.publish(result.message);
    },
    onError: options.onError,
  });
  follower = await createPolicyFollower({
    store: postgres,
    authorizer: engine,
    ...(propagation ? { transport: propagation } : {}),
    pollMs,
    clock,
    version: snap.version,
    origin: postgres.origin,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const startedAt = clock.now();
  const shared: SharedStore = {
    store,
    follower,
    freshness: () => follower.freshness(),
    checkFresh() {
      if (maxStaleness === undefined) return;
      const heard = follower.freshness().lastHeardAt ?? startedAt;
      const age = clock.now() - heard;
      if (age > maxStaleness)
        throw new DecisionError(
          `the policy (version ${follower.freshness().version}) was last confirmed current ${age} ms ago, over maxStaleness (${maxStaleness} ms): denied until the store answers`,
        );
    },
    close: async () => {
      await follower.close();
      await propagation?.close();
    },
  };
  return shared;
}
