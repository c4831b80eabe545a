// The behaviour both middlewares must have, run against real loopback servers of each framework.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { manualClock } from '../../src/clock.js';
import { type Authorizer, createAuthorizer } from '../../src/engine/authorizer.js';
import type { AuthorizeOptionsBase } from '../../src/middleware/core.js';
import type { PolicyRule } from '../../src/policy/types.js';
import type { Running } from '../helpers/server.js';

/** Options the suite passes; `onDenied` is framework-specific and set by the harness when asked. */
export type SuiteOptions = Omit<AuthorizeOptionsBase<unknown>, 'subject' | 'resource' | 'action'> & {
  customDenial?: boolean;
  /** Resource and action from headers instead of routes. */
  fromHeaders?: boolean;
};

/**
 * Starts an app: the middleware (subject from `x-user`), then handlers that answer 200 with
 * `{ handled: true, authorization }` (the decision handed over by the middleware), `/boom` which
 * throws, and counts handled requests in `handled.n`.
 */
export type StartApp = (options: SuiteOptions, handled: { n: number }) => Promise<Running>;

const T0 = '2026-11-22T12:00:00.000Z';
const open = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };
const rule = (sub: string, obj: string, act: string, extra: Partial<PolicyRule> = {}): PolicyRule => ({
  sub,
  obj,
  act,
  eft: 'allow',
  ...open,
  ...extra,
});
const routes = {
  'GET /recordings/:id': 'zoom:recording',
  'PUT /recordings/:id': { resource: 'zoom:recording', action: 'edit' },
  'GET /groups/:groupId/*': 'vonage:group:{groupId}',
  '/boom': 'zoom:recording',
  '/open': 'app:open',
};

