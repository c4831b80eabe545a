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
