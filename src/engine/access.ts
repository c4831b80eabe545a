// Effective access: what each person may do, as time intervals, and how two policies differ in it.
// This is the reviewer's view of a change: not which rules moved, but who gains and who loses what.
import type { Policy, PolicyRule } from '../policy/types.js';
import { PolicyIndex } from './policy-index.js';

/** A half-open interval [from, until) in epoch ms; ±Infinity for open ends. */
export interface Interval {
  readonly from: number;
  readonly until: number;
}

/** One (resource, action) a subject gains or loses, and when. */
export interface AccessChange {
  readonly resource: string;
  readonly action: string;
  readonly intervals: readonly Interval[];
}

export interface SubjectAccessDiff {
  readonly subject: string;
  readonly gains: readonly AccessChange[];
  readonly losses: readonly AccessChange[];
}

type Access = Map<string, Map<string, Interval[]>>;

const ROLE_PREFIX = 'role:';

/**
 * The subjects of a policy that are people or accounts (not `role:` subjects), and for each the
 * intervals in which each (resource, action) is allowed: allow windows minus deny windows, through
 * roles as casbin resolves them.
 */
export function effectiveAccess(policy: Policy): Map<string, Access> {
  const index = new PolicyIndex(policy);
  const bySub = new Map<string, PolicyRule[]>();
  for (const r of policy.rules) {
    const list = bySub.get(r.sub);
    if (list) list.push(r);
    else bySub.set(r.sub, [r]);
  }
  const subjects = new Set<string>();
  for (const r of policy.rules) if (!r.sub.startsWith(ROLE_PREFIX)) subjects.add(r.sub);
  for (const l of policy.links) if (!l.member.startsWith(ROLE_PREFIX)) subjects.add(l.member);

  const out = new Map<string, Access>();
  for (const s of [...subjects].sort()) {
    const allow = new Map<string, Interval[]>();
    const deny = new Map<string, Interval[]>();
    for (const who of index.closure(s)) {
      for (const r of bySub.get(who) ?? []) {
        const m = r.eft === 'deny' ? deny : allow;
        const k = JSON.stringify([r.obj, r.act]);
        const list = m.get(k) ?? [];
        list.push({ from: r.from, until: r.until });
        m.set(k, list);
      }
    }
    const access: Access = new Map();
    for (const [k, iv] of allow) {
      const left = subtract(union(iv), union(deny.get(k) ?? []));
      if (left.length === 0) continue;
      const [obj, act] = JSON.parse(k) as [string, string];
      const acts = access.get(obj) ?? new Map<string, Interval[]>();
      acts.set(act, left);
      access.set(obj, acts);
    }
    if (access.size) out.set(s, access);
  }
  return out;
}

/** Who gains and who loses which (resource, action), with the time intervals concerned. */
export function diffAccess(from: Policy, to: Policy): SubjectAccessDiff[] {
  const a = effectiveAccess(from);
  const b = effectiveAccess(to);
  const out: SubjectAccessDiff[] = [];
  for (const s of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const gains = changes(b.get(s), a.get(s));
    const losses = changes(a.get(s), b.get(s));
    if (gains.length || losses.length) out.push({ subject: s, gains, losses });
  }
  return out;
}

/** What `x` allows that `y` does not. */
function changes(x: Access | undefined, y: Access | undefined): AccessChange[] {
  const out: AccessChange[] = [];
  for (const [resource, acts] of [...(x ?? [])].sort(([p], [q]) => p.localeCompare(q))) {
    for (const [action, iv] of [...acts].sort(([p], [q]) => p.localeCompare(q))) {
      const left = subtract(iv, y?.get(resource)?.get(action) ?? []);
      if (left.length) out.push({ resource, action, intervals: left });
    }
  }
  return out;
}

/** Sorted, merged intervals. */
export function union(list: readonly Interval[]): Interval[] {
  const sorted = list.filter((i) => i.until > i.from).sort((p, q) => p.from - q.from);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out.at(-1);
    if (last && i.from <= last.until)
      out[out.length - 1] = { from: last.from, until: Math.max(last.until, i.until) };
    else out.push({ ...i });
  }
  return out;
}

/** `a` minus `b`, both as unions. */
export function subtract(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  let rest = union(a);
  for (const cut of union(b)) {
    const next: Interval[] = [];
    for (const i of rest) {
      if (cut.until <= i.from || cut.from >= i.until) next.push(i);
      else {
        if (cut.from > i.from) next.push({ from: i.from, until: cut.from });
        if (cut.until < i.until) next.push({ from: cut.until, until: i.until });
      }
    }
    rest = next;
  }
  return rest;
}
