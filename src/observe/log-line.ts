// The decision log's lines: drawn decisions kept as columns until they are written, and each line
// written as parts of a text that is joined once. What the log allocates slows the hot path too
// (the processor's caches and the young generation are shared), so neither a drawn decision nor a
// line's fields make an object or a string of their own.

import type { DecisionReason } from '../engine/authorizer.js';
import {
  ALLOWED,
  type CachedDecision,
  DENIED_BY_RULE,
  type DecisionCode,
  NO_RULE,
} from '../engine/decision-cache.js';
import type { Reach } from '../engine/policy-index.js';
import { isoSecondOf, isoTime, millisOf } from '../policy/time.js';
import type { PolicyRule } from '../policy/types.js';
import { jsonInner } from './json-string.js';

export const REASONS: Readonly<Record<DecisionCode, DecisionReason>> = {
  [NO_RULE]: 'no-matching-rule',
  [ALLOWED]: 'allowed',
  [DENIED_BY_RULE]: 'denied-by-rule',
};

/**
 * A line's fields from the action's value to policyVersion, by DecisionCode * 2 + (1 for a cache
 * hit): `","result":"allow","reason":"allowed","cache":"hit","policyVersion":`.
 */
const OUTCOMES: readonly string[] = (() => {
  const out: string[] = [];
  for (const code of [NO_RULE, ALLOWED, DENIED_BY_RULE] as const) {
    const head = `","result":"${code === ALLOWED ? 'allow' : 'deny'}","reason":"${REASONS[code]}","cache":`;
    out[code * 2] = `${head}"miss","policyVersion":`;
    out[code * 2 + 1] = `${head}"hit","policyVersion":`;
  }
  return out;
})();

/** The end of a line's time by its milliseconds, up to the subject's value: `123Z","subject":"`. */
const TIME_ENDS: readonly string[] = Array.from(
  { length: 1000 },
  (_, ms) => `${String(ms).padStart(3, '0')}Z","subject":"`,
);

/** durationUs's tenths of a µs by digit: nothing for 0. */
const TENTHS: readonly string[] = ['', '.1', '.2', '.3', '.4', '.5', '.6', '.7', '.8', '.9'];

/** The start of a line up to its time's milliseconds, for the second it was last made for. */
let lineSecond = '';
let lineStart = '';

/**
 * What a line shows of its deciding rule, the role path aside: `,"rule":{…},"via":[` before the
 * path, and `"],"grants":[…]` after it (`],"grants":[…]` after an empty path).
 */
export interface RuleText {
  readonly head: string;
  readonly tail: string;
  readonly emptyTail: string;
}

/** A rule's text for lines, from its JSON and its grants' JSON. */
export function ruleText(ruleJson: string, grantsJson: string): RuleText {
  const emptyTail = `],"grants":${grantsJson}`;
  return { head: `,"rule":${ruleJson},"via":[`, tail: `"${emptyTail}`, emptyTail };
}

/** µs with one decimal, as logged. */
export const micros = (seconds: number) => Math.round(seconds * 1e7) / 10;

/**
 * Drawn decisions as they were when made, one column per field, until their lines are written.
 * Emptied by clear(), which keeps the columns' storage and lets go of what they referred to.
 */
export class DrawnDecisions {
  size = 0;
  readonly users: string[] = [];
  readonly resources: string[] = [];
  readonly actions: string[] = [];
  readonly rules: (PolicyRule | undefined)[] = [];
  readonly reaches: (Reach | undefined)[] = [];
  readonly callIds: (string | undefined)[] = [];
  readonly codes: Uint8Array;
  readonly hits: Uint8Array;
  readonly seconds: Float64Array;
  readonly times: Float64Array;
  readonly versions: Float64Array;
  /**
   * The parts of the lines being written from this list: kept between flushes (emptying an array
   * drops its storage), and one per list, so a flush that starts during another has its own.
   */
  readonly parts: (string | number)[] = [];

