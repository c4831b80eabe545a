// Near misses: when explain() denies, what came closest to allowing, from the same index. Each kind
// answers a question an auditor asks next: which deny overrode which allow, which grant would allow
// at another time, what the subject does have on this resource, and which role would give it.
import type { Provenance } from '../grants.js';
import { MAX_ROLE_DEPTH, type PolicyRule } from '../policy/types.js';
import { isRoleSubject, type ProvenanceLookup, type RuleView, ruleView } from './access-view.js';
import type { PolicyIndex, Validity } from './policy-index.js';

/** At most this many near misses of each kind, and this many holders per role. */
export const NEAR_MISS_LIMIT = 5;
/** At most this many example vendor grants in `givenBy`. */
export const GIVEN_BY_LIMIT = 3;

/** A rule in a near miss, how the subject (or the role) reaches it, and the vendor data behind it. */
export interface NearMissRule {
  readonly rule: RuleView;
  /** [subject, role, ..., rule subject]; for kind "role": [role, ..., rule subject]. */
  readonly via: readonly string[];
  readonly grants: readonly Provenance[];
}

/** An active deny on (resource, action) that reaches the subject (the deciding one included). */
export interface DenyMiss extends NearMissRule {
  readonly kind: 'deny';
}

/** An active allow on (resource, action) that reaches the subject but is overridden by a deny. */
export interface OverriddenMiss extends NearMissRule {
  readonly kind: 'overridden';
}

/** An allow on (resource, action) that reaches the subject but does not hold at this time. */
export interface WindowMiss extends NearMissRule {
  readonly kind: 'window';
  /** `ended`: its window ended at `time` (its `until`); `not-started`: it starts at `time` (its `from`). */
  readonly state: 'ended' | 'not-started';
  readonly time: string;
}

/** Another action the subject is allowed on the same resource (e.g. read where write was asked). */
export interface OtherActionMiss extends NearMissRule {
  readonly kind: 'other-action';
  /** The action the subject does have. */
  readonly action: string;
  /**
   * Vendor grants that give the asked action on this resource to someone (one example per mapping
   * rule, at most GIVEN_BY_LIMIT): the vendor value the subject would need, e.g. Vonage `Write`.
   */
  readonly givenBy: readonly Provenance[];
}

/** A role the subject does not hold that would allow it, and who holds it. */
export interface RoleMiss extends NearMissRule {
  readonly kind: 'role';
  readonly role: string;
  /** People and accounts that hold the role, directly or through roles (at most NEAR_MISS_LIMIT). */
  readonly holders: readonly string[];
  /** True when more hold it than `holders` lists. */
  readonly moreHolders: boolean;
}

/** What came closest to allowing a denied request. */
export type NearMiss = DenyMiss | OverriddenMiss | WindowMiss | OtherActionMiss | RoleMiss;

const isActive = (r: PolicyRule, at: number) => at >= r.from && at < r.until;

/**
 * The near misses of a request that enforce() denies at `at`, at most NEAR_MISS_LIMIT of each kind,
 * in this order: denies, the allows they override, allows outside their window (nearest in time
 * first), other actions allowed on the resource, roles that would allow it (only when no deny
 * applies, since a role cannot lift a deny).
 */
export function nearMisses(
  index: PolicyIndex,
  provenance: ProvenanceLookup,
  subject: string,
  obj: string,
  act: string,
  at: number,
): NearMiss[] {
  const closure = index.closure(subject);
  const inClosure = new Set(closure);
  const paths = new Map<string, string[]>();
  const pathTo = (s: string) => {
    let p = paths.get(s);
    if (p === undefined) {
      p = index.path(subject, s);
      paths.set(s, p);
    }
    return p;
  };
  const entry = (r: PolicyRule): NearMissRule => ({
    rule: ruleView(r),
    via: pathTo(r.sub),
    grants: provenance.rule(r),
  });

  const out: NearMiss[] = [];
  const bySub = index.rulesFor(obj, act);
  const denies: PolicyRule[] = [];
  const overridden: PolicyRule[] = [];
  const outside: PolicyRule[] = [];
  for (const s of closure) {
    for (const r of bySub?.get(s) ?? []) {
      if (r.from >= r.until) continue;
      if (isActive(r, at)) (r.eft === 'deny' ? denies : overridden).push(r);
      else if (r.eft === 'allow') outside.push(r);
    }
  }
  for (const r of denies.slice(0, NEAR_MISS_LIMIT)) out.push({ kind: 'deny', ...entry(r) });
  if (denies.length > 0)
    for (const r of overridden.slice(0, NEAR_MISS_LIMIT)) out.push({ kind: 'overridden', ...entry(r) });
  const distance = (r: PolicyRule) => (at < r.from ? r.from - at : at - r.until);
  outside.sort((p, q) => distance(p) - distance(q));
  for (const r of outside.slice(0, NEAR_MISS_LIMIT)) {
    const ended = at >= r.until;
    out.push({
      kind: 'window',
      state: ended ? 'ended' : 'not-started',
      time: new Date(ended ? r.until : r.from).toISOString(),
      ...entry(r),
    });
  }

  let givenBy: Provenance[] | undefined;
  const scratch: Validity = { since: 0, until: 0, denied: false, rule: undefined, reach: undefined };
  let others = 0;
  for (const [other, subs] of index.rulesOn(obj) ?? []) {
    if (other === act || others >= NEAR_MISS_LIMIT) continue;
    let best: PolicyRule | undefined;
    for (const s of closure)
      for (const r of subs.get(s) ?? [])
        if (r.eft === 'allow' && isActive(r, at) && (best === undefined || r.until > best.until)) best = r;
    if (best === undefined || !index.decide(subject, obj, other, at, scratch)) continue;
    givenBy ??= examples(provenance, bySub);
    out.push({ kind: 'other-action', action: other, givenBy, ...entry(best) });
    others++;
  }

  if (denies.length === 0 && bySub !== undefined) {
    for (const miss of roleMisses(index, provenance, subject, inClosure, bySub, obj, act, at)) out.push(miss);
  }
  return out;
}

