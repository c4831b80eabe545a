import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Decision } from '../../src/engine/authorizer.js';
import { escapeControls, formatDecision, jsonForTerminal } from '../../src/engine/format.js';
import type { Provenance } from '../../src/grants.js';

/** What a terminal may act on: C0 (but the line breaks between lines), DEL, C1, bidi controls, U+2028/9. */
const ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** Every field of a decision that reaches the output, each holding `v` (the field name mixed in). */
function decision(v: (field: string) => string): Decision {
  const grant: Provenance = {
    vendor: v('vendor') as Provenance['vendor'],
    kind: v('kind'),
    holder: v('holder'),
    raw: v('raw'),
    mapping: { file: v('mapping.file'), line: 9, column: 5 },
    source: v('source'),
  };
  const near = {
    rule: {
      sub: v('near.sub'),
      obj: v('near.obj'),
      act: v('near.act'),
      eft: v('near.eft'),
      from: v('near.from'),
      until: v('near.until'),
    },
    via: [v('subject'), v('near.role')],
    grants: [{ ...grant, raw: v('near.raw') }],
  };
  return {
    allowed: true,
    reason: 'allowed',
    subject: v('subject'),
    resource: v('resource'),
    action: v('action'),
    at: v('at'),
    error: v('error'),
    rule: { sub: v('sub'), obj: v('obj'), act: v('act'), eft: v('eft'), from: v('from'), until: v('until') },
    via: [v('subject'), v('role'), v('sub')],
    links: [{ member: v('member'), role: v('role'), from: [{ ...grant, source: v('link.source') }] }],
    grants: [grant],
    stale: [
      {
        vendor: v('stale.vendor'),
        holder: v('stale.holder'),
        lastSuccess: v('lastSuccess'),
        error: v('stale.error'),
      },
    ],
    validFrom: v('validFrom'),
    validUntil: v('validUntil'),
    nearMisses: [
      { kind: 'deny', ...near },
      { kind: 'overridden', ...near },
      { kind: 'window', state: 'ended', time: v('near.time'), ...near },
      {
        kind: 'other-action',
        action: v('near.action'),
        givenBy: [{ ...grant, raw: v('givenBy.raw') }],
        ...near,
      },
      { kind: 'role', role: v('near.role'), holders: [v('near.holder')], moreHolders: true, ...near },
    ],
  };
}

const HOSTILE: [string, string][] = [
  ['\x1b[2J\x1b[31m', '\\x1b[2J\\x1b[31m'],
  ['\x1b]0;owned\x07', '\\x1b]0;owned\\x07'],
  ['cr\roverwrite', 'cr\\x0doverwrite'],
  ['line\nbreak: forged', 'line\\x0abreak: forged'],
  ['tab\there', 'tab\\x09here'],
  ['\x00nul\x7fdel', '\\x00nul\\x7fdel'],
  ['\x9b31m c1 csi \x85 nel', '\\x9b31m c1 csi \\x85 nel'],
  ['\u202eevil\u202c', '\\u202eevil\\u202c'],
  ['\u2066isolate\u2069 \u200f\u061c', '\\u2066isolate\\u2069 \\u200f\\u061c'],
  ['\u2028ls\u2029ps', '\\u2028ls\\u2029ps'],
];

test('formatDecision escapes control and bidi characters in every field it prints', () => {
  const plain = formatDecision(decision((f) => `plain-${f}`));
  for (const [value, escaped] of HOSTILE) {
    const out = formatDecision(decision((f) => `${f}:${value}`));
    assert.doesNotMatch(out, ACTIVE, JSON.stringify(value));
    assert.equal(out.split('\n').length, plain.split('\n').length, 'a value cannot start a line of its own');
    for (const field of [
      'subject',
      'raw',
      'holder',
      'source',
      'sub',
      'role',
      'stale.error',
      'mapping.file',
      'near.raw',
      'near.holder',
      'near.time',
      'near.action',
      'givenBy.raw',
    ])
      assert.ok(out.includes(`${field}:${escaped}`), `${field} shows ${escaped}`);
  }
});

test('escapeControls leaves printable text, non-Latin scripts and emoji as they are', () => {
  for (const s of ['zoom:recording', 'ünïcødé 🎉', 'עברית', '日本語', 'back\\slash', '→ ∞'])
    assert.equal(escapeControls(s), s);
});

test('jsonForTerminal is the same JSON value with no raw control or bidi character', () => {
  for (const [value] of HOSTILE) {
    const d = decision((f) => `${f}:${value}`);
    const text = jsonForTerminal(d);
    assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(d)));
    assert.doesNotMatch(text, ACTIVE, JSON.stringify(value));
  }
});
