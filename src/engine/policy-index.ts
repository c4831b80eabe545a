import { MAX_ROLE_DEPTH, type Policy, type PolicyRule, type RoleLink } from '../policy/types.js';

/** The interval [since, until) over which a decision cannot change, given the current policy. */
export interface Validity {
  since: number;
  until: number;
  /** Set by decide(): an active deny rule matched (the deny is by rule, not for want of an allow). */
  denied: boolean;
  /**
   * Set by decide(): the rule that decided, as explain() names it: the first active deny (in the
   * order subjects are reached, then rule order) if any, else the active allow that holds longest
   * (the first of equals); undefined when no rule is active.
   */
  rule: PolicyRule | undefined;
  /**
   * Set by decide(): what the subject reaches (see PolicyIndex.reach), undefined for a subject in no
   * g link; with the rule, enough for pathIn() to name the roles without another lookup.
   */
  reach: Reach | undefined;
}

/**
 * What a subject in a g link reaches: itself and its roles, direct or through other roles, in
 * breadth-first order, each with the index of the entry it was first reached from (-1 for the
 * subject). Built once per subject and kept until a link it depends on changes.
 */
export class Reach {
  constructor(
    readonly subjects: readonly string[],
    readonly parents: Int32Array,
  ) {}
}

/** What decided a query: the active rules that matched, and the role path to each. */
export interface Match {
  allow: boolean;
  since: number;
  until: number;
  /** The rule that decided: the first active deny if any, else the active allow that holds longest. */
  decisive: PolicyRule | undefined;
  /** The subject the decisive rule names, and how the query subject reaches it: [subject, role, ..., rule.sub]. */
  path: string[];
}

type BySub = Map<string, PolicyRule[]>;

/**
 * An index over a Casbin RBAC policy with deny and validity windows that answers the same question
 * as Casbin's matcher without scanning: rules are found by (resource, action) and then by each
 * subject the requester reaches through `g` links (itself included), at most MAX_ROLE_DEPTH links
 * away, as Casbin's default role manager does.
 */
export class PolicyIndex {
  private readonly byObj = new Map<string, Map<string, BySub>>();
  private readonly roles = new Map<string, string[]>();
  private readonly members = new Map<string, string[]>();
  private readonly closures = new Map<string, Reach>();
  // For reverse queries only: built on their first use, then kept up to date by every change, so
  // loading a policy (the authorizer's start-up) does not pay for them.
  // Each subject's own rules (the same objects as in byObj), for whatCan().
  private ownRules: Map<string, PolicyRule[]> | undefined;
  // Dense subject ids and members by id, for whoCan().
  private linkIds: SubjectIds | undefined;
  private ruleCount = 0;
  private linkCount = 0;

  constructor(policy?: Policy) {
    if (policy) {
      for (const r of policy.rules) this.addRule(r);
      for (const l of policy.links) this.addLink(l);
    }
  }

  get size(): { rules: number; links: number } {
    return { rules: this.ruleCount, links: this.linkCount };
  }

  /** Adds a rule; returns false if an identical rule was already present. */
  addRule(r: PolicyRule): boolean {
    let byAct = this.byObj.get(r.obj);
    if (byAct === undefined) {
      byAct = new Map();
      this.byObj.set(r.obj, byAct);
    }
    let bySub = byAct.get(r.act);
    if (bySub === undefined) {
      bySub = new Map();
      byAct.set(r.act, bySub);
    }
    const list = bySub.get(r.sub);
    if (list === undefined) {
      bySub.set(r.sub, [r]);
    } else {
      if (list.some((x) => sameRule(x, r))) return false;
      list.push(r);
    }
    if (this.ownRules) addOwn(this.ownRules, r);
    this.ruleCount++;
    return true;
  }

