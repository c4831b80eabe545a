import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isSuiteError } from '../../src/errors.js';
import { report } from '../../src/testing/report.js';
import { globMatcher, runSuites } from '../../src/testing/run.js';
import { parseSuite } from '../../src/testing/suite.js';
import { runCli as run } from '../helpers/cli.js';

const HEADER = 'name: inline\nnow: 2026-11-22T12:00:00Z\n';
const PRINCIPALS = `principals:
  erin:
    zoom: [Recording:Edit]
    vonage: { groups: { g1: None } }
    tuya:
      - { permission_id: 7, type: 1, start_time: 1795132800, end_time: 1795219200 }
`;

async function suiteDir(body: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-suite-'));
  await writeFile(join(dir, 'a_test.yaml'), HEADER + body);
  return dir;
}

describe('policy test suites', () => {
  test('pass when every listed decision matches and nothing unlisted is allowed', async () => {
    const dir = await suiteDir(`${PRINCIPALS}tests:
  - name: erin edits recordings
    principal: erin
    expect:
      zoom:recording: { read: allow, edit: allow }
      vonage:group:g1: { read: deny, write: deny }
`);
    const r = await runSuites([dir]);
    assert.deepEqual([r.passed, r.failed], [1, 0]);
    // The temporary Tuya grant (Nov 20-21) decides nothing at the suite's time, so it is not exercised.
    assert.deepEqual(r.suites[0]?.rules, { total: 5, exercised: 4 });
  });

  test('fail on an unlisted allow, and say what was expected, what happened and why', async () => {
    const dir = await suiteDir(`${PRINCIPALS}tests:
  - name: erin only reads
    principal: erin
    expect:
      zoom:recording: { read: allow }
`);
    const r = await runSuites([dir]);
    assert.equal(r.failed, 1);
    const f = r.suites[0]?.cases[0]?.failures[0];
    assert.deepEqual(
      [f?.resource, f?.action, f?.expected, f?.actual, f?.listed],
      ['zoom:recording', 'edit', 'deny', 'allow', false],
    );
    const text = report(r, 'spec');
    assert.match(text, /✖ erin only reads {2}\(.*a_test\.yaml:\d+\)/);
    assert.match(text, /expected deny \(not listed in the test, so expected deny\), got allow/);
    assert.match(text, /grant: zoom privilege Recording:Edit .* mapped by .*zoom\.yaml:\d+/);
  });

  test('unlisted: ignore checks only what is listed', async () => {
    const dir = await suiteDir(`${PRINCIPALS}unlisted: ignore
tests:
  - name: erin reads
    principal: erin
    expect: { zoom:recording: { read: allow } }
`);
    assert.equal((await runSuites([dir])).passed, 1);
  });

  test('a per-test now pins the clock: a temporary grant ends at its end time', async () => {
    const dir = await suiteDir(`${PRINCIPALS}unlisted: ignore
tests:
  - name: inside
    principal: erin
    now: 2026-11-20T23:59:59.999Z
    expect: { tuya:permission:7: { use: allow } }
  - name: at the end
    principal: erin
    now: 2026-11-21T00:00:00Z
    expect: { tuya:permission:7: { use: allow } }
`);
    const r = await runSuites([dir]);
    assert.deepEqual(
      r.suites[0]?.cases.map((c) => c.status),
      ['pass', 'fail'],
    );
  });

  test('skip with a reason, and --filter selects tests by glob', async () => {
    const dir = await suiteDir(`${PRINCIPALS}unlisted: ignore
tests:
  - name: erin reads
    principal: erin
    expect: { zoom:recording: { read: allow } }
  - name: erin deletes
    principal: erin
    skip: no mapping for Recording:Delete yet
    expect: { zoom:recording: { delete: allow } }
`);
    const all = await runSuites([dir]);
    assert.deepEqual([all.passed, all.skipped], [1, 1]);
    assert.equal(all.suites[0]?.cases[1]?.skipReason, 'no mapping for Recording:Delete yet');
    const some = await runSuites([dir], { filter: '*deletes' });
    assert.deepEqual([some.passed, some.skipped], [0, 1]);
    assert.ok(globMatcher('inline › erin*')('inline › erin reads'));
    assert.ok(!globMatcher('erin')('erin reads'));
  });

  test('invalid suites are reported with file:line:column and what to write instead', async () => {
    const cases: [string, RegExp][] = [
      [
        `tests:\n  - name: t\n    principle: erin\n    expect: {}\n`,
        /x_test\.yaml:5:5: unknown field "principle" \(did you mean "principal"\?\)/,
      ],
      [`tests:\n  - name: t\n    expect: {}\n`, /x_test\.yaml:4:5: test "t" needs "principal: NAME"/],
      [
        `tests:\n  - name: t\n    principal: a\n    expect: { r: { read: maybe } }\n`,
        /must be one of allow, deny/,
      ],
      [
        `tests:\n  - name: t\n    principal: a\n    now: yesterday\n    expect: {}\n`,
        /"yesterday" is not an ISO-8601 time/,
      ],
      [
        `tests:\n  - name: t\n    principal: a\n    principal: b\n    expect: {}\n`,
        /x_test\.yaml:6:5: .*each key may appear once/,
      ],
      [`__proto__: {}\ntests: []\n`, /the key "__proto__" is not allowed/],
    ];
    for (const [body, re] of cases) {
      await assert.rejects(parseSuite(HEADER + body, 'x_test.yaml', '.'), (e: unknown) => {
        assert.ok(isSuiteError(e));
        assert.match(e.message, re);
        return true;
      });
    }
  });

  test('reporters: json for machines and junit for CI dashboards', async () => {
    const dir = await suiteDir(`${PRINCIPALS}tests:
  - name: erin <only> reads & more
    principal: erin
    expect: { zoom:recording: { read: allow } }
`);
    const r = await runSuites([dir]);
    const json = JSON.parse(report(r, 'json'));
    assert.equal(json.failed, 1);
    assert.equal(json.suites[0].cases[0].failures[0].decision.rule.act, 'edit');
    const xml = report(r, 'junit');
    assert.match(xml, /<testsuites name="rbac-normalizer" tests="1" failures="1" skipped="0">/);
    assert.match(xml, /name="erin &lt;only&gt; reads &amp; more"/);
    assert.match(xml, /<failure message="1 decision\(s\) not as expected">/);
  });

  test('the CLI exits 0 when all pass, 1 on a failure, 2 on an invalid suite', async () => {
    assert.equal((await run(['test', 'policies/tests'])).code, 0);
    const failing = await suiteDir(`${PRINCIPALS}tests:\n  - name: t\n    principal: erin\n    expect: {}\n`);
    const r = await run(['test', failing, '--reporter', 'junit']);
    assert.equal(r.code, 1);
    assert.match(r.out, /<failure/);
    const invalid = await mkdtemp(join(tmpdir(), 'rbac-suite-'));
    await writeFile(join(invalid, 'b_test.yaml'), 'name: x\ntests: 3\n');
    const bad = await run(['test', invalid]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /b_test\.yaml:1:1: the suite is missing "now"/);
  });
});

