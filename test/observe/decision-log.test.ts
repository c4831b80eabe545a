import assert from 'node:assert/strict';
import { mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type CreateAuthorizerOptions, createAuthorizer } from '../../src/authorizer.js';
import { manualClock } from '../../src/clock.js';
import { createEngine } from '../../src/engine/authorizer.js';
import { type ConfigError, isConfigError, isDecisionError } from '../../src/errors.js';
import type { Provenance } from '../../src/grants.js';
import {
  createDecisionLog,
  type DecisionLogEntry,
  type DecisionLogOptions,
} from '../../src/observe/decision-log.js';
import { hashSubject } from '../../src/observe/subject-mask.js';
import { isoTime } from '../../src/policy/time.js';
import { type Policy, ruleKey } from '../../src/policy/types.js';
import { exampleWorkspace } from '../cli/workspace.js';
import { adminRead, docPolicy, rule } from '../helpers/policy.js';

const T = '2026-11-22T10:00:00.000Z';
const policy = docPolicy;
const zoomGrant: Provenance = {
  vendor: 'zoom',
  kind: 'privilege',
  holder: 'role:1',
  raw: 'Document:Read',
  mapping: { file: 'mappings/zoom.yaml', line: 9, column: 5 },
  source: 'zoom/roles.json',
};
const provenance = new Map([[ruleKey(adminRead), [zoomGrant]]]);

/** An authorizer over `policy` at T whose log entries land in the returned list. */
async function logged(
  log: Omit<DecisionLogOptions, 'onDecision'> = {},
  extra: Partial<CreateAuthorizerOptions> = {},
) {
  const entries: DecisionLogEntry[] = [];
  const errors: unknown[] = [];
  const authz = await createAuthorizer({
    config: 'rbac.config.yaml',
    policies: policy,
    provenance,
    clock: manualClock(T),
    onError: (e) => errors.push(e),
    decisionLog: { onDecision: (e) => entries.push(e), ...log },
    ...extra,
  });
  return { authz, entries, errors };
}

