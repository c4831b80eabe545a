import { linkKey, type Policy, type PolicyRule, type RoleLink, ruleKey } from './types.js';

export interface PolicyDiff {
  readonly addRules: PolicyRule[];
  readonly removeRules: PolicyRule[];
  readonly addLinks: RoleLink[];
  readonly removeLinks: RoleLink[];
}

/** What to add to and remove from `from` to get `to`. */
export function diffPolicies(from: Policy, to: Policy): PolicyDiff {
  const diff = <T>(a: readonly T[], b: readonly T[], key: (x: T) => string): [T[], T[]] => {
    const ak = new Set(a.map(key));
    const bk = new Set(b.map(key));
    return [b.filter((x) => !ak.has(key(x))), a.filter((x) => !bk.has(key(x)))];
  };
  const [addRules, removeRules] = diff(from.rules, to.rules, ruleKey);
  const [addLinks, removeLinks] = diff(from.links, to.links, linkKey);
  return { addRules, removeRules, addLinks, removeLinks };
}
