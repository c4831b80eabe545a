import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { NormalizedGrant, Provenance } from '../../src/grants.js';
import { parseMapping } from '../../src/mapping/load.js';
import { translate } from '../../src/mapping/translate.js';
import { compilePolicy, type LinkInput } from '../../src/policy/compile.js';
import { diffPolicies } from '../../src/policy/diff.js';
import {
  type ProvenanceIndex,
  readPolicy,
  readProvenance,
  scanPolicy,
  writePolicy,
} from '../../src/policy/store.js';
import { linkKey, type Policy, type PolicyRule, type RoleLink, ruleKey } from '../../src/policy/types.js';
import { HOSTILE_VALUES } from '../helpers/hostile.js';

/** What a sync does with a compiled policy: write it, read it back as the next sync will. */
async function roundTrip(dir: string, policy: Policy, provenance: ProvenanceIndex) {
  await writePolicy(dir, policy, provenance);
  const rules: PolicyRule[] = [];
  const links: RoleLink[] = [];
  await scanPolicy(dir, (e) => {
    if ('rule' in e) rules.push(e.rule);
    else links.push(e.link);
  });
  return { policy: await readPolicy(dir), scanned: { rules, links }, provenance: await readProvenance(dir) };
}

const noChanges = { addRules: [], removeRules: [], addLinks: [], removeLinks: [] };

/** Asserts that the policy read back is the compiled one, to the provenance of every rule and link. */
async function assertIdentity(dir: string, grants: NormalizedGrant[], links: LinkInput[]) {
  const compiled = compilePolicy(grants, links);
  // Compiling changes a string only by making it well formed.
  const canon = (s: string) => (s as unknown as { toWellFormed(): string }).toWellFormed();
  const expected = grants.map((g) =>
    ruleKey({
      sub: canon(g.subject),
      obj: canon(g.resource),
      act: canon(g.action),
      eft: g.effect,
      from: g.validFrom ?? Number.NEGATIVE_INFINITY,
      until: g.validUntil ?? Number.POSITIVE_INFINITY,
    }),
  );
  assert.deepEqual(new Set(compiled.policy.rules.map(ruleKey)), new Set(expected));
  const back = await roundTrip(dir, compiled.policy, compiled.provenance);
  assert.deepEqual(diffPolicies(back.policy, compiled.policy), noChanges, 'read back = compiled');
  assert.deepEqual(back.policy, compiled.policy);
  assert.deepEqual(back.scanned, compiled.policy, 'the streaming reader a sync uses agrees');
  const keys = [...compiled.policy.rules.map(ruleKey), ...compiled.policy.links.map(linkKey)];
  assert.deepEqual([...back.provenance.keys()], keys, 'every rule and link keeps its provenance key');
  for (const k of keys) assert.deepEqual(back.provenance.get(k), compiled.provenance.get(k));
  // The next sync compiles the same vendor data again: nothing to add or remove.
  const again = compilePolicy(grants, links);
  assert.deepEqual(diffPolicies(back.policy, again.policy), noChanges, 'a second compile changes nothing');
}

const provenanceOf = (raw: string, holder: string): Provenance => ({
  vendor: 'zoom',
  kind: 'privilege',
  holder,
  raw,
  mapping: { file: 'mappings/zoom.yaml', line: 9, column: 5 },
  source: `zoom/users/${holder}/permissions.json`,
});

