// A typo answers deny like a real deny, but check and explain say what of the request no rule or
// link mentions, so it does not pass for one.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { policyHints } from '../../src/cli/hints.js';
import { exampleWorkspace, run } from './workspace.js';

let config: string;
before(async () => {
  ({ config } = await exampleWorkspace());
});

describe('typos in check and explain', () => {
  test('an unknown action answers deny (exit 1) and says which actions the resource has', async () => {
    const r = await run(['check', 'alice', 'zoom:recording', 'edt', '--config', config]);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'deny\n');
    assert.equal(r.err, 'hint: no rule mentions action "edt" on "zoom:recording" (known: edit, read)\n');
  });

  test('an unknown subject answers deny and says no rule or link mentions it', async () => {
    const r = await run(['check', 'zed', 'zoom:recording', 'read', '--config', config]);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'deny\n');
    assert.equal(r.err, 'hint: subject "zed" appears in no rule or link\n');
  });

  test('an unknown resource gets the nearest one the policy has', async () => {
    const r = await run(['check', 'alice', 'zoom:recordng', 'read', '--json', '--config', config]);
    assert.equal(r.code, 1);
    const d = JSON.parse(r.out);
    assert.equal(d.allowed, false);
    assert.equal(d.reason, 'no-matching-rule');
    assert.deepEqual(d.hints, ['no rule mentions resource "zoom:recordng" (did you mean "zoom:recording"?)']);
  });

  test('a real deny has no hint', async () => {
    const r = await run(['check', 'bob', 'zoom:recording', 'edit', '--config', config]);
    assert.equal(r.code, 1);
    assert.equal(r.err, '');
    const json = JSON.parse(
      (await run(['check', 'bob', 'zoom:recording', 'edit', '--json', '--config', config])).out,
    );
    assert.deepEqual(json.hints, []);
  });

  test('explain prints the hints under the decision', async () => {
    const r = await run(['explain', 'zed', 'zoom:recording', 'edt', '--config', config]);
    assert.equal(r.code, 1);
    assert.match(r.out, /^DENY {2}zed → edt on zoom:recording/);
    assert.match(
      r.out,
      /\n {2}hint: no rule mentions action "edt" on "zoom:recording" \(known: edit, read\)\n/,
    );
    assert.match(r.out, /\n {2}hint: subject "zed" appears in no rule or link\n$/);
  });

  test('an empty subject is an invalid request: deny, reason invalid-request, exit 2', async () => {
    const r = await run(['check', '', 'zoom:recording', 'read', '--config', config]);
    assert.equal(r.code, 2);
    assert.equal(r.out, 'deny\n');
    assert.equal(r.err, 'error: invalid-request: the subject is empty\n');
    const json = await run(['check', '', 'zoom:recording', 'read', '--json', '--config', config]);
    assert.equal(json.code, 2);
    const d = JSON.parse(json.out);
    assert.equal(d.reason, 'invalid-request');
    assert.equal(d.allowed, false);
    const explained = await run(['explain', 'alice', 'zoom:recording', '', '--config', config]);
    assert.equal(explained.code, 2);
    assert.match(explained.out, /error: the action is empty \(denied: fail closed\)/);
  });

  test('hints are computed from the policy alone, once, and name nothing for a known request', () => {
    const hints = policyHints({
      rules: [
        {
          sub: 'role:zoom:1',
          obj: 'zoom:recording',
          act: 'read',
          eft: 'allow',
          from: -Infinity,
          until: Infinity,
        },
        { sub: 'bob', obj: 'zoom:recording', act: 'edit', eft: 'deny', from: -Infinity, until: Infinity },
      ],
      links: [{ member: 'alice', role: 'role:zoom:1' }],
    });
    assert.deepEqual(hints('alice', 'zoom:recording', 'edit'), []);
    assert.deepEqual(hints('role:zoom:1', 'zoom:recording', 'read'), []);
    assert.deepEqual(hints('carol', 'zoom:meeting', 'join'), [
      'no rule mentions resource "zoom:meeting"',
      'subject "carol" appears in no rule or link',
    ]);
  });
});
