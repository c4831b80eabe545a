import { UnmatchedValueError } from '../errors.js';
import type { NormalizedGrant, Provenance, Vendor, VendorGrant } from '../grants.js';
import { wellFormed } from '../policy/csv.js';
import { isRepresentable } from '../policy/time.js';
import { KINDS } from './kinds.js';
import type { MappingRule, MappingSet } from './load.js';
import type { Template } from './template.js';

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

/**
 * A vendor grant some of whose text was not well-formed UTF-16 (lone surrogates): it was mapped
 * with each lone surrogate replaced by U+FFFD, the form a policy file can hold (see wellFormed).
 */
export interface RepairedGrant {
  readonly vendor: Vendor;
  readonly holder: string;
  /** The raw value, repaired. */
  readonly raw: string;
  /** What held lone surrogates: field names, `raw`, `holder`, `source`, `subject`. */
  readonly parts: readonly string[];
}

export interface TranslateResult {
  readonly grants: NormalizedGrant[];
  readonly unmatched: UnmatchedValue[];
  readonly skipped: SkippedGrant[];
  readonly repaired: RepairedGrant[];
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
 * Fails closed: a grant whose rule cannot be applied (a window bound the grant does not give or
 * that is not a time, a value too long for a `regex`, a resource or every action rendering empty)
 * is skipped and reported in `skipped`; it is never handed to a later rule. Every string is first
 * made well formed (lone surrogates → U+FFFD, reported in `repaired`), so that what is matched,
 * what is granted and the provenance kept agree with what a policy file can hold.
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
    repaired: [],
    ruleHits: new Map(),
    shadowHits: new Map(),
  };
  for (const given of grants) {
    const repairs: string[] = [];
    const g = canonicalGrant(given, repairs);
    const holder = repaired(holderLabel(g), 'holder', repairs);
    const subject = repaired(subjectOf(given), 'subject', repairs);
    if (repairs.length) out.repaired.push({ vendor: g.vendor, holder, raw: g.raw, parts: repairs });
    const mapping = mappings.get(g.vendor);
    let matched: { rule: MappingRule; vars: Record<string, string> } | undefined;
    let refused: { rule: MappingRule; reason: string } | undefined;
    for (const rule of mapping?.rules ?? []) {
      if (rule.kind !== g.kind) continue;
      const vars = matchRule(rule, g);
      if (vars === undefined) continue;
      if (matched === undefined) {
        if (typeof vars === 'string') {
          refused = { rule, reason: vars };
          break;
        }
        matched = { rule, vars };
        if (!options.shadows) break;
      } else if (typeof vars !== 'string') {
        const w = ruleWhere(rule);
        out.shadowHits.set(w, (out.shadowHits.get(w) ?? 0) + 1);
      }
    }
    const skip = (rule: MappingRule, reason: string) =>
      out.skipped.push({ vendor: g.vendor, holder, raw: g.raw, rule: ruleWhere(rule), reason });
    if (refused) {
      skip(refused.rule, refused.reason);
      continue;
    }
    if (!matched) {
      const field = KINDS[g.vendor]?.[g.kind]?.[0] ?? 'value';
      const value = `${field}=${Object.hasOwn(g.fields, field) ? g.fields[field] : ''}`;
      out.unmatched.push({ vendor: g.vendor, kind: g.kind, holder, raw: g.raw, value });
      continue;
    }
    const { rule, vars } = matched;
    const where = ruleWhere(rule);
    out.ruleHits.set(where, (out.ruleHits.get(where) ?? 0) + 1);
    const resource = rule.resource.render(vars);
    if (resource === '') {
      skip(rule, 'the resource template rendered empty');
      continue;
    }
    let from: number | undefined;
    let until: number | undefined;
    if (rule.window) {
      const problems: string[] = [];
      from = readBound('from', rule.window.from, vars, problems);
      until = readBound('until', rule.window.until, vars, problems);
      if (problems.length) {
        skip(rule, problems.join('; '));
        continue;
      }
      if (from !== undefined && until !== undefined && until <= from) {
        skip(rule, 'the window ends before it starts');
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
      skip(rule, 'every action template rendered empty');
      continue;
    }
    const provenance: Provenance = {
      vendor: g.vendor,
      kind: g.kind,
      holder,
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

function repaired(s: string, part: string, repairs: string[]): string {
  const w = wellFormed(s);
  if (w !== s) repairs.push(part);
  return w;
}

/** The grant with its fields, raw value and source well formed (the same object when they are). */
function canonicalGrant(g: VendorGrant, repairs: string[]): VendorGrant {
  let fields: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(g.fields)) {
    const w = repaired(v, k, repairs);
    if (w !== v) {
      fields ??= Object.assign(Object.create(null), g.fields) as Record<string, string>;
      fields[k] = w;
    }
  }
  const raw = repaired(g.raw, 'raw', repairs);
  const source = g.source === undefined ? undefined : repaired(g.source, 'source', repairs);
  if (repairs.length === 0) return g;
  return { ...g, fields: fields ?? g.fields, raw, ...(source !== undefined ? { source } : {}) };
}

/**
 * One window bound: undefined when the rule gives none (open). A bound the rule gives must be read
 * from the grant: a variable it uses that the grant lacks or leaves blank, or a value that is not a
 * time, adds a problem naming it (and the grant is skipped) — never an open bound.
 */
function readBound(
  name: 'from' | 'until',
  template: Template | undefined,
  vars: Readonly<Record<string, string>>,
  problems: string[],
): number | undefined {
  if (!template) return undefined;
  const absent = template.variables.filter((v) => !Object.hasOwn(vars, v) || vars[v]!.trim() === '');
  if (absent.length) {
    const what = absent.map((v) => `${v} is ${Object.hasOwn(vars, v) ? 'blank' : 'missing'}`);
    problems.push(
      `the window ${name} ("${template.source}") cannot be read: ${[...new Set(what)].join(', ')}`,
    );
    return undefined;
  }
  const text = template.render(vars);
  const ms = parseTime(text);
  if (ms === undefined || Number.isNaN(ms)) {
    const fields = template.variables.length ? ` (${[...new Set(template.variables)].join(', ')})` : '';
    problems.push(
      `the window ${name} ("${template.source}") is not a time${fields}: ${JSON.stringify(text)}; expected seconds, milliseconds or ISO-8601`,
    );
    return undefined;
  }
  return ms;
}

/** A mapping rule's "file:line", the key of ruleHits and shadowHits. */
export const ruleWhere = (rule: MappingRule): string => `${rule.position.file}:${rule.position.line}`;

/**
 * The rule's variables when it matches the grant; undefined when it does not; a reason (string)
 * when it cannot tell (a value longer than a matcher reads), in which case the grant is skipped.
 */
function matchRule(rule: MappingRule, g: VendorGrant): Record<string, string> | string | undefined {
  const vars: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(g.fields)) vars[k] = v;
  let undecided: string | undefined;
  for (const { field, matcher } of rule.when) {
    const value = Object.hasOwn(g.fields, field) ? g.fields[field] : undefined;
    if (value === undefined) return undefined;
    if (matcher.maxLength !== undefined && value.length > matcher.maxLength) {
      undecided ??= `${field} is ${value.length} characters long; a regex reads at most ${matcher.maxLength}, so this rule cannot decide it`;
      continue;
    }
    const captures = matcher.match(value);
    if (!captures) return undefined;
    for (const [k, v] of Object.entries(captures)) vars[k] = v;
  }
  return undecided ?? vars;
}

/**
 * Reads a vendor time: a number or numeric string in seconds or milliseconds (>= 1e12 is taken as
 * ms), or an ISO-8601 date; surrounding spaces are ignored. undefined for blank text (no time
 * given: translate never reads that as an open bound, it skips the grant); NaN when unreadable or
 * out of range.
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