  constructor(readonly capacity: number) {
    this.codes = new Uint8Array(capacity);
    this.hits = new Uint8Array(capacity);
    this.seconds = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.versions = new Float64Array(capacity);
  }

  /** Keeps a decision (its code, rule and reach copied now); returns how many are kept. */
  add(
    user: string,
    resource: string,
    action: string,
    decision: CachedDecision,
    hit: boolean,
    seconds: number,
    at: number,
    callId: string | undefined,
    version: number,
  ): number {
    const j = this.size;
    this.users[j] = user;
    this.resources[j] = resource;
    this.actions[j] = action;
    this.codes[j] = decision.code;
    this.rules[j] = decision.rule;
    this.reaches[j] = decision.reach;
    this.hits[j] = hit ? 1 : 0;
    this.seconds[j] = seconds;
    this.times[j] = at;
    this.callIds[j] = callId;
    this.versions[j] = version;
    this.size = j + 1;
    return this.size;
  }

  clear(): void {
    const n = this.size;
    this.size = 0;
    this.users.fill('', 0, n);
    this.resources.fill('', 0, n);
    this.actions.fill('', 0, n);
    this.rules.fill(undefined, 0, n);
    this.reaches.fill(undefined, 0, n);
    this.callIds.fill(undefined, 0, n);
  }
}

/**
 * Writes the line of decision `j` to `parts` from index `k` (in the entry's order; `rule` and `via`
 * when a rule decided) and returns the index after it. Joined, the parts are the line as
 * JSON.stringify would write the entry, with its newline.
 */
export function lineParts(
  parts: (string | number)[],
  k: number,
  list: DrawnDecisions,
  j: number,
  subject: string,
  rule?: RuleText,
  via?: readonly string[],
): number {
  // Each string value between quotes the constant parts hold; only the strings a caller or a
  // vendor gave can need JSON's escaping.
  let i = k;
  const at = list.times[j] as number;
  const second = isoSecondOf(at);
  if (second === undefined) {
    parts[i++] = '{"time":"';
    parts[i++] = isoTime(at);
    parts[i++] = '","subject":"';
  } else {
    if (second !== lineSecond) {
      lineSecond = second;
      lineStart = `{"time":"${second}`;
    }
    parts[i++] = lineStart;
    parts[i++] = TIME_ENDS[millisOf(at)] as string;
  }
  parts[i++] = jsonInner(subject);
  parts[i++] = '","resource":"';
  parts[i++] = jsonInner(list.resources[j] as string);
  parts[i++] = '","action":"';
  parts[i++] = jsonInner(list.actions[j] as string);
  parts[i++] = OUTCOMES[(list.codes[j] as number) * 2 + (list.hits[j] as number)] as string;
  parts[i++] = list.versions[j] as number;
  const seconds = list.seconds[j] as number;
  if (seconds >= 0) {
    // micros(), written from integers (a fractional number's text would be made anew each time)
    // while their text is exact: up to 3 years.
    const tenths = Math.round(seconds * 1e7);
    parts[i++] = ',"durationUs":';
    if (tenths < 1e15) {
      parts[i++] = Math.floor(tenths / 10);
      parts[i++] = TENTHS[tenths % 10] as string;
    } else parts[i++] = micros(seconds);
  }
  const callId = list.callIds[j];
  if (callId !== undefined) {
    parts[i++] = ',"callId":"';
    parts[i++] = jsonInner(callId);
    parts[i++] = '"';
  }
  if (rule !== undefined && via !== undefined) {
    parts[i++] = rule.head;
    for (let v = 0; v < via.length; v++) {
      parts[i++] = v === 0 ? '"' : '","';
      parts[i++] = jsonInner(via[v] as string);
    }
    parts[i++] = via.length === 0 ? rule.emptyTail : rule.tail;
  }
  parts[i++] = '}\n';
  return i;
}