export function middlewareSuite(framework: string, start: StartApp): void {
  describe(`${framework} middleware`, () => {
    const clock = manualClock(T0);
    let authorizer: Authorizer;
    const servers: Running[] = [];
    const handled = { n: 0 };
    after(() => Promise.all(servers.map((s) => s.close())));

    async function app(options: Partial<SuiteOptions> = {}): Promise<string> {
      authorizer ??= await createAuthorizer({
        clock,
        policies: {
          rules: [
            rule('alice', 'zoom:recording', 'read'),
            rule('alice', 'zoom:recording', 'edit'),
            rule('alice', 'vonage:group:g 1', 'read'),
            rule('alice', 'app:open', 'write'),
            rule('bob', 'zoom:recording', 'read', { eft: 'deny' }),
            rule('carol', 'zoom:recording', 'read', {
              from: Date.parse(T0) - 1000,
              until: Date.parse(T0) + 60_000,
            }),
          ],
          links: [],
        },
      });
      const s = await start({ authorizer, routes, ...options }, handled);
      servers.push(s);
      return s.url;
    }

    const get = (url: string, user?: string, init: RequestInit = {}) =>
      fetch(url, {
        ...init,
        headers: { ...(user === undefined ? {} : { 'x-user': user }), ...(init.headers ?? {}) },
      });

    test('passes an allowed request to the handler with the decision attached', async () => {
      const url = await app();
      const res = await get(`${url}/recordings/7`, 'alice');
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), {
        handled: true,
        authorization: { allowed: true, subject: 'alice', resource: 'zoom:recording', action: 'read' },
      });
    });

    test('answers 403 with a body that names no policy internals on deny', async () => {
      const url = await app();
      const before = handled.n;
      for (const user of ['bob', 'dave']) {
        const res = await get(`${url}/recordings/7`, user);
        assert.equal(res.status, 403);
        assert.deepEqual(await res.json(), { error: 'forbidden' });
        assert.equal(res.headers.get('x-rbac-decision'), null, 'no decision header unless asked');
      }
      assert.equal(handled.n, before);
    });

    test('answers 401 when the request has no subject', async () => {
      const url = await app();
      const res = await get(`${url}/recordings/7`);
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), { error: 'unauthenticated' });
    });

    test('maps method and route to resource and action, params included', async () => {
      const url = await app();
      assert.equal((await get(`${url}/recordings/7`, 'alice', { method: 'PUT' })).status, 200);
      assert.equal((await get(`${url}/recordings/7`, 'alice', { method: 'DELETE' })).status, 403);
      assert.equal((await get(`${url}/groups/g%201/members`, 'alice')).status, 200);
      assert.equal((await get(`${url}/groups/g2/members`, 'alice')).status, 403);
      assert.equal((await get(`${url}/RECORDINGS/7/`, 'alice')).status, 200);
    });

    test('denies a route no table entry matches, or passes it on when told to', async () => {
      const deny = await app();
      assert.equal((await get(`${deny}/admin`, 'alice')).status, 403);
      const pass = await app({ unmatched: 'next' });
      assert.equal((await get(`${pass}/admin`, 'alice')).status, 200);
      assert.equal((await get(`${pass}/recordings/1`, 'bob')).status, 403);
    });

    test('fails closed with 503 and never calls the handler when deciding throws', async () => {
      const errors: unknown[] = [];
      const broken = {
        enforce: () => false,
        enforceStrict: () => {
          throw new Error('policy store unreachable');
        },
      };
      const url = await app({ authorizer: broken, onError: (e) => errors.push(e) });
      const before = handled.n;
      const res = await get(`${url}/recordings/7`, 'alice');
      assert.equal(res.status, 503);
      const body = await res.text();
      assert.doesNotMatch(body, /unreachable/);
      assert.equal(handled.n, before);
      assert.equal(errors.length, 1);
    });

    test('fails closed when the authorizer answers something other than a boolean', async () => {
      const url = await app({ authorizer: { enforce: () => 'yes' as never } });
      assert.equal((await get(`${url}/recordings/7`, 'alice')).status, 503);
    });

    test('fails closed on an asynchronous error in a request function', async () => {
      const url = await app({ fromHeaders: true });
      const res = await get(`${url}/anything`, 'alice', { headers: { 'x-fail': '1' } });
      assert.equal(res.status, 503);
    });

    test('a handler error after an allow is not reported as a failed decision', async () => {
      const url = await app();
      const res = await get(`${url}/boom`, 'alice');
      assert.equal(res.status, 500);
    });

    test('a temporary grant stops working when it ends while the server runs', async () => {
      const url = await app();
      clock.set(T0);
      assert.equal((await get(`${url}/recordings/1`, 'carol')).status, 200);
      assert.equal((await get(`${url}/recordings/1`, 'carol')).status, 200);
      clock.advance(60_000);
      assert.equal((await get(`${url}/recordings/1`, 'carol')).status, 403);
      clock.set(T0);
    });

    test('a policy change shows on the next request', async () => {
      const url = await app();
      assert.equal((await get(`${url}/recordings/1`, 'erin')).status, 403);
      const added = rule('erin', 'zoom:recording', 'read');
      authorizer.applyChanges({ addRules: [added] });
      assert.equal((await get(`${url}/recordings/1`, 'erin')).status, 200);
      authorizer.applyChanges({ removeRules: [added] });
      assert.equal((await get(`${url}/recordings/1`, 'erin')).status, 403);
    });

    test('adds a decision header when asked', async () => {
      const url = await app({ decisionHeader: true });
      const allow = await get(`${url}/recordings/1`, 'alice');
      assert.equal(allow.headers.get('x-rbac-decision'), 'allow');
      const deny = await get(`${url}/recordings/1`, 'dave');
      assert.equal(deny.headers.get('x-rbac-decision'), 'deny; reason=no-matching-rule');
      const byRule = await get(`${url}/recordings/1`, 'bob');
      assert.equal(byRule.headers.get('x-rbac-decision'), 'deny; reason=denied-by-rule');
      const named = await app({ decisionHeader: 'X-Debug-Authz' });
      assert.equal((await get(`${named}/recordings/1`, 'alice')).headers.get('x-debug-authz'), 'allow');
    });

    test('lets the app write its own denial', async () => {
      const url = await app({ customDenial: true });
      const res = await get(`${url}/recordings/1`, 'dave');
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), { message: 'ask your admin for zoom:recording read' });
    });

    test('takes resource and action from functions of the request', async () => {
      const url = await app({ fromHeaders: true });
      const h = { 'x-resource': 'vonage:group:g 1', 'x-action': 'read' };
      assert.equal((await get(`${url}/whatever`, 'alice', { headers: h })).status, 200);
      assert.equal((await get(`${url}/whatever`, 'bob', { headers: h })).status, 403);
    });
  });
}