/** Draws from a fixed list, in order. */
const draws = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe('decision log entries', () => {
  test('an allow carries the deciding rule, the role path, the vendor grant, a cache miss and the policy version', async () => {
    const { authz, entries } = await logged();
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(entries.length, 1);
    const { durationUs, ...rest } = entries[0] as DecisionLogEntry;
    assert.ok(
      durationUs !== undefined && durationUs >= 0 && Number.isFinite(durationUs),
      'the first call is timed',
    );
    assert.deepEqual(rest, {
      time: T,
      subject: 'alice',
      resource: 'doc',
      action: 'read',
      result: 'allow',
      reason: 'allowed',
      cache: 'miss',
      policyVersion: 0,
      rule: { sub: 'role:admin', obj: 'doc', act: 'read', eft: 'allow', from: '', until: '' },
      via: ['alice', 'role:admin'],
      grants: [
        {
          vendor: 'zoom',
          kind: 'privilege',
          holder: 'role:1',
          raw: 'Document:Read',
          mapping: 'mappings/zoom.yaml:9',
          source: 'zoom/roles.json',
        },
      ],
    });
  });

  test('the same call again is logged as a cache hit with the same rule', async () => {
    const { authz, entries } = await logged();
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('alice', 'doc', 'read');
    assert.deepEqual(
      entries.map((e) => [e.cache, e.rule?.sub]),
      [
        ['miss', 'role:admin'],
        ['hit', 'role:admin'],
      ],
    );
  });

  test('a deny by a deny rule names that rule; a default deny has no rule', async () => {
    const { authz, entries } = await logged();
    assert.equal(authz.enforce('bob', 'doc', 'read'), false);
    assert.equal(authz.enforceStrict('dave', 'doc', 'read'), false);
    const [byRule, byDefault] = entries;
    assert.equal(byRule?.result, 'deny');
    assert.equal(byRule?.reason, 'denied-by-rule');
    assert.deepEqual(byRule?.rule, { sub: 'bob', obj: 'doc', act: 'read', eft: 'deny', from: '', until: '' });
    assert.deepEqual(byRule?.via, ['bob']);
    assert.deepEqual(byRule?.grants, []);
    assert.equal(byDefault?.result, 'deny');
    assert.equal(byDefault?.reason, 'no-matching-rule');
    assert.equal('rule' in (byDefault as object), false);
    assert.equal('via' in (byDefault as object), false);
  });

  test('a refusal logs the reason and the engine message, strings only, never the objects passed', async () => {
    const { authz, entries } = await logged();
    const hostile = { toString: () => 'token-from-toString', secret: 'token-in-object' };
    assert.equal(authz.enforce(hostile as unknown as string, 'doc', 'read', { callId: 'c-9' }), false);
    assert.deepEqual(
      { ...entries[0], durationUs: 0 },
      {
        time: T,
        subject: null,
        resource: 'doc',
        action: 'read',
        result: 'deny',
        reason: 'invalid-request',
        cache: 'miss',
        policyVersion: 0,
        durationUs: 0,
        callId: 'c-9',
        error: 'user, resource and action must be strings',
      },
    );
    assert.doesNotMatch(JSON.stringify(entries), /token/);
  });

  test("an error that is not the engine's own is logged without its message", async () => {
    let fail = false;
    const clock = {
      now: () => {
        if (fail) throw new Error('clock down: password=hunter2');
        return Date.parse(T);
      },
    };
    const { authz, entries, errors } = await logged({}, { clock, cache: false });
    fail = true;
    assert.equal(authz.enforce('alice', 'doc', 'read'), false);
    assert.throws(() => authz.enforceStrict('alice', 'doc', 'read'));
    assert.deepEqual(
      entries.map((e) => [e.reason, e.subject]),
      [
        ['error', 'alice'],
        ['error', 'alice'],
      ],
    );
    assert.match(entries[0]?.error ?? '', /unexpected error/);
    assert.doesNotMatch(JSON.stringify(entries), /hunter2/);
    assert.equal(errors.length, 1, 'enforce passes the error itself to onError');
  });

  test('the policy version is the one the engine holds', async () => {
    const entries: DecisionLogEntry[] = [];
    const log = await createDecisionLog({ onDecision: (e) => entries.push(e) });
    const authz = await createEngine(
      { policies: policy },
      { observers: [log.observe], policyVersion: () => 7 },
    );
    authz.enforce('carol', 'doc', 'read');
    assert.equal(entries[0]?.policyVersion, 7);
  });

  test('the call id given to enforce() and enforceStrict() is in the entry', async () => {
    const { authz, entries } = await logged();
    authz.enforce('alice', 'doc', 'read', { callId: 'req-1' });
    authz.enforceStrict('bob', 'doc', 'read', { callId: 'req-2' });
    authz.enforce('carol', 'doc', 'read');
    assert.deepEqual(
      entries.map((e) => e.callId),
      ['req-1', 'req-2', undefined],
    );
  });
});

