// One commit = one transaction: lock the version row (which serializes writers and makes the
// compare-and-swap exact), check that the writers' lock is still held when the commit is made
// under it, apply removals then additions (with their provenance) in batched statements (each
// batch one JSON parameter), update provenance of kept rows, store the sync state, bump the
// version, log the delta, optionally NOTIFY (delivered by PostgreSQL only if the transaction
// commits).
import type { ClientBase } from 'pg';
import { StoreError } from '../../errors.js';
import type { Provenance } from '../../grants.js';
import { linkKey, type PolicyRule, parseEntryKey, type RoleLink, ruleKey } from '../../policy/types.js';
import { encodeDelta, encodeMessage, messageFor, storableJson, subjectsOf } from '../delta.js';
import type { CommitResult, DeltaBody, StoreChange } from '../types.js';
import { lockHeld } from './lock.js';
import {
  LINKS_IN,
  linkFromRow,
  linkMatchSql,
  linksJson,
  RULE_COLUMNS,
  RULES_IN,
  type RuleRow,
  ruleFromRow,
  ruleMatchSql,
  rulesJson,
  SAME_LINK,
  SAME_RULE,
} from './rows.js';
import type { Tables } from './schema.js';

export interface WriteSettings {
  readonly tables: Tables;
  /** Rows per statement. */
  readonly batchSize: number;
  /** Change-log versions kept (older ones are deleted in the same transaction). */
  readonly retention: number;
  /** Channel to NOTIFY inside the transaction, if any. */
  readonly notifyChannel: string | undefined;
  /** This store instance's id, put in every message. */
  readonly origin: string;
}

/** What a commit must still find in its transaction, or it writes nothing. */
export interface CommitGuard {
  /** The version the change was computed from: refused (`conflict`) if the store moved since. */
  readonly baseVersion?: number | undefined;
  /** The backend that must hold the writers' lock: refused (`locked`) if it does not. */
  readonly lockPid?: number | undefined;
}

