import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { createAuthorizer } from '../../src/authorizer.js';
import { manualClock } from '../../src/clock.js';
import type { DecisionLogOptions } from '../../src/observe/decision-log.js';
import { hashSubject } from '../../src/observe/subject-mask.js';
import { type Policy, ruleKey } from '../../src/policy/types.js';
import { runCli as run } from '../helpers/cli.js';
import { rule } from '../helpers/policy.js';

/** What a terminal may act on: C0 (but the line breaks between lines), DEL, C1, bidi controls, U+2028/9. */
const ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

const adminRead = rule('role:admin', 'doc', 'read');
const policy: Policy = {
  rules: [adminRead, rule('bob', 'doc', 'read', { eft: 'deny' })],
  links: [{ member: 'alice', role: 'role:admin' }],
};
const provenance = new Map([
  [
    ruleKey(adminRead),
    [
      {
        vendor: 'zoom' as const,
        kind: 'privilege',
        holder: 'role:1',
        raw: 'Document:Read',
        mapping: { file: 'mappings/zoom.yaml', line: 9, column: 5 },
      },
    ],
  ],
]);

/** A log written by an authorizer: alice at 10:00 (call c1), bob 11:00, dave 12:00, alice again 13:00 (a hit). */
async function writeLog(file: string, log: Omit<DecisionLogOptions, 'destination'> = {}): Promise<void> {
  const clock = manualClock('2026-11-22T10:00:00Z');
  const authz = await createAuthorizer({
    config: 'rbac.config.yaml',
    policies: policy,
    provenance,
    clock,
    cache: { ttl: 0 },
    decisionLog: { destination: file, ...log },
  });
  authz.enforce('alice', 'doc', 'read', { callId: 'c1' });
  clock.advance(3_600_000);
  authz.enforce('bob', 'doc', 'read');
  clock.advance(3_600_000);
  authz.enforce('dave', 'doc', 'read');
  clock.advance(3_600_000);
  authz.enforce('alice', 'doc', 'read');
  await authz.close();
}

