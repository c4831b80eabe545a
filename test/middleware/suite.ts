// The behaviour both middlewares must have, run against real loopback servers of each framework.
import assert from 'node:assert/strict';
import { METHODS } from 'node:http';
import { after, describe, test } from 'node:test';
import { manualClock } from '../../src/clock.js';
import { type Authorizer, createEngine } from '../../src/engine/authorizer.js';
import type { AuthorizeOptionsBase } from '../../src/middleware/core.js';
import { rule } from '../helpers/policy.js';
import { rawRequest } from '../helpers/raw-http.js';
import type { Running } from '../helpers/server.js';

/**
 * Options the suite passes. The harness takes the subject from `x-user` unless `subject` is given;
 * `onDenied` is framework-specific and set by the harness when asked.
 */
export type SuiteOptions = Omit<AuthorizeOptionsBase<unknown>, 'subject'> & {
  subject?: AuthorizeOptionsBase<unknown>['subject'];
  customDenial?: boolean;
  /**
   * An `onDenied` that fails (throws or rejects) after setting headers through `setHeader`; the
   * harness wraps it in its framework's signature.
   */
  failingDenial?: (setHeader: (name: string, value: string) => void) => void | Promise<void>;
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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const _open = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };
const routes = {
  'GET /recordings/:id': 'zoom:recording',
  'PUT /recordings/:id': { resource: 'zoom:recording', action: 'edit' },
  'GET /groups/:groupId/*': 'vonage:group:{groupId}',
  '/boom': 'zoom:recording',
  '/open': 'app:open',
  '/admin/*': 'app:admin',
};

/** Spellings of paths under `/admin/*` that a framework, a static file server or a proxy may read as such. */
const ADMIN_SPELLINGS = [
  '/admin',
  '/admin/x',
  '//admin/x',
  '/ADMIN/x',
  '/Admin/',
  '/admin/x/',
  '/admin/../admin',
  '/admin/./x',
  '/./admin/x',
  '/x/../admin/y',
  '/%2e%2e/admin/x',
  '/x/..%2fadmin',
  '/admin%2Fx',
  '/admin%2fx',
  '/%61dmin/x',
  '/admin;x=1/y',
  '/admin/x;y=1',
  '/public/..;/admin/x',
  '/admin\\x',
  'http://example.test/admin/x',
  '/admin/x?next=/elsewhere',
];

/** Methods a Node server accepts that the default actions map does not name. */
const UNMAPPED_METHODS = METHODS.filter(
  (m) => !['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT'].includes(m),
);

