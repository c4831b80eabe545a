/** Source of the current time in epoch milliseconds. Inject a fixed clock in tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and offline suites. */
export function manualClock(
  start: number | string | Date,
): Clock & { set(t: number | string | Date): void; advance(ms: number): void } {
  let t = toMillis(start);
  return {
    now: () => t,
    set: (v) => {
      t = toMillis(v);
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A time as epoch ms: a number as is, a Date's time, an ISO string parsed; NaN when unreadable. */
export function timeOf(v: number | string | Date): number {
  if (typeof v === 'number') return v;
  if (v instanceof Date) return v.getTime();
  return typeof v === 'string' ? Date.parse(v) : Number.NaN;
}

function toMillis(v: number | string | Date): number {
  const n = timeOf(v);
  if (!Number.isFinite(n)) throw new TypeError(`not a valid time: ${String(v)}`);
  return n;
}
