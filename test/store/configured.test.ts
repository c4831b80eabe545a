import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { NOTIFY_CHANNEL, notifyChannelOf, openConfiguredStore } from '../../src/store/configured.js';
import type { ChangeMessage } from '../../src/store/types.js';
import { rule } from '../helpers/follow.js';
import { dropSchema, needPostgres, PG_URL, uniqueName } from '../helpers/services.js';

test('each schema has a NOTIFY channel of its own, within 63 bytes; the default schema keeps the name it always had', () => {
  assert.equal(notifyChannelOf(), NOTIFY_CHANNEL);
  assert.equal(notifyChannelOf('rbac'), NOTIFY_CHANNEL);
  assert.equal(notifyChannelOf('tenant_a'), `${NOTIFY_CHANNEL}_tenant_a`);
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 63, unit: 'grapheme' }),
      fc.string({ minLength: 1, maxLength: 63, unit: 'grapheme' }),
      (a, b) => {
        for (const x of [a, b]) assert.ok(Buffer.byteLength(notifyChannelOf(x)) <= 63, x);
        if (a !== b) assert.notEqual(notifyChannelOf(a), notifyChannelOf(b));
      },
    ),
  );
});

const skip = await needPostgres();

describe('stores of two schemas in one database, both propagating by NOTIFY', {
  skip,
  timeout: 30_000,
}, () => {
  const schemas = [uniqueName('rbac_a'), uniqueName('rbac_b')];
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    for (const s of schemas) await dropSchema(s);
  });

  test("an instance hears its own schema's commits, never the other's", async () => {
    const sides = await Promise.all(
      schemas.map(async (schema) => {
        const opened = await openConfiguredStore({
          store: `${PG_URL}?schema=${schema}`,
          propagation: 'notify',
        });
        assert.ok(opened?.propagation);
        closers.push(() => opened.close());
        await opened.postgres.migrate();
        const heard: ChangeMessage[] = [];
        let wake = () => {};
        const unsubscribe = await opened.propagation.subscribe({
          message: (m) => {
            if (m) heard.push(m);
            wake();
          },
          reconnected: () => {},
          error: () => {},
        });
        closers.push(unsubscribe);
        /** Commits a rule and waits until this side has heard `n` messages. */
        const commitAndHear = async (sub: string, n: number) => {
          const heardAll = new Promise<void>((resolve) => {
            wake = () => heard.length >= n && resolve();
          });
          const r = await opened.postgres.commit({ addRules: [rule(sub)] });
          await heardAll;
          return r.version;
        };
        return { heard, commitAndHear };
      }),
    );
    const [a, b] = sides as [(typeof sides)[number], (typeof sides)[number]];
    const a1 = await a.commitAndHear('alice', 1);
    const b1 = await b.commitAndHear('bob', 1);
    // In commit order on each connection: B's commit, had A heard it, would be in before A's next.
    const a2 = await a.commitAndHear('carol', 2);
    assert.deepEqual(
      a.heard.map((m) => [m.version, m.subjects]),
      [
        [a1, ['alice']],
        [a2, ['carol']],
      ],
    );
    assert.deepEqual(
      b.heard.map((m) => [m.version, m.subjects]),
      [[b1, ['bob']]],
    );
  });
});