export function middlewareSuite(framework: string, start: StartApp): void {
  describe(`${framework} middleware`, () => {
    const clock = manualClock(T0);
    let authorizer: Authorizer;
    const servers: Running[] = [];
    const handled = { n: 0 };
    after(() => Promise.all(servers.map((s) => s.close())));

    async function app(options: Partial<SuiteOptions> = {}): Promise<string> {
      authorizer ??= await createEngine({
        clock,
        policies: {
          rules: [
            rule('alice', 'zoom:recording', 'read'),
            rule('alice', 'zoom:recording', 'edit'),
            rule('alice', 'vonage:group:g 1', 'read'),
            rule('alice', 'app:open', 'write'),
            rule('alice', 'app:admin', 'read'),
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

    const raw = (
      url: string,
      path: string,
      user: string | undefined,
      method = 'GET',
      headers: Record<string, string> = {},
    ) =>
      rawRequest(url, {
        method,
        path,
        headers: { ...headers, ...(user === undefined ? {} : { 'x-user': user }) },
      });

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
      assert.equal((await get(`${deny}/elsewhere`, 'alice')).status, 403);
      const pass = await app({ unmatched: 'next' });
      assert.equal((await get(`${pass}/elsewhere`, 'alice')).status, 200);
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

    /** An authorizer that allows everything and records the context of each call. */
    const recording = () => {
      const contexts: unknown[] = [];
      return {
        contexts,
        authorizer: {
          enforce: (_u: string, _r: string, _a: string, context?: unknown) => {
            contexts.push(context);
            return true;
          },
        },
      };
    };
    const authorizationOf = async (res: Response) =>
      ((await res.json()) as { authorization?: { callId?: string } }).authorization;

    test('sends a call id that is the one the authorizer was given and the handler sees', async () => {
      const { contexts, authorizer } = recording();
      const url = await app({ authorizer, callId: true });
      const res = await get(`${url}/recordings/7`, 'alice');
      assert.equal(res.status, 200);
      const callId = res.headers.get('x-rbac-call-id');
      assert.match(callId ?? '', UUID);
      assert.deepEqual(contexts, [{ callId }]);
      assert.equal((await authorizationOf(res))?.callId, callId);
    });

    test('gives each request its own call id, with every target of one request under the same', async () => {
      const { contexts, authorizer } = recording();
      const url = await app({ authorizer, callId: true });
      const ids = new Set<string | null>();
      for (let i = 0; i < 20; i++)
        ids.add((await get(`${url}/recordings/${i}`, 'alice')).headers.get('x-rbac-call-id'));
      assert.equal(ids.size, 20);
      assert.ok(![...ids].includes(null));
      contexts.length = 0;
      // `/groups/a%2Fb/x` reads as group a/b and as group a: two decisions, one request.
      const two = await raw(url, '/groups/a%2Fb/x', 'alice');
      assert.equal(contexts.length, 2);
      assert.deepEqual(contexts[0], { callId: two.headers['x-rbac-call-id'] });
      assert.deepEqual(contexts[1], contexts[0]);
    });

    test('sends the call id on refusals and failures too, and hands it to onError', async () => {
      const errors: [unknown, string | undefined][] = [];
      const url = await app({ callId: true, onError: (e, _req, callId) => errors.push([e, callId]) });
      const answers = [
        await get(`${url}/recordings/7`), // 401
        await get(`${url}/recordings/7`, 'dave'), // 403
        await get(`${url}/elsewhere`, 'alice'), // 403, unmatched
      ];
      const bad = await raw(url, '/admin/%E0%A4%A', 'alice'); // 400
      const broken = await app({
        callId: true,
        authorizer: {
          enforce: () => {
            throw new Error('store down');
          },
        },
        onError: (e, _req, callId) => errors.push([e, callId]),
      });
      const failed = await get(`${broken}/recordings/7`, 'alice'); // 503
      assert.deepEqual(
        [...answers.map((r) => r.status), bad.status, failed.status],
        [401, 403, 403, 400, 503],
      );
      for (const id of [
        ...answers.map((r) => r.headers.get('x-rbac-call-id')),
        bad.headers['x-rbac-call-id'],
      ])
        assert.match(String(id), UUID);
      assert.match(failed.headers.get('x-rbac-call-id') ?? '', UUID);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.[1], failed.headers.get('x-rbac-call-id'));
    });

    test("uses the app's own request id when it is safe, and a new one when it is not", async () => {
      const { contexts, authorizer } = recording();
      const fromHeader = (req: unknown) =>
        (req as { get(name: string): string | undefined }).get('x-request-id');
      const url = await app({ authorizer, callId: { header: 'X-Request-Id', from: fromHeader } });
      const own = 'req-2026.11.22:abc_DEF~1+2/3=4@host';
      const mine = await get(`${url}/recordings/7`, 'alice', { headers: { 'x-request-id': own } });
      assert.equal(mine.headers.get('x-request-id'), own);
      assert.equal(mine.headers.get('x-rbac-call-id'), null);
      assert.equal((await authorizationOf(mine))?.callId, own);
      assert.deepEqual(contexts.at(-1), { callId: own });
      const hostile = [
        'x'.repeat(129),
        '"><script>alert(1)</script>',
        'a b',
        'a\tb',
        '{"level":"error","msg":"forged"}',
        'caf\u00e9',
        '',
      ];
      for (const value of hostile) {
        const res = await raw(url, '/recordings/7', 'alice', 'GET', { 'x-request-id': value });
        const sent = res.headers['x-request-id'];
        assert.match(String(sent), UUID, JSON.stringify(value));
        assert.deepEqual(contexts.at(-1), { callId: sent });
      }
      assert.equal((await get(`${url}/recordings/7`, 'alice')).headers.get('x-request-id')?.length, 36);
      // Whatever the function gives (a header of another parser, a query parameter, a bug).
      for (const value of ['a\r\nx-evil: 1', 'line\nbreak', 42, null, { id: 'x' }, ['a']]) {
        const odd = await app({ callId: { from: () => value } });
        const res = await get(`${odd}/recordings/7`, 'alice');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('x-rbac-call-id') ?? '', UUID, JSON.stringify(value));
        assert.equal(res.headers.get('x-evil'), null);
      }
    });

    test('a call id function that throws gets a new id and onError, and changes no answer', async () => {
      const errors: [unknown, string | undefined][] = [];
      const url = await app({
        callId: {
          from: () => {
            throw new Error('no request id');
          },
        },
        onError: (e, _req, callId) => errors.push([e, callId]),
      });
      const res = await get(`${url}/recordings/7`, 'alice');
      assert.equal(res.status, 200);
      const callId = res.headers.get('x-rbac-call-id');
      assert.match(callId ?? '', UUID);
      assert.equal(errors.length, 1);
      assert.equal(errors[0]?.[1], callId);
      assert.equal((await get(`${url}/recordings/7`, 'dave')).status, 403);
    });

    test('sends no call id, and gives the authorizer none, unless asked; a string names its header', async () => {
      const { contexts, authorizer } = recording();
      for (const callId of [undefined, false]) {
        const url = await app({ authorizer, ...(callId === undefined ? {} : { callId }) });
        const res = await get(`${url}/recordings/7`, 'alice');
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-rbac-call-id'), null);
        assert.deepEqual(contexts.splice(0), [undefined]);
        assert.equal((await authorizationOf(res))?.callId, undefined);
        assert.equal((await get(`${url}/recordings/7`)).headers.get('x-rbac-call-id'), null, 'nor on a 401');
      }
      const named = await app({ callId: 'X-Trace-Id' });
      const traced = await get(`${named}/recordings/7`, 'alice');
      assert.match(traced.headers.get('x-trace-id') ?? '', UUID);
      assert.equal(traced.headers.get('x-rbac-call-id'), null);
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

    test('asks for the decision header reason without the near-miss search', async () => {
      await app(); // builds the shared authorizer
      const asked: unknown[] = [];
      const spy: Pick<Authorizer, 'enforce' | 'enforceStrict' | 'explain'> = {
        enforce: (u, r, a, c) => authorizer.enforce(u, r, a, c),
        enforceStrict: (u, r, a, c) => authorizer.enforceStrict(u, r, a, c),
        explain: (u, r, a, o) => {
          asked.push(o);
          return authorizer.explain(u, r, a, o);
        },
      };
      const s = await start({ authorizer: spy, routes, decisionHeader: true }, handled);
      servers.push(s);
      const deny = await get(`${s.url}/recordings/1`, 'dave');
      assert.equal(deny.headers.get('x-rbac-decision'), 'deny; reason=no-matching-rule');
      assert.deepEqual(asked, [{ nearMisses: false }]);
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

    test('decides HEAD on a GET route as GET, with the same action, never passing it on', async () => {
      const url = await app({ unmatched: 'next', decisionHeader: true });
      const before = handled.n;
      const mallory = await raw(url, '/recordings/7', 'mallory', 'HEAD');
      assert.equal(mallory.status, 403);
      assert.equal(mallory.headers['x-rbac-decision'], 'deny; reason=no-matching-rule');
      assert.equal((await raw(url, '/recordings/7', 'bob', 'HEAD')).status, 403, 'bob is denied read');
      assert.equal(handled.n, before);
      const alice = await raw(url, '/recordings/7', 'alice', 'HEAD');
      assert.equal(alice.status, 200);
      assert.equal(alice.headers['x-rbac-decision'], 'allow');
      assert.equal(handled.n, before + 1);
    });

    test('decides every spelling of a path under a listed entry, never passing it on', async () => {
      const url = await app({ unmatched: 'next' });
      const before = handled.n;
      for (const path of ADMIN_SPELLINGS) {
        const res = await raw(url, path, 'mallory');
        assert.equal(res.status, 403, `${path} → ${res.status} ${res.body}`);
        assert.deepEqual(JSON.parse(res.body), { error: 'forbidden' }, path);
      }
      for (const path of ['/RECORDINGS/7/', '/recordings//7', '/x/../recordings/7', '/recordings/7;v=1']) {
        const res = await raw(url, path, 'mallory');
        assert.equal(res.status, 403, `${path} → ${res.status} ${res.body}`);
      }
      assert.equal(handled.n, before, 'no request under a listed entry reached the handler');
      assert.equal(
        (await raw(url, '/x/../admin/y', 'alice')).status,
        200,
        'and an allowed one is let through',
      );
    });

    test('still passes on requests outside every entry when told to', async () => {
      const url = await app({ unmatched: 'next' });
      const outside = [
        '/elsewhere',
        '/administrator',
        '/public/admin',
        '/adminx/y',
        '/elsewhere;admin',
        '/elsewhere?/admin/x',
        '/elsewhere?next=/admin/x',
      ];
      for (const path of outside) {
        const res = await raw(url, path, 'mallory');
        assert.equal(res.status, 200, `${path} → ${res.status} ${res.body}`);
      }
    });

    test('answers 400 and never passes on a path with an invalid percent-escape', async () => {
      const before = handled.n;
      for (const unmatched of ['next', 'deny'] as const) {
        const url = await app({ unmatched });
        for (const path of ['/admin/%E0%A4%A', '/admin%E0', '/recordings/%E0', '/elsewhere/%zz']) {
          const res = await raw(url, path, 'alice');
          assert.equal(res.status, 400, `${unmatched} ${path} → ${res.status} ${res.body}`);
          assert.deepEqual(JSON.parse(res.body), { error: 'bad request' });
        }
      }
      assert.equal(handled.n, before);
    });

    test('denies a method the actions map does not name on an any-method entry, never passing it on', async () => {
      const url = await app({ unmatched: 'next' });
      const before = handled.n;
      for (const method of UNMAPPED_METHODS) {
        // alice may write app:open and read app:admin, but these methods are neither.
        for (const path of ['/open', '/admin/x']) {
          const res = await raw(url, path, 'alice', method);
          assert.equal(res.status, 403, `${method} ${path} → ${res.status} ${res.body}`);
        }
      }
      assert.equal(handled.n, before);
      const mapped = await app({ unmatched: 'next', actions: { PURGE: 'write' } });
      assert.equal((await raw(mapped, '/open', 'alice', 'PURGE')).status, 200, 'PURGE decided as write');
      assert.equal((await raw(mapped, '/admin/x', 'alice', 'PURGE')).status, 403);
    });

    test('decides a request whose subject() gives a thenable that is not a Promise', async () => {
      const thenable = (user: string) =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise is the point of the test
          then(ok: (v: string) => void) {
            ok(user);
          },
        }) as never;
      const allowed = await app({ subject: () => thenable('alice') });
      assert.equal((await get(`${allowed}/recordings/7`)).status, 200);
      const denied = await app({ subject: () => thenable('dave') });
      assert.equal((await get(`${denied}/recordings/7`)).status, 403);
    });

    const boom = (what: string) => () => {
      throw new Error(`${what} failed: secret-token-123`);
    };
    const reject = (what: string) => async () => {
      throw new Error(`${what} failed: secret-token-123`);
    };
    const failing: [string, Partial<SuiteOptions>, string][] = [
      ['onDenied throws', { failingDenial: boom('onDenied') }, 'dave'],
      ['onDenied rejects', { failingDenial: reject('onDenied') }, 'dave'],
      ['subject() throws', { subject: boom('subject') }, 'alice'],
      ['subject() rejects', { subject: reject('subject') }, 'alice'],
      [
        'subject() gives a thenable that rejects',
        {
          subject: () =>
            ({
              // biome-ignore lint/suspicious/noThenProperty: a thenable that is not a Promise is the point of the test
              then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error('no')),
            }) as never,
        },
        'alice',
      ],
      ['resource() throws', { resource: boom('resource') }, 'alice'],
      ['action() throws', { action: boom('action') }, 'alice'],
      [
        'resource() rejects while action() throws',
        { resource: reject('resource'), action: boom('action') },
        'alice',
      ],
      ['resource() gives a non-string', { resource: () => 42 as never }, 'alice'],
      ['resource() gives undefined beside a routes table', { resource: () => undefined as never }, 'alice'],
      [
        'onDenied sets an HTML content type and throws',
        {
          failingDenial: (setHeader) => {
            setHeader('content-type', 'text/html');
            boom('onDenied')();
          },
        },
        'dave',
      ],
      ['onError throws', { authorizer: { enforce: boom('enforce') }, onError: boom('onError') }, 'alice'],
      ['onError rejects', { authorizer: { enforce: boom('enforce') }, onError: reject('onError') }, 'alice'],
      [
        'onDenied and onError both throw',
        { failingDenial: boom('onDenied'), onError: boom('onError') },
        'dave',
      ],
      ['onDenied rejects and onError rejects', { failingDenial: reject('x'), onError: reject('y') }, 'dave'],
    ];
    for (const [name, options, user] of failing) {
      test(`answers the documented 503 JSON, never the handler, when ${name}`, async () => {
        const url = await app(options);
        const before = handled.n;
        const res = await get(`${url}/recordings/7`, user);
        assert.equal(res.status, 503);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const body = await res.text();
        assert.deepEqual(JSON.parse(body), { error: 'authorization unavailable' });
        assert.doesNotMatch(body, /secret-token/);
        assert.equal(handled.n, before);
      });
    }
  });
}