  /** Removes a rule; returns false if it was not present. */
  removeRule(r: PolicyRule): boolean {
    const byAct = this.byObj.get(r.obj);
    const bySub = byAct?.get(r.act);
    const list = bySub?.get(r.sub);
    if (!byAct || !bySub || !list) return false;
    const i = list.findIndex((x) => sameRule(x, r));
    if (i < 0) return false;
    const stored = list[i]!;
    list.splice(i, 1);
    if (this.ownRules) {
      const own = this.ownRules.get(r.sub)!;
      own.splice(own.indexOf(stored), 1);
      if (own.length === 0) this.ownRules.delete(r.sub);
    }
    if (list.length === 0) {
      bySub.delete(r.sub);
      if (bySub.size === 0) {
        byAct.delete(r.act);
        if (byAct.size === 0) this.byObj.delete(r.obj);
      }
    }
    this.ruleCount--;
    return true;
  }

  /** Adds a g link; returns false if it already existed. Callers invalidate `reachersOf(member)`. */
  addLink(l: RoleLink): boolean {
    const direct = this.roles.get(l.member);
    if (direct?.includes(l.role)) return false;
    if (direct) direct.push(l.role);
    else this.roles.set(l.member, [l.role]);
    const m = this.members.get(l.role);
    if (m) m.push(l.member);
    else this.members.set(l.role, [l.member]);
    this.linkIds?.link(l.member, l.role);
    this.linkCount++;
    this.forgetClosures(l.member);
    return true;
  }

  removeLink(l: RoleLink): boolean {
    const direct = this.roles.get(l.member);
    const i = direct ? direct.indexOf(l.role) : -1;
    if (!direct || i < 0) return false;
    this.forgetClosures(l.member);
    direct.splice(i, 1);
    if (direct.length === 0) this.roles.delete(l.member);
    const m = this.members.get(l.role)!;
    m.splice(m.indexOf(l.member), 1);
    if (m.length === 0) this.members.delete(l.role);
    this.linkIds?.unlink(l.member, l.role);
    this.linkCount--;
    return true;
  }

  /** The subject itself and every subject that reaches it through g links (whose decisions it can affect). */
  reachersOf(subject: string): Set<string> {
    const seen = new Set<string>([subject]);
    let frontier = [subject];
    for (let depth = 0; depth < MAX_ROLE_DEPTH && frontier.length > 0; depth++) {
      const next: string[] = [];
      for (const s of frontier) {
        for (const m of this.members.get(s) ?? []) {
          if (!seen.has(m)) {
            seen.add(m);
            next.push(m);
          }
        }
      }
      frontier = next;
    }
    return seen;
  }

  /** The subject and the roles it holds, directly or through other roles, up to MAX_ROLE_DEPTH links. */
  closure(subject: string): readonly string[] {
    return this.reach(subject)?.subjects ?? [subject];
  }

  /** What a subject reaches, with how (undefined for a subject in no g link: it reaches only itself). */
  reach(subject: string): Reach | undefined {
    const cached = this.closures.get(subject);
    if (cached !== undefined) return cached;
    if (!this.roles.has(subject)) return undefined;
    const seen = [subject];
    const parents = [-1];
    const set = new Set(seen);
    let from = 0;
    for (let depth = 0; depth < MAX_ROLE_DEPTH && from < seen.length; depth++) {
      // The entries reached at this depth are seen[from, end): each adds its unseen roles.
      const end = seen.length;
      for (let k = from; k < end; k++) {
        for (const r of this.roles.get(seen[k] as string) ?? []) {
          if (!set.has(r)) {
            set.add(r);
            seen.push(r);
            parents.push(k);
          }
        }
      }
      from = end;
    }
    const reach = new Reach(seen, Int32Array.from(parents));
    this.closures.set(subject, reach);
    return reach;
  }

