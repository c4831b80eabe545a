// rbac-normalizer/postgres: the shared policy store and its change feed: PostgreSQL tables,
// followers that keep authorizers current, Redis and LISTEN/NOTIFY transports, and a casbin adapter
// and watcher over the same tables. Explicit exports (test/index.test.ts pins the list).
export {
  type CasbinAdapterOptions,
  type CasbinFilter,
  createCasbinAdapter,
  type PostgresCasbinAdapter,
} from './casbin/adapter.js';
export {
  type CasbinWatcherOptions,
  createCasbinWatcher,
  type PostgresCasbinWatcher,
  type WatchedEnforcer,
} from './casbin/watcher.js';
export {
  createPolicyFollower,
  type FollowEvent,
  type FollowedAuthorizer,
  type Freshness,
  type PolicyFollower,
  type PolicyFollowerOptions,
} from './follower.js';
export type { LockOptions, ReleaseLock } from './postgres/lock.js';
export type { PolicyFilter } from './postgres/read.js';
export { createPostgresStore, type PostgresStore, type PostgresStoreOptions } from './postgres/store.js';
export { systemScheduler } from './scheduler.js';
export type {
  ChangeDelta,
  ChangeMessage,
  ChangeSource,
  ChangesSince,
  ChangeTransport,
  CommitResult,
  LinkMatch,
  RuleMatch,
  Scheduler,
  StoreChange,
  StoreSnapshot,
  TransportListener,
} from './types.js';
export { createPgNotifyTransport, type PgNotifyTransportOptions } from './watch/notify.js';
export { createRedisTransport, DEFAULT_REDIS_CHANNEL, type RedisTransportOptions } from './watch/redis.js';
