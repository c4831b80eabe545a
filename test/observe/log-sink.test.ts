import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type FileDestination, fileSink } from '../../src/observe/log-sink.js';

/** Destinations that behave as pino's synchronous one: a failing write emits 'error' at once. */
function destinations() {
  const made: { fd: number; sync: boolean; destroyed: boolean; ended: boolean }[] = [];
  const written: string[] = [];
  let failures = 0;
  const factory = (o: { fd: number; sync: boolean }): FileDestination => {
    const d = new EventEmitter();
    const state = { fd: o.fd, sync: o.sync, destroyed: false, ended: false };
    made.push(state);
    let held: Buffer[] = [];
    const write = (bytes: Buffer) => {
      assert.equal(state.destroyed, false, 'no write to a destroyed destination');
      held.push(Buffer.from(bytes));
      if (failures > 0) {
        failures--;
        d.emit('error', Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        return true;
      }
      const n = held.reduce((t, b) => t + b.length, 0);
      written.push(Buffer.concat(held).toString('utf8'));
      held = [];
      d.emit('write', n);
      return true;
    };
    return Object.assign(d, {
      write,
      destroy() {
        state.destroyed = true;
        held = [];
      },
      end() {
        state.ended = true;
        setImmediate(() => d.emit('close'));
      },
    }) as unknown as FileDestination;
  };
  return { factory, made, written, fail: (n: number) => (failures = n) };
}

test('a file sink whose writes fail drops those lines, reports the first failure of a run, and writes again on a fresh open', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sink-'));
  const errors: unknown[] = [];
  const d = destinations();
  const sink = fileSink(d.factory, join(dir, 'logs', 'decisions.jsonl'), (e) => errors.push(e));
  const line = (i: number) => `{"n":${i},"pad":"${'x'.repeat(i % 7)}"}\n`;
  const batch = (from: number, to: number) => {
    for (let i = from; i < to; i++) sink.write(line(i));
    sink.drain();
  };
  batch(0, 3);
  d.fail(2);
  batch(3, 6); // fails: the first destination is given up with what it held
  batch(6, 9); // the file is opened anew, and fails again: not reported twice
  batch(9, 12); // opened anew, written
  await sink.close();

  assert.equal(errors.length, 1, 'one report for the run of failures');
  assert.equal((errors[0] as { code?: unknown }).code, 'ENOSPC');
  assert.deepEqual(
    d.made.map((m) => [m.sync, m.destroyed, m.ended]),
    [
      [true, true, false],
      [true, true, false],
      [true, false, true],
    ],
    'a regular file is written synchronously; each failed destination destroyed, the last one closed',
  );
  assert.equal(new Set(d.made.map((m) => m.fd)).size, 3, 'each one on a file opened anew');
  const expected = [0, 1, 2, 9, 10, 11].map(line).join('');
  assert.equal(
    d.written.join(''),
    expected,
    'only the lost hand-overs are missing, no line is cut or repeated',
  );
});

test('a file sink reports a failure again after a write that succeeded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sink-'));
  const errors: unknown[] = [];
  const d = destinations();
  const sink = fileSink(d.factory, join(dir, 'decisions.jsonl'), (e) => errors.push(e));
  for (let round = 0; round < 3; round++) {
    d.fail(1);
    sink.write('{"lost":true}\n');
    sink.drain();
    sink.write(`{"round":${round}}\n`);
    sink.drain();
  }
  await sink.close();
  assert.equal(errors.length, 3);
  assert.equal(d.written.join(''), '{"round":0}\n{"round":1}\n{"round":2}\n');
});
