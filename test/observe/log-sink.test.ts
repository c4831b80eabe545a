import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isConfigError } from '../../src/errors.js';
import { type FileDestination, fileSink } from '../../src/observe/log-sink.js';

/** Destinations that behave as pino's synchronous one: a failing write emits 'error' at once. */
function destinations(opts: { lateCloseError?: boolean } = {}) {
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
        if (state.destroyed) return;
        state.destroyed = true;
        held = [];
        // Its file failing to close, a turn later (as pino's destination reports it).
        if (opts.lateCloseError)
          setImmediate(() => d.emit('error', Object.assign(new Error('close failed'), { code: 'EIO' })));
      },
      end() {
        state.ended = true;
        setImmediate(() => d.emit('close'));
      },
    }) as unknown as FileDestination;
  };
  return { factory, made, written, fail: (n: number) => (failures = n) };
}

/** A clock for the sink's reopening pace. */
function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('a file sink whose writes fail drops those lines, reports the first failure of a run, and opens the file anew at most once a second', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sink-'));
  const errors: unknown[] = [];
  const d = destinations();
  const c = clock();
  const sink = fileSink(d.factory, join(dir, 'logs', 'decisions.jsonl'), (e) => errors.push(e), c.now);
  const line = (i: number) => `{"n":${i},"pad":"${'x'.repeat(i % 7)}"}\n`;
  const batch = (from: number, to: number) => {
    for (let i = from; i < to; i++) sink.write(line(i));
    sink.drain();
  };
  batch(0, 3);
  d.fail(2);
  batch(3, 6); // fails: the first destination is given up with what it held
  batch(6, 9); // within the second: dropped, the file is not opened
  assert.equal(d.made.length, 1);
  c.advance(1000);
  batch(9, 12); // opened anew, and fails again: not reported twice
  batch(12, 15); // dropped
  c.advance(1000);
  batch(15, 18); // opened anew, written
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
    'written synchronously; each failed destination destroyed, the last one closed',
  );
  assert.equal(new Set(d.made.map((m) => m.fd)).size, 3, 'each one on a file opened anew');
  const expected = [0, 1, 2, 15, 16, 17].map(line).join('');
  assert.equal(
    d.written.join(''),
    expected,
    'only the lost hand-overs are missing, no line is cut or repeated',
  );
});

test('a file sink reports a failure again after a write that succeeded, whatever a destination given up reports later', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sink-'));
  const errors: unknown[] = [];
  const d = destinations({ lateCloseError: true });
  const c = clock();
  const sink = fileSink(d.factory, join(dir, 'decisions.jsonl'), (e) => errors.push(e), c.now);
  for (let round = 0; round < 3; round++) {
    d.fail(1);
    sink.write('{"lost":true}\n');
    sink.drain();
    c.advance(1000);
    sink.write(`{"round":${round}}\n`);
    sink.drain();
    // The given-up destination's late close error arrives after the new one wrote.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sink.close();
  assert.deepEqual(
    errors.map((e) => (e as { code?: unknown }).code),
    ['ENOSPC', 'ENOSPC', 'ENOSPC'],
  );
  assert.equal(d.written.join(''), '{"round":0}\n{"round":1}\n{"round":2}\n');
});

test('a pipe given as a file path is refused at construction, never opened in a way that blocks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sink-'));
  const fifo = join(dir, 'decisions.fifo');
  execFileSync('mkfifo', [fifo]);
  const d = destinations();
  assert.throws(
    () => fileSink(d.factory, fifo, () => {}),
    (e: unknown) =>
      isConfigError(e) && e.key === 'decisionLog.destination' && /pipe or socket/.test(e.message),
  );
  assert.equal(d.made.length, 0);
});
