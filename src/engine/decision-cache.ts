import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../clock.js';
import type { PolicyRule } from '../policy/types.js';
import type { Reach, Validity } from './policy-index.js';

/**
 * How a decision came out: a deny for want of a matching allow, an allow, or a deny by a deny rule.
 * What the cache stores, so that a hit still knows its reason.
 */
export const NO_RULE = 0;
export const ALLOWED = 1;
export const DENIED_BY_RULE = 2;
export type DecisionCode = typeof NO_RULE | typeof ALLOWED | typeof DENIED_BY_RULE;

/**
 * A decision, the rule that made it, and the interval [since, until) of the policy in which it
 * holds: what the cache keeps, and what observers are told (cached or not).
 */
export interface CachedDecision {
  readonly code: DecisionCode;
  /** The deciding rule (the decision log names it); undefined for NO_RULE. */
  readonly rule: PolicyRule | undefined;
  /** What the subject reached when it was decided (the decision log reads the rule's role path off it). */
  readonly reach: Reach | undefined;
  readonly since: number;
  readonly until: number;
}

type Entry = CachedDecision;

/** A decision as decide() wrote it into `v`, not (yet) in any cache. */
export function decisionOf(code: DecisionCode, v: Readonly<Validity>): CachedDecision {
  return { code, rule: v.rule, reach: v.reach, since: v.since, until: v.until };
}

/**
 * One subject's cached decisions, by resource then action. The LRU holds a fresh holder object per
 * write so that lru-cache re-weighs it (it keeps the old size when the same object is set again).
 */
interface SubjectTable {
  readonly size: number;
  readonly byObj: Map<string, Map<string, Entry>>;
}

export interface DecisionCacheOptions {
  /** Maximum number of cached decisions (all subjects together). */
  readonly max: number;
  /** Longest time a subject's decisions are served from the cache, in ms; 0 = only the policy's own validity. */
  readonly ttl: number;
  /** Time source for the TTL; the same clock the decisions use. */
  readonly clock?: Clock;
}

/**
 * A bounded LRU of decisions (lru-cache), grouped by subject so that a policy change can drop
 * exactly the subjects it affects.
 *
 * Two different clocks are at work, on purpose:
 * - Validity: each entry carries the interval [since, until) in which every matching rule's window
 *   gives the same answer. An entry with a bounded interval is served only after reading the clock
 *   and finding `now` inside it, so a cached allow never outlives its grant and a cached deny never
 *   outlives the start of a grant that would allow it. An entry valid forever needs no clock read,
 *   which is what makes the common hit cheap.
 * - Freshness (TTL): lru-cache's own TTL, a safety net rather than a correctness bound. With the
 *   system clock it uses lru-cache's 1 ms time resolution; with an injected clock it reads that clock.
 */
export class DecisionCache {
  private readonly lru: LRUCache<string, SubjectTable>;
  private readonly max: number;
  // lru-cache's get() writes into its options object; one shared object spares an allocation per hit.
  private readonly getOptions: LRUCache.GetOptions<string, SubjectTable, unknown> = {};
  hits = 0;
  misses = 0;
  /** Subjects' tables dropped to make room (not invalidations, not TTL expiry). */
  evictions = 0;

  constructor(options: DecisionCacheOptions) {
    this.max = options.max;
    const clock = options.clock ?? systemClock;
    this.lru = new LRUCache<string, SubjectTable>({
      // Bound by total decisions: each subject table weighs as many decisions as it holds.
      maxSize: options.max,
      sizeCalculation: (t) => Math.max(1, t.size),
      dispose: (_t, _k, reason) => {
        if (reason === 'evict') this.evictions++;
      },
      ...(options.ttl > 0
        ? {
            ttl: options.ttl,
            perf: { now: () => clock.now() },
            ttlResolution: clock === systemClock ? 1 : 0,
          }
        : {}),
    });
  }

  /**
   * The cached decision's code, or -1 when none may be served now. Reads the clock only for an
   * entry whose validity is bounded; a clock that fails (throws, NaN) means no hit.
   */
  get(sub: string, obj: string, act: string, clock: Clock): DecisionCode | -1 {
    return this.entry(sub, obj, act, clock)?.code ?? -1;
  }

  /** The cached decision with its rule, or undefined when none may be served now (as get()). */
  entry(sub: string, obj: string, act: string, clock: Clock): CachedDecision | undefined {
    const e = this.lru.get(sub, this.getOptions)?.byObj.get(obj)?.get(act);
    if (e !== undefined) {
      if (e.since === Number.NEGATIVE_INFINITY && e.until === Number.POSITIVE_INFINITY) {
        this.hits++;
        return e;
      }
      const now = clock.now();
      if (now >= e.since && now < e.until) {
        this.hits++;
        return e;
      }
    }
    this.misses++;
    return undefined;
  }

  /** Caches a decision with what decide() wrote: its rule, the subject's reach and the interval. */
  set(sub: string, obj: string, act: string, code: DecisionCode, v: Readonly<Validity>): void {
    let t = this.lru.peek(sub);
    if (t === undefined || t.size >= this.max) t = { size: 0, byObj: new Map() };
    let byAct = t.byObj.get(obj);
    if (byAct === undefined) {
      byAct = new Map();
      t.byObj.set(obj, byAct);
    }
    const size = byAct.has(act) ? t.size : t.size + 1;
    byAct.set(act, decisionOf(code, v));
    // A new holder makes lru-cache re-weigh the table; noUpdateTTL keeps the table's first TTL start,
    // so no decision in it is served longer than the TTL after the table was created.
    this.lru.set(sub, { size, byObj: t.byObj }, { noUpdateTTL: true });
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
