import type { Provenance } from '../grants.js';
import type { RuleView } from './access-view.js';
import type { Decision } from './authorizer.js';
import type { NearMiss } from './near-miss.js';

/**
 * Characters a terminal may act on instead of printing: C0 controls (ESC, BEL, CR, LF, ...), DEL, C1
 * controls (including the 8-bit CSI U+009B), the Unicode bidi controls (U+061C, U+200E/F,
 * U+202A-U+202E, U+2066-U+2069) and the line/paragraph separators U+2028/U+2029.
 */
const TERMINAL_CONTROLS =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, less the C0 controls: what JSON.stringify leaves unescaped inside strings. */
const JSON_UNESCAPED_CONTROLS = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string, width: number) => (c.codePointAt(0) ?? 0).toString(16).padStart(width, '0');

/**
 * Text safe to print on a terminal: each control character becomes a visible escape, `\xNN` up to
 * U+00FF (`\x1b` for ESC, `\x0a` for a line break) and `\uNNNN` above (`\u202e`). Everything else,
 * backslashes included, is left as it is, so this is for display, not a reversible encoding.
 *
 * @example
 * escapeControls('a\x1b[2Jb\u202e'); // 'a\\x1b[2Jb\\u202e'
 */
export function escapeControls(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (c) => (c <= '\u00ff' ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/**
 * `JSON.stringify(value, null, 2)` with the characters it leaves raw (DEL, C1 controls, bidi
 * controls, U+2028/U+2029) written as `\uNNNN` escapes: the same JSON value, safe on a terminal.
 */
export function jsonForTerminal(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(JSON_UNESCAPED_CONTROLS, (c) => `\\u${hex(c, 4)}`);
}

/** `JSON.stringify(value)` on one line, with the same escapes as jsonForTerminal (JSON lines for a terminal). */
export function jsonLineForTerminal(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNESCAPED_CONTROLS, (c) => `\\u${hex(c, 4)}`);
}

/**
 * A decision for people: verdict, rule, role path, vendor values and mapping lines, validity. Every
 * value is printed through escapeControls, so a vendor value can neither drive the terminal nor
 * start a line of its own.
 */
export function formatDecision(d: Decision): string {
  const lines: string[] = [];
  lines.push(`${d.allowed ? 'ALLOW' : 'DENY'}  ${d.subject} → ${d.action} on ${d.resource}  (at ${d.at})`);
  if (d.error) lines.push(`  error: ${d.error} (denied: fail closed)`);
  if (d.reason === 'no-matching-rule') lines.push('  no rule grants this (default deny)');
  if (d.rule) {
    const r = d.rule;
    const window = r.from || r.until ? `  window [${r.from || '-∞'}, ${r.until || '+∞'})` : '';
    lines.push(`  rule:  p, ${r.sub}, ${r.obj}, ${r.act}, ${r.eft}${window}`);
    if (d.via && d.via.length > 1) lines.push(`  via:   ${d.via.join(' → ')}`);
    for (const l of d.links ?? []) {
      for (const p of l.from)
        lines.push(`  role:  ${l.member} → ${l.role}  from ${p.vendor} ${p.source ?? ''}`.trimEnd());
    }
    for (const g of d.grants ?? []) {
      const mapping = g.mapping ? `  mapped by ${g.mapping.file}:${g.mapping.line}` : '';
      lines.push(`  grant: ${g.vendor} ${g.kind} ${g.raw}  held by ${g.holder}${mapping}`);
      if (g.source) lines.push(`         from ${g.source}`);
    }
  }
  for (const n of d.nearMisses ?? []) lines.push(...nearMissLines(n, d));
  for (const h of d.stale ?? [])
    lines.push(
      `  STALE: ${h.vendor} ${h.holder} could not be fetched (${h.error}); rules kept from ${h.lastSuccess ?? 'an earlier run'}`,
    );
  lines.push(
    `  holds: ${d.validFrom ? `from ${d.validFrom} ` : ''}${d.validUntil ? `until ${d.validUntil}` : 'until the policy changes'}`,
  );
  // The fixed text has no control characters, so escaping whole lines escapes exactly the values.
  return `${lines.map(escapeControls).join('\n')}\n`;
}

/** `p, sub, obj, act, eft` and its window, as the rule line prints it. */
export function ruleText(r: RuleView): string {
  const window = r.from || r.until ? `  window [${r.from || '-∞'}, ${r.until || '+∞'})` : '';
  return `p, ${r.sub}, ${r.obj}, ${r.act}, ${r.eft}${window}`;
}

/** A vendor grant in one line: vendor, kind, raw value, holder, mapping file:line. */
export function grantText(g: Provenance): string {
  const mapping = g.mapping ? `  mapped by ${g.mapping.file}:${g.mapping.line}` : '';
  return `${g.vendor} ${g.kind} ${g.raw}  held by ${g.holder}${mapping}`;
}

/** The first grant behind a rule, and how many more there are. */
function firstGrant(grants: readonly Provenance[]): string {
  const g = grants[0];
  if (g === undefined) return '';
  return `  ← ${grantText(g)}${grants.length > 1 ? ` (+${grants.length - 1} more)` : ''}`;
}

/**
 * The human lines of one near miss (unescaped: formatDecision escapes whole lines). The deny that
 * decided is already printed as the decision's rule, so it is not repeated.
 */
function nearMissLines(n: NearMiss, d: Decision): string[] {
  const via = n.via.length > 1 ? `  via ${n.via.join(' → ')}` : '';
  const rule = `${ruleText(n.rule)}${via}${firstGrant(n.grants)}`;
  switch (n.kind) {
    case 'deny':
      if (d.rule && ruleText(d.rule) === ruleText(n.rule)) return [];
      return [`  near:  also denied by ${rule}`];
    case 'overridden':
      return [`  near:  would be allowed by ${rule}, but the deny overrides it`];
    case 'window':
      return [`  near:  ${n.state === 'ended' ? `ended at ${n.time}` : `starts at ${n.time}`}: ${rule}`];
    case 'other-action': {
      const lines = [`  near:  has ${n.action} on this resource: ${rule}`];
      for (const g of n.givenBy) lines.push(`         ${d.action} comes from ${grantText(g)}`);
      return lines;
    }
    case 'role': {
      const holders = n.holders.length
        ? `held by ${n.holders.join(', ')}${n.moreHolders ? ' and more' : ''}`
        : 'held by nobody';
      return [`  near:  role ${n.role} would allow it (${holders}): ${rule}`];
    }
  }
}
