// Shared pieces of the follower tests: rules, a recorder of follower events that tests can await,
// and a store wrapper that counts reads.

import type { FollowEvent } from '../../src/store/follower.js';
import type { ChangeMessage, ChangeSource, ChangeTransport } from '../../src/store/types.js';
import { rule as openRule } from './policy.js';

/** An open allow of `act` on `obj` (by default reading recordings). */
export const rule = (sub: string, obj = 'zoom:recording', act = 'read') => openRule(sub, obj, act);

/** Collects follower events; until() resolves once they satisfy a condition. */
export function recorder() {
  const events: FollowEvent[] = [];
  let wake: () => void = () => {};
  return {
    events,
    onApplied(e: FollowEvent) {
      events.push(e);
      wake();
    },
    /** Re-checks pending until() conditions (for state kept outside the events). */
    nudge() {
      wake();
    },
    async until(done: (events: readonly FollowEvent[]) => boolean): Promise<void> {
      while (!done(events)) await new Promise<void>((r) => (wake = r));
    },
    /** Versions applied as deltas, in order. */
    deltas: () => events.flatMap((e) => (e.kind === 'delta' ? [e.delta.version] : [])),
    reloads: () => events.filter((e) => e.kind === 'reload').length,
  };
}

/** A store whose load() and changesSince() calls are counted. */
export function counting(store: ChangeSource) {
  const calls = { load: 0, changesSince: 0 };
  const source: ChangeSource = {
    load: () => {
      calls.load++;
      return store.load();
    },
    changesSince: (v, o) => {
      calls.changesSince++;
      return store.changesSince(v, o);
    },
  };
  return { source, calls };
}

/** A transport whose delivered messages are recorded; heard() resolves once a version arrived. */
export function overheard(transport: ChangeTransport) {
  const messages: (ChangeMessage | undefined)[] = [];
  let wake: () => void = () => {};
  const t: ChangeTransport = {
    subscribe: (listener) =>
      transport.subscribe({
        ...listener,
        message(m) {
          listener.message(m);
          messages.push(m);
          wake();
        },
      }),
    publish: (m) => transport.publish(m),
    close: () => transport.close(),
  };
  return {
    transport: t,
    messages,
    async heard(version: number): Promise<void> {
      while (!messages.some((m) => m?.version === version)) await new Promise<void>((r) => (wake = r));
    },
  };
}
