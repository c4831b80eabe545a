// Example app: the middleware in front of a few routes, on the example data (the policy `npm start`
// or `npx rbac-normalizer compile` writes to rbac.config.yaml's policies folder, .rbac/policies/).
// Run: `npm run example` (Express) or `npm run example -- --koa`; then, e.g.
//   curl -i -H 'x-user: carol' http://127.0.0.1:3000/recordings/42
// The `x-user` header stands in for your real authentication; never trust it in production.
// GET /metrics (Prometheus) and GET /healthz (readiness) come before the middleware: they are not
// authorized routes. It imports only the package's public entry points (rbac-normalizer, /express,
// /koa) and prom-client.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import express from 'express';
import Koa from 'koa';
import { Registry } from 'prom-client';
import { createAuthorizer, type RouteTable } from '../../src/index.js';
import { authorize as expressAuthorize } from '../../src/middleware/express.js';
import { authorize as koaAuthorize } from '../../src/middleware/koa.js';

const { values } = parseArgs({
  options: {
    koa: { type: 'boolean', default: false },
    port: { type: 'string', default: process.env['PORT'] ?? '3000' },
    config: { type: 'string', default: 'rbac.config.yaml' },
  },
});

/** Method + route → resource and action, in the README's vocabulary. */
const routes: RouteTable = {
  'GET /recordings/:id': 'zoom:recording',
  'PUT /recordings/:id': { resource: 'zoom:recording', action: 'edit' },
  'GET /groups/:groupId': 'vonage:group:{groupId}',
  'PUT /groups/:groupId': 'vonage:group:{groupId}',
  'POST /devices/:permissionId/commands': { resource: 'tuya:permission:{permissionId}', action: 'use' },
};

/** A Vonage group in the example data where bob's permission is None. */
const SUPPORT = '3615beae-3974-4c33-b38d-9ec230b2284c';

const registry = new Registry();
const authorizer = await createAuthorizer({ config: values.config, metrics: registry });
// callId: each answer carries x-rbac-call-id, the id a decision log entry of the request records.
const common = { authorizer, routes, decisionHeader: true, callId: true } as const;

/** Ready (200) once a policy is loaded and this instance may decide now; else 503 with the reason. */
async function readiness(): Promise<{ status: 200 | 503; body: Record<string, unknown> }> {
  try {
    const { ready, notReady, policy, lastHeardAt, staleUnits } = await authorizer.health();
    if (!ready) return { status: 503, body: { status: 'unavailable', reason: notReady } };
    return { status: 200, body: { status: 'ok', policy, lastHeardAt, staleUnits } };
  } catch (err) {
    return {
      status: 503,
      body: { status: 'unavailable', reason: err instanceof Error ? err.message : 'error' },
    };
  }
}

let handler: Parameters<typeof createServer>[1];
if (values.koa) {
  const app = new Koa();
  app.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/metrics') {
      ctx.set('content-type', registry.contentType);
      ctx.body = await registry.metrics();
    } else if (ctx.method === 'GET' && ctx.path === '/healthz') {
      const { status, body } = await readiness();
      ctx.status = status;
      ctx.body = body;
    } else await next();
  });
  app.use(koaAuthorize({ ...common, subject: (ctx) => ctx.get('x-user') }));
  app.use((ctx) => {
    ctx.body = { ok: true, authorization: ctx.state['authorization'] };
  });
  handler = app.callback();
} else {
  const app = express();
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.get('/healthz', async (_req, res) => {
    const { status, body } = await readiness();
    res.status(status).json(body);
  });
  app.use(expressAuthorize({ ...common, subject: (req) => req.get('x-user') }));
  app.use((_req, res) => {
    res.json({ ok: true, authorization: res.locals['authorization'] });
  });
  handler = app;
}

const server = createServer(handler);
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  const base = `http://127.0.0.1:${port}`;
  console.log(`${values.koa ? 'Koa' : 'Express'} example listening on ${base}; try:`);
  console.log(
    `  curl -i -H 'x-user: carol' ${base}/recordings/42                 # 200 (role Recording:Edit)`,
  );
  console.log(`  curl -i -H 'x-user: bob' ${base}/groups/${SUPPORT}   # 403 (Vonage None)`);
  console.log(`  curl -i ${base}/recordings/42                                                       # 401`);
  console.log(
    `  curl -i -X POST -H 'x-user: bob' ${base}/devices/232371810/commands   # 200 until 2026-12-01`,
  );
  console.log(
    `  curl ${base}/metrics                                                           # Prometheus`,
  );
  console.log(
    `  curl -i ${base}/healthz                                                        # 200 when ready`,
  );
});
