// The seam between deciding and watching decisions: the engine tells an observer about every
// enforce()/enforceStrict() call; the decision log and the metrics are observers.
import type { Clock } from '../clock.js';
import type { Authorizer, Decision } from '../engine/authorizer.js';
import type { DecisionCode } from '../engine/decision-cache.js';

/** About one enforce() call in this many is timed (the others tell the observer NaN seconds). */
export const TIMED_ONE_IN = 16;

/** Per-call context a caller (the middleware) may pass to enforce(): joins the decision to app logs. */
export interface DecisionContext {
  /** An id for this call, written to the decision log (the middleware sends it in a response header). */
  readonly callId?: string;
}

/** Why a decision could not be made (it was then denied). */
export type RefusalReason = 'invalid-request' | 'error';

/**
 * Told about each decision after it is made. Called on the hot path: an observer does as little as
 * it can per call (count, sample) and defers everything else. A throw is reported to the
 * authorizer's onError and never changes the decision.
 */
export interface DecisionObserver {
  /**
   * A decision was made: `code` says how (NO_RULE, ALLOWED, DENIED_BY_RULE), `cacheHit` whether it
   * came from the cache, `seconds` how long enforce() took, or NaN when this call was not timed
   * (about one call in TIMED_ONE_IN is, at random: two clock reads cost as much as a cached decision).
   */
  decided(
    user: string,
    resource: string,
    action: string,
    code: DecisionCode,
    cacheHit: boolean,
    seconds: number,
    context: DecisionContext | undefined,
  ): void;
  /**
   * No decision could be made (the call denied or threw): invalid input, a failing clock, a bug.
   * `seconds` as for decided().
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

/** What an observer may ask of the engine it watches, off the hot path (for a sampled entry, a scrape). */
export interface ObserverHost {
  /** The decision with its rule and provenance at `at` (epoch ms), without near misses. */
  explainAt(user: string, resource: string, action: string, at: number): Decision;
  /** The store version the engine holds (0 with a file store). */
  policyVersion(): number;
  /**
   * A number that changes whenever the policy, its provenance or the stale marks change (in this
   * process): an explanation memoized under one epoch holds, within its validity, until it moves.
   */
  policyEpoch(): number;
  /** Rules, links and cache counters (the authorizer's stats()). */
  stats: Authorizer['stats'];
  readonly clock: Clock;
}

/** Builds an observer once the engine exists. */
export type ObserverFactory = (host: ObserverHost) => DecisionObserver | undefined;

/** One observer telling several, or undefined when there is none. */
export function combineObservers(
  list: readonly (DecisionObserver | undefined)[],
): DecisionObserver | undefined {
  const all = list.filter((o): o is DecisionObserver => o !== undefined);
  if (all.length <= 1) return all[0];
  // Each observer is told even when another throws; the first throw is passed on. Plain loops:
  // a closure per call would cost more than the observers themselves.
  return {
    decided(u, r, a, code, hit, s, ctx) {
      let failure: { error: unknown } | undefined;
      for (let i = 0; i < all.length; i++) {
        try {
          (all[i] as DecisionObserver).decided(u, r, a, code, hit, s, ctx);
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    },
    refused(u, r, a, reason, err, s, ctx) {
      let failure: { error: unknown } | undefined;
      for (let i = 0; i < all.length; i++) {
        try {
          (all[i] as DecisionObserver).refused(u, r, a, reason, err, s, ctx);
        } catch (error) {
          failure ??= { error };
        }
      }
      if (failure) throw failure.error;
    },
  };
}
