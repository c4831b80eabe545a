// A VendorError is built from fields (vendor, endpoint, user, status, vendor code, detail), never by
// parsing another error's message back, and it names the request that failed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createVonageAdapter } from '../../src/adapters/vonage.js';
import { createZoomAdapter } from '../../src/adapters/zoom.js';
import { isVendorError, VendorError } from '../../src/errors.js';

/** A fetch that answers by method and path, recording what was asked. */
function vendor(answer: (method: string, path: string) => Response) {
  const seen: string[] = [];
  const f = async (req: Request) => {
    const path = new URL(req.url).pathname;
    seen.push(`${req.method} ${path}`);
    return answer(req.method, path);
  };
  return { fetch: f as unknown as typeof fetch, seen };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('VendorError fields', () => {
  test('detail is the vendor message without the prefix the error message adds', () => {
    const e = new VendorError({
      vendor: 'zoom',
      endpoint: 'GET /users',
      failure: 'server',
      status: 503,
      vendorCode: 7,
      message: 'busy: HTTP 503 code 7 try later',
    });
    assert.equal(e.message, 'zoom GET /users: HTTP 503 code 7 busy: HTTP 503 code 7 try later');
    assert.equal(e.detail, 'busy: HTTP 503 code 7 try later');
  });

  test('a refused Zoom token is reported against the token endpoint, not the API call that needed it', async () => {
    const v = vendor((_method, path) =>
      path === '/oauth/token'
        ? json(401, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' })
        : json(200, { users: [], next_page_token: '' }),
    );
    const zoom = createZoomAdapter({
      baseUrl: 'https://api.zoom.test/v2',
      tokenUrl: 'https://zoom.test/oauth/token',
      accountId: 'acc',
      clientId: 'id',
      clientSecret: 'secret',
      fetch: v.fetch,
    });
    await assert.rejects(zoom.fetchAll(), (e: unknown) => {
      assert.ok(isVendorError(e));
      assert.equal(e.endpoint, 'POST /oauth/token');
      assert.equal(e.failure, 'auth');
      assert.equal(e.status, 401);
      assert.equal(e.detail, 'credentials refused (invalid_client)');
      assert.equal(e.message, 'zoom POST /oauth/token: HTTP 401 credentials refused (invalid_client)');
      return true;
    });
    assert.deepEqual(v.seen, ['POST /oauth/token'], 'no API request without a token');
  });

  test('a Vonage token endpoint that is down is named as such, with its status', async () => {
    const v = vendor(() => json(403, { error: 'forbidden', error_description: 'client disabled' }));
    const adapter = createVonageAdapter({
      baseUrl: 'https://vonage.test/useradmin',
      tokenUrl: 'https://vonage.test/Auth/connect/token',
      clientId: 'id',
      clientSecret: 'secret',
      fetch: v.fetch,
    });
    await assert.rejects(adapter.fetchAll(), (e: unknown) => {
      assert.ok(isVendorError(e));
      assert.equal(e.endpoint, 'POST /Auth/connect/token');
      assert.equal(e.message, 'vonage POST /Auth/connect/token: HTTP 403 client disabled');
      return true;
    });
  });

  test('Zoom\'s refusal of a role update keeps the role id whole, even one with ": " in it', async () => {
    const v = vendor((_method, path) =>
      path === '/oauth/token'
        ? json(200, { access_token: 't', expires_in: 3600 })
        : json(404, { code: 1018, message: 'Role does not exist: x: y' }),
    );
    const zoom = createZoomAdapter({
      baseUrl: 'https://api.zoom.test/v2',
      tokenUrl: 'https://zoom.test/oauth/token',
      accountId: 'acc',
      clientId: 'id',
      clientSecret: 'secret',
      fetch: v.fetch,
    });
    await assert.rejects(zoom.setRolePrivileges('x: y', ['Recording:Read']), (e: unknown) => {
      assert.ok(isVendorError(e));
      assert.equal(e.user, 'role x: y');
      assert.equal(e.vendorCode, 1018);
      assert.equal(e.detail, 'the role does not exist (Role does not exist: x: y)');
      assert.equal(
        e.message,
        'zoom PATCH /roles/{roleId} (role x: y): HTTP 404 code 1018 the role does not exist (Role does not exist: x: y)',
      );
      return true;
    });
  });
});
