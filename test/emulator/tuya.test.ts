// The emulator's Tuya signature check, with requests crafted by hand over loopback HTTP and signed by a
// signer written here from the reference (§3.3), apart from both the adapter's and the emulator's.
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { EMULATOR_CREDENTIALS, type Emulator, startEmulator } from '../../src/emulator/server.js';
import { ConfigError } from '../../src/errors.js';

const { clientId, clientSecret } = EMULATOR_CREDENTIALS.tuya;

/** HMAC over `prefix + METHOD\nSHA256(body)\nheaders\nurl`, where `headers` and `url` are given exactly. */
function sign(o: {
  secret: string;
  prefix: string;
  method: string;
  url: string;
  headers?: string;
  body?: string | Uint8Array;
}): string {
  const hash = createHash('sha256')
    .update(o.body ?? '')
    .digest('hex');
  const str = `${o.prefix}${o.method}\n${hash}\n${o.headers ?? ''}\n${o.url}`;
  return createHmac('sha256', o.secret).update(str).digest('hex').toUpperCase();
}

interface TuyaAnswer {
  success: boolean;
  code?: number;
  result?: { access_token?: string };
}

describe('the Tuya emulator checks signatures as Tuya documents them', () => {
  let emulator: Emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(() => emulator.close());

  /** Sends one request with node:http (which, unlike fetch, can send a GET body) and reads the JSON. */
  const send = (o: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string | Uint8Array;
  }): Promise<TuyaAnswer> =>
    new Promise((resolve, reject) => {
      // node:http sends a GET body without a length unless told, and the server would read it as the
      // start of the next request.
      const length = o.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(o.body)) };
      const headers = { ...o.headers, ...length };
      const req = request(`${emulator.url}/tuya${o.path}`, { method: o.method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as TuyaAnswer);
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on('error', reject);
      req.end(o.body);
    });

  /** A token call (grant_type=1) at `path`, signed by `signed` (given the t header). */
  const tokenCall = (o: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    signed: (t: string) => string;
  }) => {
    const t = String(Date.now());
    return send({
      method: o.method ?? 'GET',
      path: o.path,
      headers: { client_id: clientId, t, sign_method: 'HMAC-SHA256', sign: o.signed(t), ...o.headers },
      ...(o.body !== undefined ? { body: o.body } : {}),
    });
  };
  const tokenSign = (
    t: string,
    rest: { method?: string; url: string; headers?: string; body?: string | Uint8Array },
  ) => sign({ secret: clientSecret, prefix: clientId + t, method: rest.method ?? 'GET', ...rest });

  test("the test's own signer reproduces the reference's worked token vector", () => {
    assert.equal(
      sign({
        secret: 'SECRET',
        prefix: 'CLIENT1700000000000',
        method: 'GET',
        url: '/v1.0/token?grant_type=1',
      }),
      '64074A73CFA3D8A506E092D5A7478AFB7E7F20A2FB1A20DA5FE840CE3C9CD9B9',
    );
  });

  test('signs each header named in Signature-Headers as a `name:value` line ending in a newline (Go form)', async () => {
    const headers = { 'Signature-Headers': 'area_id:call_id', area_id: 'eu-1', call_id: 'c-42' };
    const url = '/v1.0/token?grant_type=1';
    const go = 'area_id:eu-1\ncall_id:c-42\n';
    const ok = await tokenCall({ path: url, headers, signed: (t) => tokenSign(t, { url, headers: go }) });
    assert.equal(ok.success, true, JSON.stringify(ok));

    const cases: [what: string, headers: Record<string, string>, signedHeaders: string][] = [
      ["the Java connector's form (no newline after the last line)", headers, 'area_id:eu-1\ncall_id:c-42'],
      ['a listed header left out of the signature', headers, ''],
      ['a listed header whose value changed after signing', { ...headers, call_id: 'c-43' }, go],
      ['the listed headers in another order', headers, 'call_id:c-42\narea_id:eu-1\n'],
    ];
    for (const [what, sent, signedHeaders] of cases) {
      const answer = await tokenCall({
        path: url,
        headers: sent,
        signed: (t) => tokenSign(t, { url, headers: signedHeaders }),
      });
      assert.deepEqual([answer.success, answer.code], [false, 1004], what);
    }
  });

  test('without Signature-Headers, or with it empty as the Node SDK sends it, the headers part is empty', async () => {
    const url = '/v1.0/token?grant_type=1';
    for (const headers of [{}, { 'Signature-Headers': '' }]) {
      const answer = await tokenCall({ path: url, headers, signed: (t) => tokenSign(t, { url }) });
      assert.equal(answer.success, true, JSON.stringify(headers));
    }
    // An unsigned header not listed in Signature-Headers is not part of the signature.
    const extra = await tokenCall({
      path: url,
      headers: { lang: 'en' },
      signed: (t) => tokenSign(t, { url }),
    });
    assert.equal(extra.success, true);
  });

  test('signs every value of a repeated query key, sorted by key and then in the order sent', async () => {
    const path = '/v1.0/token?x=2&grant_type=1&x=1';
    const signedAs = (url: string) => tokenCall({ path, signed: (t) => tokenSign(t, { url }) });
    const kept = await signedAs('/v1.0/token?grant_type=1&x=2&x=1');
    assert.equal(kept.success, true, JSON.stringify(kept));
    for (const wrong of [
      '/v1.0/token?grant_type=1&x=2', // the first value only (the Go connector's form.Get)
      '/v1.0/token?grant_type=1&x=1&x=2', // values sorted too
      '/v1.0/token?x=2&grant_type=1&x=1', // as sent, unsorted
    ]) {
      const answer = await signedAs(wrong);
      assert.deepEqual([answer.success, answer.code], [false, 1004], wrong);
    }
  });

  test('hashes the exact body bytes sent: a GET with `{}`, a GET with none, and bytes that are not UTF-8', async () => {
    const url = '/v1.0/token?grant_type=1';
    const json = { 'content-type': 'application/json' };
    const getWithBody = await tokenCall({
      path: url,
      headers: json,
      body: '{}',
      signed: (t) => tokenSign(t, { url, body: '{}' }),
    });
    assert.equal(getWithBody.success, true, 'GET with {} signed over {}');
    const bodySignedEmpty = await tokenCall({
      path: url,
      headers: json,
      body: '{}',
      signed: (t) => tokenSign(t, { url }),
    });
    assert.deepEqual(
      [bodySignedEmpty.success, bodySignedEmpty.code],
      [false, 1004],
      'GET with {} signed over ""',
    );
    const noBody = await tokenCall({ path: url, signed: (t) => tokenSign(t, { url }) });
    assert.equal(noBody.success, true, 'GET without a body signed over ""');

    const bytes = Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d); // not valid UTF-8
    const raw = await tokenCall({
      method: 'POST',
      path: url,
      headers: json,
      body: bytes,
      signed: (t) => tokenSign(t, { method: 'POST', url, body: bytes }),
    });
    assert.equal(raw.success, true, 'signed over the raw bytes');
    const asText = await tokenCall({
      method: 'POST',
      path: url,
      headers: json,
      body: bytes,
      signed: (t) => tokenSign(t, { method: 'POST', url, body: Buffer.from(bytes).toString('utf8') }),
    });
    assert.deepEqual([asText.success, asText.code], [false, 1004], 'signed over the bytes decoded as UTF-8');
  });

  test('signs business calls with the access token and verifies the IAM path after the /tuya mount', async () => {
    const tokenUrl = '/v1.0/token?grant_type=1';
    const token = await tokenCall({ path: tokenUrl, signed: (t) => tokenSign(t, { url: tokenUrl }) });
    const access = token.result?.access_token ?? assert.fail('no access token');
    const call = (signedUrl: string) => {
      const t = String(Date.now());
      return send({
        method: 'GET',
        path: '/v2.0/cloud/iam/permission/user/u1?pageSize=1&lastRowKey=0',
        headers: {
          client_id: clientId,
          t,
          sign_method: 'HMAC-SHA256',
          access_token: access,
          sign: sign({ secret: clientSecret, prefix: clientId + access + t, method: 'GET', url: signedUrl }),
        },
      });
    };
    const ok = await call('/v2.0/cloud/iam/permission/user/u1?lastRowKey=0&pageSize=1');
    assert.equal(ok.success, true, JSON.stringify(ok));
    const full = await call('/tuya/v2.0/cloud/iam/permission/user/u1?lastRowKey=0&pageSize=1');
    assert.deepEqual([full.success, full.code], [false, 1004]);
  });
});

test('the emulator refuses a base path that does not start with "/", naming the option', async () => {
  await assert.rejects(startEmulator({ basePath: 'proxy' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.key, 'basePath');
    return true;
  });
});
