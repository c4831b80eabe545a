// The decision log: an observer that writes sampled decisions as JSON lines, with the rule and the
// vendor grants behind each. The engine draws the sample (an unsampled decision never reaches the
// log); a sampled one asks the engine which rule decided, and a rule's facts are built once.

import type { Clock } from '../clock.js';
import { ruleView } from '../engine/access-view.js';
import type { Decision, DecisionReason } from '../engine/authorizer.js';
import { ALLOWED, DENIED_BY_RULE, NO_RULE } from '../engine/decision-cache.js';
import type { Reach } from '../engine/policy-index.js';
import { ConfigError, isDecisionError } from '../errors.js';
import type { Provenance, Vendor } from '../grants.js';
import { isoTime } from '../policy/time.js';
import type { PolicyRule } from '../policy/types.js';
import { DrawnDecisions, lineParts, micros, REASONS, type RuleText, ruleText } from './log-line.js';
import { isWritable, type LogSink, sinkOpener } from './log-sink.js';
import type { DecisionObserver, ObserverFactory, ObserverHost } from './observer.js';
import { hashSubject } from './subject-mask.js';

/** Which decisions are logged: all, only allows, only denies (refusals included), or those a function keeps. */
export type DecisionLogFilter = 'all' | 'allow' | 'deny' | ((entry: DecisionLogEntry) => boolean);

