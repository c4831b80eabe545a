// The shipped rbac.config.yaml names the bundled emulator as its vendors, so the README's `sync` and
// `zoom push-role` examples work once `npx rbac-normalizer emulate --snapshot examples/snapshot`
// runs. Here the emulator listens on a free port and the config is the shipped one with that port.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { emulatorConfig } from '../../src/cli/emulate.js';
import { main } from '../../src/cli/main.js';
import { type Emulator, snapshotDataset, startEmulator } from '../../src/emulator/index.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const SHIPPED_URL = 'http://127.0.0.1:4010';
let shipped: string;
let dir: string;
let emulator: Emulator;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

before(async () => {
  shipped = await readFile(join(repo, 'rbac.config.yaml'), 'utf8');
  emulator = await startEmulator({ dataset: await snapshotDataset(join(repo, 'examples', 'snapshot')) });
  // The shipped file beside the folders it names (relative paths), with the emulator's real port.
  dir = await mkdtemp(join(tmpdir(), 'rbac-shipped-'));
  for (const f of ['mappings', 'examples']) await symlink(join(repo, f), join(dir, f), 'dir');
  await writeFile(join(dir, 'rbac.config.yaml'), shipped.replaceAll(SHIPPED_URL, emulator.url));
});
after(async () => {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the shipped config', () => {
  test('names the vendors `emulate` serves on its default port, with the credentials it accepts', () => {
    const vendors = structuredClone(parse(shipped).vendors);
    delete vendors.tuya.users;
    assert.deepEqual(vendors, parse(emulatorConfig(SHIPPED_URL)).vendors);
  });

  test('syncs Zoom, Vonage and Tuya from the emulator into its policies folder (exit 0)', async () => {
    const r = await cli(['sync', '--config', join(dir, 'rbac.config.yaml')]);
    assert.equal(r.code, 0, r.out + r.err);
    for (const vendor of ['zoom', 'vonage', 'tuya']) assert.match(r.out, new RegExp(`^${vendor} +ok `, 'm'));
    assert.match(await readFile(join(dir, '.rbac', 'policies', 'policy.csv'), 'utf8'), /^p, alice, /m);
  });

  test("plans the README's zoom push-role example against the emulator (exit 0)", async () => {
    const permissions = join(repo, 'examples', 'recording-editors.yaml');
    const r = await cli([
      'zoom',
      'push-role',
      'Rc0ffee',
      '--permissions',
      permissions,
      '--dry-run',
      '--config',
      join(dir, 'rbac.config.yaml'),
    ]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /^role Rc0ffee/);
    assert.match(r.out, /dry run: nothing sent/);
  });
});

test('a sync in which every vendor is skipped is not ok: exit 1, each vendor saying why', async () => {
  const bare = join(dir, 'no-vendors.yaml');
  await writeFile(bare, 'policies: .rbac/bare/\nmappings: mappings/\nidentities: examples/identities.yaml\n');
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(ZOOM|VONAGE|TUYA)_/.test(k)) delete env[k];
  const saved = process.env;
  process.env = env;
  try {
    const r = await cli(['sync', '--config', bare]);
    assert.equal(r.code, 1, r.out + r.err);
    for (const vendor of ['zoom', 'vonage', 'tuya'])
      assert.match(r.out, new RegExp(`^${vendor} +skipped +${vendor} is not configured`, 'm'));
    const json = await cli(['sync', '--config', bare, '--json']);
    assert.equal(JSON.parse(json.out).ok, false);
  } finally {
    process.env = saved;
  }
});
