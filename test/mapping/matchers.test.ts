import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MappingError } from '../../src/errors.js';
import type { VendorGrant } from '../../src/grants.js';
import { parseMapping } from '../../src/mapping/load.js';
import { compileRegex, MAX_REGEX_VALUE_LENGTH } from '../../src/mapping/regex.js';
import { compilePattern, type StepMeter } from '../../src/mapping/template.js';
import { translate } from '../../src/mapping/translate.js';

async function problems(text: string): Promise<string[]> {
  try {
    await parseMapping(text, 'm.yaml');
  } catch (e) {
    assert.ok(e instanceof MappingError, String(e));
    return e.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
  }
  return [];
}

/** A Zoom mapping whose one rule matches `privilege` with `regex` (written as YAML, quotes included). */
const regexRule = (yamlRegex: string) => `vendor: zoom
rules:
  - kind: privilege
    when: { privilege: { regex: ${yamlRegex} } }
    resource: "zoom:x"
    actions: [read]
`;

const privilege = (value: string): VendorGrant => ({
  vendor: 'zoom',
  kind: 'privilege',
  holder: { type: 'user', vendorUserId: 'u1' },
  fields: { privilege: value },
  raw: value,
});
const plain = (r: Record<string, string> | undefined) => (r === undefined ? undefined : { ...r });

describe('regex matchers', () => {
  // [what, regex as written in YAML, column of the construct the error points at (line 4)]
  const refused: [string, string, number][] = [
    ['a numbered backreference', String.raw`"(a)\\1"`, 37],
    ['a named backreference', String.raw`"(?<x>a)\\k<x>"`, 41],
    ['a lookahead', `"a(?=b)"`, 35],
    ['a negative lookahead', `"a(?!b)"`, 35],
    ['a lookbehind', `"(?<=a)b"`, 34],
    ['a backreference in single quotes', String.raw`'(a)+\1'`, 38],
    ['a count above the limit', `"a{101}"`, 35],
    ['nested counts that multiply above the limit', `"(?:(?:ab){20}c){10}"`, 49],
    ['a counted repetition of the ReDoS classic', `"(.*){1,1000}[bc]"`, 38],
  ];
  for (const [what, regex, column] of refused) {
    test(`refuses ${what} at load, pointing at it`, async () => {
      const ps = await problems(regexRule(regex));
      assert.equal(ps.length, 1, ps.join('\n'));
      assert.match(ps[0]!, new RegExp(`^m\\.yaml:4:${column}: invalid matcher: `));
    });
  }

  test('does not read braces in a class, an escape or \\Q...\\E as repetition counts', async () => {
    for (const regex of [
      `"[{500}]+"`,
      String.raw`"a\\{500\\}"`,
      String.raw`"\\Q{500}\\E"`,
      `"(a{10}){10}"`,
    ]) {
      assert.deepEqual(await problems(regexRule(regex)), [], regex);
    }
    assert.deepEqual(plain(compileRegex(String.raw`\Q{5}\E(?<n>.)`, false).match('{5}x')), { n: 'x' });
  });

  test('refuses a group name that cannot be a template variable', async () => {
    const [p] = await problems(regexRule(`"(?<1st>.+)"`));
    assert.match(p ?? '', /^m\.yaml:4:36: invalid matcher: the group name "1st"/);
  });

  test('still matches and captures the README pattern, ignoring case when asked', async () => {
    const m = compileRegex('^(?<area>[^:]+):(?<action>.+)$', true);
    assert.deepEqual(m.captures, ['area', 'action']);
    assert.deepEqual(plain(m.match('Recording:Edit')), { area: 'Recording', action: 'Edit' });
    assert.deepEqual(
      plain(m.match('Sub:Area:Read')),
      { area: 'Sub', action: 'Area:Read' },
      '[^:]+ stops at the first colon',
    );
    assert.equal(m.match('NoColon'), undefined);
    assert.deepEqual(
      plain(m.match('a:line\nbreak')),
      { area: 'a', action: 'line\nbreak' },
      '. crosses lines',
    );
    assert.equal(compileRegex('read|edit', false).match('READ'), undefined);
    assert.deepEqual(plain(compileRegex('read|edit', true).match('READ')), {});
    assert.deepEqual(plain(compileRegex('(?<a>x)?(?<b>y)', false).match('y')), { a: '', b: 'y' });

    const mapping = await parseMapping(
      `vendor: zoom
levels: [[read, edit]]
rules:
  - kind: privilege
    when: { privilege: { regex: "^(?<area>[^:]+):(?<action>.+)$", ignoreCase: true } }
    resource: "zoom:{area|lower}"
    actions: ["{action|lower}"]
`,
      'z.yaml',
    );
    const r = translate([privilege('Recording:Edit')], mapping, () => 'p');
    assert.deepEqual(r.grants.map((g) => `${g.resource} ${g.action}`).sort(), [
      'zoom:recording edit',
      'zoom:recording read',
    ]);
  });

  test('skips and reports a value longer than a regex reads, rather than letting a later rule take it', async () => {
    const mapping = await parseMapping(
      `vendor: zoom
rules:
  - kind: privilege
    when: { privilege: { regex: "(?<area>.+):Delete" } }
    resource: "zoom:{area}"
    effect: deny
    actions: [delete]
  - kind: privilege
    when: { privilege: "{area}:{action}" }
    resource: "zoom:{area}"
    actions: ["{action}"]
`,
      'z.yaml',
    );
    const long = `${'x'.repeat(MAX_REGEX_VALUE_LENGTH)}:Delete`;
    const r = translate([privilege(long), privilege('x:Delete')], mapping, () => 'p');
    assert.deepEqual(
      r.grants.map((g) => `${g.effect} ${g.resource} ${g.action}`),
      ['deny zoom:x delete'],
      'the long value grants nothing; the short one is denied by the regex rule',
    );
    assert.equal(r.skipped.length, 1);
    assert.equal(r.skipped[0]!.rule, 'z.yaml:3');
    assert.match(
      r.skipped[0]!.reason,
      new RegExp(`privilege is ${long.length} .*at most ${MAX_REGEX_VALUE_LENGTH}`),
    );
  });
});

