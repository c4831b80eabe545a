import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEngine } from '../../src/engine/authorizer.js';
import { isPolicyError } from '../../src/errors.js';
import { writePolicy } from '../../src/policy/store.js';
import {
  readSyncState,
  SYNC_STATE_FILE,
  type SyncState,
  writeSyncState,
} from '../../src/policy/sync-state.js';

const T = '2026-11-22T12:00:00.000Z';
const holder = { vendor: 'zoom', holder: 'u1', lastSuccess: T, error: 'HTTP 500' };
const valid = { updatedAt: T, lastSuccess: { 'zoom:u1': T }, stale: [holder] };
const json = (v: unknown) => JSON.stringify(v);

/** [what is wrong, file text, the field the error must name]. */
const MALFORMED: [string, string, string][] = [
  ['invalid JSON', '{"updatedAt": ', '(file)'],
  ['no content', '', '(file)'],
  ['an array at the top', '[]', '(file)'],
  ['null at the top', 'null', '(file)'],
  ['a number at the top', '5', '(file)'],
  ['a string at the top', '"state"', '(file)'],
  ['no updatedAt', json({ ...valid, updatedAt: undefined }), 'updatedAt'],
  ['a number for updatedAt', json({ ...valid, updatedAt: 5 }), 'updatedAt'],
  ['an updatedAt that is no time', json({ ...valid, updatedAt: 'yesterday' }), 'updatedAt'],
  ['a number for lastSuccess', json({ ...valid, lastSuccess: 5 }), 'lastSuccess'],
  ['null for lastSuccess', json({ ...valid, lastSuccess: null }), 'lastSuccess'],
  ['an array for lastSuccess', json({ ...valid, lastSuccess: [T] }), 'lastSuccess'],
  ['no lastSuccess', json({ ...valid, lastSuccess: undefined }), 'lastSuccess'],
  [
    'a number as a last success time',
    json({ ...valid, lastSuccess: { 'zoom:u1': 5 } }),
    'lastSuccess["zoom:u1"]',
  ],
  [
    'a last success time that is no time',
    json({ ...valid, lastSuccess: { 'zoom:u1': 'x' } }),
    'lastSuccess["zoom:u1"]',
  ],
  ['no stale', json({ ...valid, stale: undefined }), 'stale'],
  ['an object for stale', json({ ...valid, stale: {} }), 'stale'],
  ['stale: [null]', json({ ...valid, stale: [null] }), 'stale[0]'],
  ['a number in stale', json({ ...valid, stale: [holder, 5] }), 'stale[1]'],
  ['an empty stale entry', json({ ...valid, stale: [{}] }), 'stale[0].vendor'],
  ['a number as a stale vendor', json({ ...valid, stale: [{ ...holder, vendor: 5 }] }), 'stale[0].vendor'],
  ['an empty stale vendor', json({ ...valid, stale: [{ ...holder, vendor: '' }] }), 'stale[0].vendor'],
  [
    'an array as a stale holder',
    json({ ...valid, stale: [{ ...holder, holder: ['u1'] }] }),
    'stale[0].holder',
  ],
  [
    'a number as a stale lastSuccess',
    json({ ...valid, stale: [{ ...holder, lastSuccess: 5 }] }),
    'stale[0].lastSuccess',
  ],
  [
    'a stale entry without lastSuccess',
    json({ ...valid, stale: [{ ...holder, lastSuccess: undefined }] }),
    'stale[0].lastSuccess',
  ],
  ['null as a stale error', json({ ...valid, stale: [{ ...holder, error: null }] }), 'stale[0].error'],
];

async function folderWith(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sync-state-'));
  await writePolicy(dir, { rules: [], links: [] });
  await writeFile(join(dir, SYNC_STATE_FILE), text);
  return dir;
}

for (const [what, text, field] of MALFORMED) {
  const naming = field === '(file)' ? 'the file' : `the file and "${field}"`;
  test(`sync-state.json with ${what} is a PolicyError naming ${naming}`, async () => {
    const dir = await folderWith(text);
    const file = join(dir, SYNC_STATE_FILE);
    const named = (e: unknown) => {
      assert.ok(isPolicyError(e), `not a PolicyError: ${String(e)}`);
      assert.equal(e.file, file);
      assert.ok(e.message.startsWith(`${file}: `), e.message);
      if (field !== '(file)') assert.ok(e.message.includes(`"${field}"`), e.message);
      return true;
    };
    await assert.rejects(readSyncState(dir), named);
    // And what reads it on the way to deciding: the authorizer fails typed, never with a TypeError.
    await assert.rejects(createEngine({ policies: dir }), named);
  });
}

test('a sync-state.json that cannot be read (a folder) is a PolicyError, not "no sync ran"', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sync-state-'));
  await mkdir(join(dir, SYNC_STATE_FILE));
  await assert.rejects(
    readSyncState(dir),
    (e: unknown) => isPolicyError(e) && e.file === join(dir, SYNC_STATE_FILE),
  );
});

test('reads back what it wrote, absent means no sync ran, and unknown fields are left out', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sync-state-'));
  assert.equal(await readSyncState(dir), undefined);
  const state: SyncState = {
    updatedAt: T,
    lastSuccess: { 'zoom:u1': T, 'vonage:v1': '2026-11-21T00:00:00.000Z' },
    stale: [holder, { vendor: 'tuya', holder: 'ay1', lastSuccess: null, error: '' }],
  };
  await writeSyncState(dir, state);
  assert.deepEqual(await readSyncState(dir), state);
  await writeFile(
    join(dir, SYNC_STATE_FILE),
    json({ ...state, later: 1, stale: [{ ...holder, extra: true }] }),
  );
  assert.deepEqual(await readSyncState(dir), { ...state, stale: [holder] });
});