describe('decision log sampling and filters', () => {
  test('sample 0 logs nothing and sample 1 logs every decision', async () => {
    const none = await logged({ sample: 0 });
    const all = await logged({ sample: 1 });
    for (const { authz } of [none, all]) {
      for (const who of ['alice', 'bob', 'carol', 'dave']) authz.enforce(who, 'doc', 'read');
      authz.enforce(1 as unknown as string, 'doc', 'read');
    }
    assert.equal(none.entries.length, 0);
    assert.equal(all.entries.length, 5);
  });

  test('the log logs the calls its draws select: gaps of 1 + floor(ln(1 - u) / ln(1 - sample))', async () => {
    // sample 0.5: u = 0.5 skips one call, u = 0 skips none, u = 0.75 skips two.
    const { authz, entries } = await logged({ sample: 0.5, random: draws([0.5, 0, 0.75, 0.5]) });
    const users = ['u0', 'alice', 'bob', 'u3', 'u4', 'carol', 'u6', 'dave'];
    for (const u of users) authz.enforce(u, 'doc', 'read');
    assert.deepEqual(
      entries.map((e) => e.subject),
      ['alice', 'bob', 'carol', 'dave'],
    );
  });

  test('sample 0.01 logs about one decision in a hundred', async () => {
    const { authz, entries } = await logged({ sample: 0.01 });
    for (let i = 0; i < 50_000; i++) authz.enforce(i % 2 ? 'alice' : 'dave', 'doc', 'read');
    // Binomial: 500 ± 22 (sd); these bounds are over 6 sd away.
    assert.ok(entries.length > 360 && entries.length < 640, `${entries.length} of 50000`);
  });

  test("filter 'deny' logs denies and refusals, 'allow' only allows", async () => {
    const deny = await logged({ filter: 'deny' });
    const allow = await logged({ filter: 'allow' });
    for (const { authz } of [deny, allow]) {
      for (const who of ['alice', 'bob', 'carol', 'dave']) authz.enforce(who, 'doc', 'read');
      authz.enforce('carol', 'doc', 7 as unknown as string);
    }
    assert.deepEqual(
      deny.entries.map((e) => [e.subject, e.reason]),
      [
        ['bob', 'denied-by-rule'],
        ['dave', 'no-matching-rule'],
        ['carol', 'invalid-request'],
      ],
    );
    assert.deepEqual(
      allow.entries.map((e) => e.subject),
      ['alice', 'carol'],
    );
  });

  test('a filter function sees the whole entry and keeps what it returns true for', async () => {
    const { authz, entries } = await logged({ filter: (e) => e.via?.includes('role:admin') === true });
    for (const who of ['alice', 'bob', 'carol', 'dave']) authz.enforce(who, 'doc', 'read');
    assert.deepEqual(
      entries.map((e) => e.subject),
      ['alice'],
    );
  });

  test("masking 'hash' replaces the subject wherever it appears; log query finds it by the same hash", async () => {
    const { authz, entries } = await logged({ maskSubject: 'hash' });
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('carol', 'doc', 'read');
    const [alice, carol] = entries;
    assert.equal(alice?.subject, hashSubject('alice'));
    assert.match(alice?.subject ?? '', /^sha256:[0-9a-f]{16}$/);
    assert.deepEqual(alice?.via, [hashSubject('alice'), 'role:admin']);
    assert.equal(carol?.rule?.sub, hashSubject('carol'), 'a rule of the subject itself is masked too');
    assert.doesNotMatch(JSON.stringify(entries), /alice|carol/);
  });

  test('a masking function is applied to the subject', async () => {
    const { authz, entries } = await logged({ maskSubject: (s) => `user-${s.length}` });
    authz.enforce('alice', 'doc', 'read');
    authz.enforce({} as unknown as string, 'doc', 'read');
    assert.deepEqual(
      entries.map((e) => [e.subject, e.via]),
      [
        ['user-5', ['user-5', 'role:admin']],
        [null, undefined],
      ],
    );
  });

  test('a rule of one user reached by another is shown as it is to the other, and masked to its own user, in either order', async () => {
    // Delegation: bob holds alice's permissions. The mask keeps the domain only (two users, one mask).
    const p: Policy = {
      rules: [rule('alice@acme', 'doc', 'read')],
      links: [{ member: 'bob@acme', role: 'alice@acme' }],
    };
    for (const order of [
      ['bob@acme', 'alice@acme'],
      ['alice@acme', 'bob@acme'],
    ]) {
      const { authz, entries } = await logged(
        { maskSubject: (s) => s.replace(/^[^@]*/, '*') },
        { policies: p },
      );
      for (const user of order) authz.enforce(user, 'doc', 'read');
      const shown = Object.fromEntries(order.map((u, i) => [u, entries[i]?.rule?.sub]));
      // As explain() and the log before the memo showed it: only the requester's own id is masked.
      assert.deepEqual(shown, { 'alice@acme': '*@acme', 'bob@acme': 'alice@acme' }, order.join(' then '));
    }
  });

  test('a throwing hook or filter never changes a decision, and its error goes to onError', async () => {
    const boom = new Error('hook down');
    for (const log of [
      {
        onDecision: () => {
          throw boom;
        },
      },
      {
        onDecision: () => {},
        filter: () => {
          throw boom;
        },
      },
    ]) {
      const errors: unknown[] = [];
      const authz = await createAuthorizer({
        config: 'rbac.config.yaml',
        policies: policy,
        onError: (e) => errors.push(e),
        decisionLog: log,
      });
      assert.equal(authz.enforce('alice', 'doc', 'read'), true);
      assert.equal(authz.enforceStrict('alice', 'doc', 'read'), true);
      assert.equal(authz.enforce('bob', 'doc', 'read'), false);
      assert.throws(() => authz.enforceStrict(3 as unknown as string, 'doc', 'read'), isDecisionError);
      assert.equal(errors.filter((e) => e === boom).length, 4);
    }
  });
  test('when the log, its masking function and onError all throw, every decision still stands', async () => {
    let told = 0;
    const authz = await createAuthorizer({
      config: 'rbac.config.yaml',
      policies: policy,
      onError: () => {
        told++;
        throw new Error('onError down');
      },
      decisionLog: {
        destination: {
          write: () => {
            throw new Error('stream down');
          },
        },
        maskSubject: (s) => {
          if (s === 'alice') throw new Error('mask down');
          return s;
        },
      },
    });
    for (let i = 0; i < 2500; i++) {
      assert.equal(authz.enforce('alice', 'doc', 'read'), true);
      assert.equal(authz.enforce('bob', 'doc', 'read'), false);
      assert.equal(authz.enforce(3 as never, 'doc', 'read'), false);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await authz.close();
    assert.ok(told > 0, 'onError was told');
  });

  test('a random source that throws neither stops the authorizer from being made nor the log from logging', async () => {
    const { authz, entries } = await logged({
      sample: 0.5,
      random: () => {
        throw new Error('no entropy');
      },
    });
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(authz.enforce('bob', 'doc', 'read'), false);
    // As a draw outside [0, 1): the next call is drawn (over-reported rather than silently lost).
    assert.deepEqual(
      entries.map((e) => e.subject),
      ['alice', 'bob'],
    );
  });
});

describe('decision log destinations', () => {
  /**
   * An engine over the doc policy at T whose log, with `options`, writes to a stream; `written()`
   * parses what the stream was handed so far, a line at a time.
   */
  async function streamed(
    options: Omit<DecisionLogOptions, 'destination'> = {},
    engine: { provenance?: typeof provenance; onError?: (e: unknown) => void } = {},
  ) {
    const texts: string[] = [];
    const log = await createDecisionLog(
      { ...options, destination: { write: (t: string) => texts.push(t) } },
      engine.onError,
    );
    const authz = await createEngine(
      { policies: policy, clock: manualClock(T), ...engine },
      { observers: [log.observe] },
    );
    const written = () =>
      texts
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as DecisionLogEntry);
    return { authz, log, written };
  }

  test('with only a stream, lines wait for the next turn yet name the rule and grants that decided, even when the policy changes first', async () => {
    const errors: unknown[] = [];
    const { authz, log, written } = await streamed(
      {
        maskSubject: (u) => {
          if (u === 'mallory') throw new Error('mask failed');
          return u;
        },
      },
      { provenance, onError: (e) => errors.push(e) },
    );
    authz.enforce('alice', 'doc', 'read', { callId: 'before' });
    authz.enforce('mallory', 'doc', 'read');
    assert.equal(written().length, 0, 'not written yet: they wait for the next turn');
    // Revoked in the same turn: the waiting line is written first, with the rule that decided.
    authz.applyChanges({ removeRules: [adminRead], removeLinks: [{ member: 'alice', role: 'role:admin' }] });
    authz.enforce('alice', 'doc', 'read', { callId: 'after' });
    authz.enforce(5 as unknown as string, 'doc', 'read', { callId: 'refused' });
    authz.enforce('carol', 'doc', 'read', { callId: 'last' });
    await new Promise((resolve) => setImmediate(resolve));
    await log.close();
    assert.deepEqual(
      written().map((e) => [
        e.callId,
        e.result,
        e.rule?.sub ?? null,
        e.via ?? null,
        e.grants?.[0]?.raw ?? null,
      ]),
      [
        ['before', 'allow', 'role:admin', ['alice', 'role:admin'], 'Document:Read'],
        ['after', 'deny', null, null, null],
        ['refused', 'deny', null, null, null],
        ['last', 'allow', 'carol', ['carol'], null],
      ],
      "in order; mallory's entry is lost to its failing mask, and only it",
    );
    assert.deepEqual(
      errors.map((e) => (e as Error).message),
      ['mask failed', 'user, resource and action must be strings'],
      "the mask failed when the waiting lines were written, before the change; the refusal is enforce()'s own",
    );
  });

  test('with only a stream, the lines are handed on by the next turn, as with a hook', async () => {
    const { authz, log, written } = await streamed();
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('bob', 'doc', 'read');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      written().map((e) => e.result),
      ['allow', 'deny'],
    );
    await log.close();
  });

  test('a masking function that decides while lines are written loses, repeats and garbles no line', async () => {
    let deciding: ((u: string) => void) | undefined;
    const { authz, log, written } = await streamed({
      // Deciding while the waiting lines are written: a logged decision, then a refusal, which
      // writes what waits before its own line.
      maskSubject: (s) => {
        if (s.startsWith('alice')) deciding?.(s);
        return s;
      },
    });
    deciding = () => {
      authz.enforce('carol', 'doc', 'read');
      authz.enforce(42 as never, 'doc', 'read');
    };
    for (let i = 0; i < 100; i++) {
      authz.enforce(`alice-${i}`, 'doc', 'read');
      authz.enforce(`dave-${i}`, 'doc', 'read');
    }
    await new Promise((resolve) => setImmediate(resolve));
    await log.close();
    const subjects = written().map((e) => e.subject);
    const count = (p: (x: string | null) => boolean) => subjects.filter(p).length;
    assert.equal(new Set(subjects.filter((x) => x !== 'carol' && x !== null)).size, 200);
    assert.equal(
      count((x) => x?.startsWith('alice') === true),
      100,
    );
    assert.equal(
      count((x) => x?.startsWith('dave') === true),
      100,
    );
    assert.equal(
      count((x) => x === 'carol'),
      100,
    );
    assert.equal(
      count((x) => x === null),
      100,
      'the refusals',
    );
  });

  test('with only a stream, close() writes the decisions still waiting', async () => {
    const { authz, log, written } = await streamed();
    for (let i = 0; i < 3000; i++) authz.enforce('alice', 'doc', 'read');
    await log.close();
    assert.equal(written().length, 3000);
  });

  test('a file holds every entry exactly, in order, across many chunks: multi-byte text and a line longer than a chunk too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-dlog-'));
    const file = join(dir, 'decisions.jsonl');
    const { authz, entries } = await logged({ destination: file });
    const huge = `doc/${'ü😀"\\'.repeat(20_000)}`;
    // Enough to fill the chunk many times over: a chunk handed on twice, or refilled before it was
    // handed on, would garble or lose lines.
    for (let i = 0; i < 20_000; i++) {
      authz.enforce(i % 3 ? `ünï ${i} 😀` : 'alice', i === 1000 ? huge : 'doc', 'read', { callId: `c${i}` });
      // Between turns now and then, as a server lets the log's chunks go out.
      if (i % 200 === 0 || i < 50) await new Promise((resolve) => setImmediate(resolve));
    }
    await authz.close();
    const text = await readFile(file, 'utf8');
    assert.ok(text.length > 100_000, 'longer than a chunk of 64 KiB');
    assert.deepEqual(
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      JSON.parse(JSON.stringify(entries)),
    );
  });

  test('a file destination (its folder made) holds one JSON line per decision once close() returns', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-dlog-'));
    const file = join(dir, 'logs', 'decisions.jsonl');
    const { authz } = await logged({ destination: file });
    for (let i = 0; i < 300; i++) authz.enforce(i % 2 ? 'alice' : 'dave', 'doc', 'read', { callId: `c${i}` });
    await authz.close();
    const lines = (await readFile(file, 'utf8')).split('\n');
    assert.equal(lines.pop(), '', 'the file ends with a line break');
    assert.equal(lines.length, 300);
    const parsed = lines.map((l) => JSON.parse(l) as DecisionLogEntry);
    assert.deepEqual(
      parsed.slice(0, 2).map((e) => [e.subject, e.result, e.callId]),
      [
        ['dave', 'deny', 'c0'],
        ['alice', 'allow', 'c1'],
      ],
    );
    assert.equal(parsed[299]?.callId, 'c299');
  });

  test('a file that cannot be written (a full disk) loses lines, never a decision, and the failure goes to onError', async () => {
    const errors: unknown[] = [];
    const authz = await createAuthorizer({
      policies: policy,
      provenance,
      clock: manualClock(T),
      onError: (e) => errors.push(e),
      decisionLog: { destination: '/dev/full' },
    });
    for (let i = 0; i < 3000; i++) {
      assert.equal(authz.enforce('alice', 'doc', 'read'), true);
      assert.equal(authz.enforce('dave', 'doc', 'read'), false);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await authz.close();
    assert.ok(errors.length > 0, 'the failed writes were reported');
    for (const e of errors) assert.equal((e as { code?: unknown }).code, 'ENOSPC');
  });

  test('a file truncated under the log (logrotate copytruncate) gets the next lines from its start, with no hole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-dlog-'));
    const file = join(dir, 'decisions.jsonl');
    const authz = await createAuthorizer({
      policies: policy,
      clock: manualClock(T),
      decisionLog: { destination: file },
    });
    for (let i = 0; i < 50; i++) authz.enforce('alice', 'doc', 'read', { callId: `before${i}` });
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok((await readFile(file, 'utf8')).includes('before49'));
    await truncate(file, 0);
    for (let i = 0; i < 3; i++) authz.enforce('alice', 'doc', 'read', { callId: `after${i}` });
    await authz.close();
    const text = await readFile(file, 'utf8');
    assert.deepEqual(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as DecisionLogEntry).callId),
      ['after0', 'after1', 'after2'],
    );
  });

  test('a file is appended to, not replaced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-dlog-'));
    const file = join(dir, 'decisions.jsonl');
    await writeFile(file, '{"earlier":true}\n');
    const { authz } = await logged({ destination: file });
    authz.enforce('alice', 'doc', 'read');
    await authz.close();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(lines[0], '{"earlier":true}');
  });

  test('a stream destination receives the lines (by the next turn, or at close) and is left open', async () => {
    let text = '';
    let ended = false;
    const stream = {
      write: (s: string) => {
        text += s;
        return true;
      },
      end: () => {
        ended = true;
      },
    };
    const { authz } = await logged({ destination: stream });
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('bob', 'doc', 'read');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as DecisionLogEntry).result),
      ['allow', 'deny'],
    );
    authz.enforce('carol', 'doc', 'read');
    await authz.close();
    assert.equal(text.trim().split('\n').length, 3);
    assert.equal(ended, false);
  });

  test('a file that cannot be opened is a ConfigError at construction', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-dlog-'));
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, '');
    await assert.rejects(
      logged({ destination: join(blocker, 'decisions.jsonl') }),
      (e: unknown) => isConfigError(e) && e.key === 'decisionLog.destination',
    );
  });

  test('invalid options are refused before anything is loaded, naming the option', async () => {
    const cases: [unknown, string][] = [
      [{}, 'decisionLog'],
      [{ destination: '' }, 'decisionLog.destination'],
      [{ destination: 42 }, 'decisionLog.destination'],
      [{ onDecision: 'log' }, 'decisionLog.onDecision'],
      [{ onDecision: () => {}, sample: 1.5 }, 'decisionLog.sample'],
      [{ onDecision: () => {}, sample: Number.NaN }, 'decisionLog.sample'],
      [{ onDecision: () => {}, sample: '0.1' }, 'decisionLog.sample'],
      [{ onDecision: () => {}, filter: 'denies' }, 'decisionLog.filter'],
      [{ onDecision: () => {}, maskSubject: 'sha1' }, 'decisionLog.maskSubject'],
      [{ onDecision: () => {}, random: 0.5 }, 'decisionLog.random'],
    ];
    for (const [decisionLog, key] of cases) {
      await assert.rejects(
        createAuthorizer({ config: 'no-such-config.yaml', decisionLog: decisionLog as DecisionLogOptions }),
        (e: unknown) => isConfigError(e) && (e as ConfigError).key === key,
        `${JSON.stringify(decisionLog)} → ${key}`,
      );
    }
  });
});

