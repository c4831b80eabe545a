// What the Express and Koa middleware share: option checks, and one request → outcome step that
// either returns an outcome or throws (the framework layer turns a throw into 503).
import type { Authorizer } from '../engine/authorizer.js';
import { ConfigError } from '../errors.js';
import type { DecisionContext } from '../observe/observer.js';
import { type CallIdOption, createCallIds, HEADER_NAME } from './call-id.js';
import { type CoveringEntry, compileRouteTable, type RouteTable } from './routes.js';

type MaybePromise<T> = T | Promise<T>;

/** What the middleware decided, handed to handlers (`res.locals.authorization` / `ctx.state.authorization`). */
export interface AuthorizationInfo {
  readonly allowed: boolean;
  readonly subject: string;
  readonly resource: string;
  readonly action: string;
  /** The request's call id (see the `callId` option); undefined without one. */
  readonly callId: string | undefined;
}

/** The part of an authorizer the middleware uses; `createAuthorizer()`'s result has all of it. */
export type MiddlewareAuthorizer = Pick<Authorizer, 'enforce'> &
  Partial<Pick<Authorizer, 'enforceStrict' | 'explain'>>;

/** Options common to both frameworks; `Req` is Express's `req` or Koa's `ctx`. */
export interface AuthorizeOptionsBase<Req> {
  /** The authorizer to ask (from createAuthorizer). Required. */
  readonly authorizer: MiddlewareAuthorizer;
  /** The person making the request; undefined, null or '' → 401. Required. */
  readonly subject: (req: Req) => MaybePromise<string | undefined | null>;
  /** The resource to check; overrides `routes`. */
  readonly resource?: (req: Req) => MaybePromise<string>;
  /** The action to check; overrides `routes`. */
  readonly action?: (req: Req) => MaybePromise<string>;
  /** Method + path → resource and action (see createRouteMap); used when resource/action are not given. */
  readonly routes?: RouteTable;
  /** HTTP method → action for `routes`, over the defaults (GET → read, POST → write, ...). */
  readonly actions?: Readonly<Record<string, string>>;
  /**
   * A request no route entry covers: 'deny' (403, default) or 'next' (not authorized here; passed
   * on). A request an entry covers is always decided, whatever this says.
   */
  readonly unmatched?: 'deny' | 'next';
  /** Status when no decision could be made. Default 503. */
  readonly errorStatus?: number;
  /** Adds a header with the decision (`allow` / `deny; reason=...`) for debugging: true = `x-rbac-decision`, or a header name. Default false. */
  readonly decisionHeader?: boolean | string;
  /**
   * An id for each request, to join the decision log (the authorizer gets `{ callId }` with each
   * decision) to the app's logs: sent in a response header on every answer the middleware gives or
   * passes on (200, 401, 403, 400, 503), and handed to handlers in the authorization info and to
   * onError. `true`: a new UUID per request in `x-rbac-call-id`; a string: that header name;
   * `{ header?, from? }`: `from(req)` gives the app's own request id, used when it is a string of 1
   * to 128 characters among `A-Z a-z 0-9 . _ ~ : + / = @ -` and replaced by a new UUID otherwise
   * (a client-supplied header never reaches a log or a header as it is; a throw goes to onError and
   * changes no answer). Default false: no id, no header (the UUID and the header cost about a
   * sixth of a bare Koa hello-world request; see the README's Performance section).
   *
   * @example
   * callId: { header: 'x-request-id', from: (req) => req.get('x-request-id') }
   */
  readonly callId?: CallIdOption<Req>;
  /**
   * Receives any error caught while deciding (the request is then refused), with the request's call
   * id. May be async; if it throws or rejects, that is ignored and the answer stays the same.
   * Default: none.
   */
  readonly onError?: (error: unknown, req: Req, callId: string | undefined) => void;
}

/** What to answer a request, for the Express and Koa adapters alike. */
export type Outcome =
  /** No route covers the request and `unmatched` is 'next': passed on, undecided. */
  | { readonly kind: 'pass' }
  /**
   * Refused before any decision: no subject (401), no route covers it (403, with `unmatched:
   * 'deny'`), the path has an invalid percent-escape (400, whatever `unmatched` says), or a route
   * covers it but gives no action for its method (403, whatever `unmatched` says).
   */
  | {
      readonly kind: 'refused';
      readonly status: 400 | 401 | 403;
      readonly body: object;
      readonly header: string | undefined;
    }
  | { readonly kind: 'decided'; readonly info: AuthorizationInfo; readonly header: string | undefined };

