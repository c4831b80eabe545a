import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { IdentitiesError, parseIdentities } from '../src/identities.js';

// What the YAML library itself reads (every value as the string the product keeps).
const reference = (text: string) =>
  new Map(
    Object.entries((parse(text) ?? {}) as Record<string, Record<string, unknown>>).map(([id, accounts]) => [
      id,
      Object.fromEntries(Object.entries(accounts).map(([v, a]) => [v, String(a)])),
    ]),
  );

const error = (text: string) => {
  try {
    parseIdentities(text, 'ids.yaml');
  } catch (err) {
    assert.ok(err instanceof IdentitiesError);
    return err.message;
  }
  return assert.fail('expected an IdentitiesError');
};

describe('identities', () => {
  test('reads generated files the way the YAML library does, whatever the ids hold (property)', () => {
    const id = fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom(
        'alice',
        'user1@example.com',
        'a:b',
        '#x',
        "it's",
        'say "hi"',
        'true',
        '123',
        'null',
        'é🎉',
      ),
    );
    // Person ids never contain ":" (reserved for subjects made from vendor data); account ids may.
    const personId = id.filter((s) => !s.includes(':'));
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(personId, id, id), { minLength: 1, maxLength: 8, selector: ([p]) => p }),
        fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
        (people, style) => {
          // Accounts must be unique per vendor across people.
          const rows = people.map(
            ([person, z, v], i) => [person, { zoom: `${z}-${i}`, vonage: `${v}-${i}` }] as const,
          );
          if (rows.some(([p]) => p === '__proto__')) return;
          const text = stringify(Object.fromEntries(rows), { defaultStringType: style as 'PLAIN' });
          assert.deepEqual(parseIdentities(text, 'ids.yaml'), reference(text));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('reads every other YAML form (flow maps, anchors, numbers, comments, documents markers) as the library does', () => {
    const text = [
      '%YAML 1.2',
      '---',
      '# people',
      'alice: { zoom: z1, vonage: "v-1" }',
      'bob: &b',
      '  zoom: 0x1F  # a number: read as the composer reads it',
      '  tuya: 123',
      "'carol':",
      "  tuya: 'it''s'",
      '"d\\u00e9":',
      '  vonage: "a\\tb"',
      '...',
      '',
    ].join('\n');
    assert.deepEqual(parseIdentities(text, 'ids.yaml'), reference(text));
    assert.equal(parseIdentities(text, 'ids.yaml').get('bob')?.zoom, '31');
  });

  test('errors name the line and column, from the fast path and from the composer alike', () => {
    const ok = 'alice:\n  zoom: z1\n';
    assert.match(error(`${ok}bob:\n  skype: s1\n`), /^ids\.yaml:4:3: unknown vendor "skype"/);
    assert.match(
      error(`${ok}bob:\n  zoom: z1\n`),
      /^ids\.yaml:4:3: zoom account z1 is already linked to alice/,
    );
    assert.match(error(`${ok}alice:\n  tuya: t1\n`), /^ids\.yaml:3:1: .*unique/);
    assert.match(error(`${ok}bob:\n  zoom: z1\n  zoom: z2\n`), /^ids\.yaml:5:3: .*unique/);
    assert.match(
      error(`${ok}bob:\n  zoom: true\n`),
      /^ids\.yaml:4:3: bob\.zoom must be the vendor's user id/,
    );
    assert.match(error(`${ok}__proto__:\n  zoom: z2\n`), /^ids\.yaml:3:1: "__proto__" cannot be a person id/);
    assert.match(error(`${ok}bob: z2\n`), /^ids\.yaml:3:1: bob must map to/);
    assert.match(error('- alice\n'), /^ids\.yaml:1:1: expected a mapping/);
    assert.match(error('alice:\n  zoom: [z1\n'), /^ids\.yaml:\d+:\d+: /);
    assert.equal(parseIdentities('# nobody yet\n', 'ids.yaml').size, 0);
  });

  test('refuses a person id that a vendor value could also spell (role:zoom:0, email:…, zoom:…), at its line and column', () => {
    const ok = 'alice:\n  zoom: z1\n';
    const reserved = /contains ":", which is reserved for subjects made from vendor data/;
    // Quoted keys are read by the fast path, plain and flow ones by the composer: both refuse.
    for (const [text, where] of [
      [`${ok}"role:zoom:0":\n  zoom: z2\n`, 'ids.yaml:3:1'],
      [`${ok}role:zoom:0:\n  zoom: z2\n`, 'ids.yaml:3:1'],
      [`${ok}'email:bob@example.com':\n  vonage: v2\n`, 'ids.yaml:3:1'],
      [`${ok}"zoom:z1":\n  tuya: t2\n`, 'ids.yaml:3:1'],
      [`${ok}vonage:v2: { vonage: v2 }\n`, 'ids.yaml:3:1'],
      [`${ok}tuya:ay-1:\n  tuya: ay-1\n`, 'ids.yaml:3:1'],
      [`${ok}  # a comment\nsome:one:\n  tuya: ay-1\n`, 'ids.yaml:4:1'],
    ] as const) {
      const message = error(text);
      assert.ok(message.startsWith(`${where}: `), message);
      assert.match(message, reserved);
    }
    // Only ":" is reserved: a person may be called "role" or "email".
    assert.deepEqual(
      [...parseIdentities('role:\n  zoom: z1\nemail:\n  zoom: z2\n', 'ids.yaml').keys()],
      ['role', 'email'],
    );
  });

  test('account ids are exact (Z1 and z1 are two accounts); a Zoom email is one account whatever its case', () => {
    const ids = parseIdentities(
      'alice:\n  zoom: Z1\n  vonage: V1\nbob:\n  zoom: z1\n  vonage: v1\n',
      'ids.yaml',
    );
    assert.deepEqual(ids.get('bob'), { zoom: 'z1', vonage: 'v1' });
    assert.match(
      error('alice:\n  zoom: Alice@Example.com\nbob:\n  zoom: alice@example.com\n'),
      /^ids\.yaml:4:3: zoom account alice@example.com is already linked to alice/,
    );
  });
});
