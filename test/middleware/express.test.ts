import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import express from 'express';
import { createEngine } from '../../src/engine/authorizer.js';
import { isConfigError } from '../../src/errors.js';
import { authorize, type ExpressAuthorizeOptions } from '../../src/middleware/express.js';
import { frameworksLoadedBy } from '../helpers/frameworks.js';
import { rawRequest } from '../helpers/raw-http.js';
import { listen } from '../helpers/server.js';
import { middlewareSuite } from './suite.js';

middlewareSuite(
  'Express',
  async ({ customDenial, failingDenial, fromHeaders, subject, ...options }, handled) => {
    const app = express();
    const opts: ExpressAuthorizeOptions = {
      ...options,
      subject: subject ?? ((req) => req.get('x-user')),
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
      ...(failingDenial ? { onDenied: (_req, res) => failingDenial((n, v) => res.setHeader(n, v)) } : {}),
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
  },
);

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
    [{ authorizer, subject: () => 'a', routes: {}, callId: 'bad header' }, 'callId'],
    [{ authorizer, subject: () => 'a', routes: {}, callId: { header: 'a b' } }, 'callId.header'],
    [{ authorizer, subject: () => 'a', routes: {}, callId: { from: 'x' as never } }, 'callId.from'],
    [{ authorizer, subject: () => 'a', routes: {}, decisionHeader: 'x-trace', callId: 'X-Trace' }, 'callId'],
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

test('every request Express routes to a handler under a listed entry is decided, never passed on', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'rbac-static-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'files'));
  await writeFile(join(root, 'files', 'secret.txt'), 'secret');
  const authorizer = await createEngine({ policies: { rules: [], links: [] } });
  const routes = { '/admin/*': 'app:admin', 'GET /reports/:id': 'app:report', '/files/*': 'app:files' };
  const listed = (res: express.Response) => res.setHeader('x-handler', 'listed');
  // The app's own routing: handlers under the listed entries mark their answers; others do not.
  const start = (withMiddleware: boolean) => {
    const app = express();
    if (withMiddleware)
      app.use(authorize({ authorizer, routes, unmatched: 'next', subject: (req) => req.get('x-user') }));
    app.get('/reports/:id', (_req, res) => listed(res).send('report'));
    app.use('/admin', (_req, res) => listed(res).send('admin'));
    app.use(express.static(root, { setHeaders: listed }));
    app.get('/:page', (_req, res) => res.send('page'));
    app.use((_req, res) => res.status(404).send('none'));
    return listen(createServer(app));
  };
  const paths = [
    '/admin',
    '/admin/x',
    '/ADMIN/x',
    '/Admin/',
    '//admin/x',
    '/admin/../admin',
    '/admin/%E0%A4%A',
    '/admin/x%E0',
    '/admin%2Fx',
    '/%61dmin',
    '/admin;x=1',
    'http://example.test/admin/x',
    '/reports/1',
    '/REPORTS/1/',
    '/reports/a%2Fb',
    '/reports/1;v=2',
    '/files/secret.txt',
    '/files%2Fsecret.txt',
    '/x/..%2ffiles/secret.txt',
    '/./files/secret.txt',
    '/x/../files/secret.txt',
    '/files/./secret.txt',
  ];
  const methods = ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PURGE', 'SEARCH', 'PROPFIND'];
  const bare = await start(false);
  const guarded = await start(true);
  t.after(() => Promise.all([bare.close(), guarded.close()]));

  const routedToListed: string[] = [];
  for (const method of methods) {
    for (const path of paths) {
      const plain = await rawRequest(bare.url, { method, path });
      if (plain.headers['x-handler'] !== 'listed') continue;
      routedToListed.push(`${method} ${path}`);
      const res = await rawRequest(guarded.url, { method, path, headers: { 'x-user': 'mallory' } });
      assert.equal(res.headers['x-handler'], undefined, `${method} ${path} reached a listed handler`);
      assert.ok(res.status === 403 || res.status === 400, `${method} ${path} → ${res.status}`);
    }
  }
  // The cases are real: without the middleware, Express takes each of these to a listed handler.
  for (const c of [
    'HEAD /reports/1',
    'PURGE /admin/x',
    'SEARCH /admin/x',
    'GET /admin/x%E0',
    'GET /files%2Fsecret.txt',
    'GET /x/..%2ffiles/secret.txt',
    'HEAD /x/../files/secret.txt',
  ])
    assert.ok(routedToListed.includes(c), `${c} should reach a listed handler without the middleware`);
});
