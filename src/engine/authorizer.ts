import { type Clock, systemClock, timeOf } from '../clock.js';
import { ConfigError, DecisionError, reporter } from '../errors.js';
import type { Provenance } from '../grants.js';
import {
  type DecisionContext,
  type DecisionObserver,
  nextDraw,
  type ObserverFactory,
  type ObserverHost,
} from '../observe/observer.js';
import { isPolicyStore, type PolicyStore } from '../policy/policy-store.js';
import { type ProvenanceIndex, readPolicy, readProvenance } from '../policy/store.js';
import { holderKey, readSyncState, type StaleHolder } from '../policy/sync-state.js';
import { isoTime } from '../policy/time.js';
import { linkKey, type Policy, type PolicyRule, type RoleLink, ruleKey } from '../policy/types.js';
import {
  type ProvenanceLookup,
  type RuleView,
  ruleView,
  type WhatCanResult,
  type WhoCanResult,
} from './access-view.js';
import {
  ALLOWED,
  type CachedDecision,
  DENIED_BY_RULE,
  DecisionCache,
  type DecisionCode,
  decisionOf,
  NO_RULE,
} from './decision-cache.js';
import { type NearMiss, nearMisses } from './near-miss.js';
import { PolicyIndex, type Validity } from './policy-index.js';
import { checkPolicy, checkPolicyChange, checkProvenance } from './policy-input.js';
import { whatCan, whoCan } from './reverse.js';

/** Why a decision came out as it did. */
export type DecisionReason = 'allowed' | 'denied-by-rule' | 'no-matching-rule' | 'invalid-request' | 'error';

/** The answer of explain(): the decision, the rule that decided, and where that rule came from. */
export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
  readonly subject: string;
  readonly resource: string;
  readonly action: string;
  /** The decision time, ISO-8601. */
  readonly at: string;
  /** The Casbin rule that decided (`p, sub, obj, act, eft, from, until`), if any rule did. */
  readonly rule?: RuleView;
  /** How the subject reaches the rule's subject: [subject, role, ..., rule subject]. */
  readonly via?: readonly string[];
  /** The normalized grants and vendor values behind the rule (vendor, holder, raw value, mapping file:line). */
  readonly grants?: readonly Provenance[];
  /** The role links on the path, with their vendor provenance. */
  readonly links?: readonly {
    readonly member: string;
    readonly role: string;
    readonly from: readonly Provenance[];
  }[];
  /** The decision holds from this time (ISO) until `validUntil`; null = open. */
  readonly validFrom: string | null;
  readonly validUntil: string | null;
  /** Set when the decision failed and was denied (fail closed). */
  readonly error?: string;
  /**
   * Vendor accounts (or roles) behind this decision whose last fetch failed: their rules are kept
   * from an earlier sync, as of `lastSuccess`.
   */
  readonly stale?: readonly StaleHolder[];
  /**
   * For a deny (`denied-by-rule` or `no-matching-rule`): what came closest to allowing, at most 5 of
   * each kind: the denies and the allows they override, allows outside their window, other actions
   * the subject has on the resource (with the vendor value that gives the asked one), roles that
   * would allow it and who holds them. Absent when there is none.
   */
  readonly nearMisses?: readonly NearMiss[];
}

/** Options of whoCan(). */
export interface WhoCanOptions {
  /** The time to answer for (Date, ISO-8601 or epoch ms). Default: the clock's now. */
  readonly at?: Date | string | number;
  /** Also list role subjects (`role:...`) that are allowed when asked directly. Default: false (roles appear only in `via`). */
  readonly includeRoles?: boolean;
}

/** Options of whatCan(). */
export interface WhatCanOptions {
  /** The time to answer for (Date, ISO-8601 or epoch ms). Default: the clock's now. */
  readonly at?: Date | string | number;
  /** Only resources that start with this, e.g. `vonage:group:`. Default: '' (all). */
  readonly resourcePrefix?: string;
}

