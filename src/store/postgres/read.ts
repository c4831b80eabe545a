// Reads, each in one REPEATABLE READ READ ONLY transaction: the policy, provenance, sync state and
// version of a load all come from the same snapshot, whatever commits meanwhile.
import type { ClientBase } from 'pg';
import type { Provenance } from '../../grants.js';
import type { PolicyEntry } from '../../policy/csv.js';
import type { SyncState } from '../../policy/sync-state.js';
import { linkKey, type Policy, ruleKey } from '../../policy/types.js';
import { decodeDelta } from '../delta.js';
import type { ChangesSince, LinkMatch, RuleMatch, StoreSnapshot } from '../types.js';
import { linkFromRow, linkMatchSql, RULE_COLUMNS, type RuleRow, ruleFromRow, ruleMatchSql } from './rows.js';
import type { Tables } from './schema.js';

/** Which rows a filtered load reads: a match per kind, or false to read none of that kind. */
export interface PolicyFilter {
  readonly rules?: RuleMatch | false;
  readonly links?: LinkMatch | false;
}

export const BEGIN_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

export async function inSnapshot<T>(client: ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query(BEGIN_SNAPSHOT);
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

export async function readVersion(client: ClientBase, t: Tables): Promise<number> {
  const { rows } = await client.query<[string]>({ text: `SELECT version FROM ${t.meta}`, rowMode: 'array' });
  return Number(rows[0]?.[0] ?? 0);
}

/** The rules and links a filter selects (all of them by default). Call inside inSnapshot. */
export async function readPolicy(client: ClientBase, t: Tables, filter: PolicyFilter = {}): Promise<Policy> {
  const rules =
    filter.rules === false
      ? []
      : await (async () => {
          const params: unknown[] = [];
          const where = ruleMatchSql(filter.rules || {}, params);
          const res = await client.query<RuleRow>({
            text: `SELECT ${RULE_COLUMNS} FROM ${t.rules} WHERE ${where}`,
            values: params,
            rowMode: 'array',
          });
          return res.rows.map(ruleFromRow);
        })();
  const links =
    filter.links === false
      ? []
      : await (async () => {
          const params: unknown[] = [];
          const where = linkMatchSql(filter.links || {}, params);
          const res = await client.query<[string, string]>({
            text: `SELECT member, role FROM ${t.links} WHERE ${where}`,
            values: params,
            rowMode: 'array',
          });
          return res.rows.map(linkFromRow);
        })();
  return { rules, links };
}

export async function readSnapshot(client: ClientBase, t: Tables): Promise<StoreSnapshot> {
  return inSnapshot(client, async () => {
    const version = await readVersion(client, t);
    const provenance = new Map<string, readonly Provenance[]>();
    const ruleRows = await client.query<[...RuleRow, Provenance[] | null]>({
      text: `SELECT ${RULE_COLUMNS}, provenance FROM ${t.rules}`,
      rowMode: 'array',
    });
    const rules = ruleRows.rows.map((row) => {
      const r = ruleFromRow(row as unknown as RuleRow);
      if (row[6] !== null) provenance.set(ruleKey(r), row[6]);
      return r;
    });
    const linkRows = await client.query<[string, string, Provenance[] | null]>({
      text: `SELECT member, role, provenance FROM ${t.links}`,
      rowMode: 'array',
    });
    const links = linkRows.rows.map((row) => {
      const l = linkFromRow([row[0], row[1]]);
      if (row[2] !== null) provenance.set(linkKey(l), row[2]);
      return l;
    });
    return { policy: { rules, links }, provenance, state: await readState(client, t), version };
  });
}

/** The sync state stored, if any. Call inside a snapshot. */
export async function readState(client: ClientBase, t: Tables): Promise<SyncState | undefined> {
  const r = await client.query<[SyncState]>({ text: `SELECT state FROM ${t.syncState}`, rowMode: 'array' });
  return r.rows[0]?.[0];
}

/** What a scan hands over: each rule and link, then each provenance entry. */
export interface RowVisitor {
  entry(entry: PolicyEntry): Promise<void>;
  provenance(key: string, from: readonly Provenance[]): Promise<void>;
}

/**
 * Streams the rules, then the links, then their provenance (in the order readSnapshot reads them)
 * through a server-side cursor, `batch` rows per FETCH, so no more than one batch is held at a
 * time. Call inside a snapshot (the cursors live in its transaction).
 */
export async function scanSnapshot(
  client: ClientBase,
  t: Tables,
  visit: RowVisitor,
  batch: number,
): Promise<void> {
  const rules = `SELECT ${RULE_COLUMNS} FROM ${t.rules}`;
  const links = `SELECT member, role FROM ${t.links}`;
  await stream<RuleRow>(client, rules, batch, (row) => visit.entry({ rule: ruleFromRow(row) }));
  await stream<[string, string]>(client, links, batch, (row) => visit.entry({ link: linkFromRow(row) }));
  await stream<[...RuleRow, Provenance[]]>(
    client,
    `SELECT ${RULE_COLUMNS}, provenance FROM ${t.rules} WHERE provenance IS NOT NULL`,
    batch,
    (row) => visit.provenance(ruleKey(ruleFromRow(row as unknown as RuleRow)), row[6]),
  );
  await stream<[string, string, Provenance[]]>(
    client,
    `SELECT member, role, provenance FROM ${t.links} WHERE provenance IS NOT NULL`,
    batch,
    (row) => visit.provenance(linkKey(linkFromRow([row[0], row[1]])), row[2]),
  );
}

async function stream<R extends unknown[]>(
  client: ClientBase,
  query: string,
  batch: number,
  each: (row: R) => Promise<void>,
): Promise<void> {
  await client.query(`DECLARE rbac_scan NO SCROLL CURSOR FOR ${query}`);
  for (;;) {
    const { rows } = await client.query<R>({ text: `FETCH ${batch} FROM rbac_scan`, rowMode: 'array' });
    for (const row of rows) await each(row);
    if (rows.length < batch) break;
  }
  await client.query('CLOSE rbac_scan');
}

/**
 * The deltas after `version`, oldest first, at most `limit` of them (the caller asks again from
 * the last one while `head` is ahead). `pruned` when the log no longer holds `version + 1`, or
 * the store is behind `version` (it was reset or restored).
 */
export async function readChangesSince(
  client: ClientBase,
  t: Tables,
  version: number,
  limit: number,
): Promise<ChangesSince> {
  return inSnapshot(client, async () => {
    const head = await readVersion(client, t);
    if (version === head) return { kind: 'changes', changes: [], head };
    const oldest = async () => {
      const r = await client.query<[string | null]>({
        text: `SELECT min(version) FROM ${t.changeLog}`,
        rowMode: 'array',
      });
      const v = r.rows[0]?.[0];
      return v === null || v === undefined ? null : Number(v);
    };
    if (version > head) return { kind: 'pruned', head, oldest: await oldest() };
    const res = await client.query<[string, Date, unknown]>({
      text: `SELECT version, committed_at, delta FROM ${t.changeLog} WHERE version > $1 ORDER BY version LIMIT $2`,
      values: [version, limit],
      rowMode: 'array',
    });
    const first = res.rows[0];
    if (first === undefined || Number(first[0]) !== version + 1) {
      return { kind: 'pruned', head, oldest: await oldest() };
    }
    const changes = res.rows.map(([v, at, delta]) => decodeDelta(Number(v), at.getTime(), delta));
    return { kind: 'changes', changes, head };
  });
}
