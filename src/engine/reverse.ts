// Reverse queries over the policy index: who may perform an action on a resource, and what a subject
// may do. They answer exactly what enforce() would answer for each subject at the same time (roles
// within MAX_ROLE_DEPTH links, deny overrides allow, windows [from, until)), without a policy scan:
// whoCan walks the reverse g links from the subjects that hold rules on (resource, action); whatCan
// groups the rules of the subject's role closure by (resource, action).
import { MAX_ROLE_DEPTH, type PolicyRule } from '../policy/types.js';
import {
  isRoleSubject,
  type LinkView,
  type PermissionAccess,
  type Permit,
  type ProvenanceLookup,
  ruleView,
  type SubjectAccess,
} from './access-view.js';
import type { PolicyIndex, SubjectIdsView } from './policy-index.js';

/**
 * Every subject `enforce(subject, obj, act)` allows at `at`: people and accounts, and roles too
 * when `includeRoles`. Walks the reverse g links (at most MAX_ROLE_DEPTH) from the subjects of the
 * active allow rules on (obj, act), less everyone an active deny on (obj, act) reaches.
 */
export function whoCan(
  index: PolicyIndex,
  provenance: ProvenanceLookup,
  obj: string,
  act: string,
  at: number,
  includeRoles: boolean,
): SubjectAccess[] {
  const bySub = index.rulesFor(obj, act);
  if (bySub === undefined) return [];
  const rules = rulesAt(bySub, at);
  if (rules.allow.length === 0) return [];
  const walk = new Walk(scratch(index), provenance, includeRoles, rules.bounded, rules.deny);
  for (const [source, allows] of rules.allow) walk.from(source, allows);
  if (rules.bounded) for (const [source, later] of rules.later) walk.addLater(source, later);
  return walk.answers();
}

/**
 * The rules on (obj, act) at `at`, by subject: the active allows, the subjects of active denies, and
 * the rules that start later.
 */
function rulesAt(bySub: ReadonlyMap<string, readonly PolicyRule[]>, at: number) {
  const allow: [string, PolicyRule[]][] = [];
  const deny: string[] = [];
  // Rules that start later: a deny among them ends an allow, an allow may prolong one.
  const later: [string, PolicyRule[]][] = [];
  // Whether some answer may end: an active allow has an end, or some rule starts later.
  let bounded = false;
  for (const [sub, list] of bySub) {
    const allows: PolicyRule[] = [];
    const starting: PolicyRule[] = [];
    let denied = false;
    for (const r of list) {
      if (r.from >= r.until) continue; // an empty window never holds
      if (at < r.from) starting.push(r);
      else if (at >= r.until) continue;
      else if (r.eft === 'deny') denied = true;
      else {
        allows.push(r);
        if (r.until !== Number.POSITIVE_INFINITY) bounded = true;
      }
    }
    if (allows.length > 0) allow.push([sub, allows]);
    if (denied) deny.push(sub);
    if (starting.length > 0) {
      later.push([sub, starting]);
      bounded = true;
    }
  }
  return { allow, deny, later, bounded };
}

/**
 * Makes the answer for one subject. A constructor, not an object literal: V8 tracks where each
 * literal allocates and, once most objects from one site survive a young-generation GC (as the ~19k
 * answers of a call do when a GC falls inside it, e.g. while the young generation is small after a
 * full GC), allocates that site's objects in the old generation from then on. whoCan at 100k users
 * then took 3-4 times as long, with 20-50 ms GC pauses, in about half the runs of bench/reverse.ts.
 * Objects made by `new` are not moved so. Its prototype is Object.prototype: answers stay plain
 * objects, as an object literal would make them.
 */
function SubjectAnswer(
  this: { subject: string; allowedBy: readonly Permit[]; until: string | null },
  subject: string,
  allowedBy: readonly Permit[],
  until: string | null,
) {
  this.subject = subject;
  this.allowedBy = allowedBy;
  this.until = until;
}
SubjectAnswer.prototype = Object.prototype;
const Answer = SubjectAnswer as unknown as new (
  subject: string,
  allowedBy: readonly Permit[],
  until: string | null,
) => SubjectAccess;

/**
 * One whoCan query: the walks from its sources over the index's subject ids, with the answers kept
 * in the scratch's typed arrays until the end (a slot per subject reached, in the order reached), so
 * that the walk allocates next to nothing and the answer objects are made once, in an array of the
 * exact size. Members reached the same way share one frozen Permit array (a group); a subject reached
 * from several sources gets its own array of their Permits.
 */
