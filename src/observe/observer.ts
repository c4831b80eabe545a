// The seam between deciding and watching decisions: the engine tells an observer about every
// enforce()/enforceStrict() call; the decision log and the metrics are observers.
import type { Clock } from '../clock.js';
import type { Authorizer, Decision } from '../engine/authorizer.js';
import type { DecisionCode } from '../engine/decision-cache.js';

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
   * came from the cache, `seconds` how long enforce() took.
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
  /** No decision could be made (the call denied or threw): invalid input, a failing clock, a bug. */
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
  // Each observer is told even when another throws; the first throw is passed on.
  const each = (tell: (o: DecisionObserver) => void) => {
    let failure: { error: unknown } | undefined;
    for (const o of all) {
      try {
        tell(o);
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  };
  return {
    decided: (u, r, a, code, hit, s, ctx) => each((o) => o.decided(u, r, a, code, hit, s, ctx)),
    refused: (u, r, a, reason, err, s, ctx) => each((o) => o.refused(u, r, a, reason, err, s, ctx)),
  };
}
