// Deltas and messages as they travel: the change log's JSON, and the short feed message.
import { StoreError } from '../errors.js';
import type { Provenance } from '../grants.js';
import type { SyncState } from '../policy/sync-state.js';
import { type PolicyRule, type RoleLink, ruleOfParts } from '../policy/types.js';
import type { ChangeDelta, ChangeMessage, DeltaBody } from './types.js';

/** A rule in JSON: `[sub, obj, act, eft, from, until]`, an open bound as null (JSON has no Infinity). */
type RuleJson = [string, string, string, string, number | null, number | null];
type LinkJson = [string, string];

const ruleJson = (r: PolicyRule): RuleJson => [
  r.sub,
  r.obj,
  r.act,
  r.eft,
  Number.isFinite(r.from) ? r.from : null,
  Number.isFinite(r.until) ? r.until : null,
];

/** The change-log JSON of a delta, with strings in storable form (see storableJson). */
export function encodeDelta(d: DeltaBody): string {
  return storableJson({
    addRules: d.addRules.map(ruleJson),
    removeRules: d.removeRules.map(ruleJson),
    addLinks: d.addLinks.map((l): LinkJson => [l.member, l.role]),
    removeLinks: d.removeLinks.map((l): LinkJson => [l.member, l.role]),
    provenance: [...d.provenance],
    state: d.state,
    subjects: d.subjects,
  });
}

/**
 * A delta read back from the change log. @throws StoreError (failed) when the JSON is not shaped
 * as encodeDelta writes it: a follower must not apply half of a delta it cannot read.
 */
export function decodeDelta(version: number, committedAt: number, json: unknown): ChangeDelta {
  const bad = (what: string) =>
    new StoreError({
      failure: 'failed',
      operation: 'changesSince',
      message: `change log version ${version}: ${what}`,
    });
  if (typeof json !== 'object' || json === null) throw bad('the delta is not an object');
  const d = json as Record<string, unknown>;
  const list = (k: string): unknown[] => {
    const v = d[k];
    if (!Array.isArray(v)) throw bad(`"${k}" is not an array`);
    return v;
  };
  const rule = (x: unknown): PolicyRule => {
    if (!Array.isArray(x) || x.length !== 6 || !x.slice(0, 4).every((s) => typeof s === 'string'))
      throw bad('a rule is not [sub, obj, act, eft, from, until]');
    const [sub, obj, act, eft, from, until] = x as RuleJson;
    if (eft !== 'allow' && eft !== 'deny') throw bad(`a rule has effect ${JSON.stringify(eft)}`);
    if ((from !== null && !Number.isSafeInteger(from)) || (until !== null && !Number.isSafeInteger(until)))
      throw bad('a rule bound is not epoch ms or null');
    return ruleOfParts(sub, obj, act, eft, from, until);
  };
  const link = (x: unknown): RoleLink => {
    if (!Array.isArray(x) || x.length !== 2 || typeof x[0] !== 'string' || typeof x[1] !== 'string')
      throw bad('a link is not [member, role]');
    return { member: x[0], role: x[1] };
  };
  const provenance = new Map<string, readonly Provenance[]>();
  for (const e of list('provenance')) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !Array.isArray(e[1]))
      throw bad('a provenance entry is not [key, [...]]');
    provenance.set(e[0], e[1] as Provenance[]);
  }
  const subjects = list('subjects');
  if (!subjects.every((s) => typeof s === 'string')) throw bad('"subjects" holds a non-string');
  const state = d['state'];
  if (state !== null && (typeof state !== 'object' || Array.isArray(state)))
    throw bad('"state" is not an object or null');
  return {
    version,
    committedAt,
    addRules: list('addRules').map(rule),
    removeRules: list('removeRules').map(rule),
    addLinks: list('addLinks').map(link),
    removeLinks: list('removeLinks').map(link),
    provenance,
    state: state as SyncState | null,
    subjects: subjects as string[],
  };
}

/** Rule subjects and link members of a change, each once, in first-seen order. */
export function subjectsOf(d: {
  readonly addRules: readonly PolicyRule[];
  readonly removeRules: readonly PolicyRule[];
  readonly addLinks: readonly RoleLink[];
  readonly removeLinks: readonly RoleLink[];
}): string[] {
  const out = new Set<string>();
  for (const r of d.removeRules) out.add(r.sub);
  for (const r of d.addRules) out.add(r.sub);
  for (const l of d.removeLinks) out.add(l.member);
  for (const l of d.addLinks) out.add(l.member);
  return [...out];
}

/** PostgreSQL NOTIFY payloads must stay under 8000 bytes; Redis has no such limit, but keep one size. */
export const MAX_MESSAGE_BYTES = 7000;

/** The feed message for a version: subjects listed while the JSON stays under MAX_MESSAGE_BYTES, else null. */
export function messageFor(version: number, subjects: readonly string[], origin: string): ChangeMessage {
  const unlisted: ChangeMessage = { version, subjects: null, origin };
  // Each listed subject takes at least 3 bytes ("",), so a long list need not be encoded to know.
  if (subjects.length * 3 > MAX_MESSAGE_BYTES) return unlisted;
  const listed: ChangeMessage = { version, subjects, origin };
  return Buffer.byteLength(encodeMessage(listed)) <= MAX_MESSAGE_BYTES ? listed : unlisted;
}

export function encodeMessage(m: ChangeMessage): string {
  return storableJson({
    version: m.version,
    subjects: m.subjects,
    ...(m.origin ? { origin: m.origin } : {}),
  });
}

/** A feed message, or undefined when the text is not one (the caller still treats it as a hint). */
export function decodeMessage(text: string): ChangeMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const { version, subjects, origin } = m as { version?: unknown; subjects?: unknown; origin?: unknown };
  if (!Number.isSafeInteger(version) || (version as number) < 0) return undefined;
  if (subjects !== null && !(Array.isArray(subjects) && subjects.every((s) => typeof s === 'string')))
    return undefined;
  if (origin !== undefined && typeof origin !== 'string') return undefined;
  return {
    version: version as number,
    subjects: subjects as string[] | null,
    ...(origin === undefined ? {} : { origin }),
  };
}

/**
 * JSON that PostgreSQL's jsonb can hold: it rejects `\u0000` and unpaired surrogate escapes, so in
 * string values NUL and lone surrogates become U+FFFD (the same canonical form a UTF-8 policy file
 * gives them). Rule and link strings are never rewritten this way: they are refused instead (see
 * checkChange), since rewriting would change a rule's identity.
 */
export function storableJson(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify escapes exactly these as \u0000 and \udXXX; only then is the slow pass needed
  // (an escaped backslash followed by "u0000" also matches, which is merely slower).
  if (!/\\u(?:0000|[dD][89a-fA-F])/.test(text)) return text;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'string' ? storableString(v) : v));
}

function storableString(s: string): string {
  const w = s as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  const well = w.isWellFormed() ? s : w.toWellFormed();
  return well.includes('\u0000') ? well.replaceAll('\u0000', '\uFFFD') : well;
}
