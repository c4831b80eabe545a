import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PolicyError } from '../../src/errors.js';
import { formatPolicyCsv, parsePolicyCsv } from '../../src/policy/csv.js';
import { scanPolicy, writeFileAtomic } from '../../src/policy/store.js';
import type { Policy, PolicyRule, RoleLink } from '../../src/policy/types.js';
import { HOSTILE_VALUES } from '../helpers/hostile.js';

describe('policy store', () => {
  test('writes a sequence of pieces byte for byte, across buffer boundaries and with multi-byte text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-store-'));
    const file = join(dir, 'out.txt');
    const pieces = [
      'héllo ✓\n',
      'x'.repeat((1 << 20) - 3), // ends just short of the buffer, so the next piece spills over
      'ünïcødé\n',
      'y'.repeat((1 << 20) + 5), // larger than the buffer: written on its own
      ...Array.from({ length: 5000 }, (_, i) => `p, user${i}, zoom:área, read, allow\n`),
    ];
    await writeFileAtomic(file, pieces);
    assert.equal(await readFile(file, 'utf8'), pieces.join(''));
    assert.deepEqual(await readdir(dir), ['out.txt'], 'no temporary file left behind');
  });
});

describe('reading a policy as a stream', () => {
  const hostile = HOSTILE_VALUES.filter(Boolean);

  async function scanned(text: string) {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-scan-'));
    await writeFile(join(dir, 'policy.csv'), text);
    const rules: PolicyRule[] = [];
    const links: RoleLink[] = [];
    const exists = await scanPolicy(dir, (e) => {
      if ('rule' in e) rules.push(e.rule);
      else links.push(e.link);
    });
    return { exists, policy: { rules, links } };
  }

  test('scanPolicy gives exactly what parsePolicyCsv gives, quoted line breaks and CRs included', async () => {
    const policy: Policy = {
      rules: hostile.map((v, i) => ({
        sub: v,
        obj: `obj${v}`,
        act: 'read',
        eft: i % 2 ? 'deny' : 'allow',
        from: i % 3 ? 0 : Number.NEGATIVE_INFINITY,
        until: Number.POSITIVE_INFINITY,
      })),
      links: hostile.map((v) => ({ member: v, role: `role:${v}` })),
    };
    const text = formatPolicyCsv(policy);
    assert.deepEqual((await scanned(text)).policy, policy);
    assert.deepEqual(
      (await scanned(text.replaceAll('\n', '\r\n'))).policy,
      parsePolicyCsv(text.replaceAll('\n', '\r\n')),
    );
  });

  test('scanPolicy agrees with parsePolicyCsv on arbitrary values (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.string(), fc.string()), { minLength: 1, maxLength: 6 }),
        async (rows) => {
          const policy: Policy = {
            rules: rows.map(([sub, obj]) => ({
              sub,
              obj,
              act: 'read',
              eft: 'allow' as const,
              from: Number.NEGATIVE_INFINITY,
              until: Number.POSITIVE_INFINITY,
            })),
            links: rows.map(([member, role]) => ({ member, role })),
          };
          const text = formatPolicyCsv(policy);
          assert.deepEqual((await scanned(text)).policy, parsePolicyCsv(text));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('scanPolicy reports a bad row with its line, and an absent file as no policy', async () => {
    await assert.rejects(
      scanned('# header\np, a, b, read, allow, ,\n\np, "unterminated, x\n'),
      (err: unknown) => {
        assert.ok(err instanceof PolicyError);
        assert.equal(err.line, 4);
        return true;
      },
    );
    await assert.rejects(scanned('p, a, b\n'), /a p rule has 7 fields/);
    const empty = await mkdtemp(join(tmpdir(), 'rbac-scan-'));
    assert.equal(await scanPolicy(empty, () => assert.fail('no rows')), false);
  });
});
