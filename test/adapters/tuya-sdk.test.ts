// Conformance with Tuya's official Node SDK (@tuya/tuya-connector-nodejs 2.1.2) over loopback HTTP: the
// SDK against the emulator, with its baseUrl under the emulator's /tuya mount, and our adapter against
// the emulator under a deeper proxy prefix. Both sign the path the Tuya host receives (relative to the
// base URL), which is what issue 11 was about.
//
// What the SDK does (read from node_modules/@tuya/tuya-connector-nodejs/lib/core/client.js): its default
// `version: 'v2'` signs token calls and business calls with the new algorithm, sends and signs `{}` as
// the body of a GET, and always sends `Signature-Headers` (empty unless the caller passes headers). Its
// refresh (`GET /v1.0/token/{refresh_token}`, run when a call answers 1010) is signed with the OLD
// algorithm, HMAC(client_id + t), whatever the version; a project on the new algorithm refuses that
// with 1004, and the SDK then falls back to a new grant_type=1 token and retries the call once.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { TuyaContext, type TuyaContextOptions } from '@tuya/tuya-connector-nodejs';
import { createTuyaAdapter } from '../../src/adapters/tuya.js';
import { tuyaSign } from '../../src/adapters/tuya-sign.js';
import { EMULATOR_CREDENTIALS, type Emulator } from '../../src/emulator/server.js';
import { exampleEmulator } from '../helpers/emulator.js';

const C = EMULATOR_CREDENTIALS.tuya;
const ALICE_PAGES = 'examples/snapshot/tuya/users/ay-alice/permissions';

type Rpc = NonNullable<TuyaContextOptions['rpc']>;
type RpcConfig = Parameters<Rpc['request']>[0];

/** One request the SDK sent and the emulator's answer. */
interface Exchange {
  method: string;
  /** Path and query after the emulator's origin. */
  target: string;
  headers: Record<string, string>;
  /** The body as axios sent it (a string once serialised), or undefined. */
  body: unknown;
  answer: { success?: boolean; code?: number; result?: unknown };
}

/**
 * The SDK's own HTTP client (its axios, resolved from the SDK's folder, so the transport is exactly the
 * SDK's), wrapped to record each exchange and to ignore any proxy settings in the environment: the
 * requests stay on loopback.
 */
function recordingRpc(origin: string, log: Exchange[]): Rpc {
  const sdkFile = createRequire(import.meta.url).resolve('@tuya/tuya-connector-nodejs');
  const axios = createRequire(sdkFile)('axios') as Rpc;
  const send = async (config: RpcConfig) => {
    const res = await axios.request({ ...config, proxy: false });
    const url = String(res.config.url);
    log.push({
      method: String(res.config.method).toUpperCase(),
      target: url.startsWith(origin) ? url.slice(origin.length) : url,
      headers: res.config.headers as Record<string, string>,
      body: res.config.data,
      answer: res.data as Exchange['answer'],
    });
    return res;
  };
  // The SDK calls its rpc both as a function (token) and through .request (refresh, business calls).
  return Object.assign(send, { request: send }) as unknown as Rpc;
}

interface PermissionPage {
  permission_list: { permission_id: number | string }[];
  last_row_key?: number;
}

/** The permission ids of ay-alice in the bundled snapshot, sorted. */
async function snapshotIds(): Promise<number[]> {
  const ids: number[] = [];
  for (const f of (await readdir(ALICE_PAGES)).sort()) {
    const page = JSON.parse(await readFile(join(ALICE_PAGES, f), 'utf8')) as { result: PermissionPage };
    ids.push(...page.result.permission_list.map((p) => Number(p.permission_id)));
  }
  return ids.sort((a, b) => a - b);
}

