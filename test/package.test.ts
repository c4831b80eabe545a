// The package as npm ships it: `npm pack` (which builds dist/ through prepack), its files, and a
// new project that depends on it. The tarball is unpacked into the project's node_modules with its
// dependencies linked from this repository's, so the check runs offline.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../', import.meta.url));
const example = (p: string) => join(repo, 'examples', p);
let dir: string;
let project: string;
let files: string[];
let manifest: { scripts?: Record<string, string>; dependencies?: Record<string, string> };

/** Runs node in the new project; resolves to its exit code and output. */
async function node(args: string[], cwd = project): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(process.execPath, args, { cwd });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, out: x.stdout ?? '', err: x.stderr ?? '' };
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbac-pack-'));
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: repo,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  files = info.files.map((f) => f.path).sort();
  project = join(dir, 'project');
  const installed = join(project, 'node_modules', 'rbac-normalizer');
  await mkdir(installed, { recursive: true });
  await run('tar', ['-xzf', join(dir, info.filename), '-C', installed, '--strip-components=1']);
  await writeFile(join(project, 'package.json'), '{ "name": "project", "private": true }\n');
  manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    await mkdir(dirname(join(project, 'node_modules', dep)), { recursive: true });
    await symlink(join(repo, 'node_modules', dep), join(project, 'node_modules', dep), 'dir');
  }
});
after(() => rm(dir, { recursive: true, force: true }));

test('the tarball holds the build, the mappings, the licence and no source maps or sources', () => {
  for (const f of [
    'LICENSE',
    'README.md',
    'bin/rbac-normalizer.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/emulator/index.js',
    'dist/middleware/express.js',
    'dist/cli/main.js',
    'mappings/schema.json',
    'mappings/zoom.yaml',
    'policies/tests/schema.json',
  ])
    assert.ok(files.includes(f), `${f} is shipped`);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.map') || /^(src|test|examples)\//.test(f)),
    [],
  );
});

test('installing it runs no script: build on pack, nothing at install', () => {
  const scripts = Object.keys(manifest.scripts ?? {});
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare'])
    assert.ok(!scripts.includes(hook), `a "${hook}" script makes npm warn or build in every project`);
  assert.equal(manifest.scripts?.['prepack'], 'npm run build');
});

test('a new project imports every entry point, and require() works where Node has require(esm)', async () => {
  const script = `
    const main = await import('rbac-normalizer');
    const express = await import('rbac-normalizer/express');
    const koa = await import('rbac-normalizer/koa');
    const emulator = await import('rbac-normalizer/emulator');
    console.log(JSON.stringify([typeof main.createAuthorizer, typeof express.authorize, typeof koa.authorize, typeof emulator.startEmulator]));
  `;
  const esm = await node(['--input-type=module', '-e', script]);
  assert.equal(esm.code, 0, esm.err);
  assert.deepEqual(JSON.parse(esm.out), ['function', 'function', 'function', 'function']);
  if (process.features.require_module) {
    const cjs = await node([
      '--no-warnings',
      '-e',
      "console.log(typeof require('rbac-normalizer').createAuthorizer)",
    ]);
    assert.equal(cjs.out, 'function\n', cjs.err);
  }
});

test('the installed bin runs (--help), and reports a missing mapping folder as one', async () => {
  const bin = join('node_modules', 'rbac-normalizer', 'bin', 'rbac-normalizer.js');
  const help = await node([bin, '--help']);
  assert.equal(help.code, 0, help.err);
  assert.match(help.out, /Usage: rbac-normalizer/);
  await writeFile(join(project, 'missing.yaml'), 'mappings: nowhere/\n');
  const missing = await node([bin, 'compile', '--config', 'missing.yaml', '--snapshot', example('snapshot')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /mappings: no mapping folder or file at .*nowhere/);
  assert.doesNotMatch(missing.err, /:1:1/);
});

test("the library compiles with the package's own mappings when the config names none", async () => {
  await writeFile(
    join(project, 'rbac.config.yaml'),
    `policies: out/\nidentities: ${JSON.stringify(example('identities.yaml'))}\n`,
  );
  const script = `
    import { readFile } from 'node:fs/promises';
    import { createAuthorizer } from 'rbac-normalizer';
    const authz = await createAuthorizer({ config: 'rbac.config.yaml', policies: { rules: [], links: [] } });
    const r = await authz.compileSnapshot(${JSON.stringify(example('snapshot'))}, { write: true });
    const csv = await readFile('out/policy.csv', 'utf8');
    console.log(JSON.stringify({ rules: r.counts.rules, alice: authz.enforce('alice', 'zoom:recording', 'edit'), written: csv.includes('p, bob, tuya:permission:232371810, use, allow') }));
  `;
  const r = await node(['--input-type=module', '-e', script]);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as { rules: number; alice: boolean; written: boolean };
  assert.ok(out.rules > 10, `${out.rules} rules`);
  assert.equal(out.alice, true);
  assert.equal(out.written, true);
});