class Walk {
  private readonly query: number;
  private readonly ids: SubjectIdsView;
  // The Permit arrays answers share: a slot's group is an index here.
  private readonly groups: (readonly Permit[])[] = [];
  // The Permits of the slots reached from more than one source, the groups joined in the order
  // reached (their slot group is ~ an index here); exact-size arrays, as they are part of the answer.
  private readonly merged: Permit[][] = [];
  // Subjects in no g link have no id: they are reached only as sources (their slot subject is ~ an
  // index here).
  private readonly nameless: string[] = [];
  private readonly slotOfName = new Map<string, number>();
  private readonly deniedNames: ReadonlySet<string>;
  // Rules that start later, by slot (bounded queries only).
  private readonly later = new Map<number, PolicyRule[]>();
  private count = 0;

  constructor(
    private readonly w: Scratch,
    private readonly provenance: ProvenanceLookup,
    private readonly includeRoles: boolean,
    private readonly bounded: boolean,
    denySources: readonly string[],
  ) {
    this.query = w.begin();
    this.ids = w.ids;
    for (const id of w.reach(denySources)) w.denied[id] = this.query;
    this.deniedNames = new Set(denySources);
  }

  /**
   * Reaches everyone who holds `rules` (active allows of `source`): the source and its members within
   * MAX_ROLE_DEPTH links.
   */
  from(source: string, rules: readonly PolicyRule[]): void {
    const views = rules.map((r) => ({ rule: ruleView(r), grants: this.provenance.rule(r) }));
    let end = Number.NEGATIVE_INFINITY;
    for (const r of rules) if (r.until > end) end = r.until;
    const ids = this.ids;
    const sourceId = ids.id(source);
    if (sourceId === undefined) {
      if (!this.deniedNames.has(source) && (this.includeRoles || !isRoleSubject(source)))
        this.slotOfName.set(source, this.add(~(this.nameless.push(source) - 1), this.group(views, []), end));
      return;
    }
    const mark = this.w.next();
    this.reach(sourceId, this.group(views, []), end, mark);
    // Frontier: a role, and its path to `source` ([role, ..., source]) = its members' `via`.
    let frontier: [number, string[]][] = [[sourceId, [source]]];
    for (let depth = 0; depth < MAX_ROLE_DEPTH && frontier.length > 0; depth++) {
      const next: [number, string[]][] = [];
      for (const [role, via] of frontier) {
        const members = ids.membersOf(role);
        if (members.length === 0) continue;
        const g = this.group(views, via);
        // An index loop: for...of allocated an iterator result per member here (~0.8 MB per query).
        for (let i = 0; i < members.length; i++) {
          const m = members[i]!;
          if (this.reach(m, g, end, mark) && ids.hasMembers(m)) next.push([m, [ids.name(m), ...via]]);
        }
      }
      frontier = next;
    }
  }

  /** Adds rules that start later to the answers of the subjects that reach `source`. */
  addLater(source: string, rules: readonly PolicyRule[]): void {
    const w = this.w;
    const i = this.slotOfName.get(source);
    if (i !== undefined) this.laterOf(i).push(...rules);
    for (const id of w.reach([source]))
      if (w.slotStamp[id] === this.query) this.laterOf(w.slot[id]!).push(...rules);
  }

  /** The answers, in the order their subjects were reached. */
  answers(): SubjectAccess[] {
    const w = this.w;
    const out = new Array<SubjectAccess>(this.count);
    const isoOf = new Map<number, string>();
    for (let i = 0; i < this.count; i++) {
      const s = w.slotSubject[i]!;
      const subject = s >= 0 ? this.ids.name(s) : this.nameless[~s]!;
      out[i] = new Answer(subject, this.allowedBy(i), this.bounded ? this.until(i, isoOf) : null);
    }
    return out;
  }

  /** A new group: the Permits of `views` for the subjects that reach their rules through `via`. */
  private group(views: readonly Omit<Permit, 'via'>[], via: readonly string[]): number {
    const permits = views.map((v) => Object.freeze({ rule: v.rule, via, grants: v.grants }));
    return this.groups.push(Object.freeze(permits)) - 1;
  }

  /**
   * Records that id `u` reaches the rules (ending at `end`) with the Permits of group `g`, in the
   * walk stamped `mark`; false if that walk reached it already. A denied subject, or a role when
   * roles are not listed, gets no answer but is walked through.
   */
  private reach(u: number, g: number, end: number, mark: number): boolean {
    const w = this.w;
    if (w.mark[u] === mark) return false;
    w.mark[u] = mark;
    if (w.denied[u] === this.query || (!this.includeRoles && w.isRole(u))) return true;
    if (w.slotStamp[u] !== this.query) {
      w.slotStamp[u] = this.query;
      w.slot[u] = this.add(u, g, end);
    } else this.merge(w.slot[u]!, g, end);
    return true;
  }

