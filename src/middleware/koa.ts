// rbac-normalizer/koa: authorization middleware for Koa 3. Imports only Koa *types*.
import type { Context, Next } from 'koa';
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

export interface KoaAuthorizeOptions extends AuthorizeOptionsBase<Context> {
  /**
   * Sets the 403 response instead of the default `{"error":"forbidden"}`; may be async. If it
   * throws or rejects, the answer is the 503 JSON. Default: none.
   */
  readonly onDenied?: (ctx: Context, info: AuthorizationInfo) => void | Promise<void>;
}

/**
 * Koa middleware: 401 without a subject, 403 on deny, 400 for a path with an invalid percent-escape,
 * 503 JSON when no decision can be made or `onDenied` fails (and `next` is never called), otherwise
 * `next()` with the decision in `ctx.state.authorization`.
 *
 * @throws ConfigError naming the option when options are invalid (at construction, not per request).
 * @example
 * app.use(authorize({ authorizer, subject: (ctx) => ctx.get('x-user'), routes: { 'GET /recordings/:id': 'zoom:recording' } }));
 */
export function authorize(options: KoaAuthorizeOptions): (ctx: Context, next: Next) => Promise<void> {
  const core = createCore(options);
  const onDenied = options.onDenied;
  if (onDenied !== undefined && typeof onDenied !== 'function')
    throw new ConfigError('onDenied', 'must be a function');
  const refuse = (ctx: Context, status: number, body: object, header?: string) => {
    if (header !== undefined && core.headerName !== undefined) ctx.set(core.headerName, header);
    ctx.status = status;
    // An object body is always sent as JSON, whatever content type a failed onDenied may have set.
    ctx.body = body;
  };

  return async function rbacAuthorize(ctx: Context, next: Next): Promise<void> {
    try {
      const pending = core.decide(ctx, ctx.method, ctx.path);
      const outcome = pending instanceof Promise ? await pending : pending;
      switch (outcome.kind) {
        case 'unauthenticated':
          return refuse(ctx, 401, BODIES[401]);
        case 'unmatched':
          if (core.unmatched === 'deny') return refuse(ctx, 403, BODIES[403]);
          break;
        case 'malformed':
          return refuse(ctx, 400, BODIES[400], outcome.header);
        case 'undecidable':
          return refuse(ctx, 403, BODIES[403], outcome.header);
        case 'decided': {
          const { info, header } = outcome;
          if (!info.allowed) {
            refuse(ctx, 403, BODIES[403], header);
            if (onDenied !== undefined) await onDenied(ctx, info);
            return;
          }
          if (header !== undefined && core.headerName !== undefined) ctx.set(core.headerName, header);
          ctx.state['authorization'] = info;
        }
      }
    } catch (err) {
      core.report(err, ctx);
      // Whatever a custom denial may have set, the answer is the refusal.
      return refuse(ctx, core.errorStatus, BODIES.unavailable);
    }
    // Outside the try: errors from later middleware are theirs, not a failed decision.
    await next();
  };
}