describe('strings that a UTF-8 policy file cannot hold as they are', () => {
  test('a lone surrogate in a rule, a link or provenance reads back as compiled and is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-wellformed-'));
    const lone = 'x\uD800y';
    const grants: NormalizedGrant[] = [
      {
        subject: `alice${lone}`,
        resource: `zoom:${lone}`,
        action: `read\uDC00`,
        effect: 'allow',
        provenance: provenanceOf(`Rec${lone}:Read`, `u${lone}`),
      },
    ];
    const links: LinkInput[] = [
      { member: `alice${lone}`, role: `role:zoom:\uDBFF`, provenance: provenanceOf('m', 'u1') },
    ];
    await assertIdentity(dir, grants, links);
    const compiled = compilePolicy(grants, links);
    assert.deepEqual(compiled.policy.rules[0], {
      sub: 'alicex\uFFFDy',
      obj: 'zoom:x\uFFFDy',
      act: 'read\uFFFD',
      eft: 'allow',
      from: Number.NEGATIVE_INFINITY,
      until: Number.POSITIVE_INFINITY,
    });
    assert.deepEqual(
      compiled.repaired.map((p) => p.raw),
      ['Recx\uFFFDy:Read', 'm'],
    );
  });

  test('translate maps a vendor value with a lone surrogate in its canonical form and reports it', async () => {
    const mapping = await parseMapping(
      `vendor: zoom
rules:
  - kind: privilege
    when: { privilege: "{area}:{action}" }
    resource: "zoom:{area|lower}"
    actions: ["{action|lower}"]
`,
      'z.yaml',
    );
    const r = translate(
      [
        {
          vendor: 'zoom',
          kind: 'privilege',
          holder: { type: 'user', vendorUserId: 'u\uDC00' },
          fields: { privilege: 'Rec\uD83D:Edit' },
          raw: 'Rec\uD83D:Edit',
        },
      ],
      mapping,
      () => 'alice',
    );
    assert.deepEqual(
      r.grants.map((g) => [g.resource, g.action, g.provenance.raw, g.provenance.holder]),
      [['zoom:rec\uFFFD', 'edit', 'Rec\uFFFD:Edit', 'u\uFFFD']],
    );
    assert.deepEqual(r.repaired, [
      { vendor: 'zoom', holder: 'u\uFFFD', raw: 'Rec\uFFFD:Edit', parts: ['privilege', 'raw', 'holder'] },
    ]);
  });

  test('compile → write → read → diff is the identity for any string (property)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rbac-wellformed-'));
    // Any UTF-16 code units, plus a pool that hits the dangerous ones often: lone and paired
    // surrogates, control characters, CSV syntax, line breaks, edge spaces, a BOM, U+2028.
    const nasty = fc.constantFrom(
      '\uD800',
      '\uDFFF',
      '\uD83D\uDE00',
      '\u0000',
      '\u0001',
      '\u007F',
      '"',
      ',',
      ', ',
      '\n',
      '\r',
      '\r\n',
      ' ',
      '\t',
      '\uFEFF',
      '\u00A0',
      '\u2028',
      '#',
      'p',
      'a',
      ...HOSTILE_VALUES,
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 8 }),
      fc.string({ unit: nasty, maxLength: 6 }),
    );
    const time = fc.option(fc.integer({ min: Date.parse('1970-01-01'), max: Date.parse('2100-01-01') }), {
      nil: undefined,
    });
    const grant = fc
      .record({
        subject: text,
        resource: text,
        action: text,
        deny: fc.boolean(),
        from: time,
        until: time,
        raw: text,
        holder: text,
      })
      .map(({ subject, resource, action, deny, from, until, raw, holder }): NormalizedGrant => {
        const [lo, hi] =
          from !== undefined && until !== undefined && until < from ? [until, from] : [from, until];
        return {
          subject,
          resource,
          action,
          effect: deny ? 'deny' : 'allow',
          ...(lo !== undefined ? { validFrom: lo } : {}),
          ...(hi !== undefined ? { validUntil: hi } : {}),
          provenance: provenanceOf(raw, holder),
        };
      });
    const link = fc
      .tuple(text, text, text)
      .map(([member, role, raw]): LinkInput => ({ member, role, provenance: provenanceOf(raw, member) }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(grant, { maxLength: 6 }),
        fc.array(link, { maxLength: 3 }),
        async (grants, links) => assertIdentity(dir, grants, links),
      ),
      { numRuns: 100, seed: 2026 },
    );
  });
});