  /**
   * Decides (subject, resource, action) at `now`. Writes into `out` the interval over which the
   * answer cannot change under the current policy (the nearest rule start or end on either side).
   */
  decide(subject: string, obj: string, act: string, now: number, out: Validity): boolean {
    out.since = Number.NEGATIVE_INFINITY;
    out.until = Number.POSITIVE_INFINITY;
    out.denied = false;
    out.rule = undefined;
    out.reach = undefined;
    const bySub = this.byObj.get(obj)?.get(act);
    if (bySub === undefined) return false;
    const reach = this.reach(subject);
    out.reach = reach;
    const subs = reach === undefined ? [subject] : reach.subjects;
    let allow: PolicyRule | undefined;
    let deny: PolicyRule | undefined;
    for (let i = 0; i < subs.length; i++) {
      const list = bySub.get(subs[i]!);
      if (list === undefined) continue;
      for (let j = 0; j < list.length; j++) {
        const r = list[j]!;
        if (now < r.from) {
          if (r.from < out.until) out.until = r.from;
        } else if (now >= r.until) {
          if (r.until > out.since) out.since = r.until;
        } else {
          if (r.from > out.since) out.since = r.from;
          if (r.until < out.until) out.until = r.until;
          if (r.eft === 'deny') deny ??= r;
          else if (allow === undefined || r.until > allow.until) allow = r;
        }
      }
    }
    out.denied = deny !== undefined;
    out.rule = deny ?? allow;
    return deny === undefined && allow !== undefined;
  }

  /** Like decide(), but also says through which roles the deciding rule is reached. Not for hot paths. */
  match(subject: string, obj: string, act: string, now: number): Match {
    const v: Validity = { since: 0, until: 0, denied: false, rule: undefined, reach: undefined };
    const allow = this.decide(subject, obj, act, now, v);
    const decisive = v.rule;
    return {
      allow,
      since: v.since,
      until: v.until,
      decisive,
      path: decisive === undefined ? [] : this.pathTo(subject, decisive.sub),
    };
  }

  /** All rules and links, in index order. */
  toPolicy(): Policy {
    const rules: PolicyRule[] = [];
    for (const byAct of this.byObj.values())
      for (const bySub of byAct.values()) for (const list of bySub.values()) rules.push(...list);
    const links: RoleLink[] = [];
    for (const [member, roles] of this.roles) for (const role of roles) links.push({ member, role });
    return { rules, links };
  }

  /** Direct roles of a subject. */
  rolesOf(subject: string): readonly string[] {
    return this.roles.get(subject) ?? [];
  }

  /** Direct members of a role (the reverse of its g links), in link order. */
  membersOf(role: string): readonly string[] {
    return this.members.get(role) ?? [];
  }

  /** The rules on (resource, action), by the subject they name; undefined when there are none. */
  rulesFor(obj: string, act: string): ReadonlyMap<string, readonly PolicyRule[]> | undefined {
    return this.byObj.get(obj)?.get(act);
  }

  /** The rules on a resource, by action then subject; undefined when there are none. */
  rulesOn(obj: string): ReadonlyMap<string, ReadonlyMap<string, readonly PolicyRule[]>> | undefined {
    return this.byObj.get(obj);
  }

  /**
   * The rules that name `subject` itself (not those it reaches through roles). The first call
   * indexes every rule by subject (about 100 ms at 100k users); later ones are a lookup.
   */
  rulesOf(subject: string): readonly PolicyRule[] {
    if (this.ownRules === undefined) {
      this.ownRules = new Map();
      for (const byAct of this.byObj.values())
        for (const bySub of byAct.values())
          for (const list of bySub.values()) for (const r of list) addOwn(this.ownRules, r);
    }
    return this.ownRules.get(subject) ?? [];
  }

  /**
   * Dense ids for the subjects of g links with each role's members by id, so that a reverse walk
   * (whoCan) marks subjects in typed arrays instead of hashing tens of thousands of names. The first
   * call numbers every linked subject; later ones return the same, kept up to date.
   */
  subjectIds(): SubjectIdsView {
    if (this.linkIds === undefined) {
      this.linkIds = new SubjectIds();
      for (const [role, members] of this.members) for (const m of members) this.linkIds.link(m, role);
    }
    return this.linkIds;
  }

