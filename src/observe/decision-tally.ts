// What the metrics count of decisions: plain numbers only (no prom-client call, no label object, no
// allocation), read by prom-client at scrape time. The engine counts every decision itself; this
// tally counts refusals and times the decisions the engine draws for it.
import { ALLOWED, type CachedDecision, DENIED_BY_RULE, NO_RULE } from '../engine/decision-cache.js';
import { type DecisionObserver, type RefusalReason, TIMED_ONE_IN } from './observer.js';

/** Upper bounds (seconds) of the decision-time histogram: a cached decision takes about 1 µs. */
export const DECISION_BUCKETS: readonly number[] = [
  0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
  0.01,
];

/** Each outcome's labels, by the tally's index: the decision codes first, then the refusals. */
export const OUTCOMES = [
  { index: NO_RULE, result: 'deny', reason: 'no-matching-rule' },
  { index: ALLOWED, result: 'allow', reason: 'allowed' },
  { index: DENIED_BY_RULE, result: 'deny', reason: 'denied-by-rule' },
  { index: 3, result: 'deny', reason: 'invalid-request' },
  { index: 4, result: 'deny', reason: 'error' },
] as const satisfies readonly { index: number; result: string; reason: string }[];

const INVALID = 3;
const ERROR = 4;

/** Refusals by reason and a histogram of decision times, as running totals. */
export class DecisionTally implements DecisionObserver {
  /** About one decision in TIMED_ONE_IN is timed and told, or the decision log's sample when larger. */
  readonly share = 1 / TIMED_ONE_IN;
  /** The calls the decision log draws are timed anyway: they feed the histogram too. */
  readonly toldOfAllDraws = true;
  /** Refusals by outcome (OUTCOMES' index; the decision codes' slots stay 0: the engine counts those). */
  readonly outcomes = new Float64Array(OUTCOMES.length);
  /**
   * Timed calls (about one in TIMED_ONE_IN) by the first bucket whose bound holds their time;
   * the last slot is over every bound.
   */
  readonly buckets = new Float64Array(DECISION_BUCKETS.length + 1);
  private readonly bounds = Float64Array.from(DECISION_BUCKETS);
  /** Seconds, all timed decisions together. */
  sum = 0;

  decided(
    _user: string,
    _resource: string,
    _action: string,
    _decision: CachedDecision,
    _cacheHit: boolean,
    seconds: number,
  ): void {
    this.time(seconds);
  }

  refused(
    _user: unknown,
    _resource: unknown,
    _action: unknown,
    reason: RefusalReason,
    _error: unknown,
    seconds: number,
  ): void {
    const i = reason === 'invalid-request' ? INVALID : ERROR;
    this.outcomes[i] = (this.outcomes[i] ?? 0) + 1;
    this.time(seconds);
  }

  /** Timed decisions, all buckets together. */
  timed(): number {
    let n = 0;
    for (const c of this.buckets) n += c;
    return n;
  }

  private time(seconds: number): void {
    if (!(seconds >= 0)) return; // not timed (NaN)
    // Most decisions fall in the first bucket or two: a linear scan beats a binary search here.
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.sum += seconds;
  }
}
