// Rules and links to and from SQL: bounds as epoch-ms bigints (NULL = open), a batch as one JSON
// parameter expanded by json_array_elements (one fast JSON.stringify instead of per-element array
// escaping), and field matches as WHERE conditions.
import type { Provenance } from '../../grants.js';
import type { Effect, PolicyRule, RoleLink } from '../../policy/types.js';
import { storableJson } from '../delta.js';
import type { LinkMatch, RuleMatch } from '../types.js';
import { linkIdSql, ruleIdSql } from './schema.js';

/** A bound as stored: null for an open one. */
export const toDbBound = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);

/** A stored bound (pg returns bigint as a string) back to epoch ms, `open` for NULL. */
export function fromDbBound(v: string | number | null, open: number): number {
  return v === null ? open : Number(v);
}

export type RuleRow = [string, string, string, Effect, string | null, string | null];

export const RULE_COLUMNS = 'sub, obj, act, eft, valid_from, valid_until';

export function ruleFromRow(r: RuleRow): PolicyRule {
  return {
    sub: r[0],
    obj: r[1],
    act: r[2],
    eft: r[3],
    from: fromDbBound(r[4], Number.NEGATIVE_INFINITY),
    until: fromDbBound(r[5], Number.POSITIVE_INFINITY),
  };
}

export const linkFromRow = (r: [string, string]): RoleLink => ({ member: r[0], role: r[1] });

/**
 * A batch of rules as the JSON text RULES_IN reads: `[sub, obj, act, eft, from, until, provenance]`
 * per rule, an open bound as null, provenance from `provenance` (null when it gives none).
 */
export function rulesJson(
  rules: readonly PolicyRule[],
  provenance: (r: PolicyRule) => readonly Provenance[] | undefined = () => undefined,
): string {
  return storableJson(
    rules.map((r) => [
      r.sub,
      r.obj,
      r.act,
      r.eft,
      toDbBound(r.from),
      toDbBound(r.until),
      provenance(r) ?? null,
    ]),
  );
}

export function linksJson(
  links: readonly RoleLink[],
  provenance: (l: RoleLink) => readonly Provenance[] | undefined = () => undefined,
): string {
  return storableJson(links.map((l) => [l.member, l.role, provenance(l) ?? null]));
}

/** The rows of rulesJson($1) with the rules table's column names. */
export const RULES_IN = `SELECT e->>0 AS sub, e->>1 AS obj, e->>2 AS act, e->>3 AS eft,
  (e->>4)::bigint AS valid_from, (e->>5)::bigint AS valid_until,
  nullif((e->6)::jsonb, 'null'::jsonb) AS provenance
  FROM json_array_elements($1::json) AS e`;

export const LINKS_IN = `SELECT e->>0 AS member, e->>1 AS role, nullif((e->2)::jsonb, 'null'::jsonb) AS provenance
  FROM json_array_elements($1::json) AS e`;

/** Rules row `r` is input row `d`: found through the identity index, then every field compared. */
export const SAME_RULE = `r.id = ${ruleIdSql('d.')}
  AND r.sub = d.sub AND r.obj = d.obj AND r.act = d.act AND r.eft = d.eft
  AND r.valid_from IS NOT DISTINCT FROM d.valid_from AND r.valid_until IS NOT DISTINCT FROM d.valid_until`;

export const SAME_LINK = `l.id = ${linkIdSql('d.')} AND l.member = d.member AND l.role = d.role`;

/**
 * A WHERE condition for the fields a match names (TRUE when it names none), appending its values to
 * `params`. An open bound in a match matches NULL.
 */
export function ruleMatchSql(m: RuleMatch, params: unknown[]): string {
  const parts: string[] = [];
  const eq = (col: string, v: unknown) => {
    params.push(v);
    parts.push(`${col} = $${params.length}`);
  };
  if (m.sub !== undefined) eq('sub', m.sub);
  if (m.obj !== undefined) eq('obj', m.obj);
  if (m.act !== undefined) eq('act', m.act);
  if (m.eft !== undefined) eq('eft', m.eft);
  for (const [col, v] of [
    ['valid_from', m.from],
    ['valid_until', m.until],
  ] as const) {
    if (v === undefined) continue;
    if (Number.isFinite(v)) eq(col, v);
    else parts.push(`${col} IS NULL`);
  }
  return parts.length ? parts.join(' AND ') : 'TRUE';
}

export function linkMatchSql(m: LinkMatch, params: unknown[]): string {
  const parts: string[] = [];
  for (const [col, v] of [
    ['member', m.member],
    ['role', m.role],
  ] as const) {
    if (v === undefined) continue;
    params.push(v);
    parts.push(`${col} = $${params.length}`);
  }
  return parts.length ? parts.join(' AND ') : 'TRUE';
}
