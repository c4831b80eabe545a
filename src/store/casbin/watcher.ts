// A casbin Watcher/WatcherEx with real deltas: other instances apply exactly the rows a commit
// changed (casbin's self* methods, which neither persist nor notify), never loadPolicy(), which
// clears the model before reading so concurrent enforce() calls would see an empty policy. The
// publishing enforcer already holds its change, so its own commits are never applied again.
import type { Enforcer, Model, Watcher, WatcherEx } from 'casbin';
import { ConfigError, StoreError } from '../../errors.js';
import { catchUpFromLog, oneAtATime } from '../catch-up.js';
import { systemScheduler } from '../scheduler.js';
import type { ChangeDelta, ChangeMessage, ChangeTransport, Scheduler } from '../types.js';
import type { PostgresCasbinAdapter } from './adapter.js';
import { linkToCasbin, ruleToCasbin } from './rows.js';

/** The enforcer methods the watcher uses. */
export type WatchedEnforcer = Pick<Enforcer, 'getModel' | 'selfAddPolicies' | 'selfRemovePolicies'>;

export interface CasbinWatcherOptions {
  /** The adapter the enforcer was created with (createCasbinAdapter): its store and its commits. */
  readonly adapter: PostgresCasbinAdapter;
  /** The enforcer to keep current; it must have loaded its policy (newEnforcer does). */
  readonly enforcer: WatchedEnforcer;
  /** Where commits are announced (createRedisTransport, or createPgNotifyTransport with the store's notifyChannel). */
  readonly transport: ChangeTransport;
  /** How often to check the store without a message, in ms. Default: 30000. */
  readonly pollMs?: number;
  /** Timers for the poll. Default: real timers. */
  readonly scheduler?: Scheduler;
  /** Receives errors of background catch-ups and publishes (each catch-up is retried later). */
  readonly onError?: (error: unknown) => void;
  /** Called after another instance's change was applied to the enforcer. */
  readonly onChange?: (change: { readonly version: number; readonly delta?: ChangeDelta }) => void;
}