describe("Tuya's official Node SDK against the emulator", () => {
  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  const emulator = async (...args: Parameters<typeof exampleEmulator>) => {
    const e = await exampleEmulator(...args);
    emulators.push(e);
    return e;
  };
  const sdk = (e: Emulator, log: Exchange[]) =>
    new TuyaContext({
      baseUrl: `${e.url}/tuya`,
      accessKey: C.clientId,
      secretKey: C.clientSecret,
      rpc: recordingRpc(e.url, log),
    });

  /** Pages through a user's IAM permissions with the SDK until a short page. */
  async function pageThrough(
    ctx: TuyaContext,
    uid: string,
    names: { size: string; last: string; first?: number },
  ): Promise<{ ids: number[]; pages: number }> {
    const size = 2;
    const ids: number[] = [];
    let cursor = names.first;
    for (let pages = 1; pages <= 10; pages++) {
      const query: Record<string, number> = { [names.size]: size };
      if (cursor !== undefined) query[names.last] = cursor;
      const answer = await ctx.request<PermissionPage>({
        path: `/v2.0/cloud/iam/permission/user/${uid}`,
        method: 'GET',
        query,
      });
      assert.equal(answer.success, true, JSON.stringify(answer));
      const list = answer.result.permission_list;
      ids.push(...list.map((p) => Number(p.permission_id)));
      if (list.length < size) return { ids: ids.sort((a, b) => a - b), pages };
      cursor = answer.result.last_row_key;
    }
    return assert.fail('the cursor never reached a short page');
  }

  test('gets a developer token with a grant_type=1 call signed over the path after its baseUrl', async () => {
    const e = await emulator();
    const log: Exchange[] = [];
    const answer = await sdk(e, log).client.init();
    assert.equal(answer.success, true, JSON.stringify(answer));
    assert.ok(e.state.tokenValid('tuya', answer.result.access_token), 'the emulator issued that token');
    assert.deepEqual(
      log.map((x) => `${x.method} ${x.target}`),
      ['GET /tuya/v1.0/token?grant_type=1'],
    );
  });

  test("pages through ay-alice's permissions with snake_case or camelCase paging, sending and signing `{}` on GET", async () => {
    const e = await emulator();
    const expected = await snapshotIds();
    assert.equal(expected.length, 3);
    const styles = [
      { size: 'page_size', last: 'last_row_key' },
      // Tuya's own request example: lastRowKey=0&pageSize=100.
      { size: 'pageSize', last: 'lastRowKey', first: 0 },
    ];
    for (const names of styles) {
      const log: Exchange[] = [];
      const { ids, pages } = await pageThrough(sdk(e, log), 'ay-alice', names);
      assert.deepEqual(ids, expected, names.size);
      assert.equal(pages, 2, names.size);
      const calls = log.filter((x) => x.target.includes('/iam/'));
      assert.equal(calls.length, 2);
      for (const call of calls) {
        assert.match(
          call.target,
          new RegExp(`[?&]${names.size}=2(&|$)`),
          'the SDK sent these parameter names',
        );
        assert.equal(call.body, '{}', 'the SDK sends {} as the body of a GET');
      }
    }
  });

  test('after the token expires, its refresh (old-algorithm signature) is refused with 1004 and it recovers with a new grant_type=1 token', async () => {
    const e = await emulator();
    const log: Exchange[] = [];
    const ctx = sdk(e, log);
    const first = await ctx.client.init();
    const oldRefresh = first.result.refresh_token;
    e.expireTokens();
    log.length = 0;

    const path = '/v2.0/cloud/iam/permission/user/ay-alice';
    const answer = await ctx.request<PermissionPage>({ path, method: 'GET', query: { page_size: 50 } });
    assert.equal(answer.success, true, JSON.stringify(answer));
    assert.deepEqual(
      answer.result.permission_list.map((p) => Number(p.permission_id)).sort((a, b) => a - b),
      await snapshotIds(),
    );
    assert.deepEqual(
      log.map((x) => `${x.method} ${x.target} → ${x.answer.success ? 'ok' : x.answer.code}`),
      [
        `GET /tuya${path}?page_size=50 → 1010`,
        `GET /tuya/v1.0/token/${oldRefresh} → 1004`,
        'GET /tuya/v1.0/token?grant_type=1 → ok',
        `GET /tuya${path}?page_size=50 → ok`,
      ],
    );
    const refresh = log[1] ?? assert.fail('no refresh call');
    const t = refresh.headers['t'] ?? '';
    const oldAlgorithm = createHmac('sha256', C.clientSecret)
      .update(C.clientId + t)
      .digest('hex')
      .toUpperCase();
    assert.equal(refresh.headers['sign'], oldAlgorithm, 'the refresh is signed HMAC(client_id + t)');
    assert.ok(e.state.tuyaRefresh.has(oldRefresh), 'the refused refresh did not spend the refresh token');

    // The refresh endpoint itself works when signed with the new algorithm (as our adapter does).
    const now = String(Date.now());
    const res = await fetch(`${e.url}/tuya/v1.0/token/${oldRefresh}`, {
      headers: {
        client_id: C.clientId,
        t: now,
        sign_method: 'HMAC-SHA256',
        sign: tuyaSign({
          clientId: C.clientId,
          secret: C.clientSecret,
          t: now,
          method: 'GET',
          url: `/v1.0/token/${oldRefresh}`,
        }),
      },
    });
    assert.equal(((await res.json()) as { success: boolean }).success, true);
    assert.equal(e.state.tuyaRefresh.has(oldRefresh), false, 'a refresh token is single-use');
  });

  test('lists extra request headers in Signature-Headers but leaves them out of its signature, which is refused with 1004', async () => {
    const e = await emulator();
    const log: Exchange[] = [];
    const answer = await sdk(e, log).request({
      path: '/v2.0/cloud/iam/permission/user/ay-alice',
      method: 'GET',
      headers: { lang: 'en' },
    });
    assert.deepEqual([answer.success, answer.code], [false, 1004]);
    assert.equal(log.at(-1)?.headers['Signature-Headers'], 'lang');
  });
});

