import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createExternalSort } from '../../src/sync/external-sort.js';

interface Item {
  key: string;
  seq: number;
}

const sorter = async (runItems: number, fanIn: number) => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-xsort-'));
  const sort = createExternalSort<Item>({
    dir,
    compare: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    encode: (i) => JSON.stringify(i),
    decode: (l) => JSON.parse(l) as Item,
    runItems,
    fanIn,
  });
  return { dir, sort };
};

const collect = async (it: AsyncIterable<Item>) => {
  const out: Item[] = [];
  for await (const x of it) out.push(x);
  return out;
};

describe('external sort', () => {
  test('gives the same order as a stable in-memory sort, across many runs and merge passes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Keys with line breaks, quotes and astral characters: a run file is one item per line.
        fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom('a\nb', '"', '\r', '🎉', '')), {
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 2, max: 4 }),
        async (keys, runItems, fanIn) => {
          const { sort } = await sorter(runItems, fanIn);
          const items = keys.map((key, seq) => ({ key, seq }));
          for (const i of items) await sort.add(i);
          const expected = [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
          assert.deepEqual(await collect(sort.sorted()), expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('keeps at most fanIn run files however many items are added', async () => {
    const { dir, sort } = await sorter(10, 4);
    for (let i = 0; i < 1000; i++) {
      await sort.add({ key: String((i * 7919) % 1000), seq: i });
      assert.ok((await readdir(dir)).length <= 4, 'runs are merged once there are fanIn of them');
    }
    const out = await collect(sort.sorted());
    assert.equal(out.length, 1000);
    for (let i = 1; i < out.length; i++) assert.ok(out[i - 1]!.key <= out[i]!.key);
  });

  test('adds that arrive while a run is being written all come out (no run is lost)', async () => {
    const { sort } = await sorter(3, 2);
    await Promise.all(Array.from({ length: 300 }, (_, i) => sort.add({ key: String(i % 17), seq: i })));
    const out = await collect(sort.sorted());
    assert.deepEqual(
      out.map((x) => x.seq).sort((a, b) => a - b),
      Array.from({ length: 300 }, (_, i) => i),
    );
  });

  test('an empty sort gives nothing, and bad sizes are refused', async () => {
    const { sort } = await sorter(5, 2);
    assert.deepEqual(await collect(sort.sorted()), []);
    await assert.rejects(sorter(0, 2), /runItems/);
    await assert.rejects(sorter(5, 1), /fanIn/);
  });
});
