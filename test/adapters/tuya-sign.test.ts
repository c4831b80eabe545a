import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signedPath, stringToSign, tuyaSign } from '../../src/adapters/tuya-sign.js';

const base = { clientId: 'CLIENT', secret: 'SECRET', t: 1700000000000 };

test('signs the reference vectors (token call, sorted query, POST body)', () => {
  assert.equal(
    tuyaSign({ ...base, method: 'GET', url: '/v1.0/token?grant_type=1' }),
    '64074A73CFA3D8A506E092D5A7478AFB7E7F20A2FB1A20DA5FE840CE3C9CD9B9',
  );
  assert.equal(
    tuyaSign({
      ...base,
      accessToken: 'TOKEN',
      method: 'GET',
      url: '/v2.0/cloud/iam/permission/user/uid1?page_size=100&last_row_key=5',
    }),
    '9CF4A9089F7E7CE7C0E7575DDB253143FCF53EDAA198234405E7B265D7EC27AC',
  );
  assert.equal(
    tuyaSign({ ...base, accessToken: 'TOKEN', method: 'POST', url: '/v2.0/cloud/iam/role', body: '{"a":1}' }),
    'B6C1BC18D9FE922B7D226D4BEB87B438977EFD412A03F1078119693DADC221BD',
  );
});

test('signs the sorted, decoded query and the empty-body hash for GET', () => {
  assert.equal(
    stringToSign('get', 'https://h/p%20q?b=2&a=x%2Fy'),
    'GET\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n/p q?a=x/y&b=2',
  );
});

test('signs a repeated query key with every value, sorted by key and then in the order sent', () => {
  assert.equal(
    stringToSign('GET', '/v1.0/x?z=1&k=2&a=0&k=1'),
    'GET\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\n/v1.0/x?a=0&k=2&k=1&z=1',
  );
});

test('signs the path after the base URL, so a proxy prefix gives the same signature as none', () => {
  const call = '/v2.0/cloud/iam/permission/user/uid1?page_size=100&last_row_key=5';
  const signAt = (baseUrl: string) =>
    tuyaSign({ ...base, accessToken: 'TOKEN', method: 'GET', url: signedPath(baseUrl, `${baseUrl}${call}`) });
  const direct = signAt('https://openapi.tuyaus.com');
  assert.equal(direct, '9CF4A9089F7E7CE7C0E7575DDB253143FCF53EDAA198234405E7B265D7EC27AC');
  assert.equal(signAt('http://127.0.0.1:8080/tuya'), direct);
  assert.equal(signAt('http://127.0.0.1:8080/proxy/tuya'), direct);
  assert.equal(
    tuyaSign({
      ...base,
      method: 'GET',
      url: signedPath(
        'http://127.0.0.1:8080/proxy/tuya',
        'http://127.0.0.1:8080/proxy/tuya/v1.0/token?grant_type=1',
      ),
    }),
    '64074A73CFA3D8A506E092D5A7478AFB7E7F20A2FB1A20DA5FE840CE3C9CD9B9',
  );
});

test('strips the base path only at a segment boundary and keeps the query as sent', () => {
  const cases: [base: string, request: string, signed: string][] = [
    ['http://h/tuya', 'http://h/tuya/v1.0/token?grant_type=1', '/v1.0/token?grant_type=1'],
    ['http://h/tuya/', 'http://h/tuya/v1.0/token', '/v1.0/token'],
    ['http://h', 'http://h/v1.0/token?b=2&a=1', '/v1.0/token?b=2&a=1'],
    ['http://h/tuya', 'http://h/tuya', '/'],
    ['http://h/tuya', 'http://h/tuyaX/v1.0/token', '/tuyaX/v1.0/token'],
    ['http://h/a%20b', 'http://h/a b/v1.0/x', '/v1.0/x'],
  ];
  for (const [baseUrl, request, signed] of cases) assert.equal(signedPath(baseUrl, request), signed, request);
});