describe('our Tuya adapter behind a path-prefix proxy', () => {
  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));

  test("fetches ay-alice's permission pages with baseUrl under /proxy/tuya", async () => {
    const e = await exampleEmulator({ basePath: '/proxy' });
    emulators.push(e);
    const adapter = createTuyaAdapter({
      baseUrl: `${e.url}/proxy/tuya`,
      ...C,
      users: ['ay-alice'],
      perSecond: 500,
      pageSize: 2,
    });
    const r = await adapter.fetchAll();
    assert.deepEqual(r.failures, []);
    const pages = [...r.files.keys()].sort();
    assert.deepEqual(pages, [
      'tuya/users/ay-alice/permissions/page-0001.json',
      'tuya/users/ay-alice/permissions/page-0002.json',
    ]);
    const ids = [...r.files.values()]
      .flatMap(({ text }) => (JSON.parse(text) as { result: PermissionPage }).result.permission_list)
      .map((p) => Number(p.permission_id))
      .sort((a, b) => a - b);
    assert.deepEqual(ids, await snapshotIds());
  });

  test('refuses with 1004 a signature over the full request path, prefix included (the old bug)', async () => {
    const e = await exampleEmulator({ basePath: '/proxy' });
    emulators.push(e);
    const tokenCall = async (signedUrl: string, at = '/proxy/tuya') => {
      const t = String(Date.now());
      const sign = tuyaSign({
        clientId: C.clientId,
        secret: C.clientSecret,
        t,
        method: 'GET',
        url: signedUrl,
      });
      const res = await fetch(`${e.url}${at}/v1.0/token?grant_type=1`, {
        headers: { client_id: C.clientId, t, sign_method: 'HMAC-SHA256', sign },
      });
      return { status: res.status, body: (await res.json()) as { success?: boolean; code?: number } };
    };
    const full = await tokenCall('/proxy/tuya/v1.0/token?grant_type=1');
    assert.deepEqual([full.body.success, full.body.code], [false, 1004]);
    const relative = await tokenCall('/v1.0/token?grant_type=1');
    assert.equal(relative.body.success, true);
    const outside = await tokenCall('/v1.0/token?grant_type=1', '/tuya');
    assert.equal(outside.status, 404, 'nothing is served outside the base path');
  });
});
