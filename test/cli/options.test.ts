// Options behave the same on every command: --version, help without a command, --config on every
// command, and emulator knobs refused out of range instead of read as something else.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { exampleWorkspace, run } from './workspace.js';

let dir: string;
let bad: string;
before(async () => {
  ({ dir } = await exampleWorkspace(false));
  bad = join(dir, 'typo.yaml');
  await writeFile(bad, 'policys: policies/\n');
});

describe('CLI options', () => {
  test('--version prints the package version', async () => {
    const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await run([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.out, `${version}\n`);
    }
  });

  test('no command prints the help on stdout and exits 2', async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.match(r.out, /^Usage: rbac-normalizer \[options\] \[command\]/);
    assert.match(r.out, /\n {2}check \[options\] <user> <resource> <action>/);
    assert.equal(r.err, '');
    const zoom = await run(['zoom']);
    assert.equal(zoom.code, 2);
    assert.match(zoom.out, /^Usage: rbac-normalizer zoom \[options\] \[command\]/);
  });

  test('zoom push-role reads --config given before or after the subcommand', async () => {
    const perms = join(dir, 'perms.yaml');
    await writeFile(perms, 'zoom:recording: [read]\n');
    for (const args of [
      ['zoom', '--config', bad, 'push-role', '2', '--permissions', perms],
      ['zoom', 'push-role', '2', '--permissions', perms, '--config', bad],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /typo\.yaml:1:1: unknown key "policys" \(did you mean "policies"\?\)/);
    }
  });

  const refused: [string[], RegExp][] = [
    [['--error-rate', '5'], /--error-rate: must be a share from 0 to 1 \(0\.05 is 5%\), got "5"/],
    [['--malformed-rate', '-0.1'], /--malformed-rate: must be a share from 0 to 1/],
    [['--vonage-first-page', '7'], /--vonage-first-page: must be 0 or 1, got "7"/],
    [['--port', '70000'], /--port: must be a whole number from 0 to 65535/],
    [['--users', '2.5'], /--users: must be a whole number >= 0/],
    [['--rate-limit', '0'], /--rate-limit: must be a number > 0/],
    [['--latency', 'soon'], /--latency: must be a number >= 0/],
  ];
  for (const [args, message] of refused) {
    test(`emulate ${args.join(' ')} is refused before anything starts`, { timeout: 10_000 }, async () => {
      const r = await run(['emulate', '--port', '0', '--config', bad, ...args]);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, message);
      assert.equal(r.out, '');
    });
  }

  test('emulate accepts --config and names that file in the section it prints', {
    timeout: 10_000,
  }, async () => {
    let out = '';
    let started: () => void = () => {};
    const printed = new Promise<void>((resolve) => {
      started = resolve;
    });
    const exit = main(['emulate', '--port', '0', '--users', '1', '--config', bad], {
      out: (t) => {
        out += t;
        if (out.includes('vendor emulator on')) started();
      },
      err: (t) => {
        out += t;
        started();
      },
    });
    await printed;
    process.emit('SIGINT', 'SIGINT');
    assert.equal(await exit, 0, out);
    assert.match(
      out,
      new RegExp(`Point ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at it:\n\nvendors:\n {2}zoom: `),
    );
  });
});
