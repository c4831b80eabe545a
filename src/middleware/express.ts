// rbac-normalizer/express: authorization middleware for Express 5. Imports only Express *types*.
import type { NextFunction, Request, Response } from 'express';
import { ConfigError } from '../errors.js';
import { type AuthorizationInfo, type AuthorizeOptionsBase, BODIES, createCore } from './core.js';

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
): (req: Request, res: Response, next: NextFunction) => Promise<void> {
  const core = createCore(options);
  const onDenied = options.onDenied;
  if (onDenied !== undefined && typeof onDenied !== 'function')
    throw new ConfigError('onDenied', 'must be a function');
  const refuse = (res: Response, status: number, body: object) => {
    if (!res.headersSent) res.status(status).json(body);
  };

  return async function rbacAuthorize(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const pending = core.decide(req, req.method, req.baseUrl + req.path);
      const outcome = pending instanceof Promise ? await pending : pending;
      if (outcome.kind === 'unauthenticated') return refuse(res, 401, BODIES[401]);
      if (outcome.kind === 'unmatched') {
        if (core.unmatched === 'deny') return refuse(res, 403, BODIES[403]);
      } else {
        const { info, header } = outcome;
        if (header !== undefined && core.headerName !== undefined) res.setHeader(core.headerName, header);
        if (!info.allowed) {
          if (onDenied !== undefined) await onDenied(req, res, info);
          return refuse(res, 403, BODIES[403]);
        }
        res.locals.authorization = info;
      }
    } catch (err) {
      core.report(err, req);
      return refuse(res, core.errorStatus, BODIES.unavailable);
    }
    // Outside the try: errors from later handlers are theirs, not a failed decision.
    next();
  };
}
