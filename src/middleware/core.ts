// What the Express and Koa middleware share: option checks, and one request → outcome step that
// either returns an outcome or throws (the framework layer turns a throw into 503).
import type { Authorizer } from '../engine/authorizer.js';
import { ConfigError } from '../errors.js';
import { createRouteMap, type RouteTable } from './routes.js';

type MaybePromise<T> = T | Promise<T>;

/** What the middleware decided, handed to handlers (`res.locals.authorization` / `ctx.state.authorization`). */
export interface AuthorizationInfo {
  readonly allowed: boolean;
  readonly subject: string;
  readonly resource: string;
  readonly action: string;
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
  /** A request that no route matches: 'deny' (403, default) or 'next' (not authorized here; passed on). */
  readonly unmatched?: 'deny' | 'next';
  /** Status when no decision could be made. Default 503. */
  readonly errorStatus?: number;
  /** Adds a header with the decision (`allow` / `deny; reason=...`) for debugging: true = `x-rbac-decision`, or a header name. Default false. */
  readonly decisionHeader?: boolean | string;
  /** Receives any error caught while deciding (the request is then refused). Default: none. */
  readonly onError?: (error: unknown, req: Req) => void;
}

export type Outcome =
  | { readonly kind: 'unauthenticated' }
  | { readonly kind: 'unmatched' }
  | { readonly kind: 'decided'; readonly info: AuthorizationInfo; readonly header: string | undefined };

const UNAUTHENTICATED: Outcome = { kind: 'unauthenticated' };
const UNMATCHED: Outcome = { kind: 'unmatched' };

export const BODIES = {
  401: { error: 'unauthenticated' },
  403: { error: 'forbidden' },
  unavailable: { error: 'authorization unavailable' },
} as const;

export interface Core<Req> {
  readonly errorStatus: number;
  readonly headerName: string | undefined;
  readonly unmatched: 'deny' | 'next';
  /** Decides one request; synchronously when the request functions are. Throws (or rejects) when no decision can be made. */
  decide(req: Req, method: string, path: string): Outcome | Promise<Outcome>;
  /** Reports an error to onError without letting onError itself break the response. */
  report(error: unknown, req: Req): void;
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
  const routeMap =
    routes === undefined
      ? undefined
      : createRouteMap({ routes, ...(options.actions ? { actions: options.actions } : {}) });
  if ((resource === undefined || action === undefined) && routeMap === undefined)
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
  if (typeof h !== 'boolean' && (typeof h !== 'string' || !/^[A-Za-z0-9-]+$/.test(h)))
    throw new ConfigError('decisionHeader', 'must be true, false or a header name');
  const headerName = h === true ? 'x-rbac-decision' : h === false ? undefined : h.toLowerCase();
  const enforce =
    typeof authorizer.enforceStrict === 'function'
      ? authorizer.enforceStrict.bind(authorizer)
      : authorizer.enforce.bind(authorizer);
  const onError = options.onError;

  function afterSubject(
    req: Req,
    method: string,
    path: string,
    sub: string | undefined | null,
  ): Outcome | Promise<Outcome> {
    if (sub === undefined || sub === null || sub === '') return UNAUTHENTICATED;
    if (typeof sub !== 'string') throw new TypeError('subject() must return a string');
    let res: MaybePromise<string>;
    let act: MaybePromise<string>;
    if (resource !== undefined && action !== undefined) {
      res = resource(req);
      act = action(req);
    } else {
      const m = routeMap?.(method, path);
      if (m === undefined) return UNMATCHED;
      res = resource === undefined ? m.resource : resource(req);
      act = action === undefined ? m.action : action(req);
    }
    if (isThenable(res) || isThenable(act))
      return Promise.all([res, act]).then(([r, a]) => finish(sub, r, a));
    return finish(sub, res, act);
  }

  function finish(sub: string, res: string, act: string): Outcome {
    if (typeof res !== 'string' || typeof act !== 'string')
      throw new TypeError('resource() and action() must return strings');
    const allowed = enforce(sub, res, act);
    if (allowed !== true && allowed !== false) throw new TypeError('the authorizer did not answer a boolean');
    let header: string | undefined;
    if (headerName !== undefined) {
      const reason = allowed ? undefined : authorizer.explain?.(sub, res, act).reason;
      header = allowed ? 'allow' : reason ? `deny; reason=${reason}` : 'deny';
    }
    return { kind: 'decided', info: { allowed, subject: sub, resource: res, action: act }, header };
  }

  return {
    errorStatus,
    headerName,
    unmatched,
    report(error, req) {
      try {
        onError?.(error, req);
      } catch {
        // A failing logger must not turn a refusal into something else.
      }
    },
    decide(req, method, path) {
      // Stays synchronous while the request functions are: no extra turns of the event loop per request.
      const sub = subject(req);
      return isThenable(sub)
        ? sub.then((s) => afterSubject(req, method, path, s))
        : afterSubject(req, method, path, sub);
    },
  };
}

function isThenable<T>(x: MaybePromise<T>): x is Promise<T> {
  return typeof (x as { then?: unknown } | null)?.then === 'function';
}