/** Incremental policy changes. */
export interface PolicyChange {
  readonly addRules?: readonly PolicyRule[];
  readonly removeRules?: readonly PolicyRule[];
  readonly addLinks?: readonly RoleLink[];
  readonly removeLinks?: readonly RoleLink[];
  /** Provenance for added rules and links, keyed by ruleKey()/linkKey(). */
  readonly provenance?: ProvenanceIndex;
}

export interface ChangeResult {
  readonly added: number;
  readonly removed: number;
  /** Subjects whose cached decisions were dropped. */
  readonly invalidatedSubjects: number;
}

export interface CacheOptions {
  /** Maximum number of cached decisions. Default 100_000. */
  readonly max?: number;
  /** Longest a decision is served from cache, in ms. Default 300_000 (5 min); 0 = no limit beyond the policy's own validity. */
  readonly ttl?: number;
}

export interface AuthorizerOptions {
  /**
   * A policies folder (holding policy.csv, provenance.jsonl), an in-memory Policy, or a PolicyStore
   * (the file store of a folder, or PostgreSQL). Default: "policies".
   */
  readonly policies?: string | Policy | PolicyStore;
  /** Provenance for explain() when `policies` is an in-memory Policy. */
  readonly provenance?: ProvenanceIndex;
  /** Time source in epoch ms. Default: the system clock. */
  readonly clock?: Clock;
  /** Decision cache settings, or false to decide every call from the index. Default: {}. */
  readonly cache?: CacheOptions | false;
  /** Receives any error caught while deciding (the decision is then deny). Default: none. */
  readonly onError?: (error: unknown) => void;
}

export interface Authorizer {
  /**
   * True when `user` may perform `action` on `resource` now. Never throws: any failure is a deny.
   * `context.callId` goes to the decision log with this decision.
   */
  enforce(user: string, resource: string, action: string, context?: DecisionContext): boolean;
  /**
   * Like enforce, but throws DecisionError when no decision can be made (input that is not a string,
   * a failing clock, an internal error), so a caller can tell "denied" (403) from "could not decide"
   * (503). The caller must treat a throw as a deny.
   */
  enforceStrict(user: string, resource: string, action: string, context?: DecisionContext): boolean;
  /**
   * The decision with its reasons, at `at` (default now). Never throws: a failure is a deny with
   * `error`. `nearMisses: false` skips looking for what came closest to allowing (default true).
   */
  explain(
    user: string,
    resource: string,
    action: string,
    options?: { at?: Date | string | number; nearMisses?: boolean },
  ): Decision;
  /**
   * Everyone enforce() allows to perform `action` on `resource` at `at` (default now), each with the
   * allowing rules, the role path, the vendor grants and until when the access holds. Answered from
   * the index (reverse g links), not by trying every subject.
   *
   * @throws DecisionError when no answer can be made (input that is not a string, an invalid time,
   * a failing clock, an internal error): a failed query lists nobody.
   * @example
   * authz.whoCan('zoom:recording', 'edit').subjects.map((s) => s.subject).sort(); // ['alice', 'carol']
   */
  whoCan(resource: string, action: string, options?: WhoCanOptions): WhoCanResult;
  /**
   * Every (resource, action) enforce() allows `user` at `at` (default now), with the same provenance
   * as whoCan() plus the role links on each path.
   *
   * @throws DecisionError when no answer can be made (as whoCan()).
   * @example
   * authz.whatCan('bob', { resourcePrefix: 'tuya:' }).permissions; // [{ resource, action, allowedBy, until }]
   */
  whatCan(user: string, options?: WhatCanOptions): WhatCanResult;
  /**
   * Replaces the whole policy (clears the cache): a folder path reloads its policy.csv and
   * provenance, a PolicyStore its current policy. The new index is built before it replaces the old
   * one, so decisions never see an empty or half-loaded policy.
   */
  loadPolicy(policies: string | Policy | PolicyStore, provenance?: ProvenanceIndex): Promise<void>;
  /** Applies incremental changes, dropping only the affected subjects' cached decisions. */
  applyChanges(change: PolicyChange): ChangeResult;
  /** The current policy. */
  getPolicy(): Policy;
  /** Marks vendor accounts whose rules are kept from an earlier sync (shown by explain()). */
  setStale(stale: readonly StaleHolder[]): void;
  /** The roles a subject holds directly (g links). */
  rolesOf(user: string): readonly string[];
  /** Policy size and cache counters (evictions: decisions dropped to make room). */
  stats(): {
    readonly rules: number;
    readonly links: number;
    readonly cached: number;
    readonly hits: number;
    readonly misses: number;
    readonly evictions: number;
  };
  readonly clock: Clock;
}

