// The decision log: an observer that writes sampled decisions as JSON lines, with the rule and the
// vendor grants behind each. An unsampled decision costs one random draw; only a sampled one is
// explained, built and written.

import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { Decision, DecisionReason } from '../engine/authorizer.js';
import { ALLOWED, DENIED_BY_RULE, type DecisionCode, NO_RULE } from '../engine/decision-cache.js';
import { ConfigError, isDecisionError } from '../errors.js';
import type { Provenance, Vendor } from '../grants.js';
import { isoTime } from '../policy/time.js';
import { isWritable, type LogSink, sinkOpener } from './log-sink.js';
import type { DecisionObserver, ObserverFactory, ObserverHost } from './observer.js';
import { hashSubject } from './subject-mask.js';

/** Which decisions are logged: all, only allows, only denies (refusals included), or those a function keeps. */
export type DecisionLogFilter = 'all' | 'allow' | 'deny' | ((entry: DecisionLogEntry) => boolean);

/** Options of the decision log (`createAuthorizer({ decisionLog })`); give `destination`, `onDecision` or both. */
export interface DecisionLogOptions {
  /**
   * Where JSON lines go: a file path (opened for appending at construction, its folder made,
   * written asynchronously through a pino destination and closed by the authorizer's close()), or
   * any stream with write(string) (`process.stdout`, `pino.destination(...)`), left open.
   */
  readonly destination?: string | { write(line: string): unknown };
  /** Called with each logged entry, after it is written (e.g. `(e) => logger.info(e)`). */
  readonly onDecision?: (entry: DecisionLogEntry) => void;
  /** The share of decisions logged, 0..1, drawn per decision before anything is built. Default 1. */
  readonly sample?: number;
  /** Which sampled decisions are logged. Default 'all'. */
  readonly filter?: DecisionLogFilter;
  /**
   * How the subject is written: 'hash' (`sha256:` + 16 hex digits; unsalted, so pseudonymous, not
   * anonymous) or a function of the subject. Default: as it is.
   */
  readonly maskSubject?: 'hash' | ((subject: string) => string);
  /** Random numbers in [0, 1) for sampling; for tests. Default Math.random. */
  readonly random?: () => number;
}

/** A vendor grant behind the deciding rule, as logged. */
export interface LoggedGrant {
  readonly vendor: Vendor;
  readonly kind: string;
  /** Vendor user id, or `role:<roleId>`. */
  readonly holder: string;
  /** The vendor's permission value. */
  readonly raw: string;
  /** The mapping rule that translated it, `file:line`. */
  readonly mapping?: string;
  /** The snapshot file it was read from. */
  readonly source?: string;
}

/** One line of the decision log. */
export interface DecisionLogEntry {
  /** When it was logged, ISO-8601, from the authorizer's clock. */
  readonly time: string;
  /** The subject (masked when asked); null when the call gave no string. */
  readonly subject: string | null;
  readonly resource: string | null;
  readonly action: string | null;
  readonly result: 'allow' | 'deny';
  readonly reason: DecisionReason;
  /** The deciding rule, when one decided. */
  readonly rule?: NonNullable<Decision['rule']>;
  /** [subject, role, ..., rule subject], the subject masked as `subject` is. */
  readonly via?: readonly string[];
  /** The vendor grants behind the rule. */
  readonly grants?: readonly LoggedGrant[];
  /** Whether the decision came from the cache (a refusal: miss). */
  readonly cache: 'hit' | 'miss';
  /** The store version the authorizer held (0 with a file store). */
  readonly policyVersion: number;
  /** The call id passed to enforce() (the middleware's, also sent in its response header). */
  readonly callId?: string;
  /** How long enforce() took, µs; only on calls the engine timed (about one in 16, as for the metrics). */
  readonly durationUs?: number;
  /** Why no decision could be made (reason `invalid-request` or `error`). */
  readonly error?: string;
}

/** The decision log of one authorizer: its observer, and close() to flush it. */
export interface DecisionLog {
  readonly observe: ObserverFactory;
  /** Writes out what is buffered and closes a file destination (a stream passed in stays open). */
  close(): Promise<void>;
}

const REASONS: Readonly<Record<DecisionCode, DecisionReason>> = {
  [NO_RULE]: 'no-matching-rule',
  [ALLOWED]: 'allowed',
  [DENIED_BY_RULE]: 'denied-by-rule',
};

/** The message logged for an error that is not the engine's own (its text may hold anything). */
const UNEXPECTED = 'an unexpected error (its message is not logged; enforce() passes it to onError)';

/**
 * Checks the options once (before anything else) and returns the log's observer factory; pino is
 * loaded now when a file is asked for, and the file opened when the engine builds the observer.
 *
 * @throws ConfigError naming the option (`decisionLog.sample`, ...) when one is invalid.
 * @example
 * await createDecisionLog({ destination: 'logs/decisions.jsonl', sample: 0.01, filter: 'deny' });
 */
