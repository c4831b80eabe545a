// The seam between deciding and watching decisions. The engine counts every enforce()/
// enforceStrict() decision in plain numbers (read at scrape time) and tells each observer about a
// random share of them, the share the observer asks for: the metrics time about one call in
// TIMED_ONE_IN, the decision log writes its sample. Calls no observer is told about cost a
// countdown and a counter, nothing more.
import type { Clock } from '../clock.js';
import type { Authorizer } from '../engine/authorizer.js';
import type { CachedDecision } from '../engine/decision-cache.js';
import type { Reach } from '../engine/policy-index.js';
import type { Provenance } from '../grants.js';
import type { PolicyRule } from '../policy/types.js';

/** The metrics time about one enforce() call in this many (at random). */
export const TIMED_ONE_IN = 256;

/** Per-call context a caller (the middleware) may pass to enforce(): joins the decision to app logs. */
export interface DecisionContext {
  /** An id for this call, written to the decision log (the middleware sends it in a response header). */
  readonly callId?: string;
}

/** Why a decision could not be made (it was then denied). */
export type RefusalReason = 'invalid-request' | 'error';

/**
 * Told about a share of the decisions, and about every refusal. A throw is reported to the
 * authorizer's onError and never changes the decision.
 */
export interface DecisionObserver {
  /**
   * The share of decisions, 0..1, this observer is told about. The engine draws which, each call
   * independently (as geometric gaps between told calls, so an untold call draws nothing), and
   * times the told ones.
   */
  readonly share: number;
  /** Random numbers in [0, 1) for the engine's draws. Default Math.random. */
  readonly random?: () => number;
  /**
   * Also told about the calls the other observers drew (timed alike), not only its own; while
   * another draws at least as often, it draws none of its own. Default: false.
   */
  readonly toldOfAllDraws?: boolean;
  /**
   * Called just before the policy or its provenance changes (loadPolicy, applyChanges), while the
   * rules that made the decisions told so far are still in place. Optional.
   */
  policyChanging?(): void;
  /**
   * A decision this observer drew: `decision.code` says how (NO_RULE, ALLOWED, DENIED_BY_RULE),
   * `decision.rule` which rule made it (undefined for NO_RULE), `decision.reach` what the user
   * reached when it was decided (for ObserverHost.via). `cacheHit` says whether it came from the
   * cache, `seconds` how long enforce() took.
   */
  decided(
    user: string,
    resource: string,
    action: string,
    decision: CachedDecision,
    cacheHit: boolean,
    seconds: number,
    context: DecisionContext | undefined,
  ): void;
  /**
   * No decision could be made (the call denied or threw): invalid input, a failing clock, a bug.
   * Every refusal is told; `seconds` is NaN unless this call was drawn (and so timed).
   */
  refused(
    user: unknown,
    resource: unknown,
    action: unknown,
    reason: RefusalReason,
    error: unknown,
    seconds: number,
    context: DecisionContext | undefined,
  ): void;
}

/** What an observer may ask of the engine it watches, off the hot path (for a drawn call, a scrape). */
export interface ObserverHost {
  /**
   * How `user` reaches a rule: [user, role, ..., rule subject], read off the `reach` a decision was
   * told with (no lookup in the policy).
   */
  via(user: string, rule: PolicyRule, reach: Reach | undefined): readonly string[];
  /** The vendor grants behind a rule of the policy the engine holds. */
  grantsOf(rule: PolicyRule): readonly Provenance[];
  /** Every decision made so far (drawn or not), by DecisionCode. */
  decisions(): ArrayLike<number>;
  /** The store version the engine holds (0 with a file store). */
  policyVersion(): number;
  /** Rules, links and cache counters (the authorizer's stats()). */
  stats: Authorizer['stats'];
  readonly clock: Clock;
}

/** Builds an observer once the engine exists. */
export type ObserverFactory = (host: ObserverHost) => DecisionObserver | undefined;

/**
 * Calls until the next drawn one, for a share p: 1 + a geometric draw (every call independently
 * drawn with probability p); Infinity for p = 0. A random number outside [0, 1) draws the next
 * call, as does one that throws: a broken source over-reports rather than silently stops.
 */
export function nextDraw(share: number, random: () => number): number {
  if (share >= 1) return 1;
  if (!(share > 0)) return Number.POSITIVE_INFINITY;
  let u: number;
  try {
    u = random();
  } catch {
    // Drawn at construction and after every told call: a throw would fail createAuthorizer(), or
    // leave the observer never told again while every call took the timed path. Treated as a
    // number outside [0, 1).
    return 1;
  }
  if (!(u >= 0 && u < 1)) return 1;
  // 1 - u is in (0, 1]: its log is finite.
  return 1 + Math.floor(Math.log(1 - u) / Math.log(1 - share));
}
