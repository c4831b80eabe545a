// A hello-world app for the HTTP benchmark, in its own process: `http-server.ts <express|koa> <bare|authz>`.
// Prints the port; with `authz` the middleware sits in front (warm cache, an allowed request).
import { createServer } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { createEngine } from '../src/engine/authorizer.js';
import { authorize as expressAuthorize } from '../src/middleware/express.js';
import { authorize as koaAuthorize } from '../src/middleware/koa.js';
import { syntheticPolicy } from './data.js';

const [framework, mode] = process.argv.slice(2);
// BENCH_HTTP_USERS sizes the policy held by the app (default: 1,000 people's worth).
const policy = syntheticPolicy(Number(process.env['BENCH_HTTP_USERS'] ?? 1000));
const authorizer = await createEngine({
  policies: {
    links: policy.links,
    rules: [
      ...policy.rules,
      {
        sub: 'bench@example.com',
        obj: 'zoom:recording',
        act: 'read',
        eft: 'allow',
        from: Number.NEGATIVE_INFINITY,
        until: Number.POSITIVE_INFINITY,
      },
    ],
  },
});
const routes = { 'GET /recordings/:id': 'zoom:recording' };
let handler: Parameters<typeof createServer>[1];
if (framework === 'koa') {
  const app = new Koa();
  app.silent = true;
  if (mode === 'authz') app.use(koaAuthorize({ authorizer, routes, subject: (ctx) => ctx.get('x-user') }));
  app.use((ctx) => {
    ctx.body = 'hello';
  });
  handler = app.callback();
} else {
  const app = express();
  if (mode === 'authz')
    app.use(expressAuthorize({ authorizer, routes, subject: (req) => req.get('x-user') }));
  app.get('/recordings/:id', (_req, res) => {
    res.send('hello');
  });
  handler = app;
}
const server = createServer(handler).listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
});
process.on('SIGTERM', () => process.exit(0));
