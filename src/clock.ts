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

function toMillis(v: number | string | Date): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : v.getTime();
  if (!Number.isFinite(n)) throw new TypeError(`not a valid time: ${String(v)}`);
  return n;
}
