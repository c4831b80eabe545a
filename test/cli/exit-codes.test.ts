// Exit 1 is each command's own "no" (deny, failed test, access that changes); anything that stops a
// command from deciding is 2, so a broken policy or snapshot never reads as a real answer.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { CommanderError } from 'commander';
import { exitCodeFor } from '../../src/cli/exit.js';
import { DecisionError, RbacError, SnapshotError } from '../../src/errors.js';
import { exampleWorkspace, run } from './workspace.js';

let ws: { dir: string; config: string };
let broken: string;
let noPolicy: string;
let badPolicy: string;
before(async () => {
  ws = await exampleWorkspace();
  broken = await mkdtemp(join(tmpdir(), 'rbac-broken-snapshot-'));
  await cp('examples/snapshot', broken, { recursive: true });
  await writeFile(join(broken, 'zoom', 'users', 'page-0001.json'), '{"users": [');
  // Configs whose policies folder has no policy.csv, or an unreadable one.
  noPolicy = join(ws.dir, 'no-policy.yaml');
  await mkdir(join(ws.dir, 'empty'));
  await writeFile(noPolicy, 'policies: empty/\nmappings: mappings/\nidentities: identities.yaml\n');
  badPolicy = join(ws.dir, 'bad-policy.yaml');
  await mkdir(join(ws.dir, 'bad'));
  await writeFile(join(ws.dir, 'bad', 'policy.csv'), 'p, alice, "unterminated\n');
  await writeFile(badPolicy, 'policies: bad/\nmappings: mappings/\nidentities: identities.yaml\n');
});

describe('exit codes', () => {
  const cases: [string, () => string[], number, RegExp][] = [
    [
      'check with no compiled policy cannot decide: 2, not a deny',
      () => ['check', 'alice', 'zoom:recording', 'read', '--config', noPolicy],
      2,
      /policy\.csv: cannot read the compiled policy/,
    ],
    [
      'check with an unreadable policy cannot decide: 2',
      () => ['check', 'alice', 'zoom:recording', 'read', '--config', badPolicy],
      2,
      /policy\.csv:1: unterminated quoted field/,
    ],
    [
      'explain with no compiled policy cannot decide: 2',
      () => ['explain', 'alice', 'zoom:recording', 'read', '--config', noPolicy],
      2,
      /cannot read the compiled policy/,
    ],
    [
      'check with an empty subject is an invalid request: 2, still answering deny',
      () => ['check', '', 'zoom:recording', 'read', '--config', ws.config],
      2,
      /invalid-request: the subject is empty/,
    ],
    [
      'compile of an unusable snapshot is its documented failure: 1',
      () => ['compile', '--snapshot', broken, '--config', ws.config],
      1,
      /page-0001\.json/,
    ],
    [
      'coverage of an unusable snapshot cannot count: 2, not "under the threshold"',
      () => ['coverage', '--snapshot', broken, '--tests', 'policies/tests', '--config', ws.config],
      2,
      /page-0001\.json/,
    ],
    [
      'diff --exit-code over an unusable snapshot cannot compare: 2, not "access changes"',
      () => ['diff', '--from', broken, '--to', 'mappings', '--exit-code', '--config', ws.config],
      2,
      /page-0001\.json/,
    ],
  ];
  for (const [name, args, code, err] of cases) {
    test(name, async () => {
      const r = await run(args());
      assert.equal(r.code, code, r.err);
      assert.match(r.err, err);
    });
  }

  test('test over a suite whose snapshot is unusable has no verdict: 2, not "a test failed"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-suite-'));
    await writeFile(
      join(dir, 'a_test.yaml'),
      `name: broken data\nnow: 2026-11-22T12:00:00Z\nsnapshot: ${broken}\ntests:\n  - name: alice reads\n    principal: alice\n    unlisted: ignore\n    expect:\n      zoom:recording: { read: allow }\n`,
    );
    const r = await run(['test', dir]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /page-0001\.json/);
  });

  test('the exit code comes from the error code, whatever class carries it', () => {
    const snapshot = new RbacError('SNAPSHOT_INVALID', 'zoom/users/page-0001.json: not JSON');
    assert.equal(exitCodeFor(snapshot, 'compile'), 1);
    assert.equal(exitCodeFor(new SnapshotError('f.json', 'not JSON'), 'compile'), 1);
    assert.equal(exitCodeFor(snapshot, 'coverage'), 2);
    assert.equal(exitCodeFor(new RbacError('POLICY_INVALID', 'policy.csv: unreadable'), 'check'), 2);
    assert.equal(exitCodeFor(new DecisionError('the clock failed'), 'check'), 2);
    assert.equal(exitCodeFor(new RbacError('VENDOR_ERROR', 'zoom refused'), 'zoom push-role'), 1);
    assert.equal(exitCodeFor(new RbacError('VENDOR_ERROR', 'zoom refused'), 'sync'), 2);
    assert.equal(exitCodeFor(Object.assign(new Error('EACCES'), { code: 'EACCES' }), 'compile'), 2);
    assert.equal(exitCodeFor(new CommanderError(0, 'commander.helpDisplayed', ''), undefined), 0);
    assert.equal(exitCodeFor(new CommanderError(1, 'commander.unknownOption', ''), undefined), 2);
  });
});