describe('coverage and diff commands', () => {
  test('coverage lists unmatched vendor values with holders and fails under a threshold', async () => {
    const r = await run(['coverage', '--json']);
    assert.equal(r.code, 0, r.err);
    const c = JSON.parse(r.out);
    assert.deepEqual(c.unmatched[0], {
      vendor: 'vonage',
      kind: 'access',
      value: 'permissionLevel=Supervise',
      count: 1,
      holders: ['3c4d5e6f-0000-4000-8000-00000000da5e'],
    });
    assert.equal(c.rules.matched, c.rules.total);
    assert.equal(c.tests.rules.exercised, c.tests.rules.total);
    const strict = await run([
      'coverage',
      '--tests',
      await suiteDir(
        `snapshot: ${process.cwd()}/examples/snapshot\ntests:\n  - { name: t, principal: x, expect: {} }\n`,
      ),
      '--fail-under',
      '90',
    ]);
    assert.equal(strict.code, 1);
    assert.match(strict.out, /FAIL: policy rules exercised by tests 0\.0% < 90%/);
  });

  test('coverage finds rules never matched and rules shadowed by earlier ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-cov-'));
    await mkdir(join(dir, 'mappings'));
    await writeFile(
      join(dir, 'mappings', 'zoom.yaml'),
      `vendor: zoom
rules:
  - id: all
    kind: privilege
    when: { privilege: "{area}:{action}" }
    resource: "zoom:{area|lower}"
    actions: ["{action|lower}"]
  - id: recording-edit
    kind: privilege
    when: { privilege: Recording:Edit }
    resource: zoom:recording
    actions: [edit]
  - id: never
    kind: privilege
    when: { privilege: Nothing:Here }
    resource: zoom:nothing
    actions: [read]
`,
    );
    await writeFile(
      join(dir, 'rbac.config.yaml'),
      `mappings: mappings/\nsnapshot: ${process.cwd()}/examples/snapshot\n`,
    );
    const r = await run([
      'coverage',
      '--config',
      join(dir, 'rbac.config.yaml'),
      '--tests',
      await suiteDir('tests:\n  - { name: t, principal: x, expect: {} }\n'),
    ]);
    assert.match(r.out, /zoom\.yaml:13 \(never\) {2}zoom privilege/);
    assert.match(
      r.out,
      /zoom\.yaml:8 \(recording-edit\) {2}zoom privilege: all its \d+ values went to an earlier rule/,
    );
  });

  test('diff shows who gains and who loses which resource and action', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-diff-'));
    await cp('mappings', dir, { recursive: true });
    const vonage = await readFile(join(dir, 'vonage.yaml'), 'utf8');
    await writeFile(join(dir, 'vonage.yaml'), vonage.replace('actions: [write]', 'actions: [read]'));
    const r = await run(['diff', '--from', 'mappings', '--to', dir, '--json', '--exit-code']);
    assert.equal(r.code, 1);
    const d = JSON.parse(r.out);
    assert.deepEqual(
      d.subjects.map((s: { subject: string; losses: { action: string }[] }) => [
        s.subject,
        s.losses.map((l) => l.action),
      ]),
      [
        ['alice', ['write', 'write']],
        ['email:dave@example.com', ['write']],
      ],
    );
    const same = await run(['diff', '--from', 'mappings', '--to', 'mappings', '--exit-code']);
    assert.equal(same.code, 0);
    assert.match(same.out, /no change in access/);
    assert.equal((await run(['diff', '--from', 'nowhere', '--to', 'mappings'])).code, 2);
  });
});
