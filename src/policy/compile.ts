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
