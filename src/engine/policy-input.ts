// Shape checks for the policy data callers hand the authorizer (applyChanges, an in-memory
// loadPolicy). A rule that is not a PolicyRule would otherwise be indexed under keys no request
// can reach: counted as added, deciding nothing. Checked once per call, before anything changes.
import { ConfigError } from '../errors.js';
import { EARLIEST, LATEST } from '../policy/time.js';
import type { Policy } from '../policy/types.js';
import type { PolicyChange } from './authorizer.js';

const CHANGE_KEYS = ['addRules', 'removeRules', 'addLinks', 'removeLinks', 'provenance'];
const RULE = '{ sub, obj, act, eft, from, until }';
const LINK = '{ member, role }';

/** @throws ConfigError naming the field (e.g. `addRules[0].sub`) when `change` is not a PolicyChange. */
export function checkPolicyChange(change: unknown): asserts change is PolicyChange {
  if (!isObject(change))
    throw new ConfigError(
      'change',
      `must be an object { ${CHANGE_KEYS.join(', ')} }, got ${describe(change)}`,
    );
  for (const key of Object.keys(change)) {
    if (!CHANGE_KEYS.includes(key))
      throw new ConfigError(
        key,
        `unknown field of a policy change; allowed: ${CHANGE_KEYS.join(', ')} (a rule is ${RULE}, inside addRules or removeRules)`,
      );
  }
  for (const key of ['addRules', 'removeRules'] as const)
    if (change[key] !== undefined) checkRules(change[key], key);
  for (const key of ['addLinks', 'removeLinks'] as const)
    if (change[key] !== undefined) checkLinks(change[key], key);
  checkProvenance(change['provenance'], 'provenance');
}

/** @throws ConfigError when `provenance` is given and is not a Map (of ruleKey/linkKey → provenance). */
export function checkProvenance(provenance: unknown, key: string): void {
  if (provenance !== undefined && !isIterable(provenance))
    throw new ConfigError(
      key,
      `must be a Map from ruleKey/linkKey to provenance, got ${describe(provenance)}`,
    );
}

/** @throws ConfigError naming the field (e.g. `policies.rules[3].from`) when `policy` is not a Policy. */
export function checkPolicy(policy: unknown, key: string): asserts policy is Policy {
  if (!isObject(policy))
    throw new ConfigError(
      key,
      `must be a policies folder path or a { rules, links } policy, got ${describe(policy)}`,
    );
  checkRules(policy['rules'], `${key}.rules`);
  checkLinks(policy['links'], `${key}.links`);
}

function checkRules(rules: unknown, key: string): void {
  if (!Array.isArray(rules))
    throw new ConfigError(key, `must be an array of rules ${RULE}, got ${describe(rules)}`);
  rules.forEach((r: unknown, i) => {
    const at = `${key}[${i}]`;
    if (!isObject(r)) throw new ConfigError(at, `must be a rule ${RULE}, got ${describe(r)}`);
    for (const f of ['sub', 'obj', 'act'] as const)
      if (typeof r[f] !== 'string')
        throw new ConfigError(`${at}.${f}`, `must be a string, got ${describe(r[f])} (a rule is ${RULE})`);
    if (r['eft'] !== 'allow' && r['eft'] !== 'deny')
      throw new ConfigError(`${at}.eft`, `must be "allow" or "deny", got ${describe(r['eft'])}`);
    // Bounds must survive the policy file: ISO-8601 with milliseconds, years 0000-9999, or empty.
    if (!isBound(r['from'], Number.NEGATIVE_INFINITY))
      throw new ConfigError(
        `${at}.from`,
        `must be epoch milliseconds (an integer) or -Infinity for no start, got ${describe(r['from'])}`,
      );
    if (!isBound(r['until'], Number.POSITIVE_INFINITY))
      throw new ConfigError(
        `${at}.until`,
        `must be epoch milliseconds (an integer) or Infinity for no end, got ${describe(r['until'])}`,
      );
  });
}

function checkLinks(links: unknown, key: string): void {
  if (!Array.isArray(links))
    throw new ConfigError(key, `must be an array of links ${LINK}, got ${describe(links)}`);
  links.forEach((l: unknown, i) => {
    const at = `${key}[${i}]`;
    if (!isObject(l)) throw new ConfigError(at, `must be a link ${LINK}, got ${describe(l)}`);
    for (const f of ['member', 'role'] as const)
      if (typeof l[f] !== 'string')
        throw new ConfigError(`${at}.${f}`, `must be a string, got ${describe(l[f])} (a link is ${LINK})`);
  });
}

function isBound(v: unknown, open: number): boolean {
  return v === open || (Number.isInteger(v) && (v as number) >= EARLIEST && (v as number) <= LATEST);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIterable(v: unknown): boolean {
  return (
    typeof v === 'object' && v !== null && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

/** A short, safe description of a wrong value for a message. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' ? 'an object' : typeof v;
}
