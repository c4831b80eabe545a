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
