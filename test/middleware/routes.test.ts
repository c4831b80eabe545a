import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isConfigError } from '../../src/errors.js';
import { compileRouteTable, createRouteMap, type RouteTable } from '../../src/middleware/routes.js';

test('HEAD is mapped as GET, with the action GET has', () => {
  const map = createRouteMap({ routes: { 'GET /x/:id': 'r:{id}' }, actions: { GET: 'view' } });
  assert.deepEqual({ ...map('HEAD', '/x/1') }, { ...map('GET', '/x/1') });
  assert.equal(map('HEAD', '/x/1')?.action, 'view');
  const any = createRouteMap({ routes: { '/y': 'r' }, actions: { GET: 'view' } });
  assert.equal(any('HEAD', '/y')?.action, 'view');
  const own = createRouteMap({ routes: { 'GET /z': { resource: 'r', action: 'peek' } } });
  assert.equal(own('HEAD', '/z')?.action, 'peek');
});

test('an entry for a method with no action, or a HEAD action unlike GET, is refused at construction', () => {
  const cases: [Parameters<typeof createRouteMap>[0], string][] = [
    [{ routes: { 'PURGE /cache': 'r' } }, 'routes["PURGE /cache"]'],
    [{ routes: { '/x': 'r' }, actions: { HEAD: 'peek' } }, 'actions.HEAD'],
    [{ routes: { '/x': 'r' }, actions: { GET: 'view', HEAD: 'read' } }, 'actions.HEAD'],
    [{ routes: { '/x': 'r' }, actions: { get: 'read' } }, 'actions.get'],
  ];
  for (const [options, key] of cases)
    assert.throws(
      () => createRouteMap(options),
      (e: unknown) => isConfigError(e) && e.key === key,
      key,
    );
  // What is allowed: an action for the method, from the entry or the actions map.
  assert.equal(
    createRouteMap({ routes: { 'PURGE /c': { resource: 'r', action: 'p' } } })('PURGE', '/c')?.action,
    'p',
  );
  assert.equal(
    createRouteMap({ routes: { 'PURGE /c': 'r' }, actions: { PURGE: 'p' } })('PURGE', '/c')?.action,
    'p',
  );
  assert.equal(
    createRouteMap({ routes: { '/c': 'r' }, actions: { 'M-SEARCH': 'find' } })('M-SEARCH', '/c')?.action,
    'find',
  );
  assert.equal(
    createRouteMap({ routes: { '/c': 'r' }, actions: { HEAD: 'read' } })('HEAD', '/c')?.action,
    'read',
  );
});

test('gives no match for a path that cannot be decoded or a method without an action', () => {
  const map = createRouteMap({ routes: { '/admin/*': 'app:admin' } });
  assert.equal(map('GET', '/admin/%E0%A4%A'), undefined);
  assert.equal(map('PURGE', '/admin/x'), undefined);
  assert.equal(map('GET', '/admin/x')?.resource, 'app:admin');
});

test("the middleware's quick way through a plain path finds what reading it segment by segment finds", () => {
  const route = fc.record({
    method: fc.constantFrom('', 'GET ', 'POST ', '* '),
    // ':' is a param, numbered below so that names are unique within a route.
    segments: fc.array(fc.constantFrom('a', 'b', 'ab', 'x-1', ':'), { maxLength: 3 }),
    rest: fc.boolean(),
    param: fc.boolean(),
    action: fc.constantFrom(undefined, 'peek'),
  });
  const table = fc.array(route, { minLength: 1, maxLength: 6 }).map((rs) => {
    const routes: Record<string, string | { resource: string; action: string }> = {};
    for (const r of rs) {
      const segments = r.segments.map((s, i) => (s === ':' ? `:p${i}` : s));
      const path = `/${segments.join('/')}${r.rest ? (segments.length ? '/*' : '*') : ''}`;
      const p = segments.find((s) => s.startsWith(':'));
      const resource = r.param && p ? `res:{${p.slice(1)}}` : `res:${segments.join('.')}`;
      routes[`${r.method}${path}`] = r.action ? { resource, action: r.action } : resource;
    }
    return routes as RouteTable;
  });
  const path = fc
    .tuple(
      fc.array(fc.constantFrom('a', 'b', 'ab', 'x-1', 'zz', '', 'A', '%61', '.', '..', 'a;b'), {
        maxLength: 5,
      }),
      fc.boolean(),
      fc.constantFrom('', '?', '?q=1/2', '?/a/b'),
    )
    .map(([parts, slash, query]) => `/${parts.join('/')}${slash ? '/' : ''}${query}`);
  fc.assert(
    fc.property(table, path, fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE', 'PURGE'), (routes, p, m) => {
      const resolve = compileRouteTable({ routes });
      const quick = resolve(m, p);
      // Asking for params takes the general way, segment by segment.
      const general = resolve(m, p, true);
      const strip = (r: typeof quick) =>
        r.kind === 'covered' ? r.entries.map((e) => ({ resource: e.resource, action: e.action })) : r.kind;
      assert.deepEqual(strip(quick), strip(general), `${m} ${p} over ${JSON.stringify(routes)}`);
    }),
    { numRuns: 3000 },
  );
});
