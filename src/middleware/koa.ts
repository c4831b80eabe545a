// rbac-normalizer/koa: authorization middleware for Koa 3. Imports only Koa *types*.
import type { Context, Next } from 'koa';
import { ConfigError } from '../errors.js';
import {
  type AuthorizationInfo,
  type AuthorizeOptionsBase,
  BODIES,
  createCore,
  type Outcome,
} from './core.js';
import { routedPath } from './routed-path.js';

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

  const failed = (ctx: Context, err: unknown, callId: string | undefined): Promise<void> => {
    core.report(err, ctx, callId);
    // Whatever a custom denial may have set, the answer is the refusal.
    refuse(ctx, core.errorStatus, BODIES.unavailable);
    return DONE;
  };

  /**
   * Answers an outcome, or returns true when the request is to be passed on; a promise when a
   * custom denial is asynchronous. Throws when onDenied throws.
   */
  const act = (ctx: Context, outcome: Outcome): boolean | Promise<void> => {
    if (outcome.kind === 'pass') return true;
    if (outcome.kind === 'refused') {
      refuse(ctx, outcome.status, outcome.body, outcome.header);
      return false;
    }
    const { info, header } = outcome;
    if (info.allowed) {
      if (header !== undefined && core.headerName !== undefined) ctx.set(core.headerName, header);
      ctx.state['authorization'] = info;
      return true;
    }
    refuse(ctx, 403, BODIES[403], header);
    if (onDenied === undefined) return false;
    const custom = onDenied(ctx, info);
    return typeof (custom as { then?: unknown } | undefined)?.then === 'function'
      ? Promise.resolve(custom)
      : false;
  };

  /** Acts on an outcome; any throw or rejection on the way is a 503, and `next` runs only on a pass. */
  const settle = (ctx: Context, next: Next, outcome: Outcome, callId: string | undefined): Promise<void> => {
    let passOn: boolean | Promise<void>;
    try {
      passOn = act(ctx, outcome);
    } catch (err) {
      return failed(ctx, err, callId);
    }
    // Outside the try: errors from later middleware are theirs, not a failed decision.
    if (passOn === true) return next();
    if (passOn === false) return DONE;
    return passOn.then(undefined, (err) => failed(ctx, err, callId));
  };

  // Not an async function: while the request functions are synchronous the decision takes no
  // promise of its own, and a pass returns `next()` itself rather than awaiting it.
  return function rbacAuthorize(ctx: Context, next: Next): Promise<void> {
    // Set first: every answer carries it, a refusal and a failed custom denial included.
    const callId = core.callId(ctx);
    // Straight to Node (nothing is sent yet): ctx.set adds a delegate and checks per request.
    if (callId !== undefined) ctx.res.setHeader(core.callIdHeader as string, callId);
    let pending: Outcome | Promise<Outcome>;
    try {
      pending = core.decide(
        ctx,
        ctx.req.method ?? ctx.method,
        routedPath(ctx.req.url, () => ctx.path),
        callId,
      );
    } catch (err) {
      return failed(ctx, err, callId);
    }
    if (!(pending instanceof Promise)) return settle(ctx, next, pending, callId);
    return pending.then(
      (outcome) => settle(ctx, next, outcome, callId),
      (err) => failed(ctx, err, callId),
    );
  };
}

/** What a refusal returns: the answer is set on ctx, there is nothing left to wait for. */
const DONE: Promise<void> = Promise.resolve();
