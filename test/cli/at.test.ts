// `--at` means one instant on every machine: a time without a zone is refused (JavaScript would
// read it as the machine's local time while reading a date alone as UTC).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { parseAt } from '../../src/cli/at.js';
import { isConfigError } from '../../src/errors.js';
import { exampleWorkspace } from './workspace.js';

/** Runs `node --import tsx <args>` with TZ=America/New_York; resolves with its exit code and output. */
function inNewYork(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ...args],
      { env: { ...process.env, TZ: 'America/New_York' } },
      (err, stdout, stderr) => done({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

let config: string;
before(async () => {
  ({ config } = await exampleWorkspace());
});

describe('--at', () => {
  test('a time without a zone is refused with exit 2, naming --at and the UTC spelling', async () => {
    // Bob's Tuya grant holds in [2026-11-01Z, 2026-12-01Z).
    const r = await inNewYork([
      'src/cli/main.ts',
      'check',
      'bob',
      'tuya:permission:232371810',
      'use',
      '--at',
      '2026-11-22T12:00:00',
      '--config',
      config,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: --at: "2026-11-22T12:00:00" has no time zone/);
    assert.match(r.stderr, /write 2026-11-22T12:00:00Z for UTC/);
  });

  test('a zone or an offset reads the same instant whatever the machine time zone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-at-'));
    const script = join(dir, 'parse.mts');
    await writeFile(
      script,
      `import { parseAt } from ${JSON.stringify(resolve('src/cli/at.ts'))};\n` +
        `const read = (t) => { try { return new Date(parseAt(t)).toISOString(); } catch (e) { return e.key; } };\n` +
        `console.log(JSON.stringify(process.argv.slice(2).map(read)));\n`,
    );
    const inputs = [
      '2026-11-22T12:00:00Z',
      '2026-11-22T07:00:00-05:00',
      '2026-11-22T12:00Z',
      '2026-11-22T12:00:00.250Z',
      '2026-11-22T12:00:00',
      '2026-11-22',
    ];
    const r = await inNewYork([script, ...inputs]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      '2026-11-22T12:00:00.000Z',
      '2026-11-22T12:00:00.000Z',
      '2026-11-22T12:00:00.000Z',
      '2026-11-22T12:00:00.250Z',
      '--at',
      '--at',
    ]);
  });

  test('a date alone, a date that does not exist, or free text is refused with how to write it', () => {
    const refused: [string, RegExp][] = [
      ['2026-11-22', /is a date without a time and zone; write 2026-11-22T00:00:00Z/],
      ['2026-02-30T00:00:00Z', /not a valid time/],
      ['2026-11-22T25:00:00Z', /not a valid time/],
      ['Nov 22 2026 12:00 GMT', /not an ISO-8601 time with a zone.*2026-11-22T12:00:00Z/],
    ];
    for (const [text, message] of refused) {
      assert.throws(
        () => parseAt(text),
        (e: unknown) => isConfigError(e) && e.key === '--at' && message.test(e.message),
        text,
      );
    }
  });
});
