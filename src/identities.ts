import { readFile } from 'node:fs/promises';
import { CST, isMap, isScalar, Parser, parseDocument } from 'yaml';
import { IdentitiesError, type SourcePosition } from './errors.js';
import { VENDORS, type Vendor } from './grants.js';
import { isEmailAccount, isPersonId } from './subjects.js';

/**
 * People and their vendor accounts: person id → { zoom?: id or email, vonage?: id, tuya?: uid }.
 * Person ids never contain ":" (see ./subjects.ts).
 */
export type Identities = ReadonlyMap<string, Readonly<Partial<Record<Vendor, string>>>>;

export { IdentitiesError };

/**
 * Loads an identities file. A missing file is an empty set when `optional` is true.
 *
 * @throws IdentitiesError with file:line:column for malformed entries, a person id with ":" (reserved
 * for roles, emails and vendor accounts), or an account claimed twice (ids exactly, Zoom emails
 * without case).
 */
export async function loadIdentities(
  file: string,
  options: { optional?: boolean } = {},
): Promise<Identities> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (options.optional) return new Map();
    throw new IdentitiesError(`cannot read identities file (${(err as Error).message})`, { file });
  }
  return parseIdentities(text, file);
}

export function parseIdentities(text: string, file: string): Identities {
  // Positions are worked out only for an error.
  const at = (offset: number): SourcePosition => {
    let line = 1;
    for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
    return { file, line, column: offset - text.lastIndexOf('\n', offset - 1) };
  };
  // Most files are generated and plain; the YAML library's full composer takes about 1 s and
  // 70 MB of garbage for 10k people, its CST a quarter of that. The CST is read directly when
  // every node is of the simple kind; anything else (or any error) goes the full way.
  const people = plainPeople(text) ?? composedPeople(text, at);
  const out = new Map<string, Partial<Record<Vendor, string>>>();
  const claimed = new Map<string, string>();
  for (const person of people) {
    const fail = (message: string) => new IdentitiesError(message, at(person.at));
    if (typeof person.key !== 'string' && typeof person.key !== 'number')
      throw fail('a person id must be a string');
    const id = String(person.key);
    if (id === '' || id === '__proto__') throw fail(`"${id}" cannot be a person id`);
    // Subjects made from vendor data all contain ":" (role:…, email:…, zoom:…, vonage:…, tuya:…),
    // so a person id without one can never be taken by a vendor value.
    if (!isPersonId(id))
      throw fail(
        `person id ${JSON.stringify(id)} contains ":", which is reserved for subjects made from vendor data ` +
          '(role:<vendor>:<roleId>, email:<email>, <vendor>:<id>); name the person without ":"',
      );
    if (!person.accounts) throw fail(`${id} must map to { zoom: ..., vonage: ..., tuya: ... }`);
    const accounts: Partial<Record<Vendor, string>> = {};
    for (const { vendor, value, at: offset } of person.accounts) {
      const fail = (message: string) => new IdentitiesError(message, at(offset));
      if (!(VENDORS as readonly string[]).includes(vendor))
        throw fail(`unknown vendor "${vendor}"; use zoom, vonage or tuya`);
      if ((typeof value !== 'string' && typeof value !== 'number') || String(value) === '')
        throw fail(`${id}.${vendor} must be the vendor's user id (a string)`);
      // Account ids are exact (vendors' ids are case-sensitive); a Zoom email is compared without case.
      const account = isEmailAccount(vendor as Vendor, String(value))
        ? `${vendor} email:${String(value).toLowerCase()}`
        : `${vendor}:${String(value)}`;
      const prev = claimed.get(account);
      if (prev !== undefined) throw fail(`${vendor} account ${String(value)} is already linked to ${prev}`);
      claimed.set(account, id);
      accounts[vendor as Vendor] = String(value);
    }
    out.set(id, accounts);
  }
  return out;
}

/** A person's entry as read, before it is checked; offsets into the text. */
interface RawPerson {
  readonly key: unknown;
  readonly at: number;
  /** Absent when the value is not a mapping. */
  readonly accounts?: readonly { readonly vendor: string; readonly value: unknown; readonly at: number }[];
}

/** The people through the YAML library's composer (every YAML feature, exact errors). */
function composedPeople(text: string, at: (offset: number) => SourcePosition): RawPerson[] {
  const doc = parseDocument(text, { uniqueKeys: true, strict: true });
  if (doc.errors.length)
    throw new IdentitiesError(
      doc.errors[0]!.message.split('\n')[0] ?? 'invalid YAML',
      at(doc.errors[0]!.pos[0]),
    );
  if (doc.contents === null) return [];
  if (!isMap(doc.contents))
    throw new IdentitiesError('expected a mapping of person id → { zoom, vonage, tuya }', at(0));
  return doc.contents.items.map((pair) => ({
    key: isScalar(pair.key) ? pair.key.value : undefined,
    at: (isScalar(pair.key) ? pair.key.range?.[0] : 0) ?? 0,
    ...(isMap(pair.value)
      ? {
          accounts: pair.value.items.map((p) => ({
            vendor: isScalar(p.key) ? String(p.key.value) : '',
            value: isScalar(p.value) ? p.value.value : undefined,
            at: (isScalar(p.key) ? p.key.range?.[0] : 0) ?? 0,
          })),
        }
      : {}),
  }));
}

