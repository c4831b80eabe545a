// Koa's authorize() reads a plain origin-form target as it is instead of asking ctx.path (which
// parses the URL): the route table must resolve it exactly as it resolves what parseurl gives.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import fc from 'fast-check';
import { routedPath } from '../../src/middleware/routed-path.js';
import { compileRouteTable } from '../../src/middleware/routes.js';

const parseurl = createRequire(import.meta.url)('parseurl') as (req: { url: string }) => {
  pathname: string | null;
};

const resolve = compileRouteTable({
  routes: {
    'GET /recordings/:id': 'zoom:recording',
    '/admin/*': { resource: 'admin', action: 'manage' },
    'GET /a:b': 'colon',
    'GET /': 'root',
  },
});

test('a target read as it is resolves as the path parseurl gives, for any target', () => {
  const part = fc.constantFrom(
    '/',
    '//',
    'recordings',
    'admin',
    '42',
    'a:b',
    '?',
    '?x=1',
    '#',
    '#frag',
    ' ',
    '\t',
    '%2F',
    '%zz',
    '..',
    '.',
    ';p',
    'http://h',
    'A',
    'é',
    '\\',
  );
  fc.assert(
    fc.property(fc.array(part, { maxLength: 8 }), fc.constantFrom('GET', 'POST', 'HEAD'), (parts, method) => {
      const url = parts.join('');
      let parses = 0;
      const pathname = parseurl({ url }).pathname ?? '';
      const path = routedPath(url, () => {
        parses++;
        return pathname;
      });
      assert.deepEqual(resolve(method, path), resolve(method, pathname), JSON.stringify(url));
      if (parses === 0) assert.ok(url.startsWith('/'), 'only an origin-form target is read as it is');
    }),
    { numRuns: 5000 },
  );
});

test('a plain target is not parsed; one with a fragment, a space or no leading slash is', () => {
  const asked = (url: string) => {
    let n = 0;
    routedPath(url, () => {
      n++;
      return '';
    });
    return n;
  };
  assert.deepEqual(
    [
      '/recordings/42',
      '/recordings/42?x=1#y',
      '/a b',
      '/a#b',
      'a:b',
      'http://h/recordings/1',
      '/Recordings',
    ].map(asked),
    [0, 0, 1, 1, 1, 1, 1],
  );
});
