import type { Scheduler } from '../../src/store/types.js';

/**
 * Timers that only run when told: tick() runs every `every` callback once (a poll), advance(ms)
 * fires the `after` callbacks that come due.
 */
export function manualScheduler(): Scheduler & { tick(): void; advance(ms: number): void } {
  const intervals = new Set<() => void>();
  const timeouts = new Set<{ at: number; fn: () => void }>();
  let now = 0;
  return {
    every(_ms, fn) {
      intervals.add(fn);
      return () => intervals.delete(fn);
    },
    after(ms, fn) {
      const t = { at: now + ms, fn };
      timeouts.add(t);
      return () => timeouts.delete(t);
    },
    tick() {
      for (const fn of intervals) fn();
    },
    advance(ms) {
      now += ms;
      for (const t of [...timeouts].sort((a, b) => a.at - b.at)) {
        if (t.at > now) continue;
        timeouts.delete(t);
        t.fn();
      }
    },
  };
}