const DEFAULT_MAX = 100_000;
const DEFAULT_TTL = 300_000;

/**
 * Builds an authorizer over a compiled policy.
 *
 * @throws ConfigError when an option is invalid; PolicyError when the policy cannot be read.
 * @example
 * const engine = await createEngine({ policies: 'policies' });
 * authz.enforce('alice@example.com', 'zoom:recording', 'read'); // true or false
 */
/** What createAuthorizer() adds to an engine that is not an option of its own. */
export interface EngineInternals {
  /** Watch enforce()/enforceStrict() decisions (metrics, decision log), each a share of them. */
  readonly observers?: readonly ObserverFactory[];
  /** The store version the engine holds, for observers. Default: 0. */
  readonly policyVersion?: () => number;
  /**
   * Throws a DecisionError when no decision may be made now (a shared store not confirmed current
   * within maxStaleness): enforce() then denies, enforceStrict() throws, explain() says why.
   */
  readonly ready?: () => void;
}

export async function createEngine(
  options: AuthorizerOptions = {},
  internals: EngineInternals = {},
): Promise<Authorizer> {
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function')
    throw new ConfigError('clock', 'must be an object with a now() method returning epoch ms');
  const cacheOpts = options.cache ?? {};
  let cache: DecisionCache | undefined;
  if (cacheOpts !== false) {
    const max = cacheOpts.max ?? DEFAULT_MAX;
    const ttl = cacheOpts.ttl ?? DEFAULT_TTL;
    if (!Number.isInteger(max) || max < 1)
      throw new ConfigError('cache.max', `must be a positive integer, got ${String(max)}`);
    if (!Number.isFinite(ttl) || ttl < 0)
      throw new ConfigError('cache.ttl', `must be a number of ms >= 0, got ${String(ttl)}`);
    cache = new DecisionCache({ max, ttl, clock });
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new ConfigError('onError', 'must be a function');
  }
  // Its own throw never turns a deny into an exception.
  const onError = options.onError === undefined ? undefined : reporter(options.onError);
  const ready = internals.ready;
  const source = options.policies ?? 'policies';
  let index: PolicyIndex;
  let provenance: Map<string, readonly Provenance[]>;
  let stale: Map<string, StaleHolder>;
  ({ index, provenance, stale } = await load(source, options.provenance));
  const staleOf = (provs: readonly Provenance[]): StaleHolder[] => {
    if (stale.size === 0) return [];
    const out: StaleHolder[] = [];
    for (const p of provs) {
      const h = stale.get(holderKey(p.vendor, p.holder));
      if (h && !out.includes(h)) out.push(h);
    }
    return out;
  };
  const scratch: Validity = { since: 0, until: 0, denied: false, rule: undefined, reach: undefined };
  // A rule's grants, remembered per rule object for reverse queries (a key costs a JSON.stringify);
  // forgotten whenever the policy or its provenance changes.
  let grantsOf = new WeakMap<PolicyRule, readonly Provenance[]>();
  const lookup: ProvenanceLookup = {
    rule(r) {
      let g = grantsOf.get(r);
      if (g === undefined) {
        g = provenance.get(ruleKey(r)) ?? [];
        grantsOf.set(r, g);
      }
      return g;
    },
    link: (l) => provenance.get(linkKey(l)) ?? [],
  };

  /** The time of a reverse query: `at`, else the clock's now; a DecisionError when unusable. */
  function queryTime(at: Date | string | number | undefined): number {
    const t = at === undefined ? clock.now() : timeOf(at);
    if (typeof t !== 'number' || !Number.isFinite(t))
      throw new DecisionError(`not a valid time: ${printable(at === undefined ? t : at)}`);
    return t;
  }

  /** Runs a reverse query; anything but a DecisionError becomes one (the caller lists nobody). */
  function query<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      if (err instanceof DecisionError) throw err;
      throw new DecisionError('the query failed', { cause: err });
    }
  }

  /** A cache hit, else a decision from the index at the clock's now (cached with its interval). */
  function cached(user: string, resource: string, action: string): boolean {
    if (cache !== undefined) {
      const hit = cache.get(user, resource, action, clock);
      if (hit !== -1) return hit === ALLOWED;
    }
    return decide(user, resource, action) === ALLOWED;
  }

  /** Decides from the index at the clock's now and caches the answer with the interval in which it holds. */
  function decide(user: string, resource: string, action: string): DecisionCode {
    const now = clock.now();
    if (!Number.isFinite(now)) throw new DecisionError(`the clock returned ${String(now)}`);
    const code = index.decide(user, resource, action, now, scratch)
      ? ALLOWED
      : scratch.denied
        ? DENIED_BY_RULE
        : NO_RULE;
    cache?.set(user, resource, action, code, scratch);
    return code;
  }

  function explainWith(
    user: string,
    resource: string,
    action: string,
    when: Date | string | number | undefined,
    withNearMisses: boolean,
  ): Decision {
    let at = Number.NaN;
    // A decision that could not be made: deny, with why. Built without anything that can throw.
    const refused = (reason: 'invalid-request' | 'error', error: string): Decision => ({
      allowed: false,
      reason,
      subject: printable(user),
      resource: printable(resource),
      action: printable(action),
      at: Number.isFinite(at) ? new Date(at).toISOString() : printable(when),
      validFrom: null,
      validUntil: null,
      error,
    });
    try {
      at = when === undefined ? clock.now() : timeOf(when);
      if (
        typeof user !== 'string' ||
        typeof resource !== 'string' ||
        typeof action !== 'string' ||
        !Number.isFinite(at)
      ) {
        return refused('invalid-request', 'user, resource and action must be strings and the time valid');
      }
      const m = index.match(user, resource, action, at);
      const allowed = m.allow;
      const time = isoTime(at);
      const validFrom = m.since === Number.NEGATIVE_INFINITY ? null : new Date(m.since).toISOString();
      const validUntil = m.until === Number.POSITIVE_INFINITY ? null : new Date(m.until).toISOString();
      const near = m.allow || !withNearMisses ? [] : closest(user, resource, action, at);
      // One literal, the parts a deciding rule brings added after it (a spread costs µs here).
      const d: { -readonly [K in keyof Decision]: Decision[K] } = {
        allowed,
        subject: user,
        resource,
        action,
        at: time,
        validFrom,
        validUntil,
        reason: m.allow ? 'allowed' : m.decisive ? 'denied-by-rule' : 'no-matching-rule',
      };
      const r = m.decisive;
      if (r !== undefined) {
        const links = [];
        for (let i = 0; i + 1 < m.path.length; i++) {
          const l = { member: m.path[i]!, role: m.path[i + 1]! };
          links.push({ member: l.member, role: l.role, from: lookup.link(l) });
        }
        const grants = lookup.rule(r);
        d.rule = ruleView(r);
        d.via = m.path;
        d.grants = grants;
        d.links = links;
        const staleHolders = stale.size === 0 ? [] : staleOf([...grants, ...links.flatMap((l) => l.from)]);
        if (staleHolders.length > 0) d.stale = staleHolders;
      }
      if (near.length > 0) d.nearMisses = near;
      return d;
    } catch (err) {
      onError?.(err);
      return refused('error', err instanceof Error ? printable(err.message) : printable(err));
    }
  }

  // Observers (metrics, decision log), each told about its own random share of the decisions.
  let watchers: DecisionObserver[] = [];
  // Per observer: the share it draws itself (none for one told of all draws while another draws
  // at least as often), and whether it is told of the calls the others drew.
  let shares = new Float64Array(0);
  let allDraws = new Uint8Array(0);
  // Per observer, the call it is told about next (geometric gaps: an untold call draws nothing);
  // calls made with observers, and the first call drawn: the hot path compares the two. Kept as
  // doubles in an array: a counter in a variable would be a new heap number at every call past
  // 2^31 (half an hour at a million calls a second).
  let toldAt = new Float64Array(0);
  const tick = new Float64Array([0, Number.POSITIVE_INFINITY]);
  // Every decision made with observers, by DecisionCode, read at scrape time.
  const decisions = new Float64Array(3);
  const elapsed = (t0: number) => (performance.now() - t0) / 1000;
  const drawFor = (i: number) =>
    nextDraw(shares[i] as number, (watchers[i] as DecisionObserver).random ?? Math.random);

  /**
   * enforce()/enforceStrict() with observers, for a call no observer drew (nearly all): the same
   * decision as without them, counted. Kept as small as the path without observers.
   */
  function counted(
    strict: boolean,
    user: string,
    resource: string,
    action: string,
    context: DecisionContext | undefined,
  ): boolean {
    try {
      checkRequest(user, resource, action);
      ready?.();
      let code = cache !== undefined ? cache.get(user, resource, action, clock) : -1;
      if (code === -1) code = decide(user, resource, action);
      (decisions[code] as number)++;
      return code === ALLOWED;
    } catch (err) {
      return refusal(strict, user, resource, action, err, Number.NaN, context);
    }
  }

  /**
   * enforce()/enforceStrict() for a call an observer drew: the same decision, counted, timed and
   * told to the observers whose draw it is. A failing observer is reported to onError and changes
   * nothing.
   */
  function told(
    strict: boolean,
    user: string,
    resource: string,
    action: string,
    context: DecisionContext | undefined,
  ): boolean {
    const t0 = performance.now();
    let decision: CachedDecision | undefined;
    let hit = false;
    try {
      checkRequest(user, resource, action);
      ready?.();
      decision = cache?.entry(user, resource, action, clock);
      if (decision !== undefined) hit = true;
      else decision = decisionOf(decide(user, resource, action), scratch);
    } catch (err) {
      return refusal(strict, user, resource, action, err, elapsed(t0), context);
    }
    (decisions[decision.code] as number)++;
    tell(user, resource, action, decision, hit, elapsed(t0), context);
    return decision.code === ALLOWED;
  }

  /** A call that could not be decided, with observers: told to them, then denied or thrown as without them. */
  function refusal(
    strict: boolean,
    user: unknown,
    resource: unknown,
    action: unknown,
    err: unknown,
    seconds: number,
    context: DecisionContext | undefined,
  ): false {
    refusedCall(user, resource, action, err, seconds, context);
    if (!strict) {
      onError?.(err);
      return false;
    }
    if (err instanceof DecisionError) throw err;
    throw new DecisionError('the decision failed', { cause: err });
  }

  /** Tells the observers whose draw this call is, and draws their next. */
  function tell(
    user: string,
    resource: string,
    action: string,
    decision: CachedDecision,
    hit: boolean,
    seconds: number,
    context: DecisionContext | undefined,
  ): void {
    const calls = tick[0] as number;
    for (let i = 0; i < watchers.length; i++) {
      const due = (toldAt[i] as number) <= calls;
      if (!due && allDraws[i] === 0) continue;
      const w = watchers[i] as DecisionObserver;
      try {
        if (due) toldAt[i] = calls + drawFor(i);
        w.decided(user, resource, action, decision, hit, seconds, context);
      } catch (observerError) {
        onError?.(observerError);
      }
    }
    tick[1] = firstOf(toldAt);
  }

  /** Tells every observer about a call that could not be decided; a due draw is drawn anew. */
  function refusedCall(
    user: unknown,
    resource: unknown,
    action: unknown,
    err: unknown,
    seconds: number,
    context: DecisionContext | undefined,
  ): void {
    const invalid = err instanceof DecisionError && err.message === INVALID_REQUEST;
    const calls = tick[0] as number;
    for (let i = 0; i < watchers.length; i++) {
      const w = watchers[i] as DecisionObserver;
      try {
        if ((toldAt[i] as number) <= calls) toldAt[i] = calls + drawFor(i);
        w.refused(user, resource, action, invalid ? 'invalid-request' : 'error', err, seconds, context);
      } catch (observerError) {
        onError?.(observerError);
      }
    }
    tick[1] = firstOf(toldAt);
  }

  /** Tells the observers the policy is about to change; a failing observer goes to onError. */
  function policyChanging(): void {
    for (const w of watchers) {
      try {
        w.policyChanging?.();
      } catch (observerError) {
        onError?.(observerError);
      }
    }
  }

  /** Near misses of a denied request; a failure to find them leaves them out (the deny stands). */
  function closest(user: string, resource: string, action: string, at: number): NearMiss[] {
    try {
      return nearMisses(index, lookup, user, resource, action, at);
    } catch (err) {
      onError?.(err);
      return [];
    }
  }

  const authorizer: Authorizer = {
    clock,
    enforce(user, resource, action, context) {
      if (watchers.length > 0)
        return ++(tick[0] as number) < (tick[1] as number)
          ? counted(false, user, resource, action, context)
          : told(false, user, resource, action, context);
      try {
        checkRequest(user, resource, action);
        ready?.();
        return cached(user, resource, action);
      } catch (err) {
        onError?.(err);
        return false;
      }
    },

    enforceStrict(user, resource, action, context) {
      if (watchers.length > 0)
        return ++(tick[0] as number) < (tick[1] as number)
          ? counted(true, user, resource, action, context)
          : told(true, user, resource, action, context);
      checkRequest(user, resource, action);
      try {
        ready?.();
        return cached(user, resource, action);
      } catch (err) {
        if (err instanceof DecisionError) throw err;
        throw new DecisionError('the decision failed', { cause: err });
      }
    },

    explain(user, resource, action, opts) {
      const d = explainWith(user, resource, action, opts?.at, opts?.nearMisses !== false);
      try {
        ready?.();
        return d;
      } catch (err) {
        // What the policy says, and that it was denied because the policy may not be current.
        return {
          ...d,
          allowed: false,
          reason: 'error',
          error: err instanceof Error ? err.message : 'not ready',
        };
      }
    },

    whoCan(resource, action, opts) {
      return query(() => {
        if (typeof resource !== 'string' || typeof action !== 'string')
          throw new DecisionError('resource and action must be strings');
        const at = queryTime(opts?.at);
        const includeRoles = opts?.includeRoles === true;
        return {
          resource,
          action,
          at: new Date(at).toISOString(),
          includesRoles: includeRoles,
          subjects: whoCan(index, lookup, resource, action, at, includeRoles),
        };
      });
    },

    whatCan(user, opts) {
      return query(() => {
        if (typeof user !== 'string') throw new DecisionError('user must be a string');
        const prefix = opts?.resourcePrefix ?? '';
        if (typeof prefix !== 'string') throw new DecisionError('resourcePrefix must be a string');
        const at = queryTime(opts?.at);
        return {
          subject: user,
          at: new Date(at).toISOString(),
          resourcePrefix: prefix,
          permissions: whatCan(index, lookup, user, at, prefix),
        };
      });
    },

    async loadPolicy(policies, prov) {
      const next = await load(policies, prov);
      policyChanging();
      index = next.index;
      provenance = next.provenance;
      stale = next.stale;
      grantsOf = new WeakMap();
      cache?.clear();
    },

    setStale(list) {
      stale = new Map(list.map((h) => [holderKey(h.vendor, h.holder), h]));
    },

    applyChanges(change) {
      checkPolicyChange(change);
      policyChanging();
      const touched = new Set<string>();
      let added = 0;
      let removed = 0;
      // Reachers are computed before removals (while the old links still exist) and after additions.
      const mark = (s: string) => {
        for (const x of index.reachersOf(s)) touched.add(x);
      };
      for (const r of change.removeRules ?? []) {
        if (index.removeRule(r)) {
          removed++;
          mark(r.sub);
          provenance.delete(ruleKey(r));
        }
      }
      for (const l of change.removeLinks ?? []) {
        mark(l.member);
        if (index.removeLink(l)) {
          removed++;
          provenance.delete(linkKey(l));
        }
      }
      for (const l of change.addLinks ?? []) {
        if (index.addLink(l)) {
          added++;
          mark(l.member);
        }
      }
      for (const r of change.addRules ?? []) {
        if (index.addRule(r)) {
          added++;
          mark(r.sub);
        }
      }
      for (const [k, v] of change.provenance ?? []) provenance.set(k, v);
      grantsOf = new WeakMap();
      const invalidatedSubjects = cache ? cache.invalidate(touched) : 0;
      return { added, removed, invalidatedSubjects };
    },

    getPolicy: () => index.toPolicy(),
    rolesOf: (user) => index.rolesOf(user),
    stats: () => ({
      rules: index.size.rules,
      links: index.size.links,
      cached: cache?.size ?? 0,
      hits: cache?.hits ?? 0,
      misses: cache?.misses ?? 0,
      evictions: cache?.evictions ?? 0,
    }),
  };
  const host: ObserverHost = {
    clock,
    stats: authorizer.stats,
    policyVersion: internals.policyVersion ?? (() => 0),
    decisions: () => decisions,
    grantsOf: (rule) => lookup.rule(rule),
    via: (user, rule, reach) => index.pathIn(reach, user, rule.sub),
  };
  watchers = (internals.observers ?? [])
    .map((make) => make(host))
    .filter((w): w is DecisionObserver => w !== undefined);
  allDraws = Uint8Array.from(watchers, (w) => (w.toldOfAllDraws === true ? 1 : 0));
  shares = Float64Array.from(watchers, (w, i) =>
    allDraws[i] === 1 && watchers.some((o, j) => j !== i && o.share >= w.share) ? 0 : w.share,
  );
  toldAt = Float64Array.from(watchers, (_, i) => drawFor(i));
  tick[1] = firstOf(toldAt);
  return authorizer;
}

