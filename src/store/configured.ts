// The shared store a config names (`store: postgres://...`, `propagation: notify | redis://...`),
// opened on demand: a process whose config names no store never loads `pg` or `ioredis`.
import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { PostgresStore } from './postgres/store.js';
import type { ChangeTransport } from './types.js';

/** The NOTIFY channel of the default schema ("rbac") when the config says `propagation: notify`. */
export const NOTIFY_CHANNEL = 'rbac_normalizer_policy';

/**
 * The NOTIFY channel of a schema: one per schema, so that the instances of two schemas in one
 * database do not wake each other (a channel is database-wide). The default schema keeps the name
 * every version has used; a name past PostgreSQL's 63 bytes ends with a hash of the schema instead.
 */
export function notifyChannelOf(schema = 'rbac'): string {
  if (schema === 'rbac') return NOTIFY_CHANNEL;
  const name = `${NOTIFY_CHANNEL}_${schema}`;
  if (Buffer.byteLength(name) <= 63) return name;
  return `${NOTIFY_CHANNEL}_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

export interface ConfiguredStore {
  readonly postgres: PostgresStore;
  /** Carries commits to the other instances (undefined: the poll only; `notify` is sent by the commit). */
  readonly propagation: ChangeTransport | undefined;
  /** The PolicyStore a sync or compile of this process writes through (its commits are published). */
  readonly policyStore: PolicyStore;
  close(): Promise<void>;
}

/** Opens the config's `store` (undefined when it names none). No connection is made until first use. */
export async function openConfiguredStore(
  config: Pick<Config, 'store' | 'propagation'>,
): Promise<ConfiguredStore | undefined> {
  if (config.store === undefined) return undefined;
  // `?schema=name` picks the schema (default "rbac"); the rest of the URL is node-postgres's.
  const parsed = new URL(config.store);
  const schema = parsed.searchParams.get('schema') || undefined;
  parsed.searchParams.delete('schema');
  const url = parsed.toString();
  const notify = config.propagation === 'notify';
  const channel = notifyChannelOf(schema);
  const [{ createPostgresStore }, { postgresPolicyStore }] = await Promise.all([
    import('./postgres/store.js'),
    import('./postgres/policy-store.js'),
  ]);
  const postgres = createPostgresStore({
    url,
    ...(schema ? { schema } : {}),
    ...(notify ? { notifyChannel: channel } : {}),
  });
  let propagation: ChangeTransport | undefined;
  if (notify) {
    const { createPgNotifyTransport } = await import('./watch/notify.js');
    propagation = createPgNotifyTransport({ url, channel });
  } else if (config.propagation !== undefined) {
    if (!/^rediss?:\/\//.test(config.propagation))
      throw new ConfigError('propagation', 'must be "notify" or a redis:// URL');
    const { createRedisTransport } = await import('./watch/redis.js');
    propagation = createRedisTransport({ url: config.propagation });
  }
  const transport = propagation;
  return {
    postgres,
    propagation,
    policyStore: postgresPolicyStore({
      store: postgres,
      onCommit: async (result) => {
        await transport?.publish(result.message);
      },
    }),
    async close() {
      await transport?.close();
      await postgres.close();
    },
  };
}
