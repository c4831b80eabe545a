// The installed entry point, as npm links it: bin/rbac-normalizer.js over the compiled dist/, run as
// its own process (built here from the current sources into a temp folder, not the repo's dist/).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, test } from 'node:test';
import { exampleWorkspace } from './workspace.js';

/** Runs `node args` and resolves with its exit code and output (never rejects on a non-zero exit). */
function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, args, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

let bin: string;
let config: string;
before(async () => {
  const root = await mkdtemp(join(tmpdir(), 'rbac-bin-'));
  const tsc = await node([
    resolve('node_modules/typescript/bin/tsc'),
    '-p',
    'tsconfig.build.json',
    '--outDir',
    join(root, 'dist'),
    '--declaration',
    'false',
    '--sourceMap',
    'false',
  ]);
  assert.equal(tsc.code, 0, tsc.stdout + tsc.stderr);
  // The package as installed: bin/, dist/, package.json, and its dependencies beside it.
  await cp('bin', join(root, 'bin'), { recursive: true });
  await cp('package.json', join(root, 'package.json'));
  await symlink(resolve('node_modules'), join(root, 'node_modules'), 'dir');
  bin = join(root, 'bin', 'rbac-normalizer.js');
  ({ config } = await exampleWorkspace());
});

test('the installed bin runs the built dist as a process, with its exit codes', async () => {
  const { version } = JSON.parse(await readFile('package.json', 'utf8')) as { version: string };
  const v = await node([bin, '--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, `${version}\n`);
  const allow = await node([bin, 'check', 'alice', 'zoom:recording', 'read', '--config', config]);
  assert.deepEqual(allow, { code: 0, stdout: 'allow\n', stderr: '' });
  const deny = await node([bin, 'check', 'bob', 'zoom:recording', 'edit', '--config', config]);
  assert.deepEqual(deny, { code: 1, stdout: 'deny\n', stderr: '' });
  const usage = await node([bin, 'check', 'alice', 'zoom:recording', 'read', '--at', '2026-11-22T12:00:00']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--at: .*2026-11-22T12:00:00Z/);
});
