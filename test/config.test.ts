// rbac.config.yaml problems are reported like mapping problems: file:line:column, the key, and the
// nearest allowed name.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config.js';
import { type ConfigError, isConfigError } from '../src/errors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbac-config-'));
});

/** The ConfigError loading `text` throws. */
async function refusal(text: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigError> {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, text);
  try {
    await loadConfig(file, { env });
  } catch (err) {
    assert.ok(isConfigError(err), String(err));
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}:${err.line}:${err.column}: `), err.message);
    return err;
  }
  assert.fail(`loaded: ${text}`);
}

describe('config errors', () => {
  const cases: [string, string, string, number, number, string][] = [
    [
      'a misspelt top-level key',
      'mappings: mappings/\npolicys: policies/\n',
      'policys',
      2,
      1,
      'unknown key "policys" (did you mean "policies"?); allowed: policies, mappings, identities, snapshot, vendors, store, propagation, pollMs, maxStaleness',
    ],
    [
      '"vendor:" for "vendors:"',
      'vendor: zom\n',
      'vendor',
      1,
      1,
      'unknown key "vendor" (did you mean "vendors"?); allowed: policies, mappings, identities, snapshot, vendors, store, propagation, pollMs, maxStaleness',
    ],
    [
      'a misspelt vendor',
      'vendors:\n  zom:\n    clientId: x\n',
      'vendors.zom',
      2,
      3,
      'unknown vendor "zom" (did you mean "zoom"?); allowed: zoom, vonage, tuya',
    ],
    [
      'a misspelt vendor setting',
      'vendors:\n  zoom: { accountId: a, clientId: b, clientSecrt: c }\n',
      'vendors.zoom.clientSecrt',
      2,
      38,
      'unknown setting "clientSecrt" in vendors.zoom (did you mean "clientSecret"?); allowed: baseUrl, tokenUrl, accountId, clientId, clientSecret, perSecond',
    ],
    [
      'a path that is not a string',
      'policies: 3\n',
      'policies',
      1,
      11,
      '"policies" must be a path string, got 3',
    ],
    [
      'an environment variable that is not set',
      `vendors:\n  tuya:\n    clientSecret: "\${TUYA_SECRET_X}"\n`,
      'vendors.tuya.clientSecret',
      3,
      19,
      'vendors.tuya.clientSecret: environment variable TUYA_SECRET_X is not set',
    ],
  ];
  for (const [name, text, key, line, column, message] of cases) {
    test(`${name} is reported at its line and column, naming the key`, async () => {
      const e = await refusal(text);
      assert.equal(e.key, key);
      assert.deepEqual([e.line, e.column], [line, column]);
      assert.equal(e.message, `${e.file}:${line}:${column}: ${message}`);
    });
  }

  test('the CLI prints the position and exits 2', async () => {
    const file = join(dir, 'typo.yaml');
    await writeFile(file, 'policys: policies/\n');
    let err = '';
    const code = await main(['check', 'alice', 'zoom:recording', 'read', '--config', file], {
      out: () => {},
      err: (t) => (err += t),
    });
    assert.equal(code, 2);
    assert.equal(
      err,
      `error: ${file}:1:1: unknown key "policys" (did you mean "policies"?); allowed: policies, mappings, identities, snapshot, vendors, store, propagation, pollMs, maxStaleness\n`,
    );
  });

  test('a key with no near name gets no suggestion', async () => {
    const e = await refusal('frobnicate: 1\n');
    assert.match(e.message, /unknown key "frobnicate"; allowed:/);
  });

  test('a valid config with vendors loads', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(
      file,
      `policies: p/\nvendors:\n  zoom: { accountId: a, clientId: b, clientSecret: "\${S}" }\n`,
    );
    const c = await loadConfig(file, { env: { S: 'secret' } });
    assert.deepEqual(c.vendors, { zoom: { accountId: 'a', clientId: 'b', clientSecret: 'secret' } });
    assert.equal(c.policies, join(dir, 'p'));
  });
});

test('a config that names no mappings uses mappings/ beside it, else the package own mappings', async () => {
  const { mkdir: mk, mkdtemp: tmp, writeFile: wf } = await import('node:fs/promises');
  const { tmpdir: td } = await import('node:os');
  const { join: j } = await import('node:path');
  const { loadConfig } = await import('../src/config.js');
  const { PACKAGE_MAPPINGS } = await import('../src/mapping/load.js');
  const bare = await tmp(j(td(), 'rbac-cfg-'));
  await wf(j(bare, 'rbac.config.yaml'), 'policies: out/\n');
  assert.equal((await loadConfig(j(bare, 'rbac.config.yaml'))).mappings, PACKAGE_MAPPINGS);
  await mk(j(bare, 'mappings'));
  assert.equal((await loadConfig(j(bare, 'rbac.config.yaml'))).mappings, j(bare, 'mappings'));
  await wf(j(bare, 'rbac.config.yaml'), 'mappings: elsewhere/\n');
  assert.equal((await loadConfig(j(bare, 'rbac.config.yaml'))).mappings, j(bare, 'elsewhere'));
});
