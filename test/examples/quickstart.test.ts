// The README's quick start, run in a fresh copy of the work tree (no dist/, as after a clone and
// `npm ci`): `npm start`, then the CLI through the package's bin, then the example app. Everything
// they write must be ignored by git, so trying the project leaves `git status` clean.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

/** Runs a command in the copy; resolves to its exit code and output (a non-zero exit is not thrown). */
async function sh(file: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(file, args, { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}
const git = (...args: string[]) =>
  sh('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args]);
const cli = (...args: string[]) => sh(process.execPath, ['bin/rbac-normalizer.js', ...args]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbac-quickstart-'));
  // The files a clone has: tracked, plus new ones not ignored (so uncommitted work is tested too).
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repo,
    maxBuffer: 16 * 1024 * 1024,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(join(dir, dirname(file)), { recursive: true });
    await copyFile(join(repo, file), join(dir, file)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e; // deleted in the work tree, not yet committed
    });
  }
  await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await git('init', '-q');
  await git('add', '-A');
  assert.equal((await git('commit', '-q', '-m', 'clone')).code, 0);
});
after(() => rm(dir, { recursive: true, force: true }));

test('npm start, check, explain, compile and test leave git status clean, writing only ignored files', async () => {
  const start = await sh(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts']);
  assert.equal(start.code, 0, start.err);
  assert.match(start.out, /zoom {4}ok/);

  const allow = await cli('check', 'alice', 'zoom:recording', 'edit');
  assert.deepEqual([allow.code, allow.out], [0, 'allow\n'], allow.err);
  const deny = await cli('check', 'bob', 'zoom:recording', 'edit');
  assert.deepEqual([deny.code, deny.out], [1, 'deny\n'], deny.err);
  const explain = await cli(
    'explain',
    'bob',
    'tuya:permission:232371810',
    'use',
    '--at',
    '2026-11-22T12:00:00Z',
  );
  assert.equal(explain.code, 0, explain.err);
  assert.match(explain.out, /^ALLOW {2}bob/);
  assert.equal((await cli('compile')).code, 0);
  const suites = await cli('test');
  assert.equal(suites.code, 0, suites.out + suites.err);

  // The compiled policy is where the shipped config says, and git ignores it.
  const written = ['policy.csv', 'provenance.jsonl', 'sync-state.json', 'model.conf'].map((f) =>
    join('.rbac', 'policies', f),
  );
  for (const f of written) await readFile(join(dir, f));
  const ignored = await git('check-ignore', ...written);
  assert.deepEqual(ignored.out.trim().split('\n'), written);
  const status = await git('status', '--porcelain', '--untracked-files=all');
  assert.equal(status.out, '');
});

test('the example app answers from the policy npm start compiled, through the shipped config', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/app/server.ts', '--port', '0'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      err += c;
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${out}${err}`)));
    });
    const carol = await fetch(`${url}/recordings/42`, { headers: { 'x-user': 'carol' } });
    assert.equal(carol.status, 200);
    const bob = await fetch(`${url}/groups/3615beae-3974-4c33-b38d-9ec230b2284c`, {
      headers: { 'x-user': 'bob' },
    });
    assert.equal(bob.status, 403);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill();
      await once(child, 'exit');
    }
  }
  assert.equal((await git('status', '--porcelain', '--untracked-files=all')).out, '');
});