describe('decision log secrets', () => {
  test('vendor secrets from the config and the environment, and secrets in errors and inputs, never reach the log', async () => {
    const secrets = {
      zoom: 'zoom-secret-7f3a9c',
      vonage: 'vonage-secret-from-env-41d2',
      tuya: 'tuya-secret-c0ffee',
      clock: 'bearer eyJhbGciOiJIUzI1NiJ9.clock',
      input: 'session-cookie-5a5a5a',
    };
    process.env['RBAC_TEST_DLOG_VONAGE_SECRET'] = secrets.vonage;
    const { dir, config } = await exampleWorkspace();
    await writeFile(
      config,
      `${await readFile(config, 'utf8')}vendors:
  zoom: { baseUrl: "http://127.0.0.1:9/zoom/v2", tokenUrl: "http://127.0.0.1:9/zoom/oauth/token", accountId: acct, clientId: zc, clientSecret: ${secrets.zoom} }
  vonage: { baseUrl: "http://127.0.0.1:9/vonage", tokenUrl: "http://127.0.0.1:9/vonage/token", clientId: vc, clientSecret: "\${RBAC_TEST_DLOG_VONAGE_SECRET}" }
  tuya: { baseUrl: "http://127.0.0.1:9/tuya", clientId: tc, clientSecret: ${secrets.tuya} }
`,
    );
    const file = join(dir, 'decisions.jsonl');
    let failing = false;
    const clock = {
      now: () => {
        if (failing) throw new Error(`token refresh failed: ${secrets.clock}`);
        return Date.parse('2026-11-22T12:00:00Z');
      },
    };
    const authz = await createAuthorizer({ config, clock, cache: false, decisionLog: { destination: file } });
    try {
      assert.equal(authz.enforce('alice', 'zoom:recording', 'edit', { callId: 'a' }), true);
      authz.enforce('bob', 'tuya:permission:232371810', 'use');
      authz.enforce('nobody', 'zoom:recording', 'edit');
      const hostile = { toString: () => secrets.input, token: secrets.input };
      authz.enforce(hostile as unknown as string, 'zoom:recording', 'edit');
      authz.enforce('alice', hostile as unknown as string, 'edit');
      failing = true;
      authz.enforce('alice', 'zoom:recording', 'edit');
      assert.throws(() => authz.enforceStrict('alice', 'zoom:recording', 'edit'));
    } finally {
      await authz.close();
      delete process.env['RBAC_TEST_DLOG_VONAGE_SECRET'];
    }
    const text = await readFile(file, 'utf8');
    const entries = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DecisionLogEntry);
    assert.equal(entries.length, 7);
    assert.match(entries[0]?.grants?.[0]?.mapping ?? '', /zoom\.yaml:\d+$/, 'the provenance is there');
    assert.deepEqual(
      entries.map((e) => e.reason),
      ['allowed', 'allowed', 'no-matching-rule', 'invalid-request', 'invalid-request', 'error', 'error'],
    );
    for (const [name, secret] of Object.entries(secrets))
      assert.equal(text.includes(secret), false, `the ${name} secret is not in the log`);
  });
});

