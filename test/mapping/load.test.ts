import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MappingError } from '../../src/errors.js';
import { loadMappings, parseMapping } from '../../src/mapping/load.js';

async function problems(text: string): Promise<string[]> {
  try {
    await parseMapping(text, 'm.yaml');
  } catch (e) {
    assert.ok(e instanceof MappingError, String(e));
    return e.problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
  }
  assert.fail('expected a MappingError');
}

const RULE = `vendor: zoom
rules:
  - kind: privilege
    when: { privilege: "{area}:{action}" }
    resource: "zoom:{area|lower}"
    actions: ["{action|lower}"]
`;

describe('loading mappings', () => {
  test('loads the shipped mappings for all three vendors', async () => {
    const m = await loadMappings('mappings');
    assert.deepEqual([...m.keys()].sort(), ['tuya', 'vonage', 'zoom']);
    assert.deepEqual(m.get('zoom')?.implied.get('edit'), ['read']);
  });

  test('points at an unknown field and suggests the right one', async () => {
    const [p] = await problems(RULE.replace('    resource:', '    resorce: "x"\n    resource:'));
    assert.match(p!, /^m\.yaml:5:5: unknown field "resorce" \(did you mean "resource"\?\)/);
  });

  test('says what to write for a missing field', async () => {
    const [p] = await problems(RULE.replace(/ {4}actions.*\n/, ''));
    assert.match(p!, /^m\.yaml:3:5: "rules\.0" is missing "actions"; write e\.g\. actions: \[read\]/);
  });

  test('reports duplicate keys with their position', async () => {
    const [p] = await problems(`vendor: zoom\nvendor: tuya\nrules: []\n`);
    assert.match(p!, /^m\.yaml:2:1: Map keys must be unique; each key may appear once/);
  });

  test('rejects __proto__ keys', async () => {
    const [p] = await problems(`vendor: zoom\n__proto__: { polluted: true }\nrules: []\n`);
    assert.match(p!, /^m\.yaml:2:1: the key "__proto__" is not allowed/);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('stops alias bombs with a clear error', async () => {
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
vendor: zoom
rules: []
`;
    const [p] = await problems(bomb);
    assert.match(p!, /alias/i);
  });

  test('reports bad regexes, unknown template variables and transforms at their position', async () => {
    const ps = await problems(`vendor: zoom
rules:
  - kind: privilege
    when: { privilege: { regex: "(" } }
    resource: "zoom:{area}"
    actions: ["{action|shout}"]
`);
    assert.equal(ps.length, 3);
    assert.match(ps[0]!, /^m\.yaml:4:34: invalid matcher: missing closing \) `\(`/);
    assert.match(ps[1]!, /^m\.yaml:5:15: unknown variable \{area\}/);
    assert.match(ps[2]!, /^m\.yaml:6:15: unknown transform "shout"/);
  });

  test('rejects an unknown kind and an unknown vendor field', async () => {
    const ps = await problems(`vendor: vonage
rules:
  - kind: group
    when: { groupPermision: Write }
    resource: "vonage:group:{groupId}"
    actions: [write]
`);
    assert.match(
      ps[0]!,
      /m\.yaml:4:13: a vonage group has no field "groupPermision" \(did you mean "groupPermission"\?\)/,
    );
    const [kind] = await problems(
      `vendor: vonage\nrules:\n  - kind: queue\n    resource: "x"\n    actions: [read]\n`,
    );
    assert.match(kind!, /m\.yaml:3:11: "rules\.0\.kind" must be one of/);
  });

  test('reports broken YAML as an error, not a crash', async () => {
    const [p] = await problems('vendor: zoom\nrules: [\n');
    assert.match(p!, /^m\.yaml:\d+:\d+: /);
  });
});