  /** A new slot: `subject` is an id, or ~ an index in `nameless`. */
  private add(subject: number, g: number, end: number): number {
    const i = this.count++;
    this.w.ensureSlots(this.count);
    this.w.slotSubject[i] = subject;
    this.w.slotGroup[i] = g;
    this.w.slotEnd[i] = end;
    return i;
  }

  /** A second (third, ...) source reaches slot `i`. */
  private merge(i: number, g: number, end: number): void {
    const w = this.w;
    const first = w.slotGroup[i]!;
    if (first >= 0) w.slotGroup[i] = ~(this.merged.push(joined(this.groups[first]!, this.groups[g]!)) - 1);
    else this.merged[~first] = joined(this.merged[~first]!, this.groups[g]!);
    if (end > w.slotEnd[i]!) w.slotEnd[i] = end;
  }

  private allowedBy(i: number): readonly Permit[] {
    const g = this.w.slotGroup[i]!;
    return g >= 0 ? this.groups[g]! : this.merged[~g]!;
  }

  /** When slot `i`'s access ends (ISO, null = never); `isoOf` caches the text of each end. */
  private until(i: number, isoOf: Map<number, string>): string | null {
    const until = allowEnd(this.w.slotEnd[i]!, this.later.get(i) ?? []);
    if (until === Number.POSITIVE_INFINITY) return null;
    let text = isoOf.get(until);
    if (text === undefined) {
      text = iso(until);
      isoOf.set(until, text);
    }
    return text;
  }

  private laterOf(i: number): PolicyRule[] {
    let list = this.later.get(i);
    if (list === undefined) {
      list = [];
      this.later.set(i, list);
    }
    return list;
  }
}

/**
 * Typed arrays over an index's subject ids, kept between queries: an entry counts only when it holds
 * the current stamp, so nothing is cleared per query. Queries are synchronous, so one per index is
 * never used by two at once.
 */
class Scratch {
  mark = new Int32Array(0);
  denied = new Int32Array(0);
  slotStamp = new Int32Array(0);
  slot = new Int32Array(0);
  // By slot (Walk): the subject, its Permit group and the latest end of the allows that reach it.
  slotSubject = new Int32Array(0);
  slotGroup = new Int32Array(0);
  slotEnd = new Float64Array(0);
  private seen = new Int32Array(0);
  // Whether an id is a role: 0 unknown, 1 no, 2 yes. Kept for good (an id always names the same
  // subject), since startsWith on a name read from a file can cost more than the rest of the walk.
  private roles = new Uint8Array(0);
  private stamp = 0;

  readonly ids: SubjectIdsView;

  constructor(index: PolicyIndex) {
    // The same object for the index's life, kept up to date by its changes.
    this.ids = index.subjectIds();
  }

  /**
   * Starts a query: grows the arrays to the index's ids (or starts over when stamps run high: a
   * query takes one per source, never 2^30) and returns the query's stamp.
   */
  begin(): number {
    const n = this.ids.count;
    if (this.mark.length < n || this.stamp >= 0x40000000) {
      const size = Math.max(n, Math.ceil(this.mark.length * 1.5));
      this.mark = new Int32Array(size);
      this.denied = new Int32Array(size);
      this.slotStamp = new Int32Array(size);
      this.slot = new Int32Array(size);
      this.seen = new Int32Array(size);
      const roles = new Uint8Array(size);
      roles.set(this.roles);
      this.roles = roles;
      this.stamp = 0;
    }
    return this.next();
  }

  /** Makes room for `n` slots (a slot per id reached, and one per source that has no id). */
  ensureSlots(n: number): void {
    if (this.slotSubject.length >= n) return;
    const size = Math.max(n, this.mark.length, Math.ceil(this.slotSubject.length * 1.5));
    this.slotSubject = grown(this.slotSubject, new Int32Array(size));
    this.slotGroup = grown(this.slotGroup, new Int32Array(size));
    this.slotEnd = grown(this.slotEnd, new Float64Array(size));
  }

  /** True when the subject of `id` is a role (`role:...`). */
  isRole(id: number): boolean {
    let known = this.roles[id];
    if (known === 0) {
      known = isRoleSubject(this.ids.name(id)) ? 2 : 1;
      this.roles[id] = known;
    }
    return known === 2;
  }

  /** A fresh stamp within the query. */
  next(): number {
    return ++this.stamp;
  }

