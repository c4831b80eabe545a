import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { createCli } from '../../src/cli/main.js';
import { runCli as run } from '../helpers/cli.js';

let config: string;
before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-cli-'));
  await cp('mappings', join(dir, 'mappings'), { recursive: true });
  await cp('examples/identities.yaml', join(dir, 'identities.yaml'));
  config = join(dir, 'rbac.config.yaml');
  await writeFile(
    config,
    `policies: out/\nmappings: mappings/\nidentities: identities.yaml\nsnapshot: ${resolve('examples/snapshot')}\n`,
  );
  const r = await run(['compile', '--config', config]);
  assert.equal(r.code, 0, r.err);
});

describe('rbac-normalizer CLI', () => {
  test('compile writes the policy and reports unmapped values', async () => {
    const csv = await readFile(join(config, '..', 'out', 'policy.csv'), 'utf8');
    assert.match(csv, /^g, alice, role:zoom:1$/m);
    const r = await run(['compile', '--config', config, '--json']);
    assert.equal(r.code, 0);
    const summary = JSON.parse(r.out);
    assert.equal(summary.unmatched.length, 1);
    assert.ok(summary.rules > 10);
  });

  const cases: [string[], number, string][] = [
    [['check', 'alice', 'zoom:recording', 'edit'], 0, 'allow\n'],
    [['check', 'bob', 'zoom:recording', 'edit'], 1, 'deny\n'],
    [['check', 'bob', 'tuya:permission:232371810', 'use', '--at', '2026-11-22T12:00:00Z'], 0, 'allow\n'],
    [['check', 'bob', 'tuya:permission:232371810', 'use', '--at', '2026-12-01T00:00:00Z'], 1, 'deny\n'],
    [
      ['check', 'email:dave@example.com', 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c', 'write'],
      0,
      'allow\n',
    ],
    [
      ['check', 'dave@example.com', 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c', 'write'],
      1,
      'deny\n',
    ],
  ];
  for (const [args, code, out] of cases) {
    test(`${args.join(' ')} → exit ${code}`, async () => {
      const r = await run([...args, '--config', config]);
      assert.equal(r.code, code, r.err);
      assert.equal(r.out, out);
    });
  }

  test('check --json prints the decision', async () => {
    const r = await run(['check', 'carol', 'zoom:recording', 'read', '--json', '--config', config]);
    const d = JSON.parse(r.out);
    assert.equal(d.allowed, true);
    assert.deepEqual(d.via, ['carol', 'role:zoom:Rc0ffee']);
  });

  test('explain shows the vendor value and the mapping line', async () => {
    const r = await run([
      'explain',
      'bob',
      'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c',
      'read',
      '--config',
      config,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^DENY/);
    assert.match(r.out, /"groupPermission":"None"/);
    assert.match(r.out, /mapped by .*vonage\.yaml:19/);
  });

  test('usage and configuration errors exit 2', async () => {
    assert.equal((await run(['check', 'a', 'b'])).code, 2);
    assert.equal((await run(['check', 'a', 'b', 'c', '--at', 'nope', '--config', config])).code, 2);
    const missing = await run(['check', 'a', 'b', 'c', '--config', '/nonexistent/rbac.yaml']);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--config: cannot read/);
    assert.equal((await run(['frobnicate'])).code, 2);
  });

  test('a config that names a missing identities file is an error, not a silent fallback', async () => {
    const dir = join(config, '..');
    const bad = join(dir, 'missing-identities.yaml');
    await writeFile(
      bad,
      `policies: out2/\nmappings: mappings/\nidentities: nope.yaml\nsnapshot: ${resolve('examples/snapshot')}\n`,
    );
    const r = await run(['compile', '--config', bad]);
    assert.equal(r.code, 2);
    assert.match(r.err, /nope\.yaml: cannot read identities file/);
  });

  test('compile reports two accounts of one vendor with the same email and merges neither into the other', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-cli-collision-'));
    await cp('mappings', join(dir, 'mappings'), { recursive: true });
    await cp('examples/identities.yaml', join(dir, 'identities.yaml'));
    await cp('examples/snapshot', join(dir, 'snapshot'), { recursive: true });
    // Dave's Vonage account now reports Alice's email (her account is linked to her by id).
    const page = join(dir, 'snapshot', 'vonage', 'users', 'page-0002.json');
    await writeFile(page, (await readFile(page, 'utf8')).replace('Dave@Example.com', 'ALICE@example.com'));
    const cfg = join(dir, 'rbac.config.yaml');
    await writeFile(
      cfg,
      'policies: out/\nmappings: mappings/\nidentities: identities.yaml\nsnapshot: snapshot/\n',
    );
    const r = await run(['compile', '--config', cfg]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.err,
      /^notice: vonage accounts "2f9207ca-8922-4245-bfc5-d8f42939e29a" and "3c4d5e6f-0000-4000-8000-00000000da5e" both have the email "alice@example\.com"/m,
    );
    const dave = 'vonage:3c4d5e6f-0000-4000-8000-00000000da5e';
    const group = 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c';
    assert.equal((await run(['check', dave, group, 'write', '--config', cfg])).out, 'allow\n');
    assert.equal(
      (await run(['check', 'email:alice@example.com', group, 'write', '--config', cfg])).out,
      'deny\n',
    );
    assert.equal(
      (await run(['check', 'alice', 'vonage:access:CPA_ACD', 'modify', '--config', cfg])).out,
      'allow\n',
    );
  });

  test('--help answers on every command, listed from the program itself', async () => {
    const paths: string[][] = [[]];
    const walk = (cmd: Command, path: string[]) => {
      for (const sub of cmd.commands) {
        paths.push([...path, sub.name()]);
        walk(sub, [...path, sub.name()]);
      }
    };
    walk(createCli().program, []);
    const names = paths.map((p) => p.join(' '));
    for (const name of [
      'compile',
      'check',
      'explain',
      'test',
      'coverage',
      'diff',
      'sync',
      'zoom push-role',
      'emulate',
      'log query',
    ])
      assert.ok(names.includes(name), `${name} is not among ${names.join(', ')}`);
    for (const path of paths) {
      const r = await run([...path, '--help']);
      assert.equal(r.code, 0, path.join(' '));
      assert.match(r.out, new RegExp(`^Usage: ${['rbac-normalizer', ...path].join(' ')} `), path.join(' '));
      // Every command that reads a config takes --config; `log query` reads only the FILE it is given.
      if (path[0] !== 'log')
        assert.match(r.out, path.length === 0 ? /--version/ : /--config <file>/, path.join(' '));
      else assert.doesNotMatch(r.out, /--config/, path.join(' '));
    }
  });

  test('coverage separates its sections with blank lines, not escaped line breaks', async () => {
    const r = await run(['coverage', '--config', config]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /\\x0a/);
    assert.match(r.out, /\n\nvendor values no rule matched: \n {2}vonage access permissionLevel=Supervise /);
    assert.match(r.out, /\n\nmapping rules never matched: none\n/);
  });

  test('a broken mapping fails compile with file:line:column and exit 2, leaving the old policy', async () => {
    const dir = join(config, '..');
    const before = await readFile(join(dir, 'out', 'policy.csv'), 'utf8');
    await writeFile(
      join(dir, 'mappings', 'zz-broken.yaml'),
      'vendor: zoom\nrules:\n  - kind: privilege\n    resource: "zoom:{nope}"\n    actions: [read]\n',
    );
    const r = await run(['compile', '--config', config]);
    assert.equal(r.code, 2);
    assert.match(r.err, /zz-broken\.yaml:4:15: unknown variable \{nope\}/);
    assert.equal(await readFile(join(dir, 'out', 'policy.csv'), 'utf8'), before);
  });
});
