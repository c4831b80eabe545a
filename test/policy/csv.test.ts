import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { casbin, createCasbinEnforcer } from '../../src/policy/casbin.js';
import { formatPolicyCsv, parsePolicyCsv } from '../../src/policy/csv.js';
import { MODEL_TEXT } from '../../src/policy/model.js';
import { readPolicy, writePolicy } from '../../src/policy/store.js';
import { formatNow } from '../../src/policy/time.js';
import type { Policy } from '../../src/policy/types.js';
import { HOSTILE_VALUES } from '../helpers/hostile.js';

const hostile = HOSTILE_VALUES;

test('round-trips subjects and resources with commas, quotes, spaces, newlines and unicode exactly', () => {
  const policy: Policy = {
    rules: hostile.map((v, i) => ({
      sub: v || 'x',
      obj: `obj${v}`,
      act: v || 'read',
      eft: i % 2 ? 'deny' : 'allow',
      from: i % 3 ? 0 : Number.NEGATIVE_INFINITY,
      until: Number.POSITIVE_INFINITY,
    })),
    links: hostile.filter(Boolean).map((v) => ({ member: v, role: `role:${v}` })),
  };
  const back = parsePolicyCsv(formatPolicyCsv(policy));
  assert.deepEqual(back, policy);
});

test('no value can add a rule or a column (property over arbitrary strings)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.string(), fc.string(), fc.string()), { minLength: 1, maxLength: 5 }),
      (rows) => {
        const policy: Policy = {
          rules: rows.map(([sub, obj, act]) => ({
            sub,
            obj,
            act,
            eft: 'allow' as const,
            from: Number.NEGATIVE_INFINITY,
            until: Number.POSITIVE_INFINITY,
          })),
          links: rows.map(([member, role]) => ({ member, role })),
        };
        const back = parsePolicyCsv(formatPolicyCsv(policy));
        assert.equal(back.rules.length, rows.length);
        assert.deepEqual(back, policy);
      },
    ),
    { numRuns: 300, seed: 42 },
  );
});

test('rejects malformed rows with the file and line', () => {
  assert.throws(() => parsePolicyCsv('# c\np, a, b\n', 'pol.csv'), /pol\.csv:2: a p rule has 7 fields/);
  assert.throws(() => parsePolicyCsv('p, a, b, c, maybe, , \n', 'pol.csv'), /effect must be allow or deny/);
  assert.throws(() => parsePolicyCsv('p, a, b, c, allow, yesterday, \n', 'pol.csv'), /ISO-8601/);
  assert.throws(() => parsePolicyCsv('p, "a, b, c, allow, , \n', 'pol.csv'), /unterminated/);
  assert.throws(() => parsePolicyCsv('x, a, b\n', 'pol.csv'), /unknown rule type/);
});

test('writes policy files atomically and leaves no temporary files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-store-'));
  const policy: Policy = {
    rules: [
      {
        sub: 'a',
        obj: 'o',
        act: 'read',
        eft: 'allow',
        from: Number.NEGATIVE_INFINITY,
        until: Number.POSITIVE_INFINITY,
      },
    ],
    links: [],
  };
  await writePolicy(dir, policy, new Map());
  await writePolicy(dir, policy, new Map());
  assert.deepEqual((await readdir(dir)).sort(), ['model.conf', 'policy.csv', 'provenance.jsonl']);
  assert.deepEqual(await readPolicy(dir), policy);
  assert.equal(await readFile(join(dir, 'model.conf'), 'utf8'), MODEL_TEXT);
});

test('the shipped policies/model.conf is the model the library compiles for', async () => {
  assert.equal(await readFile(new URL('../../policies/model.conf', import.meta.url), 'utf8'), MODEL_TEXT);
});

test("casbin's own FileAdapter loads a compiled policy (without embedded line breaks) to the same decisions", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-casbin-'));
  const policy: Policy = {
    rules: [
      {
        sub: 'role:zoom:1',
        obj: 'zoom:recording',
        act: 'read',
        eft: 'allow',
        from: Number.NEGATIVE_INFINITY,
        until: Number.POSITIVE_INFINITY,
      },
      {
        sub: 'bob',
        obj: 'tuya:permission:1',
        act: 'use',
        eft: 'allow',
        from: Date.parse('2026-11-01T00:00:00Z'),
        until: Date.parse('2026-12-01T00:00:00Z'),
      },
      {
        sub: 'bob',
        obj: 'zoom:recording',
        act: 'read',
        eft: 'deny',
        from: Number.NEGATIVE_INFINITY,
        until: Number.POSITIVE_INFINITY,
      },
    ],
    links: [
      { member: 'alice', role: 'role:zoom:1' },
      { member: 'bob', role: 'role:zoom:1' },
    ],
  };
  await writePolicy(dir, policy);
  const c = casbin();
  const plain = await c.newEnforcer(
    c.newModelFromString(MODEL_TEXT),
    new c.FileAdapter(join(dir, 'policy.csv'), {
      readFileSync: (p: string) => readFileSync(p),
      writeFileSync,
    } as never),
  );
  const ours = await createCasbinEnforcer(dir);
  for (const [sub, obj, act, at] of [
    ['alice', 'zoom:recording', 'read', '2026-11-22T00:00:00Z'],
    ['bob', 'zoom:recording', 'read', '2026-11-22T00:00:00Z'],
    ['bob', 'tuya:permission:1', 'use', '2026-11-22T00:00:00Z'],
    ['bob', 'tuya:permission:1', 'use', '2026-12-01T00:00:00Z'],
  ] as const) {
    const now = formatNow(Date.parse(at));
    assert.equal(
      plain.enforceSync(sub, obj, act, now),
      ours.enforceSync(sub, obj, act, now),
      `${sub} ${obj} ${act} ${at}`,
    );
  }
});
