// The tables, as versioned migrations applied in one transaction under a lock, so concurrent
// migrate() calls (several instances starting at once) apply each step exactly once.
import { type ClientBase, escapeIdentifier, escapeLiteral } from 'pg';
import { ConfigError, StoreError } from '../../errors.js';

/** Qualified, quoted table names in one schema. */
export interface Tables {
  readonly schema: string;
  readonly rules: string;
  readonly links: string;
  readonly syncState: string;
  readonly meta: string;
  readonly changeLog: string;
  readonly migrations: string;
}

/** @throws ConfigError when the schema name is empty or longer than PostgreSQL keeps (63 bytes). */
export function tablesIn(schema: string): Tables {
  if (
    typeof schema !== 'string' ||
    schema === '' ||
    Buffer.byteLength(schema) > 63 ||
    schema.includes('\u0000')
  )
    throw new ConfigError('schema', 'must be a schema name of 1 to 63 bytes');
  const s = escapeIdentifier(schema);
  return {
    schema,
    rules: `${s}.rules`,
    links: `${s}.links`,
    syncState: `${s}.sync_state`,
    meta: `${s}.meta`,
    changeLog: `${s}.change_log`,
    migrations: `${s}.schema_migrations`,
  };
}

/**
 * SQL for a rule's identity: 16 bytes of md5 over its six fields (columns prefixed with `p`, e.g.
 * `d.`), stored in rules.id. Each text is preceded by its length, so no two rules give the same
 * input; the index entry stays small whatever the values' length (a btree entry must stay under
 * ~2.7 kB and vendor values have no limit), and every lookup compares the fields themselves too.
 */
export const ruleIdSql = (p = '') =>
  `decode(md5(${[`${p}sub`, `${p}obj`, `${p}act`].map((c) => `length(${c})::text || ':' || ${c}`).join(' || ')}` +
  ` || ${p}eft || ':' || coalesce(${p}valid_from::text, '') || ':' || coalesce(${p}valid_until::text, '')), 'hex')`;

export const linkIdSql = (p = '') =>
  `decode(md5(length(${p}member)::text || ':' || ${p}member || ${p}role), 'hex')`;

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (t: Tables) => string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'policy tables, provenance, sync state, version and change log',
    sql: (t) => `
CREATE TABLE ${t.rules} (
  sub text NOT NULL,
  obj text NOT NULL,
  act text NOT NULL,
  eft text NOT NULL CHECK (eft IN ('allow', 'deny')),
  valid_from bigint,
  valid_until bigint,
  provenance jsonb,
  id bytea GENERATED ALWAYS AS (${ruleIdSql()}) STORED,
  CONSTRAINT rules_identity UNIQUE (id)
);
COMMENT ON COLUMN ${t.rules}.valid_from IS 'epoch milliseconds the rule holds from; NULL = no start';
COMMENT ON COLUMN ${t.rules}.valid_until IS 'epoch milliseconds the rule holds until (exclusive); NULL = no end';
COMMENT ON COLUMN ${t.rules}.provenance IS 'the vendor grants behind the rule (JSON list); NULL = none recorded';
COMMENT ON COLUMN ${t.rules}.id IS 'md5 identity of the six fields (computed)';
CREATE TABLE ${t.links} (
  member text NOT NULL,
  role text NOT NULL,
  provenance jsonb,
  id bytea GENERATED ALWAYS AS (${linkIdSql()}) STORED,
  CONSTRAINT links_identity UNIQUE (id)
);
COMMENT ON COLUMN ${t.links}.provenance IS 'the vendor data behind the link (JSON list); NULL = none recorded';
CREATE TABLE ${t.syncState} (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), state jsonb NOT NULL);
CREATE TABLE ${t.meta} (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), version bigint NOT NULL);
INSERT INTO ${t.meta} (version) VALUES (0);
CREATE TABLE ${t.changeLog} (
  version bigint PRIMARY KEY,
  committed_at timestamptz NOT NULL DEFAULT now(),
  delta jsonb NOT NULL
);`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Creates the schema and applies the migrations it lacks, in one transaction. Idempotent.
 * Returns the versions applied now.
 *
 * @throws StoreError (not-migrated) when the schema was migrated by a newer release of this library.
 */
export async function migrate(client: ClientBase, t: Tables): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`rbac-normalizer:migrate:${t.schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(t.schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${t.migrations} (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${t.migrations}`,
    );
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError({
        failure: 'not-migrated',
        operation: 'migrate',
        message: `schema ${escapeLiteral(t.schema)} is at version ${current}, newer than this library knows (${SCHEMA_VERSION}); upgrade rbac-normalizer`,
      });
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(t));
      await client.query(`INSERT INTO ${t.migrations} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
