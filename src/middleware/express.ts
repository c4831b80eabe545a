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
  /** Writes the 403 response instead of the default `{"error":"forbidden"}`. Default: none. */
  readonly onDenied?: (req: Request, res: Response, info: AuthorizationInfo) => void | Promise<void>;
}

/**
 * Express middleware: 401 without a subject, 403 on deny, 503 when no decision can be made (and
 * `next` is never called), otherwise `next()` with the decision in `res.locals.authorization`.
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
    if (!res.headersSent) res.status(status).json(body);
  };

  const failed = (req: Request, res: Response, err: unknown) => {
    core.report(err, req);
    refuse(res, core.errorStatus, BODIES.unavailable);
  };
  /** Acts on an outcome; returns a promise only when a custom denial is asynchronous. */
  const act = (req: Request, res: Response, next: NextFunction, outcome: Outcome): void | Promise<void> => {
    if (outcome.kind === 'unauthenticated') return refuse(res, 401, BODIES[401]);
    if (outcome.kind === 'unmatched') {
      if (core.unmatched === 'deny') return refuse(res, 403, BODIES[403]);
      return next();
    }
    const { info, header } = outcome;
    if (header !== undefined && core.headerName !== undefined) res.setHeader(core.headerName, header);
    if (!info.allowed) {
      if (onDenied === undefined) return refuse(res, 403, BODIES[403]);
      return Promise.resolve(onDenied(req, res, info)).then(
        () => refuse(res, 403, BODIES[403]),
        (err) => failed(req, res, err),
      );
    }
    res.locals.authorization = info;
    // Errors from later handlers are theirs (Express handles them), not a failed decision.
    return next();
  };

  // A plain function while the request functions are synchronous: Express then adds no promise
  // handling of its own; an async outcome is awaited and its rejection answered with 503.
  return function rbacAuthorize(req: Request, res: Response, next: NextFunction): void | Promise<void> {
    let pending: Outcome | Promise<Outcome>;
    try {
      pending = core.decide(req, req.method, req.baseUrl + req.path);
    } catch (err) {
      return failed(req, res, err);
    }
    if (!(pending instanceof Promise)) return act(req, res, next, pending);
    return pending.then(
      (outcome) => act(req, res, next, outcome),
      (err) => failed(req, res, err),
    );
  };
}
