import { PolicyError } from '../errors.js';
import { formatBound, parseBound } from './time.js';
import type { Effect, Policy, PolicyRule, RoleLink } from './types.js';

interface WellFormedString {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * The canonical form of every string that goes into a policy: lone UTF-16 surrogates replaced by
 * U+FFFD. Policy files are UTF-8, which cannot hold a lone surrogate (the encoder writes U+FFFD),
 * so a value compiled in any other form would read back different from itself: its rule could
 * never be matched to its provenance or removed by a later sync. Returns `s` itself when it is
 * already well formed.
 *
 * @example wellFormed('a\uD800b') // 'a\uFFFDb'
 */
export function wellFormed(s: string): string {
  const w = s as unknown as WellFormedString;
  return w.isWellFormed() ? s : w.toWellFormed();
}

// Casbin's CSV dialect: one rule per line, fields separated by ", ". A field is quoted (RFC 4180,
// quotes doubled) when it holds a comma, a quote, a line break, or leading/trailing whitespace, so
// every value round-trips exactly and no value can start a new rule or add a column.
const NEEDS_QUOTES = /[",\r\n]|^\s|\s$/;

export function encodeField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function encodeRow(fields: readonly string[]): string {
  return fields.map(encodeField).join(', ');
}

export function ruleFields(r: PolicyRule): string[] {
  return ['p', r.sub, r.obj, r.act, r.eft, formatBound(r.from), formatBound(r.until)];
}

export function linkFields(l: RoleLink): string[] {
  return ['g', l.member, l.role];
}

const HEADER = 'compiled by rbac-normalizer; do not edit by hand';

/** Serializes a policy to Casbin CSV: a comment header, `p` rules, then `g` links. */
export function formatPolicyCsv(policy: Policy, header = HEADER): string {
  return [...policyCsvLines(policy, header)].join('');
}

/** formatPolicyCsv line by line (each with its newline), for writing a large policy without one big string. */
export function* policyCsvLines(policy: Policy, header = HEADER): Iterable<string> {
  yield policyCsvHeader(header);
  for (const rule of policy.rules) yield policyCsvLine({ rule });
  for (const link of policy.links) yield policyCsvLine({ link });
}

/** The comment line a compiled policy starts with. */
export function policyCsvHeader(header = HEADER): string {
  return `# ${header}\n`;
}

/** One rule or link as a CSV line, with its newline. */
export function policyCsvLine(entry: PolicyEntry): string {
  return `${encodeRow('rule' in entry ? ruleFields(entry.rule) : linkFields(entry.link))}\n`;
}

/** A parsed CSV row with the 1-based line it started on. */
export interface CsvRow {
  fields: string[];
  line: number;
}

/**
 * Parses Casbin CSV text into rows. Unquoted fields are trimmed (as Casbin does); quoted fields are
 * kept exactly. Blank lines and lines starting with `#` are skipped.
 */
export function parseCsv(text: string, file = '<policy>', firstLine = 1): CsvRow[] {
  const rows: CsvRow[] = [];
  const n = text.length;
  let pos = 0;
  let line = firstLine;
  while (pos < n) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = n;
    const raw = text.charCodeAt(end - 1) === 13 ? text.slice(pos, end - 1) : text.slice(pos, end);
    const first = raw.trimStart();
    if (first === '' || first.charCodeAt(0) === 35 /* # */) {
      pos = end + 1;
      line++;
      continue;
    }
    if (!raw.includes('"')) {
      // Fast path: no quoting on this line.
      const parts = raw.split(',');
      for (let i = 0; i < parts.length; i++) parts[i] = parts[i]!.trim();
      rows.push({ fields: parts, line });
      pos = end + 1;
      line++;
      continue;
    }
    const startLine = line;
    const fields: string[] = [];
    let i = pos;
    for (;;) {
      // Skip spaces and tabs before a field.
      while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
      if (text.charCodeAt(i) === 34 /* " */) {
        let value = '';
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q === -1) throw new PolicyError('unterminated quoted field', { file, line: startLine });
          value += text.slice(i, q);
          if (text.charCodeAt(q + 1) === 34) {
            value += '"';
            i = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        for (const ch of value) if (ch === '\n') line++;
        while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 13))
          i++;
        fields.push(value);
      } else {
        let j = i;
        while (j < n && text.charCodeAt(j) !== 44 && text.charCodeAt(j) !== 10) j++;
        const value = text.slice(i, j).trim();
        if (value.includes('"')) throw new PolicyError('stray quote in unquoted field', { file, line });
        fields.push(value);
        i = j;
      }
      if (i >= n || text.charCodeAt(i) === 10) {
        pos = i + 1;
        line++;
        break;
      }
      if (text.charCodeAt(i) !== 44) throw new PolicyError('expected "," after quoted field', { file, line });
      i++;
    }
    rows.push({ fields, line: startLine });
  }
  return rows;
}

/** Parses Casbin CSV text into a policy, checking every row's shape. */
export function parsePolicyCsv(text: string, file = '<policy>'): Policy {
  const rules: PolicyRule[] = [];
  const links: RoleLink[] = [];
  for (const { fields, line } of parseCsv(text, file)) {
    const entry = policyEntry(fields, file, line);
    if ('rule' in entry) rules.push(entry.rule);
    else links.push(entry.link);
  }
  return { rules, links };
}

/** One row of a policy: a `p` rule or a `g` link. */
export type PolicyEntry = { readonly rule: PolicyRule } | { readonly link: RoleLink };

/**
 * A CSV row's fields as a rule or a link.
 *
 * @throws PolicyError naming file and line when the row has the wrong shape.
 */
export function policyEntry(fields: readonly string[], file: string, line: number): PolicyEntry {
  const kind = fields[0];
  if (kind === 'p') {
    if (fields.length !== 7) {
      throw new PolicyError(
        `a p rule has 7 fields (p, sub, obj, act, eft, from, until), found ${fields.length}`,
        { file, line },
      );
    }
    const [, sub, obj, act, eft, from, until] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (eft !== 'allow' && eft !== 'deny') {
      throw new PolicyError(`effect must be allow or deny, found ${JSON.stringify(eft)}`, { file, line });
    }
    const f = parseBound(from, Number.NEGATIVE_INFINITY);
    const u = parseBound(until, Number.POSITIVE_INFINITY);
    if (Number.isNaN(f) || Number.isNaN(u)) {
      throw new PolicyError('from/until must be empty or ISO-8601 UTC with milliseconds', { file, line });
    }
    return { rule: { sub, obj, act, eft: eft as Effect, from: f, until: u } };
  }
  if (kind === 'g') {
    if (fields.length !== 3) {
      throw new PolicyError(`a g link has 3 fields (g, member, role), found ${fields.length}`, {
        file,
        line,
      });
    }
    return { link: { member: fields[1]!, role: fields[2]! } };
  }
  throw new PolicyError(`unknown rule type ${JSON.stringify(kind)} (expected p or g)`, { file, line });
}