  /** A shortest g path [from, role, ..., to] within MAX_ROLE_DEPTH links, as explain() reports it. */
  path(from: string, to: string): string[] {
    return this.pathTo(from, to);
  }

  /**
   * path(from, to) read off what `from` reached when it was decided (Validity.reach): no lookup in
   * the index. The reach must be from's (undefined when from is in no g link).
   */
  pathIn(reach: Reach | undefined, from: string, to: string): string[] {
    if (from === to) return [from];
    const k = reach === undefined ? -1 : reach.subjects.indexOf(to);
    if (k < 0) return [from, to];
    const path: string[] = [];
    // Back from `to` by the entry each was first reached from: a shortest path, as a search finds.
    for (let j = k; j >= 0; j = (reach as Reach).parents[j] as number)
      path.push((reach as Reach).subjects[j] as string);
    return path.reverse();
  }

  private pathTo(from: string, to: string): string[] {
    return this.pathIn(this.reach(from), from, to);
  }

  private forgetClosures(member: string): void {
    for (const s of this.reachersOf(member)) this.closures.delete(s);
  }
}

/** Subject ids of an index (see PolicyIndex.subjectIds()). Ids are handed out once, never reused. */
export interface SubjectIdsView {
  /** How many ids there are: they run from 0 to count - 1. */
  readonly count: number;
  /** The id of a subject that is or was in a g link; undefined for any other. */
  id(subject: string): number | undefined;
  /** The subject of an id. */
  name(id: number): string;
  /** The ids of the direct members of the subject `id` (a role), in link order. */
  membersOf(id: number): readonly number[];
  /** True when the subject `id` has members. */
  hasMembers(id: number): boolean;
}

const NO_IDS: readonly number[] = [];

class SubjectIds implements SubjectIdsView {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [];
  private readonly members: (number[] | undefined)[] = [];
  // A byte per id: what a walk reads for each of tens of thousands of subjects.
  private withMembers = new Uint8Array(1024);

  get count(): number {
    return this.names.length;
  }
  id(subject: string): number | undefined {
    return this.ids.get(subject);
  }
  name(id: number): string {
    return this.names[id]!;
  }
  membersOf(id: number): readonly number[] {
    return this.members[id] ?? NO_IDS;
  }
  hasMembers(id: number): boolean {
    return this.withMembers[id] === 1;
  }

  link(member: string, role: string): void {
    const roleId = this.intern(role);
    const memberId = this.intern(member);
    const list = this.members[roleId];
    if (list) list.push(memberId);
    else this.members[roleId] = [memberId];
    this.withMembers[roleId] = 1;
  }

  unlink(member: string, role: string): void {
    const roleId = this.ids.get(role)!;
    const list = this.members[roleId]!;
    list.splice(list.indexOf(this.ids.get(member)!), 1);
    if (list.length === 0) this.withMembers[roleId] = 0;
  }

  private intern(subject: string): number {
    let id = this.ids.get(subject);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(subject, id);
      this.names.push(subject);
      this.members.push(undefined);
      if (id >= this.withMembers.length) {
        const grown = new Uint8Array(this.withMembers.length * 2);
        grown.set(this.withMembers);
        this.withMembers = grown;
      }
    }
    return id;
  }
}

function addOwn(own: Map<string, PolicyRule[]>, r: PolicyRule): void {
  const list = own.get(r.sub);
  if (list === undefined) own.set(r.sub, [r]);
  else list.push(r);
}

function sameRule(a: PolicyRule, b: PolicyRule): boolean {
  return (
    a.sub === b.sub &&
    a.obj === b.obj &&
    a.act === b.act &&
    a.eft === b.eft &&
    a.from === b.from &&
    a.until === b.until
  );
}
