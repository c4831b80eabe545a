// The change feed over PostgreSQL LISTEN/NOTIFY. The store sends NOTIFY inside the commit's
// transaction (createPostgresStore's `notifyChannel`), so PostgreSQL delivers it only if the
// commit succeeds. Listening needs a connection of its own; when it drops, it is re-opened and
// the follower told to catch up (notifications sent while it was away are not kept).
import type { Pool } from 'pg';
import { escapeIdentifier } from 'pg';
import { ConfigError, StoreError } from '../../errors.js';
import { decodeMessage } from '../delta.js';
import { type Lease, openDb } from '../postgres/connection.js';
import { systemScheduler } from '../scheduler.js';
import type { ChangeTransport, Scheduler } from '../types.js';

interface NotifySettings {
  /** The channel the store notifies (its `notifyChannel`). */
  readonly channel: string;
  /** Wait before re-opening a dropped listening connection, in ms. Default: 1000. */
  readonly retryMs?: number;
  /** Timers for the reconnect wait. Default: real timers. */
  readonly scheduler?: Scheduler;
}

/** `url` (a connection of its own) or `pool` (one connection held out of it), plus the settings. */
export type PgNotifyTransportOptions =
  | ({ readonly url: string; readonly pool?: undefined } & NotifySettings)
  | ({ readonly pool: Pool; readonly url?: undefined } & NotifySettings);

/**
 * A ChangeTransport on LISTEN/NOTIFY. publish() does nothing: the store already notified inside
 * the commit (pass the same channel as its `notifyChannel`).
 *
 * @throws ConfigError for an invalid option.
 * @example
 * const transport = createPgNotifyTransport({ url, channel: 'rbac_policy' });
 * const store = createPostgresStore({ url, notifyChannel: transport.channel });
 */
export function createPgNotifyTransport(
  options: PgNotifyTransportOptions,
): ChangeTransport & { readonly channel: string } {
  const { channel } = options;
  if (typeof channel !== 'string' || channel === '' || Buffer.byteLength(channel) > 63)
    throw new ConfigError('channel', 'must be a channel name of 1 to 63 bytes');
  const retryMs = options.retryMs ?? 1000;
  if (!Number.isFinite(retryMs) || retryMs < 0)
    throw new ConfigError('retryMs', 'must be a number of ms >= 0');
  const scheduler = options.scheduler ?? systemScheduler;
  const db = openDb(options, 'rbac-normalizer-listen');
  const listening = new Set<() => Promise<void>>();

  return {
    channel,

    async subscribe(listener) {
      let lease: Lease | undefined;
      let stopped = false;
      let cancelRetry: (() => void) | undefined;
      const onNotification = (n: { channel: string; payload?: string | undefined }) => {
        if (n.channel === channel) listener.message(decodeMessage(n.payload ?? ''));
      };
      const onEnd = () => {
        lease?.client.off('notification', onNotification);
        void lease?.done(true);
        lease = undefined;
        if (stopped) return;
        listener.error?.(
          new StoreError({
            failure: 'unavailable',
            operation: 'listen',
            message: 'the listening connection closed; reconnecting',
          }),
        );
        retry();
      };
      const listen = async () => {
        const l = await db.dedicated('listen');
        try {
          l.client.on('notification', onNotification);
          l.client.once('end', onEnd);
          await l.client.query(`LISTEN ${escapeIdentifier(channel)}`);
        } catch (err) {
          l.client.off('notification', onNotification);
          l.client.off('end', onEnd);
          await l.done(true);
          throw db.fail(err, 'listen');
        }
        lease = l;
      };
      const retry = () => {
        cancelRetry = scheduler.after(retryMs, () => {
          cancelRetry = undefined;
          if (stopped) return;
          listen().then(
            () => (stopped ? stop() : listener.reconnected()),
            (err: unknown) => {
              listener.error?.(err);
              if (!stopped) retry();
            },
          );
        });
      };
      const stop = async () => {
        stopped = true;
        cancelRetry?.();
        listening.delete(stop);
        const l = lease;
        lease = undefined;
        if (!l) return;
        l.client.off('end', onEnd);
        l.client.off('notification', onNotification);
        await l.client.query(`UNLISTEN ${escapeIdentifier(channel)}`).catch(() => {});
        await l.done();
      };
      await listen();
      listening.add(stop);
      return stop;
    },

    async publish() {
      // Sent by the store inside the commit; see createPostgresStore({ notifyChannel }).
    },

    async close() {
      await Promise.all([...listening].map((stop) => stop()));
      await db.end();
    },
  };
}
