import type { NormalizedGrant, Provenance } from '../grants.js';
import type { ProvenanceIndex } from './store.js';
import { linkKey, type Policy, type PolicyRule, type RoleLink, ruleKey } from './types.js';

/** A role link to compile, with where it came from. */
export interface LinkInput {
  readonly member: string;
  readonly role: string;
  readonly provenance: Provenance;
}

/**
 * Turns normalized grants and role links into a Casbin policy: one `p` rule per distinct
 * (subject, resource, action, effect, window), one `g` link per distinct (member, role), sorted so
 * the output is stable; every vendor grant behind a rule is kept as its provenance.
 */
export function compilePolicy(
  grants: readonly NormalizedGrant[],
  links: readonly LinkInput[] = [],
): { policy: Policy; provenance: ProvenanceIndex } {
  const rules = new Map<string, PolicyRule>();
  const provenance = new Map<string, Provenance[]>();
  const note = (k: string, p: Provenance) => {
    const list = provenance.get(k);
    if (!list) provenance.set(k, [p]);
    else if (!list.some((x) => x.raw === p.raw && x.holder === p.holder && x.vendor === p.vendor))
      list.push(p);
  };
  for (const g of grants) {
    const rule: PolicyRule = {
      sub: g.subject,
      obj: g.resource,
      act: g.action,
      eft: g.effect,
      from: g.validFrom ?? Number.NEGATIVE_INFINITY,
      until: g.validUntil ?? Number.POSITIVE_INFINITY,
    };
    const k = ruleKey(rule);
    if (!rules.has(k)) rules.set(k, rule);
    note(k, g.provenance);
  }
  const gl = new Map<string, RoleLink>();
  for (const l of links) {
    if (l.member === l.role) continue;
    const link = { member: l.member, role: l.role };
    const k = linkKey(link);
    if (!gl.has(k)) gl.set(k, link);
    note(k, l.provenance);
  }
  return { policy: sortPolicy([...rules.values()], [...gl.values()]), provenance };
}

export type PolicyMerger = ReturnType<typeof createPolicyMerger>;

/**
 * Unions compiled policies one part at a time (a sync adds each user's compiled rules as they
 * arrive): rules and links once each, provenance lists joined without repeats.
 */
export function createPolicyMerger() {
  const rules = new Map<string, PolicyRule>();
  const links = new Map<string, RoleLink>();
  const provenance = new Map<string, Provenance[]>();
  const note = (k: string, from: readonly Provenance[] | undefined) => {
    let list = provenance.get(k);
    if (!list) {
      list = [];
      provenance.set(k, list);
    }
    for (const p of from ?? []) {
      if (!list.some((x) => x.raw === p.raw && x.holder === p.holder && x.vendor === p.vendor)) list.push(p);
    }
  };
  const addRule = (k: string, r: PolicyRule, from: readonly Provenance[] | undefined) => {
    if (!rules.has(k)) rules.set(k, r);
    note(k, from);
  };
  const addLink = (k: string, l: RoleLink, from: readonly Provenance[] | undefined) => {
    if (!links.has(k)) links.set(k, l);
    note(k, from);
  };
  return {
    rules: rules as ReadonlyMap<string, PolicyRule>,
    links: links as ReadonlyMap<string, RoleLink>,
    provenance: provenance as ProvenanceIndex,
    add({ policy, provenance: prov }: { policy: Policy; provenance: ProvenanceIndex }): void {
      for (const r of policy.rules) {
        const k = ruleKey(r);
        addRule(k, r, prov.get(k));
      }
      for (const l of policy.links) {
        const k = linkKey(l);
        addLink(k, l, prov.get(k));
      }
    },
    /** Adds everything another merger holds (keys are not computed again). */
    absorb(other: {
      rules: ReadonlyMap<string, PolicyRule>;
      links: ReadonlyMap<string, RoleLink>;
      provenance: ProvenanceIndex;
    }): void {
      for (const [k, r] of other.rules) addRule(k, r, other.provenance.get(k));
      for (const [k, l] of other.links) addLink(k, l, other.provenance.get(k));
    },
    /** The union so far, sorted. */
    result(): { policy: Policy; provenance: ProvenanceIndex } {
      return { policy: sortPolicy([...rules.values()], [...links.values()]), provenance };
    },
  };
}

function sortPolicy(rules: PolicyRule[], links: RoleLink[]): Policy {
  return { rules: rules.sort(byRule), links: links.sort(byLink) };
}

/** The order of rules in a compiled policy: by subject, resource, action, effect, from, until. */
export function byRule(a: PolicyRule, b: PolicyRule): number {
  return (
    cmp(a.sub, b.sub) ||
    cmp(a.obj, b.obj) ||
    cmp(a.act, b.act) ||
    cmp(a.eft, b.eft) ||
    cmp(a.from, b.from) ||
    cmp(a.until, b.until)
  );
}

/** The order of links in a compiled policy: by member, then role. */
export function byLink(a: RoleLink, b: RoleLink): number {
  return cmp(a.member, b.member) || cmp(a.role, b.role);
}

const cmp = <T extends string | number>(a: T, b: T) => (a < b ? -1 : a > b ? 1 : 0);
