// The change feed over Redis pub/sub (ioredis). A message only says "version N exists"; followers
// read the deltas from the store, so a lost message costs latency, never a change. Pub/sub keeps
// nothing for a subscriber that is away, so every reconnect is reported for a catch-up.
import { Redis } from 'ioredis';
import { ConfigError, StoreError } from '../../errors.js';
import { decodeMessage, encodeMessage } from '../delta.js';
import { scrubberFor } from '../redact.js';
import type { ChangeTransport } from '../types.js';

export interface RedisTransportOptions {
  /** Redis URL for connections the transport opens (and closes). Needed unless both clients are given. */
  readonly url?: string;
  /** Connection for PUBLISH. Yours: close() leaves it open. */
  readonly publisher?: Redis;
  /** Connection for SUBSCRIBE (it enters subscriber mode, so it cannot be shared). Yours: close() leaves it open. */
  readonly subscriber?: Redis;
  /** Pub/sub channel. Default: "rbac-normalizer:policy". */
  readonly channel?: string;
}

export const DEFAULT_REDIS_CHANNEL = 'rbac-normalizer:policy';

/**
 * A ChangeTransport on Redis pub/sub. publish() sends `{version, subjects}` after a commit;
 * subscribers hear it, and after a lost connection comes back they are told to catch up.
 *
 * @throws ConfigError when neither `url` nor both clients are given, or the channel is empty.
 * @example
 * const transport = createRedisTransport({ url: 'redis://127.0.0.1:6379' });
 * const result = await store.commit(change);
 * await transport.publish(result.message);
 */
export function createRedisTransport(
  options: RedisTransportOptions,
): ChangeTransport & { readonly channel: string } {
  const channel = options.channel ?? DEFAULT_REDIS_CHANNEL;
  if (typeof channel !== 'string' || channel === '')
    throw new ConfigError('channel', 'must be a non-empty string');
  const { url } = options;
  if (url !== undefined && (typeof url !== 'string' || url === ''))
    throw new ConfigError('url', 'must be a Redis URL');
  if (url === undefined && (options.publisher === undefined || options.subscriber === undefined))
    throw new ConfigError('url', 'give a Redis URL, or both a publisher and a subscriber connection');
  const scrub = scrubberFor(url);
  const open = () => {
    // disconnectTimeout: how long a closed connection's socket may linger. ioredis arms it even
    // when the socket is already gone (Redis down), so its 2 s default kept a finished CLI alive.
    const r = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 2, disconnectTimeout: 100 });
    r.on('error', () => {}); // reported through failing commands and the listener's error()
    return r;
  };
  const publisher = options.publisher ?? open();
  const subscriber = options.subscriber ?? open();
  const owned = [
    options.publisher ? undefined : publisher,
    options.subscriber ? undefined : subscriber,
  ].filter((r): r is Redis => r !== undefined);
  const fail = (operation: string, err: unknown) =>
    new StoreError(
      {
        failure: 'unavailable',
        operation,
        message: scrub(err instanceof Error ? err.message : String(err)),
      },
      { cause: err },
    );

  return {
    channel,

    async subscribe(listener) {
      let down = false;
      const onMessage = (ch: string, text: string) => {
        if (ch === channel) listener.message(decodeMessage(text));
      };
      const onClose = () => {
        down = true;
      };
      const onError = (err: unknown) => listener.error?.(fail('redis subscribe', err));
      // Back after a drop: subscribe again ourselves (ioredis also re-subscribes) and only when
      // that is confirmed report the reconnect, so the follower's catch-up cannot miss a message
      // published in between.
      const onReady = () => {
        if (!down) return;
        down = false;
        subscriber.subscribe(channel).then(
          () => listener.reconnected(),
          (err: unknown) => listener.error?.(fail('redis subscribe', err)),
        );
      };
      subscriber.on('message', onMessage);
      subscriber.on('close', onClose);
      subscriber.on('ready', onReady);
      subscriber.on('error', onError);
      try {
        await subscriber.subscribe(channel);
      } catch (err) {
        throw fail('redis subscribe', err);
      }
      return async () => {
        subscriber.off('message', onMessage);
        subscriber.off('close', onClose);
        subscriber.off('ready', onReady);
        subscriber.off('error', onError);
        if (subscriber.status === 'ready') await subscriber.unsubscribe(channel).catch(() => {});
      };
    },

    async publish(message) {
      try {
        await publisher.publish(channel, encodeMessage(message));
      } catch (err) {
        throw fail('redis publish', err);
      }
    },

    async close() {
      await Promise.all(
        owned.map(async (r) => {
          // QUIT only on a live connection: while Redis is down, ioredis answers QUIT at once but
          // keeps reconnecting (a CLI sync lingered seconds after its work); disconnect() stops that.
          if (r.status === 'ready' || r.status === 'connect') await r.quit().catch(() => r.disconnect());
          else r.disconnect();
        }),
      );
    },
  };
}
