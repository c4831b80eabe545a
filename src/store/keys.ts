// Provenance arrives keyed by ruleKey()/linkKey() strings; the store keeps it on the rule's or
// link's own row, so a key is read back into the rule or link it names.
import { linkKey, type PolicyRule, type RoleLink, ruleKey } from '../policy/types.js';

/** The rule or link a key names, or undefined when it is not a key ruleKey()/linkKey() writes. */
export function parseKey(key: string): { rule: PolicyRule } | { link: RoleLink } | undefined {
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
  // ruleKey writes an open bound (±Infinity) as null.
  const rule: PolicyRule = {
    sub,
    obj,
    act,
    eft,
    from: from ?? Number.NEGATIVE_INFINITY,
    until: until ?? Number.POSITIVE_INFINITY,
  };
  return ruleKey(rule) === key ? { rule } : undefined;
}
