/** Effect of a policy rule. Deny overrides allow for the same subject, resource and action. */
export type Effect = 'allow' | 'deny';

/**
 * A Casbin `p` rule: `p, sub, obj, act, eft, from, until`. `from`/`until` are epoch milliseconds;
 * `-Infinity` / `Infinity` mean "no start" / "no end" and are written as empty fields. The rule
 * holds for from <= now < until.
 */
export interface PolicyRule {
  readonly sub: string;
  readonly obj: string;
  readonly act: string;
  readonly eft: Effect;
  readonly from: number;
  readonly until: number;
}

/** A Casbin `g` link: `g, member, role` (the member inherits the role's rules). */
export interface RoleLink {
  readonly member: string;
  readonly role: string;
}

/** A whole compiled policy: the `p` rules and the `g` links. */
export interface Policy {
  readonly rules: readonly PolicyRule[];
  readonly links: readonly RoleLink[];
}

/** Casbin's default maximum role hierarchy depth; our index applies the same limit. */
export const MAX_ROLE_DEPTH = 10;

export function ruleKey(r: PolicyRule): string {
  return JSON.stringify([r.sub, r.obj, r.act, r.eft, r.from, r.until]);
}

export function linkKey(l: RoleLink): string {
  return JSON.stringify([l.member, l.role]);
}

/** A rule from the array form ruleKey() writes, where an open bound is null (JSON has no Infinity). */
export function ruleOfParts(
  sub: string,
  obj: string,
  act: string,
  eft: Effect,
  from: number | null,
  until: number | null,
): PolicyRule {
  return {
    sub,
    obj,
    act,
    eft,
    from: from ?? Number.NEGATIVE_INFINITY,
    until: until ?? Number.POSITIVE_INFINITY,
  };
}

/**
 * The rule or link a key names (provenance is keyed by ruleKey()/linkKey()), or undefined when the
 * key is not one those functions write.
 */
export function parseEntryKey(key: string): { rule: PolicyRule } | { link: RoleLink } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(key);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
    const link = { member: v[0], role: v[1] };
    return linkKey(link) === key ? { link } : undefined;
  }
  if (v.length !== 6) return undefined;
  const [sub, obj, act, eft, from, until] = v as unknown[];
  if (typeof sub !== 'string' || typeof obj !== 'string' || typeof act !== 'string') return undefined;
  if (eft !== 'allow' && eft !== 'deny') return undefined;
  if ((from !== null && typeof from !== 'number') || (until !== null && typeof until !== 'number'))
    return undefined;
  const rule = ruleOfParts(sub, obj, act, eft, from, until);
  return ruleKey(rule) === key ? { rule } : undefined;
}
