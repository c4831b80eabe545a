import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import Koa from 'koa';
import { isConfigError } from '../../src/errors.js';
import { authorize, type KoaAuthorizeOptions } from '../../src/middleware/koa.js';
import { frameworksLoadedBy } from '../helpers/frameworks.js';
import { listen } from '../helpers/server.js';
import { middlewareSuite } from './suite.js';

middlewareSuite('Koa', async ({ customDenial, failingDenial, fromHeaders, subject, ...options }, handled) => {
  const app = new Koa();
  app.silent = true;
  const opts: KoaAuthorizeOptions = {
    ...options,
    subject: subject ?? ((ctx) => ctx.get('x-user')),
    ...(fromHeaders
      ? {
          resource: async (ctx) => {
            if (ctx.get('x-fail')) throw new Error('lookup failed');
            return ctx.get('x-resource');
          },
          action: (ctx) => ctx.get('x-action'),
        }
      : {}),
    ...(customDenial
      ? {
          onDenied: (ctx, info) => {
            ctx.body = { message: `ask your admin for ${info.resource} ${info.action}` };
          },
        }
      : {}),
    ...(failingDenial ? { onDenied: (ctx) => failingDenial((n, v) => ctx.set(n, v)) } : {}),
  };
  app.use(authorize(opts));
  app.use((ctx) => {
    if (ctx.path === '/boom') throw new Error('handler bug');
    handled.n++;
    ctx.body = { handled: true, authorization: ctx.state['authorization'] };
  });
  return listen(createServer(app.callback()));
});

test('Koa middleware options are checked at construction and errors name the option', () => {
  const cases: [Partial<KoaAuthorizeOptions>, string][] = [
    [{ subject: () => 'a', routes: {} }, 'authorizer'],
    [
      { authorizer: { enforce: () => true }, subject: () => 'a', routes: {}, unmatched: 'allow' as never },
      'unmatched',
    ],
    [
      { authorizer: { enforce: () => true }, subject: () => 'a', routes: { '/x/:a': 'r:{b}' } },
      'routes["/x/:a"]',
    ],
    [{ authorizer: { enforce: () => true }, subject: () => 'a', routes: {}, callId: 42 as never }, 'callId'],
  ];
  for (const [opts, key] of cases) {
    assert.throws(
      () => authorize(opts as KoaAuthorizeOptions),
      (e: unknown) => isConfigError(e) && e.key === key,
      key,
    );
  }
});

test('importing rbac-normalizer/koa loads neither Express nor Koa itself', () => {
  assert.deepEqual(frameworksLoadedBy('./src/middleware/koa.ts'), []);
});
