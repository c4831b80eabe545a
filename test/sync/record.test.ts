// sync --record DIR replaces DIR whole, so it must never be a folder that holds anything else.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createAuthorizer } from '../../src/authorizer.js';
import type { Emulator } from '../../src/emulator/server.js';
import { isConfigError } from '../../src/errors.js';
import { runCli as inProcess } from '../helpers/cli.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

const MARKER = '.rbac-normalizer-recording';

describe('sync --record', () => {
  let e: Emulator;
  after(() => e?.close());
  const workspace = async () => {
    e ??= await exampleEmulator();
    const ws = await syncWorkspace(e.url);
    assert.equal((await inProcess(['sync', '--config', ws.config])).code, 0);
    return { ...ws, policies: join(ws.dir, 'policies') };
  };
  /** Runs `sync --record target` (plus `extra`) and checks it is refused before any request. */
  const refused = async (config: string, target: string, why: RegExp, extra: string[] = []) => {
    const requests = JSON.stringify(e.state.stats.requests);
    const r = await inProcess(['sync', '--config', config, '--record', target, ...extra]);
    assert.equal(r.code, 2, `${target}: ${r.err}`);
    assert.match(r.err, /--record: /);
    assert.match(r.err, why);
    assert.equal(JSON.stringify(e.state.stats.requests), requests, 'no request sent');
  };
  const listing = async (dir: string) => JSON.stringify((await readdir(dir, { recursive: true })).sort());

  test('refuses the policies folder, a folder inside it, one containing it and a link to it, and leaves them as they were', async () => {
    const ws = await workspace();
    const before = await listing(ws.dir);
    const policy = await readFile(join(ws.policies, 'policy.csv'), 'utf8');
    await refused(ws.config, ws.policies, /is the policies folder/);
    await refused(ws.config, join(ws.policies, 'rec'), /lies inside the policies folder/);
    await symlink(ws.policies, join(ws.dir, 'link'));
    await refused(ws.config, join(ws.dir, 'link'), /is the policies folder/);
    // A project whose policies live one level down: recording into their parent would remove them.
    const nested = join(ws.dir, 'nested.yaml');
    await writeFile(
      nested,
      (await readFile(ws.config, 'utf8')).replace('policies: policies/', 'policies: data/policies/'),
    );
    await mkdir(join(ws.dir, 'data', 'policies'), { recursive: true });
    await refused(nested, join(ws.dir, 'data'), /contains the policies folder/);
    assert.equal(await readFile(join(ws.policies, 'policy.csv'), 'utf8'), policy);
    const now = JSON.parse(await listing(ws.dir)).filter((n: string) => !/^(link|data|nested)/.test(n));
    assert.equal(JSON.stringify(now), before, 'nothing removed');
  });

  test('refuses the config file’s folder ("--record ."), and a folder that contains it', async () => {
    const ws = await workspace();
    const before = await listing(ws.dir);
    await refused(ws.config, ws.dir, /config file/);
    const cwd = process.cwd();
    process.chdir(ws.dir);
    try {
      await refused(ws.config, '.', /config file/);
    } finally {
      process.chdir(cwd);
    }
    // The project one level down, its policies elsewhere: the parent holds its config and mappings.
    const project = join(ws.dir, 'project');
    await mkdir(project);
    await writeFile(
      join(project, 'rbac.config.yaml'),
      (await readFile(ws.config, 'utf8'))
        .replace('policies: policies/', `policies: ${join(ws.dir, 'elsewhere')}/`)
        .replace('mappings: mappings/', 'mappings: ../mappings/')
        .replace('identities: identities.yaml', 'identities: ../identities.yaml'),
    );
    await refused(join(project, 'rbac.config.yaml'), ws.dir, /config file/);
    assert.equal(
      await listing(ws.dir),
      JSON.stringify([...JSON.parse(before), 'project', 'project/rbac.config.yaml'].sort()),
    );
  });

  test('refuses a non-empty folder it did not record, and a file, leaving them as they were', async () => {
    const ws = await workspace();
    const notes = join(ws.dir, 'notes');
    await mkdir(notes);
    await writeFile(join(notes, 'todo.txt'), 'keep me\n');
    await refused(ws.config, notes, /not empty and not a recording/);
    assert.equal(await readFile(join(notes, 'todo.txt'), 'utf8'), 'keep me\n');
    await refused(ws.config, join(notes, 'todo.txt'), /not a folder/);
    assert.equal(await readFile(join(notes, 'todo.txt'), 'utf8'), 'keep me\n');
  });

  test('a dry run with --record is refused and records nothing', async () => {
    const ws = await workspace();
    await refused(ws.config, join(ws.dir, 'rec'), /dry run/, ['--dry-run']);
    await assert.rejects(stat(join(ws.dir, 'rec')));
    assert.deepEqual(
      (await readdir(ws.dir)).filter((n) => n.includes('rec')),
      [],
      'no recording, finished or partial',
    );
  });

  test('replaces an earlier recording whole, marks every recording as one, and takes an empty folder', async () => {
    const ws = await workspace();
    const rec = join(ws.dir, 'rec');
    assert.equal((await inProcess(['sync', '--config', ws.config, '--record', rec])).code, 0);
    assert.ok((await readdir(rec)).includes(MARKER), 'the recording is marked');
    await writeFile(join(rec, 'zoom', 'left-over.json'), '{}\n');
    const r = await inProcess(['sync', '--config', ws.config, '--record', rec]);
    assert.equal(r.code, 0, r.err);
    assert.ok((await readdir(rec)).includes(MARKER));
    await assert.rejects(stat(join(rec, 'zoom', 'left-over.json')), 'replaced whole');
    const compiled = await inProcess(['compile', '--config', ws.config, '--snapshot', rec]);
    assert.equal(compiled.code, 0, compiled.err);

    const empty = join(ws.dir, 'empty');
    await mkdir(empty);
    assert.equal((await inProcess(['sync', '--config', ws.config, '--record', empty])).code, 0);
    assert.ok((await readdir(empty)).includes(MARKER));
  });

  test('authorizer.sync({ record }) refuses the policies folder with a ConfigError naming "record"', async () => {
    const ws = await workspace();
    const authz = await createAuthorizer({ config: ws.config });
    await assert.rejects(
      authz.sync({ record: ws.policies }),
      (err: unknown) => isConfigError(err) && err.key === 'record' && /policies folder/.test(err.message),
    );
    await stat(join(ws.policies, 'policy.csv'));
  });
});