/** What enforce() refuses as `invalid-request` (observers are told that reason for it). */
const INVALID_REQUEST = 'user, resource and action must be strings';

/** @throws DecisionError (INVALID_REQUEST) unless all three are strings. */
function checkRequest(user: unknown, resource: unknown, action: unknown): void {
  if (typeof user !== 'string' || typeof resource !== 'string' || typeof action !== 'string')
    throw new DecisionError(INVALID_REQUEST);
}

/** The smallest of the numbers (Infinity for none). */
function firstOf(xs: Float64Array): number {
  let m = Number.POSITIVE_INFINITY;
  for (let i = 0; i < xs.length; i++) if ((xs[i] as number) < m) m = xs[i] as number;
  return m;
}

async function load(
  source: string | Policy | PolicyStore,
  prov: ProvenanceIndex | undefined,
): Promise<{
  index: PolicyIndex;
  provenance: Map<string, readonly Provenance[]>;
  stale: Map<string, StaleHolder>;
}> {
  if (isPolicyStore(source)) {
    const stored = await source.load();
    return {
      index: new PolicyIndex(stored.policy),
      provenance: new Map(prov ?? stored.provenance),
      stale: new Map((stored.state?.stale ?? []).map((h) => [holderKey(h.vendor, h.holder), h])),
    };
  }
  if (typeof source === 'string') {
    const [policy, provenance, state] = await Promise.all([
      readPolicy(source),
      prov ?? readProvenance(source),
      readSyncState(source),
    ]);
    return {
      index: new PolicyIndex(policy),
      provenance: new Map(provenance),
      stale: new Map((state?.stale ?? []).map((h) => [holderKey(h.vendor, h.holder), h])),
    };
  }
  checkPolicy(source, 'policies');
  checkProvenance(prov, 'provenance');
  return { index: new PolicyIndex(source), provenance: new Map(prov ?? []), stale: new Map() };
}

/** String(x) for messages, for any x (a hostile toString must not make explain() throw). */
function printable(x: unknown): string {
  if (typeof x === 'string') return x;
  try {
    return String(x);
  } catch {
    return Object.prototype.toString.call(x);
  }
}
