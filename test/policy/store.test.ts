import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFileAtomic } from '../../src/policy/store.js';

describe('policy store', () => {
  test('writes a sequence of pieces byte for byte, across buffer boundaries and with multi-byte text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-store-'));
    const file = join(dir, 'out.txt');
    const pieces = [
      'héllo ✓\n',
      'x'.repeat((1 << 20) - 3), // ends just short of the buffer, so the next piece spills over
      'ünïcødé\n',
      'y'.repeat((1 << 20) + 5), // larger than the buffer: written on its own
      ...Array.from({ length: 5000 }, (_, i) => `p, user${i}, zoom:área, read, allow\n`),
    ];
    await writeFileAtomic(file, pieces);
    assert.equal(await readFile(file, 'utf8'), pieces.join(''));
    assert.deepEqual(await readdir(dir), ['out.txt'], 'no temporary file left behind');
  });
});