let dir: string;
let plain: string;
let hashed: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbac-log-query-'));
  plain = join(dir, 'decisions.jsonl');
  hashed = join(dir, 'hashed.jsonl');
  await writeLog(plain);
  await writeLog(hashed, { maskSubject: 'hash' });
});

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('log query', () => {
  test('prints one line per entry: verdict, request, reason, rule, role path, vendor grant, cache, call id', async () => {
    const r = await run(['log', 'query', plain]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    const out = lines(r.out);
    assert.equal(out.length, 4);
    assert.equal(
      out[0],
      '2026-11-22T10:00:00.000Z  ALLOW  alice → read on doc  allowed  by p, role:admin, doc, read, allow  via alice → role:admin  ← zoom Document:Read held by role:1 mapped by mappings/zoom.yaml:9  [cache miss, policy v0, call c1]',
    );
    assert.equal(
      out[1],
      '2026-11-22T11:00:00.000Z  DENY  bob → read on doc  denied-by-rule  by p, bob, doc, read, deny  [cache miss, policy v0]',
    );
    assert.equal(
      out[2],
      '2026-11-22T12:00:00.000Z  DENY  dave → read on doc  no-matching-rule  [cache miss, policy v0]',
    );
    assert.match(out[3] ?? '', /^2026-11-22T13:00:00\.000Z {2}ALLOW {2}alice .*\[cache hit, policy v0\]$/);
  });

  test('--subject, --since, --until and --result keep the matching entries only', async () => {
    const subject = await run(['log', 'query', plain, '--subject', 'alice']);
    assert.deepEqual(
      lines(subject.out).map((l) => l.slice(0, 24)),
      ['2026-11-22T10:00:00.000Z', '2026-11-22T13:00:00.000Z'],
    );
    const range = await run([
      'log',
      'query',
      plain,
      '--since',
      '2026-11-22T06:00:00-05:00',
      '--until',
      '2026-11-22T13:00:00Z',
    ]);
    assert.deepEqual(
      lines(range.out).map((l) => l.split('  ')[2]),
      ['bob → read on doc', 'dave → read on doc'],
      'since 11:00Z included, until 13:00Z excluded',
    );
    const denies = await run(['log', 'query', plain, '--result', 'deny', '--since', '2026-11-22T11:30:00Z']);
    assert.deepEqual(
      lines(denies.out).map((l) => l.split('  ')[2]),
      ['dave → read on doc'],
    );
  });

  test('--subject finds the entries where the subject was written hashed', async () => {
    const r = await run(['log', 'query', hashed, '--subject', 'alice']);
    assert.equal(r.code, 0, r.err);
    const out = lines(r.out);
    assert.equal(out.length, 2);
    assert.ok(out.every((l) => l.includes(`${hashSubject('alice')} → read on doc`)));
    assert.equal((await run(['log', 'query', hashed, '--subject', 'bob'])).out.split('\n').length, 2);
  });

  test('--json prints the matching entries as JSON lines, as they were written', async () => {
    const r = await run(['log', 'query', plain, '--json', '--result', 'allow']);
    assert.equal(r.code, 0, r.err);
    const written = lines(await readFile(plain, 'utf8')).map((l) => JSON.parse(l) as { result: string });
    assert.deepEqual(
      lines(r.out).map((l) => JSON.parse(l)),
      written.filter((e) => e.result === 'allow'),
    );
  });

  test('a malformed line is reported with its line number and skipped; the others are printed', async () => {
    const file = join(dir, 'damaged.jsonl');
    const good = await readFile(plain, 'utf8');
    await writeFile(file, `${good}{"time": "2026-11-22T14:00:00Z", "resu\n[1,2]\n\n${lines(good)[0]}\n`);
    const r = await run(['log', 'query', file]);
    assert.equal(r.code, 0, r.err);
    assert.equal(lines(r.out).length, 5);
    assert.deepEqual(lines(r.err), [
      `warning: ${file}:5: not a decision log entry (skipped)`,
      `warning: ${file}:6: not a decision log entry (skipped)`,
    ]);
  });

  test('values with control characters are printed escaped, in lines and in --json', async () => {
    const file = join(dir, 'hostile.jsonl');
    const entry = {
      time: '2026-11-22T10:00:00.000Z',
      subject: 'mal\x1b]0;owned\x07lory\u202e',
      resource: 'doc\x9b2J',
      action: 'read\r',
      result: 'deny',
      reason: 'no-matching-rule',
      cache: 'miss',
      policyVersion: 0,
      callId: 'c\u2028fake line',
      rule: { sub: { toString: 'x' }, obj: 'doc', act: 'read', eft: 'deny' },
    };
    await writeFile(file, `${JSON.stringify(entry)}\n`);
    for (const args of [[], ['--json']]) {
      const r = await run(['log', 'query', file, ...args]);
      assert.equal(r.code, 0, r.err);
      assert.equal(lines(r.out).length, 1);
      assert.doesNotMatch(r.out.slice(0, -1), ACTIVE);
    }
    const human = await run(['log', 'query', file]);
    assert.match(human.out, /mal\\x1b\]0;owned\\x07lory\\u202e → read\\x0d on doc\\x9b2J/);
  });

  test('a missing file or a folder cannot be read: exit 2 naming it', async () => {
    const missing = await run(['log', 'query', join(dir, 'nope.jsonl')]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /^error: FILE: no decision log at ".*nope\.jsonl"\n$/);
    const folder = await run(['log', 'query', dir]);
    assert.equal(folder.code, 2);
    assert.match(folder.err, /is not a file/);
  });

  test('--since and --until need a time zone, and --result is allow or deny: exit 2', async () => {
    const noZone = await run(['log', 'query', plain, '--since', '2026-11-22T12:00:00']);
    assert.equal(noZone.code, 2);
    assert.match(noZone.err, /^error: --since: "2026-11-22T12:00:00" has no time zone/);
    const dateOnly = await run(['log', 'query', plain, '--until', '2026-11-22']);
    assert.equal(dateOnly.code, 2);
    assert.match(dateOnly.err, /^error: --until: /);
    const result = await run(['log', 'query', plain, '--result', 'maybe']);
    assert.equal(result.code, 2);
    assert.match(result.err, /--result/);
  });
});