describe('decision log: what the entries name of a rule', () => {
  /** An engine at `clock` whose grant lookups are counted, logging every decision to lines and entries. */
  async function counted(p: Policy, clock: ReturnType<typeof manualClock>, cache = false) {
    const entries: DecisionLogEntry[] = [];
    const lines: string[] = [];
    const log = await createDecisionLog({
      destination: { write: (s: string) => lines.push(...s.trim().split('\n')) },
      onDecision: (e) => entries.push(e),
    });
    let looked = 0;
    const authz = await createEngine(
      { policies: p, provenance, clock, cache: cache ? { ttl: 0 } : false },
      {
        observers: [
          (host) =>
            log.observe({
              ...host,
              grantsOf: (r) => {
                looked++;
                return host.grantsOf(r);
              },
            }),
        ],
      },
    );
    const flush = async () => {
      await log.close();
      return lines.map((l) => JSON.parse(l) as DecisionLogEntry);
    };
    return { authz, entries, flush, looked: () => looked };
  }

  test('a rule is looked up once for every request it decides, and every line equals its entry', async () => {
    const p: Policy = { ...policy, links: [...policy.links, { member: 'erin', role: 'role:admin' }] };
    const { authz, entries, flush, looked } = await counted(p, manualClock(T), true);
    for (let i = 0; i < 3; i++) authz.enforce('alice', 'doc', 'read', { callId: `c${i}` });
    authz.enforce('erin', 'doc', 'read', { callId: 'c3' });
    assert.equal(looked(), 1, "the role's rule, for both members, decided and cached");
    assert.deepEqual(
      entries.map((e) => [e.rule?.sub, e.via, e.grants?.[0]?.raw, e.callId, e.cache]),
      [
        ['role:admin', ['alice', 'role:admin'], 'Document:Read', 'c0', 'miss'],
        ['role:admin', ['alice', 'role:admin'], 'Document:Read', 'c1', 'hit'],
        ['role:admin', ['alice', 'role:admin'], 'Document:Read', 'c2', 'hit'],
        ['role:admin', ['erin', 'role:admin'], 'Document:Read', 'c3', 'miss'],
      ],
    );
    assert.deepEqual(await flush(), JSON.parse(JSON.stringify(entries)));
  });

  test('requests whose parts join to the same text are never taken for each other', async () => {
    const p: Policy = {
      rules: [rule('a', 'b\u0000c', 'read'), rule('a\u0000b', 'c', 'read')],
      links: [],
    };
    const { authz, entries } = await counted(p, manualClock(T), true);
    assert.equal(authz.enforce('a', 'b\u0000c', 'read'), true);
    assert.equal(authz.enforce('a\u0000b', 'c', 'read'), true);
    assert.equal(authz.enforce('ab', '\u0000c', 'read'), false);
    assert.deepEqual(
      entries.map((e) => [e.subject, e.rule?.sub ?? null, e.rule?.obj ?? null]),
      [
        ['a', 'a', 'b\u0000c'],
        ['a\u0000b', 'a\u0000b', 'c'],
        ['ab', null, null],
      ],
    );
  });

  test('a policy change is looked up anew: a revoked rule never appears in a later entry', async () => {
    const { authz, entries, looked } = await counted(policy, manualClock(T), true);
    authz.enforce('alice', 'doc', 'read');
    authz.applyChanges({ removeLinks: [{ member: 'alice', role: 'role:admin' }] });
    authz.applyChanges({ addRules: [rule('alice', 'doc', 'read')] });
    authz.enforce('alice', 'doc', 'read');
    assert.equal(looked(), 2);
    assert.deepEqual(entries[1]?.via, ['alice']);
    assert.equal(entries[1]?.rule?.sub, 'alice');
  });

  test("a provenance change is looked up anew: the entry names the rule's grants now", async () => {
    const { authz, entries, looked } = await counted(policy, manualClock(T), true);
    authz.enforce('alice', 'doc', 'read');
    const moved: Provenance = { ...zoomGrant, raw: 'Document:Edit' };
    authz.applyChanges({ provenance: new Map([[ruleKey(adminRead), [moved]]]) });
    authz.enforce('alice', 'doc', 'read');
    assert.equal(looked(), 2);
    assert.deepEqual(
      entries.map((e) => e.grants?.[0]?.raw),
      ['Document:Read', 'Document:Edit'],
    );
  });

  test('the entry names the rule that decides at the time of the call, cached or not', async () => {
    const short = rule('dave', 'doc', 'read', { until: Date.parse('2026-11-22T11:00:00Z') });
    const long = rule('role:admin', 'doc', 'read', { from: Date.parse('2026-11-22T10:45:00Z') });
    const p: Policy = { rules: [short, long], links: [{ member: 'dave', role: 'role:admin' }] };
    for (const cache of [false, true]) {
      const clock = manualClock(T);
      const { authz, entries } = await counted(p, clock, cache);
      for (const t of [T, '2026-11-22T10:30:00Z', '2026-11-22T10:50:00Z', '2026-11-22T11:00:00Z']) {
        clock.set(t);
        authz.enforce('dave', 'doc', 'read');
      }
      // From 10:45 both allow; the one that holds longer is named, as explain() names it.
      assert.deepEqual(
        entries.map((e) => e.rule?.sub),
        ['dave', 'dave', 'role:admin', 'role:admin'],
        cache ? 'cached' : 'uncached',
      );
      assert.deepEqual(
        entries.map((e) => e.cache),
        // 10:30 is inside the first decision's validity (until the admin rule starts at 10:45).
        cache ? ['miss', 'hit', 'miss', 'miss'] : ['miss', 'miss', 'miss', 'miss'],
      );
    }
  });
});

test('the time of an entry is written exactly as toISOString() writes it', () => {
  fc.assert(
    fc.property(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }), (t) => {
      assert.equal(isoTime(t), new Date(t).toISOString());
      assert.equal(isoTime(t + 1), new Date(t + 1).toISOString());
    }),
    { numRuns: 2000 },
  );
  for (const t of [0, -1, 999, 1000, -1000, -1001, 1.5, 8.64e15, -8.64e15])
    assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
});
