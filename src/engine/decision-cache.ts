import { LRUCache } from 'lru-cache';

/** A cached decision and the interval [since, until) in which it may be served. */
interface Entry {
  readonly allow: boolean;
  readonly since: number;
  readonly until: number;
}

/** One subject's cached decisions, by resource then action. */
interface SubjectTable {
  size: number;
  readonly byObj: Map<string, Map<string, Entry>>;
}

export interface DecisionCacheOptions {
  /** Maximum number of cached decisions (all subjects together). */
  max: number;
  /** Longest time a decision may be served from the cache, in ms; 0 = only the policy's own validity. */
  ttl: number;
}

/**
 * A bounded LRU of decisions, grouped by subject so that a policy change can drop exactly the
 * subjects it affects. An entry is served only inside its validity interval, so a cached allow
 * never outlives the grant that allows it and a cached deny never outlives the start of a grant
 * that would allow it, whatever the TTL.
 */
export class DecisionCache {
  private readonly lru: LRUCache<string, SubjectTable>;
  private readonly ttl: number;
  private readonly max: number;
  hits = 0;
  misses = 0;

  constructor(options: DecisionCacheOptions) {
    this.max = options.max;
    this.ttl = options.ttl;
    // Bound by total decisions: each subject table weighs as many decisions as it holds.
    this.lru = new LRUCache<string, SubjectTable>({
      maxSize: options.max,
      sizeCalculation: (t) => Math.max(1, t.size),
    });
  }

  /** The cached decision, or undefined when none may be served at `now`. */
  get(sub: string, obj: string, act: string, now: number): boolean | undefined {
    const t = this.lru.get(sub);
    if (t !== undefined) {
      const e = t.byObj.get(obj)?.get(act);
      if (e !== undefined && now >= e.since && now < e.until) {
        this.hits++;
        return e.allow;
      }
    }
    this.misses++;
    return undefined;
  }

  set(
    sub: string,
    obj: string,
    act: string,
    allow: boolean,
    since: number,
    until: number,
    now: number,
  ): void {
    const end = this.ttl > 0 ? Math.min(until, now + this.ttl) : until;
    if (end <= now) return;
    let t = this.lru.peek(sub);
    if (t === undefined || t.size >= this.max) t = { size: 0, byObj: new Map() };
    let byAct = t.byObj.get(obj);
    if (byAct === undefined) {
      byAct = new Map();
      t.byObj.set(obj, byAct);
    }
    if (!byAct.has(act)) t.size++;
    byAct.set(act, { allow, since, until: end });
    // Re-setting updates the table's weight and recency.
    this.lru.set(sub, t);
  }

  /** Drops every cached decision of these subjects. */
  invalidate(subjects: Iterable<string>): number {
    let n = 0;
    for (const s of subjects) if (this.lru.delete(s)) n++;
    return n;
  }

  clear(): void {
    this.lru.clear();
  }

  /** Number of cached decisions. */
  get size(): number {
    return this.lru.calculatedSize ?? 0;
  }

  /** Number of subjects with cached decisions. */
  get subjects(): number {
    return this.lru.size;
  }
}