describe('pattern matchers ("{area}:{action}")', () => {
  // The regular expression compilePattern used to build: the oracle for what greedy captures mean.
  const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const oracle = (parts: readonly string[], value: string) => {
    let re = '';
    parts.forEach((p, i) => {
      re += i % 2 === 0 ? escapeRegex(p) : `(?<${p}>.+)`;
    });
    return plain(new RegExp(`^${re}$`, 's').exec(value)?.groups);
  };
  // parts alternate literal, capture name, literal, ...; literals use few letters so they recur.
  const literal = fc.string({ unit: fc.constantFrom('a', 'b', ':'), maxLength: 3 });
  const patternParts = fc
    .tuple(literal, fc.array(literal, { minLength: 1, maxLength: 4 }))
    .map(([first, rest]) => [first, ...rest.flatMap((l, i) => [`c${i}`, l])]);
  const source = (parts: readonly string[]) =>
    parts.map((p, i) => (i % 2 === 0 ? p.replaceAll('{', '{{').replaceAll('}', '}}') : `{${p}}`)).join('');

  test('captures exactly what the greedy regular expression captured (property)', () => {
    fc.assert(
      fc.property(
        patternParts,
        fc.string({ unit: fc.constantFrom('a', 'b', ':', 'ab', '😀'), maxLength: 14 }),
        (parts, value) => {
          assert.deepEqual(plain(compilePattern(source(parts)).match(value)), oracle(parts, value));
        },
      ),
      { numRuns: 2000, seed: 12 },
    );
  });

  test('compares at most (value length + 1) × (pattern length + 1) characters, whatever the pattern (property)', () => {
    fc.assert(
      fc.property(
        patternParts,
        fc.string({ unit: fc.constantFrom('a', 'b', ':'), minLength: 1, maxLength: 3000 }),
        (parts, value) => {
          const meter: StepMeter = { steps: 0 };
          const src = source(parts);
          compilePattern(src, meter).match(value);
          assert.ok(meter.steps > 0, 'the matcher reports its work');
          assert.ok(
            meter.steps <= (value.length + 1) * (src.length + 1),
            `${meter.steps} steps for ${JSON.stringify(src)} on ${value.length} characters`,
          );
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  test('stays linear on the inputs that make a backtracking matcher polynomial', () => {
    // `^(.+):(.+):(.+):(.+):(.+):(.+)X$` on colons tries every split: O(n^6) for a backtracker.
    const cases: [string, string][] = [
      ['{a}:{b}:{c}:{d}:{e}:{f}X', ':'.repeat(5000)],
      ['{a}{b}{c}{d}{e}{f}{g}{h}!', 'a'.repeat(5000)],
      ['{a}aa{b}aa{c}aab', 'a'.repeat(5000)],
    ];
    for (const [src, value] of cases) {
      const meter: StepMeter = { steps: 0 };
      assert.equal(compilePattern(src, meter).match(value), undefined);
      assert.ok(meter.steps > 0);
      assert.ok(meter.steps <= (value.length + 1) * (src.length + 1), `${src}: ${meter.steps} steps`);
    }
  });
});

// Last in the file: with a backtracking engine these do not finish (the 33-character value
// took over 60 s), so on such an engine this test hangs rather than fails. The values are the
// classic attack strings at the length limit; the answers are checked, not the time taken. They go
// through the loader and translate, as a sync does.
describe('regexes that take exponential time on a backtracking engine', () => {
  const attack = 'a'.repeat(MAX_REGEX_VALUE_LENGTH - 1);
  // [pattern, a value it matches, the resource that grants, a value it must not match]
  const evil: [string, string, string, string][] = [
    ['(?<area>(a+)+):(?<action>.+)', 'aaa:Read', 'zoom:aaa/Read', 'a'.repeat(33)],
    ['(?<area>(a+)+):(?<action>.+)', 'aa:x', 'zoom:aa/x', attack],
    ['(a|a)*', 'aaaa', 'zoom:/', `${attack}!`],
    ['(a*)*b', 'aab', 'zoom:/', attack],
    ['(a|aa)+', 'aaa', 'zoom:/', `${attack}!`],
    ['(.*a){20}', 'a'.repeat(20), 'zoom:/', `${attack}!`],
    ['(\\w+\\s?)+$', 'ab cd', 'zoom:/', `${attack}!`],
    ['(x+x+)+y', 'xxy', 'zoom:/', 'x'.repeat(MAX_REGEX_VALUE_LENGTH)],
    ['^(([a-z])+.)+[A-Z]([a-z])+$', 'abAb', 'zoom:/', attack],
    ['(?<area>[a-z]+)*:(?<action>.*)', 'ab:c', 'zoom:ab/c', attack],
  ];
  for (const [pattern, good, resource, bad] of evil) {
    test(`${pattern} decides a ${bad.length}-character attack value and still matches ${JSON.stringify(good)}`, async () => {
      const captures = pattern.includes('?<area>');
      const mapping = await parseMapping(
        `vendor: zoom
rules:
  - kind: privilege
    when: { privilege: { regex: ${JSON.stringify(pattern)} } }
    resource: "zoom:${captures ? '{area}/{action}' : '/'}"
    actions: [read]
`,
        'evil.yaml',
      );
      const r = translate([privilege(bad), privilege(good)], mapping, () => 'p');
      assert.deepEqual(
        r.grants.map((g) => g.resource),
        [resource],
      );
      assert.deepEqual(
        r.unmatched.map((u) => u.raw),
        [bad],
      );
    });
  }
});
