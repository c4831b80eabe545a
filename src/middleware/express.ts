// rbac-normalizer/express: authorization middleware for Express 5. Imports only Express *types*.
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from '../errors.js';
import {
  type AuthorizationInfo,
  type AuthorizeOptionsBase,
  BODIES,
  createCore,
  type Outcome,
} from './core.js';

export type { CallIdOptions } from './call-id.js';
export type { AuthorizationInfo, MiddlewareAuthorizer } from './core.js';
export {
  createRouteMap,
  DEFAULT_METHOD_ACTIONS,
  type RouteMap,
  type RouteMatch,
  type RouteTable,
  type RouteTarget,
} from './routes.js';

export interface ExpressAuthorizeOptions extends AuthorizeOptionsBase<Request> {
  /**
   * Writes the 403 response instead of the default `{"error":"forbidden"}`; may be async. If it
   * throws or rejects, the answer is the 503 JSON (unless it already sent its headers). Default: none.
   */
  readonly onDenied?: (req: Request, res: Response, info: AuthorizationInfo) => void | Promise<void>;
}

/**
 * Express middleware: 401 without a subject, 403 on deny, 400 for a path with an invalid
 * percent-escape, 503 JSON when no decision can be made or `onDenied` fails (and `next` is never
 * called), otherwise `next()` with the decision in `res.locals.authorization`.
 *
 * @throws ConfigError naming the option when options are invalid (at construction, not per request).
 * @example
 * app.use(authorize({ authorizer, subject: (req) => req.get('x-user'), routes: { 'GET /recordings/:id': 'zoom:recording' } }));
 */
export function authorize(
  options: ExpressAuthorizeOptions,
): (req: Request, res: Response, next: NextFunction) => void | Promise<void> {
  const core = createCore(options);
  const onDenied = options.onDenied;
  if (onDenied !== undefined && typeof onDenied !== 'function')
    throw new ConfigError('onDenied', 'must be a function');
  const refuse = (res: Response, status: number, body: object) => {
    // The content type is set outright: a failed onDenied may have set another one.
    if (!res.headersSent) res.status(status).type('json').json(body);
  };
  const setHeader = (res: Response, header: string | undefined) => {
    if (header !== undefined && core.headerName !== undefined) res.setHeader(core.headerName, header);
  };

  const failed = (req: Request, res: Response, err: unknown, callId: string | undefined) => {
    core.report(err, req, callId);
    // An onDenied that already sent its headers and then failed: end what it started (still a refusal).
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    refuse(res, core.errorStatus, BODIES.unavailable);
  };

  /**
   * Answers an outcome, or returns true when the request is to be passed on; a promise when a
   * custom denial is asynchronous. Throws when onDenied throws.
   */
  const act = (req: Request, res: Response, outcome: Outcome): boolean | Promise<void> => {
    if (outcome.kind === 'pass') return true;
    setHeader(res, outcome.header);
    if (outcome.kind === 'refused') {
      refuse(res, outcome.status, outcome.body);
      return false;
    }
    const { info } = outcome;
    if (info.allowed) {
      res.locals['authorization'] = info;
      return true;
    }
    if (onDenied === undefined) {
      refuse(res, 403, BODIES[403]);
      return false;
    }
    const custom = onDenied(req, res, info);
    if (typeof (custom as { then?: unknown } | undefined)?.then !== 'function') {
      refuse(res, 403, BODIES[403]);
      return false;
    }
    return Promise.resolve(custom).then(() => refuse(res, 403, BODIES[403]));
  };

  /** Acts on an outcome; any throw or rejection on the way is a 503, and `next` runs only on a pass. */
  const settle = (
    req: Request,
    res: Response,
    next: NextFunction,
    outcome: Outcome,
    callId: string | undefined,
  ): void | Promise<void> => {
    let passOn: boolean | Promise<void>;
    try {
      passOn = act(req, res, outcome);
    } catch (err) {
      return failed(req, res, err, callId);
    }
    if (passOn === true) {
      // Outside the try: errors from later handlers are theirs (Express handles them), not a failed decision.
      next();
      return;
    }
    if (passOn !== false) return passOn.then(undefined, (err) => failed(req, res, err, callId));
  };

  // A plain function while the request functions are synchronous: Express then adds no promise
  // handling of its own; an async outcome is awaited and its rejection answered with 503.
  return function rbacAuthorize(req: Request, res: Response, next: NextFunction): void | Promise<void> {
    // Set first: every answer carries it, a refusal and a failed custom denial included.
    const callId = core.callId(req);
    if (callId !== undefined) res.setHeader(core.callIdHeader as string, callId);
    let pending: Outcome | Promise<Outcome>;
    try {
      pending = core.decide(req, req.method, req.baseUrl + req.path, callId);
    } catch (err) {
      return failed(req, res, err, callId);
    }
    if (!(pending instanceof Promise)) return settle(req, res, next, pending, callId);
    return pending.then(
      (outcome) => settle(req, res, next, outcome, callId),
      (err) => failed(req, res, err, callId),
    );
  };
}