/** One vendor grant per mapping rule among the allows on (obj, act), whoever holds them. */
function examples(
  provenance: ProvenanceLookup,
  bySub: ReadonlyMap<string, readonly PolicyRule[]> | undefined,
): Provenance[] {
  const found: Provenance[] = [];
  const seen = new Set<string>();
  let scanned = 0;
  // Bounded: a resource held by many subjects does not make explain() slow.
  for (const list of bySub?.values() ?? []) {
    for (const r of list) {
      if (r.eft !== 'allow') continue;
      if (++scanned > 200 || found.length >= GIVEN_BY_LIMIT) return found;
      for (const p of provenance.rule(r)) {
        const k = JSON.stringify([p.vendor, p.kind, p.mapping?.file ?? null, p.mapping?.line ?? null]);
        if (seen.has(k)) continue;
        seen.add(k);
        found.push(p);
        if (found.length >= GIVEN_BY_LIMIT) return found;
      }
    }
  }
  return found;
}

/**
 * Roles outside the subject's closure that enforce() allows (obj, act) at `at`: the roles holding an
 * active allow, then roles that inherit them (at most MAX_ROLE_DEPTH - 1 links away, so the rule is
 * still within reach once the subject holds the role). The subject has no active deny here, and the
 * role has none either (it is allowed), so holding the role would allow the request.
 */
function roleMisses(
  index: PolicyIndex,
  provenance: ProvenanceLookup,
  subject: string,
  inClosure: ReadonlySet<string>,
  bySub: ReadonlyMap<string, readonly PolicyRule[]>,
  obj: string,
  act: string,
  at: number,
): RoleMiss[] {
  const scratch: Validity = { since: 0, until: 0, denied: false, rule: undefined, reach: undefined };
  const out: RoleMiss[] = [];
  // role → the rule it would give (from the role holding it, reached through the hierarchy)
  const rules = new Map<string, PolicyRule>();
  let frontier: string[] = [];
  for (const [s, list] of bySub) {
    if (!isRoleSubject(s)) continue;
    let best: PolicyRule | undefined;
    for (const r of list)
      if (r.eft === 'allow' && isActive(r, at) && (best === undefined || r.until > best.until)) best = r;
    if (best === undefined) continue;
    rules.set(s, best);
    frontier.push(s);
  }
  const consider = (role: string) => {
    if (out.length >= NEAR_MISS_LIMIT || inClosure.has(role)) return;
    if (!index.decide(role, obj, act, at, scratch)) return;
    const r = rules.get(role)!;
    const { holders, more } = holdersOf(index, role, subject);
    out.push({
      kind: 'role',
      role,
      rule: ruleView(r),
      via: index.path(role, r.sub),
      grants: provenance.rule(r),
      holders,
      moreHolders: more,
    });
  };
  for (const s of frontier) consider(s);
  for (
    let depth = 1;
    depth < MAX_ROLE_DEPTH && frontier.length > 0 && out.length < NEAR_MISS_LIMIT;
    depth++
  ) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const m of index.membersOf(s)) {
        if (!isRoleSubject(m) || rules.has(m)) continue;
        rules.set(m, rules.get(s)!);
        next.push(m);
        consider(m);
      }
    }
    frontier = next;
  }
  return out;
}

/** Up to NEAR_MISS_LIMIT people or accounts that reach `role`, other than `subject`. */
function holdersOf(index: PolicyIndex, role: string, subject: string): { holders: string[]; more: boolean } {
  const holders: string[] = [];
  const seen = new Set([role]);
  let frontier = [role];
  for (let depth = 0; depth < MAX_ROLE_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const s of frontier) {
      for (const m of index.membersOf(s)) {
        if (seen.has(m)) continue;
        seen.add(m);
        next.push(m);
        if (isRoleSubject(m) || m === subject) continue;
        if (holders.length === NEAR_MISS_LIMIT) return { holders, more: true };
        holders.push(m);
      }
    }
    frontier = next;
  }
  return { holders, more: false };
}
