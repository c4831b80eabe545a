import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { test } from 'node:test';
import express from 'express';
import { isConfigError } from '../../src/errors.js';
import { authorize, type ExpressAuthorizeOptions } from '../../src/middleware/express.js';
import { frameworksLoadedBy } from '../helpers/frameworks.js';
import { listen } from '../helpers/server.js';
import { middlewareSuite } from './suite.js';

middlewareSuite('Express', async ({ customDenial, fromHeaders, ...options }, handled) => {
  const app = express();
  const opts: ExpressAuthorizeOptions = {
    ...options,
    subject: (req) => req.get('x-user'),
    ...(fromHeaders
      ? {
          resource: async (req) => {
            if (req.get('x-fail')) throw new Error('lookup failed');
            return req.get('x-resource') ?? '';
          },
          action: (req) => req.get('x-action') ?? '',
        }
      : {}),
    ...(customDenial
      ? {
          onDenied: (_req, res, info) => {
            res.status(403).json({ message: `ask your admin for ${info.resource} ${info.action}` });
          },
        }
      : {}),
  };
  app.use(authorize(opts));
  app.get('/boom', () => {
    throw new Error('handler bug');
  });
  app.use((_req, res) => {
    handled.n++;
    res.json({ handled: true, authorization: res.locals['authorization'] });
  });
  return listen(createServer(app));
});

test('Express middleware options are checked at construction and errors name the option', () => {
  const authorizer = { enforce: () => true };
  const cases: [Partial<ExpressAuthorizeOptions>, string][] = [
    [{ subject: () => 'a', routes: {} }, 'authorizer'],
    [{ authorizer, routes: {} }, 'subject'],
    [{ authorizer, subject: () => 'a' }, 'resource'],
    [{ authorizer, subject: () => 'a', resource: () => 'r' }, 'action'],
    [{ authorizer, subject: () => 'a', routes: {}, errorStatus: 200 }, 'errorStatus'],
    [{ authorizer, subject: () => 'a', routes: {}, decisionHeader: 'bad header' }, 'decisionHeader'],
    [{ authorizer, subject: () => 'a', routes: {}, onDenied: 'x' as never }, 'onDenied'],
    [{ authorizer, subject: () => 'a', routes: { 'get /x': 'r' } }, 'routes["get /x"]'],
  ];
  for (const [opts, key] of cases) {
    assert.throws(
      () => authorize(opts as ExpressAuthorizeOptions),
      (e: unknown) => isConfigError(e) && e.key === key,
      key,
    );
  }
});

test('importing rbac-normalizer/express loads neither Koa nor Express itself', () => {
  assert.deepEqual(frameworksLoadedBy('./src/middleware/express.ts'), []);
});
