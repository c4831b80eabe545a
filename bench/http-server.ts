// A hello-world app for the HTTP benchmark, in its own process: `http-server.ts <express|koa> <bare|authz>`.
// Prints the port; with `authz` the middleware sits in front (warm cache, an allowed request), its
// authorizer with metrics on (a prom-client registry, as the example app has).
import { createServer } from 'node:http';
import { Registry } from 'prom-client';
import { createAuthorizer } from '../src/authorizer.js';
import { benchApp, benchPolicy, type Framework } from './apps.js';

const [framework, mode] = process.argv.slice(2) as [Framework, string];
// BENCH_HTTP_USERS sizes the policy held by the app (default: 1,000 people's worth).
const authorizer = await createAuthorizer({
  policies: benchPolicy(Number(process.env['BENCH_HTTP_USERS'] ?? 1000)),
  metrics: new Registry(),
});
const server = createServer(benchApp(framework, mode === 'authz' ? authorizer : undefined)).listen(
  0,
  '127.0.0.1',
  () => {
    console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
  },
);
process.on('SIGTERM', () => process.exit(0));
