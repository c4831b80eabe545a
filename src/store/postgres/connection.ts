// Connections (a pool we own or one we are given) and the translation of driver errors into
// StoreError, with any password or connection string scrubbed from what is reported.
import { type ClientBase, Client as PgClient, Pool as PgPool } from 'pg';
import { ConfigError, StoreError, type StoreFailure } from '../../errors.js';
import { scrubberFor } from '../redact.js';

/** Where the database is: a connection URL (a pool is created and owned) or a pool you own. */
export type PgTarget =
  | { readonly url: string; readonly pool?: undefined }
  | { readonly pool: PgPool; readonly url?: undefined };

/** A connection borrowed for one unit of work; done(true) discards it (its session is unusable). */
export interface Lease {
  readonly client: ClientBase;
  done(broken?: boolean): Promise<void>;
}

export interface Db {
  readonly pool: PgPool;
  /** A pooled connection for one transaction. */
  connect(operation: string): Promise<Lease>;
  /**
   * A connection of its own, for a session-level lock or LISTEN: a new client when built from a
   * URL, otherwise one held out of the given pool until done().
   */
  dedicated(operation: string): Promise<Lease>;
  /** The StoreError for anything thrown while doing `operation`, without secrets. */
  fail(error: unknown, operation: string): StoreError;
  /** Ends the pool when it is ours; a given pool is left to its owner. */
  end(): Promise<void>;
}

/** How long connections the store opens itself may take before failing as unavailable. */
const CONNECT_TIMEOUT_MS = 10_000;

/** @throws ConfigError when neither or both of url and pool are given. */
export function openDb(target: PgTarget, applicationName: string): Db {
  const hasUrl = target.url !== undefined;
  const hasPool = target.pool !== undefined;
  if (hasUrl === hasPool) throw new ConfigError('url', 'give exactly one of "url" and "pool"');
  if (hasUrl && (typeof target.url !== 'string' || target.url === ''))
    throw new ConfigError('url', 'must be a non-empty PostgreSQL connection string');
  if (hasPool && typeof target.pool?.connect !== 'function')
    throw new ConfigError('pool', 'must be a pg Pool');
  const scrub = scrubberFor(target.url);
  const url = target.url;
  const owned = url !== undefined;
  const pool =
    target.pool ??
    new PgPool({
      connectionString: url,
      application_name: applicationName,
      max: 4,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
  // An idle pooled connection that dies (server restart, pg_terminate_backend) is dropped by the
  // pool; without a listener Node would treat the event as an uncaught error.
  if (owned) pool.on('error', () => {});
  const fail = (error: unknown, operation: string) => toStoreError(error, operation, scrub);
  let ended = false;

  const lease = (client: ClientBase, release: (broken: boolean) => Promise<void>): Lease => {
    const onError = () => {};
    client.on('error', onError);
    let returned = false;
    return {
      client,
      async done(broken = false) {
        if (returned) return;
        returned = true;
        client.off('error', onError);
        await release(broken);
      },
    };
  };

  return {
    pool,
    async connect(operation) {
      if (ended) throw closed(operation);
      try {
        const c = await pool.connect();
        return lease(c, async (broken) => c.release(broken));
      } catch (err) {
        throw fail(err, operation);
      }
    },
    async dedicated(operation) {
      if (ended) throw closed(operation);
      if (url === undefined) return this.connect(operation);
      const c = new PgClient({
        connectionString: url,
        application_name: applicationName,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      });
      c.on('error', () => {}); // reported through the failing query; see lease()
      try {
        await c.connect();
      } catch (err) {
        await c.end().catch(() => {});
        throw fail(err, operation);
      }
      return lease(c, async () => {
        await c.end().catch(() => {});
      });
    },
    fail,
    async end() {
      if (ended) return;
      ended = true;
      if (owned) await pool.end();
    },
  };
}

function closed(operation: string): StoreError {
  return new StoreError({ failure: 'closed', operation, message: 'the store was closed' });
}

const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'connection error and is not queryable',
  'Client was closed and is not queryable',
  'Connection terminated unexpectedly',
];

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** SQLSTATE classes: https://www.postgresql.org/docs/current/errcodes-appendix.html */
function classify(code: string | undefined, message: string): StoreFailure {
  if (code !== undefined && /^[0-9A-Z]{5}$/.test(code)) {
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300')
      return 'unavailable';
    if (code === '40001' || code === '40P01') return 'conflict';
    if (code === '42P01' || code === '3F000' || code === '42703') return 'not-migrated';
    if (code === '57014') return 'timeout';
    if (code.startsWith('22') || code.startsWith('23')) return 'invalid';
    return 'failed';
  }
  if (code !== undefined && NETWORK_CODES.has(code)) return 'unavailable';
  if (UNAVAILABLE_MESSAGES.some((m) => message.includes(m))) return 'unavailable';
  if (message.includes('timeout')) return 'timeout';
  return 'failed';
}

const HINTS: Partial<Record<StoreFailure, string>> = {
  'not-migrated': " (run the store's migrate() first)",
};

export function toStoreError(error: unknown, operation: string, scrub: (t: string) => string): StoreError {
  if (error instanceof StoreError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    message?: unknown;
    code?: unknown;
  };
  const raw = typeof e.message === 'string' ? e.message : String(error);
  const message = scrub(raw);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const failure = classify(code, raw);
  // Keep the driver's error as the cause unless it could carry a secret (a URL parse error keeps
  // its input; any message that had to be scrubbed).
  const leaky = message !== raw || (typeof error === 'object' && error !== null && 'input' in error);
  const cause = leaky ? new Error(message) : error;
  return new StoreError(
    {
      failure,
      operation,
      message: message + (HINTS[failure] ?? ''),
      ...(code !== undefined && /^[0-9A-Z]{5}$/.test(code) ? { pgCode: code } : {}),
    },
    { cause },
  );
}
