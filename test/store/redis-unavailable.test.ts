import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { StoreError } from '../../src/errors.js';
import { createRedisTransport } from '../../src/store/watch/redis.js';

// Timers and sockets this process holds now (what keeps it alive).
const alive = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap');

describe('a Redis transport whose server cannot be reached', () => {
  test('publish fails as unavailable, and close() stops reconnecting at once so nothing keeps the process alive', async () => {
    await turn();
    const before = alive().length;
    // Port 1 on loopback: nothing listens, every connection is refused at once.
    const transport = createRedisTransport({ url: 'redis://127.0.0.1:1', channel: 'rbac-test' });
    await assert.rejects(
      transport.publish({ version: 1, subjects: [] }),
      (e: unknown) =>
        e instanceof StoreError && e.failure === 'unavailable' && e.operation === 'redis publish',
    );
    await transport.close();
    // Before, ioredis went on reconnecting for seconds (a CLI sync lingered that long after its work).
    const deadline = Date.now() + 1000;
    while (alive().length > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(alive().length, before, `left behind: ${alive().join(', ')}`);
  });
});