export async function createDecisionLog(
  options: DecisionLogOptions,
  onError: (error: unknown) => void = () => {},
): Promise<DecisionLog> {
  const o = checkOptions(options);
  const open = o.destination === undefined ? undefined : await sinkOpener(o.destination, onError);
  let sink: LogSink | undefined;
  return {
    observe(host) {
      sink ??= open?.();
      return decisionLogObserver(
        host,
        o,
        (entry, line) => {
          if (o.keep !== undefined && !o.keep(entry)) return;
          sink?.write(`${line ?? JSON.stringify(entry)}\n`);
          o.onDecision?.(entry);
        },
        open !== undefined,
      );
    },
    close: async () => {
      await sink?.close();
    },
  };
}

interface Checked {
  readonly destination: string | { write(line: string): unknown } | undefined;
  readonly onDecision: ((entry: DecisionLogEntry) => void) | undefined;
  readonly sample: number;
  readonly random: () => number;
  /** Which decision codes pass the filter, and whether refusals (denies) do. */
  readonly codes: readonly boolean[];
  readonly refusals: boolean;
  readonly keep: ((entry: DecisionLogEntry) => boolean) | undefined;
  readonly mask: ((subject: string) => string) | undefined;
}

function checkOptions(options: DecisionLogOptions): Checked {
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('decisionLog', 'must be an object with destination and/or onDecision');
  const { destination, onDecision, sample = 1, filter = 'all', maskSubject, random = Math.random } = options;
  if (destination === undefined && onDecision === undefined)
    throw new ConfigError('decisionLog', 'give destination (a file path or a stream), onDecision, or both');
  if (
    destination !== undefined &&
    !(typeof destination === 'string' && destination !== '') &&
    !isWritable(destination)
  )
    throw new ConfigError('decisionLog.destination', 'must be a file path or a stream with a write() method');
  if (onDecision !== undefined && typeof onDecision !== 'function')
    throw new ConfigError('decisionLog.onDecision', 'must be a function (entry) => void');
  if (typeof sample !== 'number' || !(sample >= 0 && sample <= 1))
    throw new ConfigError('decisionLog.sample', `must be a number from 0 to 1, got ${String(sample)}`);
  if (typeof random !== 'function')
    throw new ConfigError('decisionLog.random', 'must be a function returning [0, 1)');
  if (typeof filter !== 'function' && filter !== 'all' && filter !== 'allow' && filter !== 'deny')
    throw new ConfigError(
      'decisionLog.filter',
      `must be 'all', 'allow', 'deny' or a function, got ${String(filter)}`,
    );
  if (maskSubject !== undefined && maskSubject !== 'hash' && typeof maskSubject !== 'function')
    throw new ConfigError(
      'decisionLog.maskSubject',
      `must be 'hash' or a function, got ${String(maskSubject)}`,
    );
  const allows = filter !== 'deny';
  const denies = filter !== 'allow';
  const codes: boolean[] = [];
  codes[NO_RULE] = denies;
  codes[ALLOWED] = allows;
  codes[DENIED_BY_RULE] = denies;
  return {
    destination,
    onDecision,
    sample,
    random,
    codes,
    refusals: denies,
    keep: typeof filter === 'function' ? filter : undefined,
    mask: maskSubject === 'hash' ? hashSubject : maskSubject,
  };
}

/**
 * An entry while it is built: optional fields are added only when they apply (absent, not
 * undefined), after the literal; spreading optional parts into it cost µs each.
 */
type Building = { -readonly [K in keyof DecisionLogEntry]: DecisionLogEntry[K] };

/** What a sampled entry reuses of an earlier explanation of the same request. */
interface Explained {
  /** The engine's policy epoch it was made under. */
  readonly epoch: number;
  readonly reason: DecisionReason;
  /** [from, until) in epoch ms: while the clock is inside, the same rules decide. */
  readonly from: number;
  readonly until: number;
  readonly rule: NonNullable<Decision['rule']> | undefined;
  readonly via: readonly string[] | undefined;
  readonly grants: readonly LoggedGrant[] | undefined;
  /** `,"rule":…,"via":…,"grants":…` as the line ends with them, or '' without a rule. */
  readonly json: string;
}

/** Explanations kept for sampled entries (a hot request is sampled again and again). */
const EXPLAINED_MAX = 10_000;