/** Options of the decision log (`createAuthorizer({ decisionLog })`); give `destination`, `onDecision` or both. */
export interface DecisionLogOptions {
  /**
   * Where JSON lines go: a file path (opened for appending at construction, its folder made,
   * written through a synchronous pino destination, a chunk of lines at a time, and closed by the
   * authorizer's close()), or any stream with write(string) (`process.stdout`,
   * `pino.destination(...)`), left open.
   */
  readonly destination?: string | { write(line: string): unknown };
  /** Called with each logged entry, after it is written (e.g. `(e) => logger.info(e)`). */
  readonly onDecision?: (entry: DecisionLogEntry) => void;
  /** The share of decisions logged, 0..1, each drawn independently before anything is built. Default 1. */
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
  /** How long enforce() took, µs: on every logged decision (the engine times the calls it tells the log about); on a refusal only when its call was drawn. */
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
  // The entry object is built only for someone who reads it (onDecision, a filter function).
  const deliver =
    o.onDecision === undefined && o.keep === undefined ? undefined : (o.onDecision ?? (() => {}));
  const flushes: (() => void)[] = [];
  return {
    observe(host) {
      sink ??= open?.();
      const file = sink;
      const log = decisionLogObserver(
        host,
        o,
        {
          ...(file === undefined
            ? {}
            : { write: (line: string) => file.write(line), drain: () => file.drain() }),
          ...(deliver === undefined ? {} : { deliver }),
        },
        onError,
      );
      flushes.push(log.flush);
      return log.observer;
    },
    close: async () => {
      for (const flush of flushes) flush();
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

/** What entries reuse of a deciding rule until the policy changes: its view, grants and JSON. */
interface RuleFacts {
  /** The subject the view names when the rule names the requester (masked as entries are). */
  readonly subject: string;
  /**
   * Built for the rule's own subject (its `sub` masked) rather than for a user reaching it through
   * links (shown as it is): two users may mask alike, so the subject alone cannot tell them apart.
   */
  readonly own: boolean;
  readonly rule: NonNullable<Decision['rule']>;
  readonly grants: readonly LoggedGrant[];
  /** The rule and its grants as a line writes them. */
  readonly text: RuleText;
}

/** The deciding rule of one entry, with the role path to it. */
interface Why {
  readonly facts: RuleFacts;
  readonly via: readonly string[];
}

/** Rules whose facts are kept; past this many they are forgotten together (and rebuilt on use). */
const RULES_KEPT = 10_000;

/** Lines joined into one text for the destination. */
const LINES_JOINED = 32;

/** Decisions waiting to be written as lines, at most this many (then they are written at once). */
const PENDING_MAX = 1024;

function decisionLogObserver(
  host: ObserverHost,
  o: Checked,
  out: {
    write?: (line: string) => void;
    drain?: () => void;
    deliver?: (entry: DecisionLogEntry) => void;
  },
  onError: (error: unknown) => void,
): { observer: DecisionObserver; flush: () => void } {
  const { sample, random, codes, refusals, mask, keep } = o;
  const { clock } = host;
  const { write, drain, deliver } = out;
  const subjectOf = (user: string) => (mask === undefined ? user : String(mask(user)));
  // Keyed by the engine's rule objects: a rule shared by a role's members is explained once;
  // forgotten when the policy or its provenance changes (policyChanging).
  const facts = new Map<PolicyRule, RuleFacts>();

  /** A rule's view, grants and their JSON: remembered until the policy or its provenance changes. */
  const factsOf = (rule: PolicyRule, user: string, subject: string): RuleFacts => {
    if (facts.size >= RULES_KEPT) facts.clear();
    const known = facts.get(rule);
    const own = rule.sub === user;
    if (known !== undefined && known.own === own && (!own || known.subject === subject)) return known;
    const view = ruleView(rule);
    const shown = own && subject !== user ? { ...view, sub: subject } : view;
    const grants = host.grantsOf(rule).map(loggedGrant);
    const f: RuleFacts = {
      subject,
      own,
      rule: shown,
      grants,
      text: ruleText(JSON.stringify(shown), JSON.stringify(grants)),
    };
    facts.set(rule, f);
    return f;
  };

  /** The deciding rule as an entry shows it, with the path the subject reaches it by. */
  const whyOf = (user: string, subject: string, rule: PolicyRule, reach: Reach | undefined): Why => {
    const f = factsOf(rule, user, subject);
    const path = host.via(user, rule, reach);
    const via = subject === user ? path : path.map((x) => (x === user ? subject : x));
    return { facts: f, via };
  };

  // With only a file or stream to write to, drawn decisions wait (PENDING_MAX at most, or until the
  // next turn of the event loop, a policy change or close()) and are written together: the same
  // work, done in one warm loop instead of scattered between cached decisions, LINES_JOINED lines
  // to a text. The decisions' columns and their lines' parts are kept between flushes; a flush
  // that starts during another (a masking function that decides) takes a list of its own.
  let pending = new DrawnDecisions(PENDING_MAX);
  let spare: DrawnDecisions | undefined = new DrawnDecisions(PENDING_MAX);
  const flush = () => {
    const list = pending;
    if (list.size === 0) return;
    pending = spare ?? new DrawnDecisions(PENDING_MAX);
    spare = undefined;
    const parts = list.parts;
    let k = 0;
    let lines = 0;
    const text = () => {
      parts.length = k;
      k = 0;
      lines = 0;
      write?.(parts.join(''));
    };
    for (let j = 0; j < list.size; j++) {
      try {
        const user = list.users[j] as string;
        const subject = subjectOf(user);
        const rule = list.rules[j];
        const why = rule === undefined ? undefined : whyOf(user, subject, rule, list.reaches[j]);
        k = lineParts(parts, k, list, j, subject, why?.facts.text, why?.via);
      } catch (err) {
        // A masking function that throws loses its entry, not the others.
        onError(err);
        continue;
      }
      if (++lines === LINES_JOINED) text();
    }
    if (lines > 0) text();
    list.clear();
    spare = list;
    // Already a turn late: handed on now, not on the turn after.
    drain?.();
  };

  /** The entry of a drawn decision, at the clock's now, with the rule and grants. */
  const record: DecisionObserver['decided'] = (user, resource, action, decision, hit, seconds, context) => {
    const callId = typeof context?.callId === 'string' ? context.callId : undefined;
    const at = nowOf(clock);
    const version = host.policyVersion();
    if (deliver === undefined) {
      // Copied now, while the decision is in the processor's cache.
      const n = pending.add(user, resource, action, decision, hit, seconds, at, callId, version);
      if (n === 1) setImmediate(flush);
      else if (n >= PENDING_MAX) flush();
      return;
    }
    const { code, rule, reach } = decision;
    const subject = subjectOf(user);
    const why = rule === undefined ? undefined : whyOf(user, subject, rule, reach);
    const entry: Building = {
      time: isoTime(at),
      subject,
      resource,
      action,
      result: code === ALLOWED ? 'allow' : 'deny',
      reason: REASONS[code],
      cache: hit ? 'hit' : 'miss',
      policyVersion: version,
    };
    if (seconds >= 0) entry.durationUs = micros(seconds);
    if (callId !== undefined) entry.callId = callId;
    if (why !== undefined) {
      entry.rule = why.facts.rule;
      entry.via = why.via;
      entry.grants = why.facts.grants;
    }
    if (keep !== undefined && !keep(entry)) return;
    // The entry is built already, in the line's order: its JSON is the line.
    write?.(`${JSON.stringify(entry)}\n`);
    deliver(entry);
  };
  const observer: DecisionObserver = {
    // The engine draws which decisions this observer is told about.
    share: sample,
    random,
    // Waiting decisions are written with the policy that decided them, then the rules' facts go.
    policyChanging() {
      flush();
      facts.clear();
    },
    decided(user, resource, action, decision, cacheHit, seconds, context) {
      if (codes[decision.code]) record(user, resource, action, decision, cacheHit, seconds, context);
    },
    refused(user, resource, action, reason, error, seconds, context) {
      // Every refusal is told (they are rare): drawn here.
      if (sample < 1 && !(random() < sample)) return;
      if (!refusals) return;
      // In order: the decisions waiting before it first.
      flush();
      const entry: Building = {
        time: isoTime(nowOf(clock)),
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
      if (keep !== undefined && !keep(entry)) return;
      write?.(`${JSON.stringify(entry)}\n`);
      deliver?.(entry);
    },
  };
  return { observer, flush };
}

/** The clock's now; the system's when the clock fails (a failing clock is itself a logged refusal). */
function nowOf(clock: Clock): number {
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