/** Applies a change in one transaction on `client`. The caller has checked it (checkChange). */
export async function writeChange(
  client: ClientBase,
  s: WriteSettings,
  change: StoreChange,
  guard: CommitGuard = {},
): Promise<CommitResult> {
  const { baseVersion, lockPid } = guard;
  const t = s.tables;
  await client.query('BEGIN');
  try {
    const locked = await client.query<[string]>({
      text: `SELECT version FROM ${t.meta} FOR UPDATE`,
      rowMode: 'array',
    });
    const current = Number(locked.rows[0]?.[0] ?? 0);
    // With the version row locked, a writer that still holds the lock here commits before anyone
    // who takes the lock after it can commit (and that one, having read an older version, is
    // refused below); a writer whose lock went writes nothing.
    if (lockPid !== undefined) await lockHeld(client, t, lockPid);
    if (baseVersion !== undefined && baseVersion !== current) {
      throw new StoreError({
        failure: 'conflict',
        operation: 'commit',
        message: `the store is at version ${current}, not ${baseVersion}: another writer committed first; reload and retry`,
        expectedVersion: baseVersion,
        actualVersion: current,
      });
    }
    const batch = <T>(list: readonly T[] | undefined) => chunks(list ?? [], s.batchSize);
    const q = async <R extends unknown[]>(text: string, values: unknown[]) =>
      (await client.query<R>({ text, values, rowMode: 'array' })).rows;

    const removeRules: PolicyRule[] = [];
    for (const part of batch(change.removeRules)) {
      const rows = await q<RuleRow>(
        `DELETE FROM ${t.rules} r USING (${RULES_IN}) AS d WHERE ${SAME_RULE}
         RETURNING r.sub, r.obj, r.act, r.eft, r.valid_from, r.valid_until`,
        [rulesJson(part)],
      );
      for (const r of rows) removeRules.push(ruleFromRow(r));
    }
    for (const m of change.removeRulesMatching ?? []) {
      const params: unknown[] = [];
      const rows = await q<RuleRow>(
        `DELETE FROM ${t.rules} WHERE ${ruleMatchSql(m, params)} RETURNING ${RULE_COLUMNS}`,
        params,
      );
      for (const r of rows) removeRules.push(ruleFromRow(r));
    }
    const removeLinks: RoleLink[] = [];
    for (const part of batch(change.removeLinks)) {
      const rows = await q<[string, string]>(
        `DELETE FROM ${t.links} l USING (${LINKS_IN}) AS d WHERE ${SAME_LINK} RETURNING l.member, l.role`,
        [linksJson(part)],
      );
      for (const r of rows) removeLinks.push(linkFromRow(r));
    }
    for (const m of change.removeLinksMatching ?? []) {
      const params: unknown[] = [];
      const rows = await q<[string, string]>(
        `DELETE FROM ${t.links} WHERE ${linkMatchSql(m, params)} RETURNING member, role`,
        params,
      );
      for (const r of rows) removeLinks.push(linkFromRow(r));
    }

    // Provenance lives on the rule's or link's row: written with an addition, else updated in
    // place (only where it differs, so the delta lists only real changes).
    const given = change.provenance ?? new Map<string, readonly Provenance[]>();
    const ruleProv = (r: PolicyRule) => given.get(ruleKey(r));
    const linkProv = (l: RoleLink) => given.get(linkKey(l));
    const changedProvenance = new Map<string, readonly Provenance[]>();
    const noteProvenance = (k: string) => {
      const v = given.get(k);
      if (v !== undefined) changedProvenance.set(k, v);
    };
    const addLinks: RoleLink[] = [];
    for (const part of batch(change.addLinks)) {
      const rows = await q<[string, string]>(
        `INSERT INTO ${t.links} (member, role, provenance) ${LINKS_IN}
         ON CONFLICT DO NOTHING RETURNING member, role`,
        [linksJson(part, linkProv)],
      );
      for (const r of rows) addLinks.push(linkFromRow(r));
    }
    const addRules: PolicyRule[] = [];
    for (const part of batch(change.addRules)) {
      const rows = await q<RuleRow>(
        `INSERT INTO ${t.rules} (${RULE_COLUMNS}, provenance) ${RULES_IN}
         ON CONFLICT DO NOTHING RETURNING ${RULE_COLUMNS}`,
        [rulesJson(part, ruleProv)],
      );
      for (const r of rows) addRules.push(ruleFromRow(r));
    }
    const inserted = new Set<string>();
    if (given.size > 0) {
      for (const r of addRules) inserted.add(ruleKey(r));
      for (const l of addLinks) inserted.add(linkKey(l));
    }
    for (const k of inserted) noteProvenance(k);
    const keptRules: PolicyRule[] = [];
    const keptLinks: RoleLink[] = [];
    for (const k of given.keys()) {
      if (inserted.has(k)) continue;
      const named = parseEntryKey(k)!; // checkChange refused anything else
      if ('rule' in named) keptRules.push(named.rule);
      else keptLinks.push(named.link);
    }
    for (const part of batch(keptRules)) {
      const rows = await q<RuleRow>(
        `UPDATE ${t.rules} r SET provenance = d.provenance FROM (${RULES_IN}) AS d
         WHERE ${SAME_RULE} AND r.provenance IS DISTINCT FROM d.provenance
         RETURNING r.sub, r.obj, r.act, r.eft, r.valid_from, r.valid_until`,
        [rulesJson(part, ruleProv)],
      );
      for (const r of rows) noteProvenance(ruleKey(ruleFromRow(r)));
    }
    for (const part of batch(keptLinks)) {
      const rows = await q<[string, string]>(
        `UPDATE ${t.links} l SET provenance = d.provenance FROM (${LINKS_IN}) AS d
         WHERE ${SAME_LINK} AND l.provenance IS DISTINCT FROM d.provenance
         RETURNING l.member, l.role`,
        [linksJson(part, linkProv)],
      );
      for (const r of rows) noteProvenance(linkKey(linkFromRow(r)));
    }
    if (change.state !== undefined) {
      await q(
        `INSERT INTO ${t.syncState} (singleton, state) VALUES (true, $1::jsonb)
         ON CONFLICT (singleton) DO UPDATE SET state = EXCLUDED.state`,
        [storableJson(change.state)],
      );
    }

    const version = current + 1;
    const body: DeltaBody = {
      addRules,
      removeRules,
      addLinks,
      removeLinks,
      provenance: changedProvenance,
      state: change.state ?? null,
      subjects: subjectsOf({ addRules, removeRules, addLinks, removeLinks }),
    };
    await q(`UPDATE ${t.meta} SET version = $1`, [version]);
    const logged = await q<[Date]>(
      `INSERT INTO ${t.changeLog} (version, delta) VALUES ($1, $2::jsonb) RETURNING committed_at`,
      [version, encodeDelta(body)],
    );
    await q(`DELETE FROM ${t.changeLog} WHERE version <= $1`, [version - s.retention]);
    const message = messageFor(version, body.subjects, s.origin);
    if (s.notifyChannel !== undefined) {
      await q('SELECT pg_notify($1, $2)', [s.notifyChannel, encodeMessage(message)]);
    }
    await client.query('COMMIT');
    const committedAt = logged[0]?.[0]?.getTime() ?? Date.now();
    return { version, delta: { version, committedAt, ...body }, message };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** Deletes change-log entries older than the newest `retention` versions; returns how many. */
export async function pruneLog(client: ClientBase, t: Tables, retention: number): Promise<number> {
  const res = await client.query(
    `DELETE FROM ${t.changeLog} WHERE version <= (SELECT version FROM ${t.meta}) - $1`,
    [retention],
  );
  return res.rowCount ?? 0;
}

function* chunks<T>(list: readonly T[], size: number): Iterable<readonly T[]> {
  for (let i = 0; i < list.length; i += size) yield list.slice(i, i + size);
}
