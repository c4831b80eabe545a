// The hello-world apps both middleware benches drive (bench/http-server.ts over HTTP,
// bench/middleware.ts in-process): the same handler with and without authorize() in front.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import Koa from 'koa';
import type { Authorizer } from '../src/engine/authorizer.js';
import { authorize as expressAuthorize } from '../src/middleware/express.js';
import { authorize as koaAuthorize } from '../src/middleware/koa.js';
import type { Policy } from '../src/policy/types.js';
import { syntheticPolicy } from './data.js';

export type Framework = 'express' | 'koa';
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The person every bench request is made as; allowed to read zoom:recording. */
export const BENCH_USER = 'bench@example.com';
export const BENCH_PATH = '/recordings/42';

/** A synthetic policy of `users` people's worth plus the bench user's grant. */
export function benchPolicy(users = 1000): Policy {
  const policy = syntheticPolicy(users);
  return {
    links: policy.links,
    rules: [
      ...policy.rules,
      {
        sub: BENCH_USER,
        obj: 'zoom:recording',
        act: 'read',
        eft: 'allow',
        from: Number.NEGATIVE_INFINITY,
        until: Number.POSITIVE_INFINITY,
      },
    ],
  };
}

const routes = { 'GET /recordings/:id': 'zoom:recording' };

/**
 * A hello-world app answering `hello`: bare when `authorizer` is undefined, else with authorize()
 * in front (subject from `x-user`, resource from the routes table). `options` go to authorize().
 */
export function benchApp(
  framework: Framework,
  authorizer: Pick<Authorizer, 'enforce' | 'enforceStrict' | 'explain'> | undefined,
  options: Record<string, unknown> = {},
): RequestHandler {
  if (framework === 'koa') {
    const app = new Koa();
    app.silent = true;
    if (authorizer)
      app.use(koaAuthorize({ ...options, authorizer, routes, subject: (ctx) => ctx.get('x-user') }));
    app.use((ctx) => {
      ctx.body = 'hello';
    });
    return app.callback();
  }
  const app = express();
  if (authorizer)
    app.use(expressAuthorize({ ...options, authorizer, routes, subject: (req) => req.get('x-user') }));
  app.get('/recordings/:id', (_req, res) => {
    res.send('hello');
  });
  return app;
}
