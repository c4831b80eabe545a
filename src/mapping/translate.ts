import { UnmatchedValueError } from '../errors.js';
import type { NormalizedGrant, Vendor, VendorGrant } from '../grants.js';
import { isRepresentable } from '../policy/time.js';
import { KINDS } from './kinds.js';
import type { MappingRule, MappingSet } from './load.js';

/** A vendor value no rule matched. */
export interface UnmatchedValue {
  readonly vendor: Vendor;
  readonly kind: string;
  readonly holder: string;
  readonly raw: string;
  /** The value rules usually match on, as `field=value` (e.g. `privilege=Recording:Delete`). */
  readonly value: string;
}

/** A vendor grant a rule matched but that could not become a grant (e.g. an unreadable time). */
export interface SkippedGrant {
  readonly vendor: Vendor;
  readonly holder: string;
  readonly raw: string;
  readonly rule: string;
  readonly reason: string;
}

export interface TranslateResult {
  readonly grants: NormalizedGrant[];
  readonly unmatched: UnmatchedValue[];
  readonly skipped: SkippedGrant[];
  /** How many vendor grants each rule matched, keyed by "file:line". */
  readonly ruleHits: Map<string, number>;
  /** With `shadows`: how many vendor grants each rule also matched after an earlier rule took them. */
  readonly shadowHits: Map<string, number>;
}

export interface TranslateOptions {
  /** Also try every later rule on each grant, to find rules shadowed by earlier ones. Default false. */
  readonly shadows?: boolean;
}

export const holderLabel = (g: VendorGrant): string =>
  g.holder.type === 'user' ? g.holder.vendorUserId : `role:${g.holder.roleId}`;

/**
 * Translates vendor grants into normalized grants with the first matching rule of the vendor's
 * mapping. Pure: no I/O.
 *
 * @throws UnmatchedValueError when a vendor's mapping says `unmatched: error` and a value matched nothing.
 */
export function translate(
  grants: Iterable<VendorGrant>,
  mappings: MappingSet,
  subjectOf: (g: VendorGrant) => string,
  options: TranslateOptions = {},
): TranslateResult {
  const out: TranslateResult = {
    grants: [],
    unmatched: [],
    skipped: [],
    ruleHits: new Map(),
    shadowHits: new Map(),
  };
  for (const g of grants) {
    const mapping = mappings.get(g.vendor);
    let matched: { rule: MappingRule; vars: Record<string, string> } | undefined;
    for (const rule of mapping?.rules ?? []) {
      if (rule.kind !== g.kind) continue;
      const vars = matchRule(rule, g);
      if (!vars) continue;
      if (matched === undefined) {
        matched = { rule, vars };
        if (!options.shadows) break;
      } else {
        const w = ruleWhere(rule);
        out.shadowHits.set(w, (out.shadowHits.get(w) ?? 0) + 1);
      }
    }
    if (!matched) {
      const field = KINDS[g.vendor]?.[g.kind]?.[0] ?? 'value';
      const value = `${field}=${Object.hasOwn(g.fields, field) ? g.fields[field] : ''}`;
      out.unmatched.push({ vendor: g.vendor, kind: g.kind, holder: holderLabel(g), raw: g.raw, value });
      continue;
    }
    const { rule, vars } = matched;
    const where = ruleWhere(rule);
    out.ruleHits.set(where, (out.ruleHits.get(where) ?? 0) + 1);
    const skip = (reason: string) =>
      out.skipped.push({ vendor: g.vendor, holder: holderLabel(g), raw: g.raw, rule: where, reason });
    const resource = rule.resource.render(vars);
    if (resource === '') {
      skip('the resource template rendered empty');
      continue;
    }
    let from: number | undefined;
    let until: number | undefined;
    if (rule.window) {
      from = rule.window.from ? parseTime(rule.window.from.render(vars)) : undefined;
      until = rule.window.until ? parseTime(rule.window.until.render(vars)) : undefined;
      if (Number.isNaN(from) || Number.isNaN(until)) {
        skip('the window start or end is not a time (seconds, milliseconds or ISO-8601)');
        continue;
      }
      if (from !== undefined && until !== undefined && until <= from) {
        skip('the window ends before it starts');
        continue;
      }
    }
    const actions = new Set<string>();
    for (const t of rule.actions) {
      const a = t.render(vars);
      if (a === '') continue;
      actions.add(a);
      if (rule.effect === 'allow') for (const lower of mapping!.implied.get(a) ?? []) actions.add(lower);
    }
    if (actions.size === 0) {
      skip('every action template rendered empty');
      continue;
    }
    const subject = subjectOf(g);
    const provenance = {
      vendor: g.vendor,
      kind: g.kind,
      holder: holderLabel(g),
      raw: g.raw,
      mapping: rule.position,
      ...(g.source !== undefined ? { source: g.source } : {}),
    };
    for (const action of actions) {
      out.grants.push({
        subject,
        resource,
        action,
        effect: rule.effect,
        ...(from !== undefined ? { validFrom: from } : {}),
        ...(until !== undefined ? { validUntil: until } : {}),
        provenance,
      });
    }
  }
  const strict = out.unmatched.filter((u) => mappings.get(u.vendor)?.unmatched === 'error');
  if (strict.length) {
    const lines = strict.slice(0, 20).map((u) => `  ${u.vendor} ${u.kind} ${u.raw} (held by ${u.holder})`);
    throw new UnmatchedValueError(
      `${strict.length} vendor value(s) matched no mapping rule and the mapping says "unmatched: error":\n${lines.join('\n')}${strict.length > 20 ? '\n  ...' : ''}\nAdd a rule for them, or set "unmatched: warn".`,
    );
  }
  return out;
}

/** A mapping rule's "file:line", the key of ruleHits and shadowHits. */
export const ruleWhere = (rule: MappingRule): string => `${rule.position.file}:${rule.position.line}`;

function matchRule(rule: MappingRule, g: VendorGrant): Record<string, string> | undefined {
  const vars: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(g.fields)) vars[k] = v;
  for (const { field, matcher } of rule.when) {
    const value = Object.hasOwn(g.fields, field) ? g.fields[field] : undefined;
    if (value === undefined) return undefined;
    const captures = matcher.match(value);
    if (!captures) return undefined;
    for (const [k, v] of Object.entries(captures)) vars[k] = v;
  }
  return vars;
}

/**
 * Reads a vendor time: '' → open (undefined); a number or numeric string in seconds or
 * milliseconds (>= 1e12 is taken as ms); or an ISO-8601 date. NaN when unreadable or out of range.
 */
export function parseTime(s: string): number | undefined {
  const t = s.trim();
  if (t === '') return undefined;
  let ms: number;
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    ms = Math.abs(n) >= 1e12 ? n : n * 1000;
  } else if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    ms = Date.parse(t);
  } else {
    return Number.NaN;
  }
  return isRepresentable(ms) ? Math.trunc(ms) : Number.NaN;
}
