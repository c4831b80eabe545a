// Vendor values are hostile input: the CLI must not let them drive the terminal.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import type { Provenance } from '../../src/grants.js';
import { writePolicy } from '../../src/policy/store.js';
import { writeSyncState } from '../../src/policy/sync-state.js';
import { linkKey, type PolicyRule, type RoleLink, ruleKey } from '../../src/policy/types.js';
import { runCli as run } from '../helpers/cli.js';
import { TERMINAL_ACTIVE } from '../helpers/hostile.js';

const ACTIVE = TERMINAL_ACTIVE;

const SUBJECT = 'mal\x1b]0;owned\x07lory\u202e';
const ROLE = 'role:zoom:\x1b[5mR1';
const RESOURCE = 'zoom:recording\x9b2J';
const ACTION = 'read\r';
const RAW = 'Recording:Read\x1b[2J\x1b[31m\u2066';
const HOLDER = 'u-\u202eeulav';

describe('CLI output with hostile vendor values', () => {
  let dir: string;
  let config: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rbac-hostile-'));
    const policies = join(dir, 'policies');
    const rule: PolicyRule = {
      sub: ROLE,
      obj: RESOURCE,
      act: ACTION,
      eft: 'allow',
      from: Number.NEGATIVE_INFINITY,
      until: Number.POSITIVE_INFINITY,
    };
    const link: RoleLink = { member: SUBJECT, role: ROLE };
    const grant: Provenance = {
      vendor: 'zoom',
      kind: 'privilege\x07',
      holder: `role:${HOLDER}`,
      raw: RAW,
      mapping: { file: 'mappings/zoom\x1b[8m.yaml', line: 9, column: 5 },
      source: 'zoom/roles/\x1b[1m/role.json',
    };
    await writePolicy(
      policies,
      { rules: [rule], links: [link] },
      new Map([
        [ruleKey(rule), [grant]],
        [linkKey(link), [{ ...grant, kind: 'member', holder: HOLDER, raw: `member\x1b[0m` }]],
      ]),
    );
    await writeSyncState(policies, {
      updatedAt: '2026-11-22T12:00:00.000Z',
      lastSuccess: {},
      stale: [{ vendor: 'zoom', holder: HOLDER, lastSuccess: null, error: 'HTTP 500 \x1b[41mboom\x1b[0m' }],
    });
    config = join(dir, 'rbac.config.yaml');
    await writeFile(config, `policies: policies/\nmappings: ${resolve('mappings')}\n`);
  });

  test('explain escapes control and bidi characters from the rule, the grants and the subject', async () => {
    const r = await run(['explain', SUBJECT, RESOURCE, ACTION, '--config', config]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, ACTIVE);
    for (const shown of [
      'mal\\x1b]0;owned\\x07lory\\u202e', // subject
      'role:zoom:\\x1b[5mR1', // role on the path and in the rule
      'zoom:recording\\x9b2J',
      'read\\x0d',
      'Recording:Read\\x1b[2J\\x1b[31m\\u2066', // grant raw value
      'mappings/zoom\\x1b[8m.yaml:9',
      'HTTP 500 \\x1b[41mboom\\x1b[0m', // stale error
    ])
      assert.ok(r.out.includes(shown), `${shown} in:\n${r.out}`);
    assert.match(r.out, /^ALLOW/);
  });

  test('check prints only the verdict, whatever the values', async () => {
    const allow = await run(['check', SUBJECT, RESOURCE, ACTION, '--config', config]);
    assert.deepEqual([allow.code, allow.out], [0, 'allow\n']);
    const deny = await run(['check', SUBJECT, RESOURCE, 'edit\x1b[2J', '--config', config]);
    assert.deepEqual([deny.code, deny.out], [1, 'deny\n']);
  });

  test('explain and check --json print the exact values as JSON with no raw control character', async () => {
    for (const command of ['explain', 'check']) {
      const r = await run([command, SUBJECT, RESOURCE, ACTION, '--json', '--config', config]);
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.out, ACTIVE);
      const d = JSON.parse(r.out);
      assert.equal(d.subject, SUBJECT);
      assert.deepEqual(d.via, [SUBJECT, ROLE]);
      assert.equal(d.rule.act, ACTION);
      assert.equal(d.grants[0].raw, RAW);
      assert.equal(d.stale[0].holder, HOLDER);
    }
  });

  test('test prints suite, case and decision values escaped', async () => {
    const suites = join(dir, 'tests');
    await mkdir(suites);
    await writeFile(
      join(suites, 'hostile_test.yaml'),
      [
        'name: "suite \\e[2J\\u202e"',
        'now: 2026-11-22T12:00:00Z',
        'principals:',
        '  "erin\\e[31m":',
        '    zoom: ["Recording\\a:Edit\\e]0;pwn\\a"]',
        'tests:',
        '  - name: "case \\r\\e[1A"',
        '    principal: "erin\\e[31m"',
        '    expect: { "zoom:recording": { read: deny } }',
        '',
      ].join('\n'),
    );
    const r = await run(['test', suites, '--config', config]);
    assert.equal(r.code, 1, r.err);
    assert.doesNotMatch(r.out, ACTIVE);
    for (const shown of [
      'suite \\x1b[2J\\u202e',
      'case \\x0d\\x1b[1A',
      'erin\\x1b[31m',
      'Recording\\x07:Edit\\x1b]0;pwn\\x07',
    ])
      assert.ok(r.out.includes(shown), `${shown} in:\n${r.out}`);
  });
});

test('the sync summary prints vendor values escaped (a failure, a skipped grant, a notice)', async () => {
  const { formatSummary } = await import('../../src/cli/sync.js');
  const text = formatSummary(
    {
      ok: false,
      dryRun: false,
      vendors: [
        {
          vendor: 'vonage',
          status: 'partial',
          units: 2,
          failures: [{ unit: 'user', id: 'u\u001b[2J', error: 'bad\rbody' }],
          problems: [{ file: 'vonage/x.json', field: 'a\u0007', message: 'm\u202e', effect: 'skipped' }],
          problemCount: 1,
          notices: ['no mapping rule for access \u001b]0;pwned\u0007'],
          requests: 1,
          retries: 0,
          rateLimited: 0,
        },
      ],
      diff: { addRules: [], removeRules: [], addLinks: [], removeLinks: [] },
      changes: { addRules: 0, removeRules: 0, addLinks: 0, removeLinks: 0 },
      invalidatedSubjects: 0,
      stale: [],
      rules: 0,
      links: 0,
      durationMs: 1,
    },
    'policies',
  );
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
  assert.match(text, /u\\x1b\[2J/);
  assert.match(text, /\\x1b\]0;pwned\\x07/);
});