/**
 * The people straight from the CST when the file is one block mapping of people to block
 * mappings of vendor → id, with only quoted or plain word-like scalars, comments and blank lines
 * (what generated files look like); undefined for anything else, which then goes through the
 * composer (also for every error, so that messages are the composer's).
 */
function plainPeople(text: string): RawPerson[] | undefined {
  const people: RawPerson[] = [];
  const ids = new Set<string>();
  // One person at a time (a line starting in column 0 starts the next one), so that the syntax
  // tree of a large file is never built whole.
  for (const [start, end] of topLevelEntries(text)) {
    let map: CST.BlockMap | undefined;
    for (const token of new Parser().parse(text.slice(start, end))) {
      if (
        token.type === 'document' &&
        !map &&
        token.start.every(trivia) &&
        token.value?.type === 'block-map'
      ) {
        map = token.value;
        if (!(token.end ?? []).every(trivia)) return undefined;
      } else if (!trivia(token)) return undefined;
    }
    const item = map?.items.length === 1 ? map.items[0] : undefined;
    const key = item && plainKey(item, start);
    if (!item || !key || ids.has(key.value) || item.value?.type !== 'block-map') return undefined;
    ids.add(key.value);
    const accounts: { vendor: string; value: string; at: number }[] = [];
    for (const entry of item.value.items) {
      const vendor = plainKey(entry, start);
      const value = entry.value && plainScalar(entry.value);
      if (vendor === undefined || value === undefined || accounts.some((a) => a.vendor === vendor.value))
        return undefined;
      accounts.push({ vendor: vendor.value, value, at: vendor.at });
    }
    people.push({ key: key.value, at: key.at, accounts });
  }
  return people.length > 0 ? people : undefined;
}

/** [start, end) of each top-level entry: from a line starting in column 0 to the next one. */
function* topLevelEntries(text: string): Iterable<[number, number]> {
  let start = 0; // comments and blank lines before the first entry go with it
  let seen = false;
  for (let line = 0; line < text.length; ) {
    const next = text.indexOf('\n', line);
    const c = text[line];
    if (c !== undefined && c !== ' ' && c !== '\t' && c !== '#' && c !== '\r' && c !== '\n') {
      if (seen) {
        yield [start, line];
        start = line;
      }
      seen = true;
    }
    line = next === -1 ? text.length : next + 1;
  }
  if (seen) yield [start, text.length];
}

const TRIVIA = new Set(['space', 'newline', 'comment']);
const trivia = (t: CST.Token | CST.SourceToken) => TRIVIA.has(t.type);
// A plain scalar the core schema reads as this very string (not a number, boolean or null).
const WORD = /^[A-Za-z_][\w.@+-]*$/;
const NOT_WORD = /^(?:true|True|TRUE|false|False|FALSE|null|Null|NULL)$/;

/** The key of a simple `key: value` item, or undefined. */
function plainKey(
  item: CST.BlockMap['items'][number],
  offset: number,
): { value: string; at: number } | undefined {
  if (!item.key || !item.start.every(trivia) || !('sep' in item) || !item.sep) return undefined;
  if (item.sep.filter((t) => t.type === 'map-value-ind').length !== 1) return undefined;
  if (!item.sep.every((t) => t.type === 'map-value-ind' || trivia(t))) return undefined;
  const value = plainScalar(item.key);
  // The composer limits implicit keys to 1024 characters.
  if (value === undefined || (item.key as CST.FlowScalar).source.length > 1024) return undefined;
  return { value, at: offset + item.key.offset };
}

/** A one-line quoted scalar, or a word-like plain one, as its string; undefined for anything else. */
function plainScalar(token: CST.Token): string | undefined {
  if (
    token.type !== 'scalar' &&
    token.type !== 'single-quoted-scalar' &&
    token.type !== 'double-quoted-scalar'
  )
    return undefined;
  if (!(token.end ?? []).every(trivia) || /[\r\n]/.test(token.source)) return undefined;
  if (token.type === 'scalar')
    return WORD.test(token.source) && !NOT_WORD.test(token.source) ? token.source : undefined;
  let failed = false;
  const r = CST.resolveAsScalar(token, true, () => {
    failed = true;
  });
  return failed || !r ? undefined : r.value;
}

// The subjects made from these links live in ./subjects.ts; re-exported for the library's index.
export { createSubjectResolver, grantSubject, roleSubject, type SubjectResolver } from './subjects.js';
