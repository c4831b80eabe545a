// What reverse queries and near misses answer with: views of rules and role links with the vendor
// data behind them, shared (frozen) by every answer.
import type { Provenance } from '../grants.js';
import { formatBound } from '../policy/time.js';
import type { PolicyRule, RoleLink } from '../policy/types.js';

/** Subjects that are roles (`role:<vendor>:<id>`); person ids and account subjects never start so. */
export const ROLE_PREFIX = 'role:';

/** True for a role subject (`role:...`). */
export function isRoleSubject(subject: string): boolean {
  return subject.startsWith(ROLE_PREFIX);
}

/** A Casbin rule as explain() prints it: `p, sub, obj, act, eft, from, until` (bounds ISO, '' = open). */
export interface RuleView {
  readonly sub: string;
  readonly obj: string;
  readonly act: string;
  readonly eft: string;
  readonly from: string;
  readonly until: string;
}

/** A role membership on a path, with the vendor data behind it. */
export interface LinkView {
  readonly member: string;
  readonly role: string;
  readonly from: readonly Provenance[];
}

/**
 * One active allow rule a subject reaches, and where it came from. Answers share these objects
 * (frozen) between subjects that reach a rule the same way.
 */
export interface Permit {
  readonly rule: RuleView;
  /**
   * The roles through which the subject reaches the rule: [] when the rule names the subject itself,
   * else [role, ..., rule subject] (at most MAX_ROLE_DEPTH). Unlike Decision.via, the subject itself
   * is not repeated.
   */
  readonly via: readonly string[];
  /** The vendor grants behind the rule (vendor, holder, raw value, mapping file:line, snapshot file). */
  readonly grants: readonly Provenance[];
  /** The role links from the subject along `via`, with their vendor provenance (whatCan only). */
  readonly links?: readonly LinkView[];
}

/** A subject that may perform the action: the rules that allow it and until when. */
export interface SubjectAccess {
  readonly subject: string;
  /** Every active allow rule the subject reaches (no active deny reaches it). */
  readonly allowedBy: readonly Permit[];
  /**
   * When this access ends under the current policy (ISO): the end of the allowing windows or the
   * start of a deny that reaches the subject, whichever comes first; null = until the policy changes.
   */
  readonly until: string | null;
}

/** A (resource, action) a subject may perform: the rules that allow it and until when. */
export interface PermissionAccess {
  readonly resource: string;
  readonly action: string;
  readonly allowedBy: readonly Permit[];
  /** As SubjectAccess.until. */
  readonly until: string | null;
}

/** The answer of whoCan(). */
export interface WhoCanResult {
  readonly resource: string;
  readonly action: string;
  /** The time the answer is for, ISO-8601. */
  readonly at: string;
  /** Whether role subjects are listed among `subjects` (they always appear in `via`). */
  readonly includesRoles: boolean;
  /**
   * Everyone enforce() would allow at `at`, in the order the index reaches them (deterministic for a
   * given policy, but not sorted: sort them when an order matters; the CLI prints them sorted).
   */
  readonly subjects: readonly SubjectAccess[];
}

/** The answer of whatCan(). */
export interface WhatCanResult {
  readonly subject: string;
  readonly at: string;
  /** Only resources starting with this were considered ('' = all). */
  readonly resourcePrefix: string;
  /** Everything enforce() would allow the subject at `at`, sorted by resource then action. */
  readonly permissions: readonly PermissionAccess[];
}

/** Where the vendor data behind rules and links is looked up. */
export interface ProvenanceLookup {
  rule(r: PolicyRule): readonly Provenance[];
  link(l: RoleLink): readonly Provenance[];
}

/** The RuleView of a rule. */
export function ruleView(r: PolicyRule): RuleView {
  let v = views.get(r);
  if (v === undefined) {
    v = Object.freeze({
      sub: r.sub,
      obj: r.obj,
      act: r.act,
      eft: r.eft,
      from: formatBound(r.from),
      until: formatBound(r.until),
    });
    views.set(r, v);
  }
  return v;
}
// Rules are immutable, so a rule's view is made once and shared (frozen) by every answer.
const views = new WeakMap<PolicyRule, RuleView>();
