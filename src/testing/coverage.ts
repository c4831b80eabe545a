// Mapping coverage: vendor values no rule matched, rules that never matched or only ever matched
// values an earlier rule had already taken (shadowed), and how much of a policy tests exercise.
import type { Vendor } from '../grants.js';
import type { MappingSet } from '../mapping/load.js';
import { ruleWhere, type UnmatchedValue } from '../mapping/translate.js';

export interface UnmatchedSummary {
  readonly vendor: Vendor;
  readonly kind: string;
  readonly value: string;
  readonly count: number;
  readonly holders: readonly string[];
}

export interface RuleRef {
  readonly where: string;
  readonly id: string | undefined;
  readonly vendor: Vendor;
  readonly kind: string;
  /** For a shadowed rule: how many values it would have matched. */
  readonly values?: number;
}

export interface MappingCoverage {
  readonly unmatched: readonly UnmatchedSummary[];
  readonly rules: { readonly total: number; readonly matched: number };
  readonly neverMatched: readonly RuleRef[];
  readonly shadowed: readonly RuleRef[];
}

/** Coverage of `mappings` by one compile's translate counters. */
export function mappingCoverage(
  mappings: MappingSet,
  compiled: {
    readonly unmatched: readonly UnmatchedValue[];
    readonly ruleHits: ReadonlyMap<string, number>;
    readonly shadowHits: ReadonlyMap<string, number>;
  },
): MappingCoverage {
  const groups = new Map<string, { u: UnmatchedValue; count: number; holders: Set<string> }>();
  for (const u of compiled.unmatched) {
    const k = JSON.stringify([u.vendor, u.kind, u.value]);
    const g = groups.get(k) ?? { u, count: 0, holders: new Set<string>() };
    g.count++;
    g.holders.add(u.holder);
    groups.set(k, g);
  }
  const unmatched = [...groups.values()]
    .map(({ u, count, holders }) => ({
      vendor: u.vendor,
      kind: u.kind,
      value: u.value,
      count,
      holders: [...holders].sort(),
    }))
    .sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
  const all = [...mappings.values()].flatMap((m) => m.rules);
  const ref = (r: (typeof all)[number], values?: number): RuleRef => ({
    where: ruleWhere(r),
    id: r.id,
    vendor: r.vendor,
    kind: r.kind,
    ...(values !== undefined ? { values } : {}),
  });
  const neverMatched: RuleRef[] = [];
  const shadowed: RuleRef[] = [];
  let matched = 0;
  for (const r of all) {
    const w = ruleWhere(r);
    if ((compiled.ruleHits.get(w) ?? 0) > 0) matched++;
    else if ((compiled.shadowHits.get(w) ?? 0) > 0) shadowed.push(ref(r, compiled.shadowHits.get(w)));
    else neverMatched.push(ref(r));
  }
  return { unmatched, rules: { total: all.length, matched }, neverMatched, shadowed };
}
