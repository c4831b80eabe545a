import type { NormalizedGrant, Provenance } from '../grants.js';
import { wellFormed } from './csv.js';
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
 *
 * Every string is put in its canonical form first (wellFormed: lone UTF-16 surrogates → U+FFFD),
 * the only form a UTF-8 policy file holds, so that a rule, its key and its provenance read back
 * exactly as compiled and a later compile of the same grants finds nothing to change. `repaired`
 * lists the provenance of every grant or link that needed it.
 */
export function compilePolicy(
  grants: readonly NormalizedGrant[],
  links: readonly LinkInput[] = [],
): { policy: Policy; provenance: ProvenanceIndex; repaired: Provenance[] } {
  const rules = new Map<string, PolicyRule>();
  const provenance = new Map<string, Provenance[]>();
  const repaired = new Set<Provenance>();
  const note = (k: string, p: Provenance) => {
    const list = provenance.get(k);
    if (!list) provenance.set(k, [p]);
    else if (!list.some((x) => x.raw === p.raw && x.holder === p.holder && x.vendor === p.vendor))
      list.push(p);
  };
  // Provenance objects are shared by the grants of one vendor value: repair each once.
  const canonical = new Map<Provenance, Provenance>();
  const canonicalProvenance = (p: Provenance): Provenance => {
    let c = canonical.get(p);
    if (!c) {
      c = wellFormedProvenance(p);
      canonical.set(p, c);
    }
    return c;
  };
  for (const g of grants) {
    const rule: PolicyRule = {
      sub: wellFormed(g.subject),
      obj: wellFormed(g.resource),
      act: wellFormed(g.action),
      eft: g.effect,
      from: g.validFrom ?? Number.NEGATIVE_INFINITY,
      until: g.validUntil ?? Number.POSITIVE_INFINITY,
    };
    const p = canonicalProvenance(g.provenance);
    if (p !== g.provenance || rule.sub !== g.subject || rule.obj !== g.resource || rule.act !== g.action) {
      repaired.add(p);
    }
    const k = ruleKey(rule);
    if (!rules.has(k)) rules.set(k, rule);
    note(k, p);
  }
  const gl = new Map<string, RoleLink>();
  for (const l of links) {
    const link = { member: wellFormed(l.member), role: wellFormed(l.role) };
    if (link.member === link.role) continue;
    const p = canonicalProvenance(l.provenance);
    if (p !== l.provenance || link.member !== l.member || link.role !== l.role) {
      repaired.add(p);
    }
    const k = linkKey(link);
    if (!gl.has(k)) gl.set(k, link);
    note(k, p);
  }
  return { policy: sortPolicy([...rules.values()], [...gl.values()]), provenance, repaired: [...repaired] };
}

/** The provenance with every string well formed; the same object when it already is. */
function wellFormedProvenance(p: Provenance): Provenance {
  const kind = wellFormed(p.kind);
  const holder = wellFormed(p.holder);
  const raw = wellFormed(p.raw);
  const source = p.source === undefined ? undefined : wellFormed(p.source);
  const file = p.mapping === undefined ? undefined : wellFormed(p.mapping.file);
  if (
    kind === p.kind &&
    holder === p.holder &&
    raw === p.raw &&
    source === p.source &&
    file === p.mapping?.file
  )
    return p;
  return {
    ...p,
    kind,
    holder,
    raw,
    ...(source !== undefined ? { source } : {}),
    ...(p.mapping !== undefined && file !== undefined ? { mapping: { ...p.mapping, file } } : {}),
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