function decisionLogObserver(
  host: ObserverHost,
  o: Checked,
  emit: (entry: DecisionLogEntry, head: string | undefined) => void,
  serialize: boolean,
): DecisionObserver {
  const { sample, random, codes, refusals, mask } = o;
  const { clock } = host;
  const subjectOf = (user: string) => (mask === undefined ? user : String(mask(user)));
  const explained = new LRUCache<string, Explained>({ max: EXPLAINED_MAX });

  /**
   * The rule, role path and grants behind a decision: remembered per request while the policy
   * epoch, the reason and the time window of the explanation hold; else explained anew.
   */
  const explain = (
    user: string,
    subject: string,
    resource: string,
    action: string,
    reason: DecisionReason,
    at: number,
  ): Explained | undefined => {
    // Lengths first: no two requests share a key, whatever characters (NUL included) they hold.
    const key = `${user.length}:${resource.length}:${user}${resource}${action}`;
    const epoch = host.policyEpoch();
    const known = explained.get(key);
    if (
      known !== undefined &&
      known.epoch === epoch &&
      known.reason === reason &&
      at >= known.from &&
      at < known.until
    )
      return known;
    const d = host.explainAt(user, resource, action, at);
    // The explanation's rule, unless its answer differs (a rule's window ended since the decision).
    if (d.reason !== reason) return undefined;
    let rule: Explained['rule'];
    let via: Explained['via'];
    let grants: Explained['grants'];
    if (d.rule !== undefined) {
      const r = d.rule;
      rule = r.sub === user && subject !== user ? { ...r, sub: subject } : r;
      via = (d.via ?? []).map((x) => (x === user ? subject : x));
      grants = (d.grants ?? []).map(loggedGrant);
    }
    const e: Explained = {
      epoch,
      reason,
      from: d.validFrom === null ? Number.NEGATIVE_INFINITY : Date.parse(d.validFrom),
      until: d.validUntil === null ? Number.POSITIVE_INFINITY : Date.parse(d.validUntil),
      rule,
      via,
      grants,
      json:
        rule === undefined || !serialize
          ? ''
          : `,"rule":${JSON.stringify(rule)},"via":${JSON.stringify(via)},"grants":${JSON.stringify(grants)}`,
    };
    explained.set(key, e);
    return e;
  };

  /** The entry of a sampled decision, at the clock's now, with the rule and grants. */
  const record: DecisionObserver['decided'] = (user, resource, action, code, cacheHit, seconds, context) => {
    const at = timeOf(clock);
    const reason = REASONS[code];
    const subject = subjectOf(user);
    const e = explain(user, subject, resource, action, reason, at);
    const time = isoTime(at);
    const result = code === ALLOWED ? 'allow' : 'deny';
    const cache = cacheHit ? 'hit' : 'miss';
    const policyVersion = host.policyVersion();
    const entry: Building = { time, subject, resource, action, result, reason, cache, policyVersion };
    if (seconds >= 0) entry.durationUs = micros(seconds);
    const callId = context?.callId;
    if (typeof callId === 'string') entry.callId = callId;
    // The line, written out field by field in the entry's order (only the strings a caller or a
    // vendor gave need JSON's escaping), then the remembered rule, path and grants.
    const head = serialize
      ? `{"time":"${time}","subject":${JSON.stringify(subject)},"resource":${JSON.stringify(resource)},"action":${JSON.stringify(action)},"result":"${result}","reason":"${reason}","cache":"${cache}","policyVersion":${policyVersion}${entry.durationUs === undefined ? '' : `,"durationUs":${entry.durationUs}`}${entry.callId === undefined ? '' : `,"callId":${JSON.stringify(entry.callId)}`}${e?.json ?? ''}}`
      : undefined;
    if (e?.rule !== undefined) {
      entry.rule = e.rule;
      entry.via = e.via ?? [];
      entry.grants = e.grants ?? [];
    }
    emit(entry, head);
  };
  return {
    decided(user, resource, action, code, cacheHit, seconds, context) {
      // The hot path: an unsampled or filtered-out decision stops here, in a function small
      // enough to inline; the sampled work is a function of its own.
      if (sample < 1 && !(random() < sample)) return;
      if (codes[code]) record(user, resource, action, code, cacheHit, seconds, context);
    },
    refused(user, resource, action, reason, error, seconds, context) {
      if (sample < 1 && !(random() < sample)) return;
      if (!refusals) return;
      const entry: Building = {
        time: new Date(timeOf(clock)).toISOString(),
        // Only strings are logged, never the objects a caller passed.
        subject: typeof user === 'string' ? subjectOf(user) : null,
        resource: typeof resource === 'string' ? resource : null,
        action: typeof action === 'string' ? action : null,
        result: 'deny',
        reason,
        cache: 'miss',
        policyVersion: host.policyVersion(),
      };
      if (seconds >= 0) entry.durationUs = micros(seconds);
      const callId = context?.callId;
      if (typeof callId === 'string') entry.callId = callId;
      // The engine's own messages carry no secrets; anything else may, so its text stays out.
      entry.error = isDecisionError(error) ? error.message : UNEXPECTED;
      emit(entry, undefined);
    },
  };
}

/** The clock's now; the system's when the clock fails (a failing clock is itself a logged refusal). */
function timeOf(clock: Clock): number {
  try {
    const t = clock.now();
    if (Number.isFinite(t) && Math.abs(t) <= 8.64e15) return t;
  } catch {
    // reported by the engine with the refusal
  }
  return Date.now();
}

/** Named fields only: a provenance record read from a file may carry more. */
function loggedGrant(p: Provenance): LoggedGrant {
  const g: { -readonly [K in keyof LoggedGrant]: LoggedGrant[K] } = {
    vendor: p.vendor,
    kind: p.kind,
    holder: p.holder,
    raw: p.raw,
  };
  if (p.mapping) g.mapping = `${p.mapping.file}:${p.mapping.line}`;
  if (typeof p.source === 'string') g.source = p.source;
  return g;
}

const micros = (seconds: number) => Math.round(seconds * 1e7) / 10;
