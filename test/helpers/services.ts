// The servers some tests need (PostgreSQL, Redis). Locally a test whose server is down is skipped
// with a message saying what to start; in CI (CI=true) it fails instead, since CI starts them.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Client } from 'pg';

export const PG_URL = process.env['RBAC_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env['RBAC_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const IN_CI = process.env['CI'] === 'true';

/**
 * false when PostgreSQL answers at PG_URL; otherwise a skip reason for `describe(name, { skip })`.
 * @throws in CI when it does not answer.
 */
export async function needPostgres(): Promise<string | false> {
  const c = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return false;
  } catch (err) {
    return unreachable(
      'PostgreSQL',
      PG_URL,
      err,
      'start PostgreSQL on 127.0.0.1:5432 (trust auth, database "test") or set RBAC_TEST_PG_URL',
    );
  } finally {
    await c.end().catch(() => {});
  }
}

/** As needPostgres, for Redis at REDIS_URL. */
export async function needRedis(): Promise<string | false> {
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return false;
  } catch (err) {
    return unreachable(
      'Redis',
      REDIS_URL,
      err,
      'start redis-server on 127.0.0.1:6379 or set RBAC_TEST_REDIS_URL',
    );
  } finally {
    r.disconnect();
  }
}

function unreachable(what: string, url: string, err: unknown, fix: string): string {
  const why = err instanceof Error ? err.message : String(err);
  if (IN_CI) throw new Error(`${what} is not reachable at ${url} (${why}); CI must start it (.ci/run)`);
  return `${what} is not reachable at ${url} (${why}): ${fix}`;
}

/** A unique name for this test file's schema, channel or key: `<prefix>_<random hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Runs one statement on a connection of its own (for setup and inspection). */
export async function sql<R extends Record<string, unknown> = Record<string, unknown>>(
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const c = new Client({ connectionString: PG_URL });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
}
