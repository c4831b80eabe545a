import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConfigError } from '../../src/errors.js';
import { createRouteMap } from '../../src/middleware/routes.js';

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
