// Input checks before anything is sent: a value the store cannot hold exactly is refused whole, so
// a commit never stores a rule that would read back different from itself.
import { StoreError } from '../errors.js';
import { type PolicyRule, parseEntryKey, type RoleLink } from '../policy/types.js';
import type { LinkMatch, RuleMatch, StoreChange } from './types.js';

/** @throws StoreError (invalid) naming the first value PostgreSQL cannot store as given. */
export function checkChange(change: StoreChange, operation: string): void {
  if (typeof change !== 'object' || change === null) throw invalid(operation, 'the change must be an object');
  for (const k of ['addRules', 'removeRules'] as const) (change[k] ?? []).forEach(checkRule(operation, k));
  for (const k of ['addLinks', 'removeLinks'] as const) (change[k] ?? []).forEach(checkLink(operation, k));
  (change.removeRulesMatching ?? []).forEach(checkRuleMatch(operation));
  (change.removeLinksMatching ?? []).forEach(checkLinkMatch(operation));
  if (change.provenance === undefined) return;
  if (typeof change.provenance.entries !== 'function')
    throw invalid(operation, '"provenance" must be a Map of ruleKey()/linkKey() to provenance lists');
  for (const [key, list] of change.provenance) {
    const at = `provenance[${JSON.stringify(key)}]`;
    const named = typeof key === 'string' ? parseEntryKey(key) : undefined;
    if (named === undefined) throw invalid(operation, `${at}: the key is not a ruleKey() or linkKey()`);
    if ('rule' in named) checkRule(operation, at)(named.rule, 0);
    else checkLink(operation, at)(named.link, 0);
    if (!Array.isArray(list)) throw invalid(operation, `${at} must be a list of provenance`);
  }
}

const checkRule = (operation: string, list: string) => (r: PolicyRule, i: number) => {
  const at = list.startsWith('provenance') ? list : `${list}[${i}]`;
  if (typeof r !== 'object' || r === null) throw invalid(operation, `${at} is not a rule`);
  for (const f of ['sub', 'obj', 'act'] as const) checkText(operation, `${at}.${f}`, r[f]);
  checkEffect(operation, `${at}.eft`, r.eft);
  checkBound(operation, `${at}.from`, r.from, Number.NEGATIVE_INFINITY);
  checkBound(operation, `${at}.until`, r.until, Number.POSITIVE_INFINITY);
};

const checkLink = (operation: string, list: string) => (l: RoleLink, i: number) => {
  const at = list.startsWith('provenance') ? list : `${list}[${i}]`;
  if (typeof l !== 'object' || l === null) throw invalid(operation, `${at} is not a link`);
  checkText(operation, `${at}.member`, l.member);
  checkText(operation, `${at}.role`, l.role);
};

const checkRuleMatch = (operation: string) => (m: RuleMatch, i: number) => {
  const at = `removeRulesMatching[${i}]`;
  if (typeof m !== 'object' || m === null) throw invalid(operation, `${at} is not an object`);
  for (const f of ['sub', 'obj', 'act'] as const)
    if (m[f] !== undefined) checkText(operation, `${at}.${f}`, m[f]);
  if (m.eft !== undefined) checkEffect(operation, `${at}.eft`, m.eft);
  if (m.from !== undefined) checkBound(operation, `${at}.from`, m.from, Number.NEGATIVE_INFINITY);
  if (m.until !== undefined) checkBound(operation, `${at}.until`, m.until, Number.POSITIVE_INFINITY);
};

const checkLinkMatch = (operation: string) => (m: LinkMatch, i: number) => {
  const at = `removeLinksMatching[${i}]`;
  if (typeof m !== 'object' || m === null) throw invalid(operation, `${at} is not an object`);
  if (m.member !== undefined) checkText(operation, `${at}.member`, m.member);
  if (m.role !== undefined) checkText(operation, `${at}.role`, m.role);
};

function checkText(operation: string, at: string, v: unknown): void {
  if (typeof v !== 'string') throw invalid(operation, `${at} must be a string`);
  // PostgreSQL text cannot hold NUL; a lone surrogate would be stored as U+FFFD (a different rule).
  if (v.includes('\u0000')) throw invalid(operation, `${at} contains NUL, which PostgreSQL text cannot hold`);
  if (!(v as unknown as { isWellFormed(): boolean }).isWellFormed())
    throw invalid(operation, `${at} contains a lone UTF-16 surrogate (canonicalize it with wellFormed())`);
}

function checkEffect(operation: string, at: string, v: unknown): void {
  if (v !== 'allow' && v !== 'deny') throw invalid(operation, `${at} must be "allow" or "deny"`);
}

function checkBound(operation: string, at: string, v: unknown, open: number): void {
  if (v === open || Number.isSafeInteger(v)) return;
  throw invalid(operation, `${at} must be epoch ms (an integer) or ${open > 0 ? 'Infinity' : '-Infinity'}`);
}

function invalid(operation: string, message: string): StoreError {
  return new StoreError({ failure: 'invalid', operation, message });
}
