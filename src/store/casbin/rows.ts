// casbin rows (`p`: sub, obj, act, eft, from, until with '' for an open bound; `g`: member, role)
// to the store's rules and links and back. Every field keeps its own slot: an empty `from` stays
// an open start and never shifts `until` left (the bug of adapters that filter out empty fields).
import { StoreError } from '../../errors.js';
import { linkToCasbin, ruleToCasbin } from '../../policy/store.js';
import { formatBound, parseBound } from '../../policy/time.js';
import type { PolicyRule, RoleLink } from '../../policy/types.js';
import type { LinkMatch, RuleMatch } from '../types.js';

export { linkToCasbin, ruleToCasbin };

/** The casbin section and type a call is for: only `p`/`p` rules and `g`/`g` links are stored. */
export type Kind = 'rule' | 'link';

export function kindOf(sec: string, ptype: string, operation: string): Kind {
  if (sec === 'p' && ptype === 'p') return 'rule';
  if (sec === 'g' && ptype === 'g') return 'link';
  throw invalid(operation, `this adapter stores "p" rules and "g" links only, not ${sec}/${ptype}`);
}

const RULE_FIELDS = ['sub', 'obj', 'act', 'eft', 'from', 'until'] as const;

/**
 * A `p` row as a rule. Rows of 4 or 5 fields are read with the missing bounds open.
 * @throws StoreError (invalid) for another length, an effect other than allow/deny, or a bound
 * that is not an ISO-8601 UTC time with milliseconds (as the model compares them).
 */
export function ruleFromCasbin(row: readonly string[], operation: string): PolicyRule {
  if (!Array.isArray(row) || row.length < 4 || row.length > 6 || !row.every((f) => typeof f === 'string'))
    throw invalid(
      operation,
      `a p rule is [sub, obj, act, eft, from, until] (strings), got ${row.length} fields`,
    );
  const [sub, obj, act, eft, from = '', until = ''] = row as [
    string,
    string,
    string,
    string,
    string?,
    string?,
  ];
  if (eft !== 'allow' && eft !== 'deny')
    throw invalid(operation, `eft must be "allow" or "deny", got ${JSON.stringify(eft)}`);
  return {
    sub,
    obj,
    act,
    eft,
    from: bound(from, Number.NEGATIVE_INFINITY, 'from', operation),
    until: bound(until, Number.POSITIVE_INFINITY, 'until', operation),
  };
}

export function linkFromCasbin(row: readonly string[], operation: string): RoleLink {
  if (!Array.isArray(row) || row.length !== 2 || typeof row[0] !== 'string' || typeof row[1] !== 'string')
    throw invalid(operation, 'a g link is [member, role] (strings)');
  return { member: row[0], role: row[1] };
}

/**
 * casbin's field filter (`fieldIndex` and values from it; '' = any value) as a match. A bound
 * given in a filter matches that time exactly (an open bound cannot be selected: '' means any).
 */
export function ruleMatchFromCasbin(
  fieldIndex: number,
  values: readonly string[],
  operation: string,
): RuleMatch {
  const m: { -readonly [K in keyof RuleMatch]: RuleMatch[K] } = {};
  values.forEach((v, i) => {
    const field = RULE_FIELDS[fieldIndex + i];
    if (v === '' || v === undefined) return;
    if (field === undefined)
      throw invalid(operation, `a p rule has 6 fields; field ${fieldIndex + i} does not exist`);
    if (field === 'from' || field === 'until') m[field] = bound(v, Number.NaN, field, operation);
    else if (field === 'eft') {
      if (v !== 'allow' && v !== 'deny') throw invalid(operation, `eft must be "allow" or "deny"`);
      m.eft = v;
    } else m[field] = v;
  });
  return m;
}

export function linkMatchFromCasbin(
  fieldIndex: number,
  values: readonly string[],
  operation: string,
): LinkMatch {
  const m: { member?: string; role?: string } = {};
  values.forEach((v, i) => {
    const at = fieldIndex + i;
    if (v === '' || v === undefined) return;
    if (at === 0) m.member = v;
    else if (at === 1) m.role = v;
    else throw invalid(operation, `a g link has 2 fields; field ${at} does not exist`);
  });
  return m;
}

function bound(s: string, open: number, field: string, operation: string): number {
  const ms = parseBound(s, open);
  if (Number.isNaN(ms) || (s !== '' && formatBound(ms) !== s))
    throw invalid(
      operation,
      `${field} must be empty or an ISO-8601 UTC time with milliseconds, got ${JSON.stringify(s)}`,
    );
  return ms;
}

function invalid(operation: string, message: string): StoreError {
  return new StoreError({ failure: 'invalid', operation, message });
}
