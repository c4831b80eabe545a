// Catching up by version from the change log, shared by the policy follower (an Authorizer) and
// the casbin watcher (an Enforcer): deltas applied strictly in order, a full reload when the log
// no longer reaches back or has a gap, and one catch-up at a time.
import type { ChangeDelta, ChangeSource } from './types.js';

/** What a catch-up brings to the store's version. */
export interface CatchUpTarget {
  /** The store version it holds. */
  applied(): number;
  /** Applies the delta of version applied() + 1; afterwards applied() is that version. */
  apply(delta: ChangeDelta): void | Promise<void>;
  /** Brings it to the store's current version from a full read (when the log cannot). */
  reload(): Promise<void>;
  /** True once it was closed: the catch-up stops where it is. */
  closed(): boolean;
  /**
   * Called when it holds the head the store reported, right after the last delta was applied (in
   * the same turn, so nothing observes the delta before the confirmation). Optional.
   */
  current?(): void;
}

/**
 * Reads the deltas after the target's version, `limit` at a time, and applies them in order until
 * it holds the head; a pruned log, or a gap, ends in one reload instead.
 *
 * @returns `current` when it holds the version the store had at the last read, `reloaded` when
 *   a reload brought it there, `closed` when the target was closed meanwhile.
 * @throws what the store or the target throws (the caller retries on its next trigger).
 */
export async function catchUpFromLog(
  store: Pick<ChangeSource, 'changesSince'>,
  target: CatchUpTarget,
  limit?: number,
): Promise<'current' | 'reloaded' | 'closed'> {
  for (;;) {
    const r = await store.changesSince(target.applied(), limit === undefined ? {} : { limit });
    if (target.closed()) return 'closed';
    if (r.kind === 'pruned') return target.reload().then(() => 'reloaded');
    for (const d of r.changes) {
      const applied = target.applied();
      if (d.version <= applied) continue; // applied meanwhile (this process's own commit)
      if (d.version !== applied + 1) return target.reload().then(() => 'reloaded');
      const applying = target.apply(d);
      if (applying) await applying; // a synchronous apply stays in this turn
    }
    if (r.changes.length === 0 || target.applied() >= r.head) {
      target.current?.();
      return 'current';
    }
  }
}

/** A catch-up run one at a time: run() while one runs makes it go round once more. */
export interface OneAtATime {
  /** Runs the catch-up (again, after the one running); resolves when no request is left. */
  run(): Promise<void>;
  /** True while a catch-up runs. */
  busy(): boolean;
  /** Resolves once the running catch-up has ended (whatever its outcome). */
  settled(): Promise<void>;
}

/**
 * Serializes `catchUp`: no request is lost (one made while a run is under way makes it run once
 * more) and deltas are never applied concurrently or out of order. Stops going round once
 * `closed()` is true.
 */
export function oneAtATime(catchUp: () => Promise<void>, closed: () => boolean): OneAtATime {
  let running: Promise<void> | undefined;
  let again = false;
  return {
    run() {
      again = true;
      running ??= (async () => {
        try {
          while (again && !closed()) {
            again = false;
            await catchUp();
          }
        } finally {
          running = undefined;
        }
      })();
      return running;
    },
    busy: () => running !== undefined,
    settled: async () => {
      await running?.catch(() => {});
    },
  };
}
