/** Values that break naive CSV and line handling: commas, quotes, edge spaces, CR/LF, unicode. */
export const HOSTILE_VALUES = [
  'a,b',
  'say "hi"',
  ' lead',
  'trail ',
  'line\nbreak',
  'cr\r\nlf',
  'ünïcødé 🎉',
  '',
  'p, x, y, z, allow, , ',
  '#hash',
  '"',
  ',,,',
];

/** What a terminal may act on: C0 (but the line breaks between lines), DEL, C1, bidi controls, U+2028/9. */
export const TERMINAL_ACTIVE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