  /** The ids of the subjects that reach one of `sources` within MAX_ROLE_DEPTH links, theirs included. */
  reach(sources: readonly string[]): number[] {
    const stamp = this.next();
    const found: number[] = [];
    for (const s of sources) {
      const id = this.ids.id(s);
      if (id !== undefined && this.seen[id] !== stamp) {
        this.seen[id] = stamp;
        found.push(id);
      }
    }
    let from = 0;
    for (let depth = 0; depth < MAX_ROLE_DEPTH && from < found.length; depth++) {
      const to = found.length;
      for (let i = from; i < to; i++) {
        const members = this.ids.membersOf(found[i]!);
        for (let j = 0; j < members.length; j++) {
          const m = members[j]!;
          if (this.seen[m] !== stamp) {
            this.seen[m] = stamp;
            found.push(m);
          }
        }
      }
      from = to;
    }
    return found;
  }
}

/** `a` then `b`, in a new array of the exact size (concat takes several times as long on short arrays). */
function joined<T>(a: readonly T[], b: readonly T[]): T[] {
  const out = new Array<T>(a.length + b.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]!;
  for (let i = 0; i < b.length; i++) out[a.length + i] = b[i]!;
  return out;
}

/** `to` holding `from`'s entries first (a grown copy). */
function grown<T extends Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

const scratches = new WeakMap<PolicyIndex, Scratch>();
function scratch(index: PolicyIndex): Scratch {
  let w = scratches.get(index);
  if (w === undefined) {
    w = new Scratch(index);
    scratches.set(index, w);
  }
  return w;
}

/**
 * Every (resource, action) `enforce(subject, ...)` allows at `at`, optionally only on resources
 * starting with `prefix`: the rules of the subject's role closure grouped by (resource, action),
 * each decided as enforce() decides it.
 */
export function whatCan(
  index: PolicyIndex,
  provenance: ProvenanceLookup,
  subject: string,
  at: number,
  prefix: string,
): PermissionAccess[] {
  // The closure's rules sorted by (resource, action): each run is one permission to decide, and
  // the answer comes out sorted.
  const rules: PolicyRule[] = [];
  for (const s of index.closure(subject))
    for (const r of index.rulesOf(s)) if (prefix === '' || r.obj.startsWith(prefix)) rules.push(r);
  rules.sort((p, q) => (p.obj < q.obj ? -1 : p.obj > q.obj ? 1 : p.act < q.act ? -1 : p.act > q.act ? 1 : 0));
  const paths = new Map<string, { via: string[]; links: LinkView[] }>();
  const pathTo = (s: string) => {
    let p = paths.get(s);
    if (p === undefined) {
      const path = index.path(subject, s);
      const links: LinkView[] = [];
      for (let i = 0; i + 1 < path.length; i++) {
        const l = { member: path[i]!, role: path[i + 1]! };
        links.push({ ...l, from: provenance.link(l) });
      }
      p = { via: path.slice(1), links };
      paths.set(s, p);
    }
    return p;
  };
  const out: PermissionAccess[] = [];
  for (let i = 0; i < rules.length; ) {
    const { obj, act } = rules[i]!;
    let denied = false;
    let end = Number.NEGATIVE_INFINITY;
    const allows: PolicyRule[] = [];
    const later: PolicyRule[] = [];
    for (; i < rules.length && rules[i]!.obj === obj && rules[i]!.act === act; i++) {
      const r = rules[i]!;
      if (r.from >= r.until) continue;
      if (at < r.from) later.push(r);
      else if (at >= r.until) continue;
      else if (r.eft === 'deny') denied = true;
      else {
        allows.push(r);
        if (r.until > end) end = r.until;
      }
    }
    if (denied || allows.length === 0) continue;
    const allowedBy = allows.map((r): Permit => {
      const p = pathTo(r.sub);
      return { rule: ruleView(r), via: p.via, grants: provenance.rule(r), links: p.links };
    });
    const until = allowEnd(end, later);
    out.push({
      resource: obj,
      action: act,
      allowedBy,
      until: until === Number.POSITIVE_INFINITY ? null : iso(until),
    });
  }
  return out;
}

/**
 * When an allow that holds now ends: `end` is the latest end of the allows active now; `later` are
 * the rules that start after now. A later allow that starts by the current end prolongs it; a later
 * deny ends it at its start.
 */
function allowEnd(end: number, later: readonly PolicyRule[]): number {
  let denyStart = Number.POSITIVE_INFINITY;
  const allows: PolicyRule[] = [];
  for (const r of later) {
    if (r.eft === 'deny') {
      if (r.from < denyStart) denyStart = r.from;
    } else allows.push(r);
  }
  if (allows.length > 0 && end < denyStart) {
    allows.sort((p, q) => p.from - q.from);
    for (const r of allows) {
      if (r.from > end || end >= denyStart) break;
      if (r.until > end) end = r.until;
    }
  }
  return Math.min(end, denyStart);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