export const BODIES = {
  400: { error: 'bad request' },
  401: { error: 'unauthenticated' },
  403: { error: 'forbidden' },
  unavailable: { error: 'authorization unavailable' },
} as const;

const PASS: Outcome = { kind: 'pass' };
const UNAUTHENTICATED: Outcome = { kind: 'refused', status: 401, body: BODIES[401], header: undefined };
const FORBIDDEN: Outcome = { kind: 'refused', status: 403, body: BODIES[403], header: undefined };

export interface Core<Req> {
  readonly errorStatus: number;
  readonly headerName: string | undefined;
  /** The header that carries the call id; undefined with `callId: false`. */
  readonly callIdHeader: string | undefined;
  /** The request's call id (undefined with `callId: false`); never throws. */
  callId(req: Req): string | undefined;
  /**
   * Decides one request; synchronously when the request functions are, else with a real Promise.
   * Throws (or rejects) when no decision can be made.
   */
  decide(req: Req, method: string, path: string, callId: string | undefined): Outcome | Promise<Outcome>;
  /** Reports an error to onError without letting onError itself (a throw or a rejection) break the response. */
  report(error: unknown, req: Req, callId: string | undefined): void;
}

interface Target {
  readonly resource: string;
  readonly action: string;
}

/** Checks the options once and builds the per-request step. */
export function createCore<Req>(options: AuthorizeOptionsBase<Req>): Core<Req> {
  if (options === null || typeof options !== 'object') throw new ConfigError('options', 'must be an object');
  const { authorizer, subject, resource, action, routes } = options;
  if (typeof authorizer?.enforce !== 'function')
    throw new ConfigError('authorizer', 'must be an authorizer from createAuthorizer()');
  if (typeof subject !== 'function')
    throw new ConfigError('subject', 'must be a function of the request returning the user id');
  for (const [k, f] of [
    ['resource', resource],
    ['action', action],
    ['onError', options.onError],
  ] as const) {
    if (f !== undefined && typeof f !== 'function') throw new ConfigError(k, 'must be a function');
  }
  const resolve =
    routes === undefined
      ? undefined
      : compileRouteTable({ routes, ...(options.actions ? { actions: options.actions } : {}) });
  if ((resource === undefined || action === undefined) && resolve === undefined)
    throw new ConfigError(
      resource === undefined ? 'resource' : 'action',
      'give both resource and action functions, or a routes table',
    );
  const unmatched = options.unmatched ?? 'deny';
  if (unmatched !== 'deny' && unmatched !== 'next')
    throw new ConfigError('unmatched', "must be 'deny' or 'next'");
  const errorStatus = options.errorStatus ?? 503;
  if (!Number.isInteger(errorStatus) || errorStatus < 400 || errorStatus > 599)
    throw new ConfigError('errorStatus', 'must be an HTTP error status (400-599)');
  const h = options.decisionHeader ?? false;
  if (typeof h !== 'boolean' && (typeof h !== 'string' || !HEADER_NAME.test(h)))
    throw new ConfigError('decisionHeader', 'must be true, false or a header name');
  const headerName = h === true ? 'x-rbac-decision' : h === false ? undefined : h.toLowerCase();
  const callIds = createCallIds(options.callId, (error, req: Req, id) => report(error, req, id));
  const callIdHeader = callIds.header;
  if (callIdHeader !== undefined && callIdHeader === headerName)
    throw new ConfigError('callId', `must name another header than decisionHeader ("${headerName}")`);
  const enforce =
    typeof authorizer.enforceStrict === 'function'
      ? authorizer.enforceStrict.bind(authorizer)
      : authorizer.enforce.bind(authorizer);
  const onError = options.onError;
  const invalid = headerName === undefined ? undefined : 'deny; reason=invalid-request';
  const MALFORMED: Outcome = { kind: 'refused', status: 400, body: BODIES[400], header: invalid };
  const UNDECIDABLE: Outcome = { kind: 'refused', status: 403, body: BODIES[403], header: invalid };
  const UNMATCHED = unmatched === 'next' ? PASS : FORBIDDEN;

  /** The request functions' results; a rejection left behind by a later throw is handled, not leaked. */
  function ask(req: Req): [MaybePromise<string> | undefined, MaybePromise<string> | undefined] {
    const res = resource?.(req);
    try {
      return [res, action?.(req)];
    } catch (err) {
      if (isThenable(res)) Promise.resolve(res).catch(ignore);
      throw err;
    }
  }

  function afterSubject(
    req: Req,
    method: string,
    path: string,
    sub: string | undefined | null,
    callId: string | undefined,
  ): Outcome | Promise<Outcome> {
    if (sub === undefined || sub === null || sub === '') return UNAUTHENTICATED;
    if (typeof sub !== 'string') throw new TypeError('subject() must return a string');
    let entries: readonly CoveringEntry[] | undefined;
    if (resource === undefined || action === undefined) {
      const r = (resolve as NonNullable<typeof resolve>)(method, path);
      if (r.kind === 'none') return UNMATCHED;
      if (r.kind === 'malformed') return MALFORMED;
      // An entry covers the request but nothing says which action it is: it cannot be decided.
      if (action === undefined && r.actionless) return UNDECIDABLE;
      // The entries are distinct (resource, action) pairs, each with an action (checked above).
      if (resource === undefined && action === undefined) return finish(sub, r.entries as Target[], callId);
      entries = r.entries;
    }
    const [res, act] = ask(req);
    if (isThenable(res) || isThenable(act))
      return Promise.all([res, act]).then(([r, a]) => finish(sub, targets(entries, r, a), callId));
    return finish(sub, targets(entries, res, act), callId);
  }

  /** What to enforce: the functions' results override each covering entry's resource or action. */
  function targets(
    entries: readonly CoveringEntry[] | undefined,
    res: string | undefined,
    act: string | undefined,
  ): Target[] {
    // A function that is given must give a string; only a function not given leaves it to the entry.
    if (resource !== undefined && typeof res !== 'string')
      throw new TypeError('resource() must return a string');
    if (action !== undefined && typeof act !== 'string') throw new TypeError('action() must return a string');
    if (entries === undefined) return [{ resource: res as string, action: act as string }];
    const out: Target[] = [];
    for (const e of entries) {
      const t = {
        resource: resource === undefined ? e.resource : (res as string),
        action: action === undefined ? (e.action as string) : (act as string),
      };
      if (!out.some((o) => o.resource === t.resource && o.action === t.action)) out.push(t);
    }
    return out;
  }

  /** Allowed only when every target is; the first denied target is the one reported. */
  function finish(sub: string, all: readonly Target[], callId: string | undefined): Outcome {
    const context: DecisionContext | undefined = callId === undefined ? undefined : { callId };
    let decided: Target | undefined;
    let allowed = true;
    for (const t of all) {
      const ok = enforce(sub, t.resource, t.action, context);
      if (ok !== true && ok !== false) throw new TypeError('the authorizer did not answer a boolean');
      decided ??= t;
      if (!ok) {
        decided = t;
        allowed = false;
        break;
      }
    }
    if (decided === undefined) throw new TypeError('no resource and action to decide');
    let header: string | undefined;
    if (headerName !== undefined) {
      const reason = allowed
        ? undefined
        : authorizer.explain?.(sub, decided.resource, decided.action, { nearMisses: false }).reason;
      header = allowed ? 'allow' : reason ? `deny; reason=${reason}` : 'deny';
    }
    return {
      kind: 'decided',
      info: { allowed, subject: sub, resource: decided.resource, action: decided.action, callId },
      header,
    };
  }

  const report = (error: unknown, req: Req, callId: string | undefined): void => {
    try {
      const r: unknown = onError?.(error, req, callId);
      if (isThenable(r as MaybePromise<unknown>)) Promise.resolve(r).catch(ignore);
    } catch {
      // A failing logger must not turn a refusal into something else.
    }
  };

  return {
    errorStatus,
    headerName,
    callIdHeader,
    callId: callIds.of,
    report,
    decide(req, method, path, callId) {
      // Stays synchronous while the request functions are: no extra turns of the event loop per request.
      const sub = subject(req);
      return isThenable(sub)
        ? Promise.resolve(sub).then((s) => afterSubject(req, method, path, s, callId))
        : afterSubject(req, method, path, sub, callId);
    },
  };
}

function ignore(): void {}

function isThenable<T>(x: MaybePromise<T> | undefined): x is Promise<T> {
  return (
    x !== null &&
    (typeof x === 'object' || typeof x === 'function') &&
    typeof (x as { then?: unknown }).then === 'function'
  );
}