export interface PostgresCasbinWatcher extends Watcher, WatcherEx {
  /** The store version the enforcer holds. */
  version(): number;
  /** Checks the store now (what the poll does). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Watches the store for another instance's changes and applies them to `enforcer` as deltas.
 * Register it with both `enforcer.setWatcher(w)` and `enforcer.setWatcherEx(w)`.
 *
 * @throws ConfigError for an invalid option or an enforcer that has not loaded its policy.
 * @example
 * const adapter = createCasbinAdapter({ store });
 * const e = await newEnforcer(model, adapter);
 * const w = await createCasbinWatcher({ adapter, enforcer: e, transport });
 * e.setWatcher(w);
 * e.setWatcherEx(w);
 */
export async function createCasbinWatcher(options: CasbinWatcherOptions): Promise<PostgresCasbinWatcher> {
  const { adapter, enforcer, transport } = options;
  if (typeof adapter?.onCommit !== 'function')
    throw new ConfigError('adapter', 'must come from createCasbinAdapter');
  if (typeof enforcer?.selfAddPolicies !== 'function')
    throw new ConfigError('enforcer', 'must be a casbin Enforcer');
  if (typeof transport?.subscribe !== 'function')
    throw new ConfigError('transport', 'must be a ChangeTransport');
  if (adapter.loadedVersion() < 0)
    throw new ConfigError(
      'enforcer',
      'has not loaded its policy through this adapter (create it with newEnforcer(model, adapter))',
    );
  const pollMs = options.pollMs ?? 30_000;
  if (!Number.isFinite(pollMs) || pollMs < 1) throw new ConfigError('pollMs', 'must be a number of ms >= 1');
  const scheduler = options.scheduler ?? systemScheduler;
  const report = (e: unknown) => options.onError?.(e);
  const store = adapter.store;

  let applied = adapter.loadedVersion();
  let closed = false;
  const own = new Set<number>();
  const unpublished: ChangeMessage[] = [];

  async function publish(): Promise<void> {
    while (unpublished.length > 0) {
      const m = unpublished.shift()!;
      await transport.publish(m).catch(report); // the poll of the other instances covers a lost one
    }
  }

  const rowsIn = (model: Model, sec: 'p' | 'g') =>
    new Set(model.getPolicy(sec, sec).map((r) => JSON.stringify(r)));

  /** Removes what is listed and present, adds what is listed and absent. */
  async function applyRows(remove: Record<'p' | 'g', string[][]>, add: Record<'p' | 'g', string[][]>) {
    const model = enforcer.getModel();
    for (const sec of ['p', 'g'] as const) {
      const present = rowsIn(model, sec);
      const gone = remove[sec].filter((r) => present.has(JSON.stringify(r)));
      if (gone.length > 0) await enforcer.selfRemovePolicies(sec, sec, gone);
    }
    for (const sec of ['g', 'p'] as const) {
      const present = rowsIn(model, sec);
      const fresh = add[sec].filter((r) => !present.has(JSON.stringify(r)));
      if (fresh.length > 0) await enforcer.selfAddPolicies(sec, sec, fresh);
    }
  }

  async function applyDelta(d: ChangeDelta) {
    await applyRows(
      { p: d.removeRules.map(ruleToCasbin), g: d.removeLinks.map(linkToCasbin) },
      { p: d.addRules.map(ruleToCasbin), g: d.addLinks.map(linkToCasbin) },
    );
    applied = d.version;
    options.onChange?.({ version: d.version, delta: d });
  }

  /** When the log no longer reaches back: the difference to the stored policy, row by row. */
  async function resync() {
    const { policy, version } = await store.loadPolicy();
    const model = enforcer.getModel();
    const want = { p: policy.rules.map(ruleToCasbin), g: policy.links.map(linkToCasbin) };
    const wantKeys = {
      p: new Set(want.p.map((r) => JSON.stringify(r))),
      g: new Set(want.g.map((r) => JSON.stringify(r))),
    };
    const extra = (sec: 'p' | 'g') =>
      model.getPolicy(sec, sec).filter((r) => !wantKeys[sec].has(JSON.stringify(r)));
    await applyRows({ p: extra('p'), g: extra('g') }, want);
    applied = version;
    options.onChange?.({ version });
  }

  const target = {
    applied: () => applied,
    async apply(d: ChangeDelta) {
      if (own.delete(d.version))
        applied = d.version; // the enforcer made this change itself
      else await applyDelta(d);
    },
    reload: resync,
    closed: () => closed,
  };
  async function catchUp() {
    if (adapter.isFiltered()) {
      throw new StoreError({
        failure: 'invalid',
        operation: 'casbin watcher',
        message: 'the enforcer loaded a filtered policy; this watcher keeps only whole policies current',
      });
    }
    applied = Math.max(applied, adapter.loadedVersion()); // a loadPolicy() since brought it this far
    try {
      await catchUpFromLog(store, target);
    } finally {
      for (const v of own) if (v <= applied) own.delete(v);
    }
  }
  const catchUps = oneAtATime(catchUp, () => closed);
  const sync = () => catchUps.run();
  const trigger = () => {
    if (!closed) sync().catch(report);
  };

  // The enforcer applies its own change to its model right after the adapter commits it: the next
  // version is simply taken as held; after a gap, a catch-up fetches the others' versions between
  // and skips this one.
  const stopCommits = adapter.onCommit((r) => {
    unpublished.push(r.message);
    if (!catchUps.busy() && r.version === applied + 1) applied = r.version;
    else {
      own.add(r.version);
      trigger();
    }
  });

  const unsubscribe = await transport.subscribe({
    message: (m) => {
      if (m === undefined || (m.version > applied && m.origin !== store.origin)) trigger();
    },
    reconnected: trigger,
    error: report,
  });
  const stopPoll = scheduler.every(pollMs, trigger);
  trigger();

  const flush = async () => {
    await publish();
  };
  return {
    version: () => applied,
    sync: () => sync(),
    // casbin's setWatcher() passes a full loadPolicy() here; deltas are applied instead, so it is
    // kept only to satisfy the interface and never called.
    setUpdateCallback: () => {},
    update: async () => {
      await flush();
      return true;
    },
    updateForAddPolicy: flush,
    updateForRemovePolicy: flush,
    updateForRemoveFilteredPolicy: flush,
    updateForAddPolicies: flush,
    updateForRemovePolicies: flush,
    updateForSavePolicy: async () => {
      await flush();
      return true;
    },
    async close() {
      if (closed) return;
      closed = true;
      stopPoll();
      stopCommits();
      await unsubscribe().catch(report);
      await catchUps.settled();
    },
  };
}
