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
  const allowSources: [string, PolicyRule[]][] = [];
  const denySources: string[] = [];
  // Rules that start later: a deny among them ends an allow, an allow may prolong one.
  const laterSources: [string, PolicyRule[]][] = [];
  let bounded = false;
  for (const [sub, list] of bySub) {
    const allows: PolicyRule[] = [];
    const later: PolicyRule[] = [];
    let denied = false;
    for (const r of list) {
      if (r.from >= r.until) continue; // an empty window never holds
      if (at < r.from) later.push(r);
      else if (at >= r.until) continue;
      else if (r.eft === 'deny') denied = true;
      else {
        allows.push(r);
        if (r.until !== Number.POSITIVE_INFINITY) bounded = true;
      }
    }
    if (allows.length > 0) allowSources.push([sub, allows]);
    if (denied) denySources.push(sub);
    if (later.length > 0) {
      laterSources.push([sub, later]);
      bounded = true;
    }
  }
  if (allowSources.length === 0) return [];

  // The walk runs over the index's subject ids (subjects of g links) with stamped typed arrays, so
  // reaching a subject costs no hashing and no clearing. A subject in no g link has no id: it is
  // reached only as a source. Each answer is one object: members reached the same way share their
  // frozen Permit objects and allowedBy array (copied when a second source reaches one of them).
  const w = scratch(index);
  const query = w.begin();
  const ids = w.ids;
  for (const id of w.reach(denySources)) w.denied[id] = query;
  const deniedNames = new Set(denySources);
  const out: { subject: string; allowedBy: readonly Permit[]; until: string | null }[] = [];
  // Kept only when some rule has a bound (`ends`, `later`), or a subject is reached twice (`owned`):
  // the common answer allocates one object.
  const ends: number[] = [];
  const later: (PolicyRule[] | undefined)[] = [];
  const owned = new Set<number>();
  const slotOfName = new Map<string, number>(); // answers without an id
  const answer = (subject: string, allowedBy: readonly Permit[], end: number): number => {
    out.push({ subject, allowedBy, until: null });
    if (bounded) {
      ends.push(end);
      later.push(undefined);
    }
    return out.length - 1;
  };

  for (const [source, rules] of allowSources) {
    const views = rules.map((r) => ({ rule: ruleView(r), grants: provenance.rule(r) }));
    let end = Number.NEGATIVE_INFINITY;
    for (const r of rules) if (r.until > end) end = r.until;
    /** The Permits of a subject that reaches the rules through `via`. */
    const permits = (via: readonly string[]): readonly Permit[] =>
      Object.freeze(views.map((v) => Object.freeze({ rule: v.rule, via, grants: v.grants })));
    const sourceId = ids.id(source);
    if (sourceId === undefined) {
      if (!deniedNames.has(source) && (includeRoles || !isRoleSubject(source)))
        slotOfName.set(source, answer(source, permits([]), end));
      continue;
    }
    const mark = w.next();
    /** Records that id `u` reaches the rules with `shared` as its Permits; false if already reached. */
    const reach = (u: number, shared: readonly Permit[]): boolean => {
      if (w.mark[u] === mark) return false;
      w.mark[u] = mark;
      if (w.denied[u] === query || (!includeRoles && w.isRole(u))) return true;
      if (w.slotStamp[u] !== query) {
        w.slotStamp[u] = query;
        w.slot[u] = answer(ids.name(u), shared, end);
        return true;
      }
      const i = w.slot[u]!;
      const a = out[i]!;
      if (owned.has(i)) (a.allowedBy as Permit[]).push(...shared);
      else {
        a.allowedBy = [...a.allowedBy, ...shared];
        owned.add(i);
      }
      if (bounded && end > ends[i]!) ends[i] = end;
      return true;
    };
    reach(sourceId, permits([]));
    // Frontier: a role, and its path to `source` ([role, ..., source]) = its members' `via`.
    let frontier: [number, string[]][] = [[sourceId, [source]]];
    for (let depth = 0; depth < MAX_ROLE_DEPTH && frontier.length > 0; depth++) {
      const next: [number, string[]][] = [];
      for (const [role, via] of frontier) {
        let shared: readonly Permit[] | undefined;
        for (const m of ids.membersOf(role)) {
          shared ??= permits(via);
          if (reach(m, shared) && ids.hasMembers(m)) next.push([m, [ids.name(m), ...via]]);
        }
      }
      frontier = next;
    }
  }
  if (bounded) {
    const addLater = (i: number, rules: readonly PolicyRule[]) => {
      const list = later[i];
      if (list === undefined) later[i] = [...rules];
      else list.push(...rules);
    };
    for (const [source, rules] of laterSources) {
      const i = slotOfName.get(source);
      if (i !== undefined) addLater(i, rules);
      for (const id of w.reach([source])) if (w.slotStamp[id] === query) addLater(w.slot[id]!, rules);
    }
    const isoOf = new Map<number, string>();
    for (let i = 0; i < out.length; i++) {
      const until = allowEnd(ends[i]!, later[i] ?? []);
      if (until === Number.POSITIVE_INFINITY) continue;
      let text = isoOf.get(until);
      if (text === undefined) {
        text = iso(until);
        isoOf.set(until, text);
      }
      out[i]!.until = text;
    }
  }
  return out;
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
        for (const m of this.ids.membersOf(found[i]!)) {
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
