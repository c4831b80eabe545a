// A hello-world app for the HTTP benchmark, in its own process: `http-server.ts <express|koa> <bare|authz>`.
// Prints the port; with `authz` the middleware sits in front (warm cache, an allowed request).
import { createServer } from 'node:http';
import { createEngine } from '../src/engine/authorizer.js';
import { benchApp, benchPolicy, type Framework } from './apps.js';

const [framework, mode] = process.argv.slice(2) as [Framework, string];
// BENCH_HTTP_USERS sizes the policy held by the app (default: 1,000 people's worth).
const authorizer = await createEngine({
  policies: benchPolicy(Number(process.env['BENCH_HTTP_USERS'] ?? 1000)),
});
const server = createServer(benchApp(framework, mode === 'authz' ? authorizer : undefined)).listen(
  0,
  '127.0.0.1',
  () => {
    console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
  },
);
process.on('SIGTERM', () => process.exit(0));
