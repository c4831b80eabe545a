// Each adapter against the emulator over real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createTuyaAdapter } from '../../src/adapters/tuya.js';
import { createVonageAdapter } from '../../src/adapters/vonage.js';
import { createZoomAdapter } from '../../src/adapters/zoom.js';
import { EMULATOR_CREDENTIALS as C, type Emulator } from '../../src/emulator/server.js';
import { isVendorError } from '../../src/errors.js';
import { type FetchedBody, MEMORY_ROOT, memoryFiles, readSnapshot } from '../../src/snapshot/read.js';
import { exampleEmulator } from '../helpers/emulator.js';

const TUYA_USERS = ['ay-alice', 'ay-bob', 'ay-carol', 'ay-unlinked'];
const read = (files: Map<string, FetchedBody>) => readSnapshot(MEMORY_ROOT, { files: memoryFiles(files) });
const fromDisk = (vendor: 'zoom' | 'vonage' | 'tuya') =>
  readSnapshot('examples/snapshot', { vendors: [vendor] });
const rawValues = (d: { grants: { holder: unknown; raw: string }[] }) =>
  d.grants.map((g) => `${JSON.stringify(g.holder)} ${g.raw}`).sort();

describe('adapters against the emulator', () => {
  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  const emulator = async (...args: Parameters<typeof exampleEmulator>) => {
    const e = await exampleEmulator(...args);
    emulators.push(e);
    return e;
  };
  const zoom = (e: Emulator, over: Partial<Parameters<typeof createZoomAdapter>[0]> = {}) =>
    createZoomAdapter({
      baseUrl: `${e.url}/zoom/v2`,
      tokenUrl: `${e.url}/zoom/oauth/token`,
      ...C.zoom,
      perSecond: 500,
      ...over,
    });
  const vonage = (e: Emulator, over: Partial<Parameters<typeof createVonageAdapter>[0]> = {}) =>
    createVonageAdapter({
      baseUrl: `${e.url}/vonage/useradmin`,
      tokenUrl: `${e.url}/vonage/Auth/connect/token`,
      ...C.vonage,
      perSecond: 500,
      ...over,
    });
  const tuya = (e: Emulator, over: Partial<Parameters<typeof createTuyaAdapter>[0]> = {}) =>
    createTuyaAdapter({ baseUrl: `${e.url}/tuya`, ...C.tuya, users: TUYA_USERS, perSecond: 500, ...over });

  test("Zoom: roles, members, users and each user's permissions page by page give the snapshot's grants and links", async () => {
    const e = await emulator();
    const r = await zoom(e).fetchAll();
    assert.deepEqual(r.failures, []);
    const live = await read(r.files);
    const disk = await fromDisk('zoom');
    assert.deepEqual(rawValues(live), rawValues(disk));
    assert.deepEqual(
      live.links.map((l) => `${l.user.vendorUserId}→${l.roleId}`).sort(),
      disk.links.map((l) => `${l.user.vendorUserId}→${l.roleId}`).sort(),
    );
  });

  test('Vonage: the same grants whether the first page is 0 or 1, with one item per page', async () => {
    const disk = rawValues(await fromDisk('vonage'));
    for (const first of [0, 1] as const) {
      const e = await emulator({ faults: { vonageFirstPage: first } });
      const r = await vonage(e, { limit: 1 }).fetchAll();
      assert.deepEqual(r.failures, []);
      assert.deepEqual(rawValues(await read(r.files)), disk, `first page ${first}`);
    }
  });

  test("Tuya: signed calls and last_row_key paging give the snapshot's grants", async () => {
    const e = await emulator();
    const r = await tuya(e, { pageSize: 1 }).fetchAll();
    assert.deepEqual(r.failures, []);
    assert.deepEqual(rawValues(await read(r.files)), rawValues(await fromDisk('tuya')));
  });

  test('absorbs 429s (and Tuya code 1110) within the allowed retries', async () => {
    const e = await emulator({ faults: { rateLimit: { zoom: 3, vonage: 3, tuya: 3 } } });
    const retries: string[] = [];
    const events = { retry: (i: { reason: string }) => retries.push(i.reason) };
    for (const a of [zoom(e, { events }), vonage(e, { events }), tuya(e, { events })]) {
      const r = await a.fetchAll();
      assert.deepEqual(r.failures, [], a.vendor);
    }
    assert.ok(e.state.stats.rateLimited.zoom + e.state.stats.rateLimited.vonage > 0);
    assert.ok(retries.includes('429'));
  });

  test('renews tokens that expire mid-run', async () => {
    const e = await emulator();
    const z = zoom(e);
    const v = vonage(e, { limit: 1 });
    const t = tuya(e, { pageSize: 1 });
    for (const a of [z, v, t]) await a.fetchAll();
    const issued = e.state.stats.tokensIssued;
    e.expireTokens();
    for (const a of [z, v, t]) assert.deepEqual((await a.fetchAll()).failures, [], a.vendor);
    assert.equal(e.state.stats.tokensIssued, issued + 3, 'one new token per vendor');
  });

  test('bad credentials and bad Tuya signatures fail the vendor with a typed error, without the secret', async () => {
    const e = await emulator();
    for (const a of [
      zoom(e, { clientSecret: 'wrong-secret-123' }),
      vonage(e, { clientSecret: 'wrong-secret-123' }),
      tuya(e, { clientSecret: 'wrong-secret-123' }),
    ]) {
      await assert.rejects(a.fetchAll(), (err: unknown) => {
        assert.ok(isVendorError(err), String(err));
        assert.equal(err.failure, 'auth', err.message);
        assert.doesNotMatch(err.message + JSON.stringify(err), /wrong-secret-123/);
        return true;
      });
    }
    await assert.rejects(tuya(e, { clientSecret: 'x' }).fetchAll(), /code 1004 sign invalid/);
  });

  test('a malformed body or a failing user fails that user only, naming vendor, endpoint and user', async () => {
    const e = await emulator({
      faults: { failUsers: ['8e22b1fe-d2ea-403d-8c03-50eb21188e79', 'ay-bob', '2'] },
    });
    const v = await vonage(e, { retries: 0 }).fetchAll();
    assert.deepEqual(
      v.failures.map((f) => f.id),
      ['8e22b1fe-d2ea-403d-8c03-50eb21188e79'],
    );
    assert.match(
      v.failures[0]?.error.message ?? '',
      /^vonage GET \/users\/\{userId\}\/permissions\/groups \(user 8e22b1fe-.*\): HTTP 500/,
    );
    assert.ok(![...v.files.keys()].some((k) => k.includes('8e22b1fe')), 'nothing half-fetched is kept');
    const t = await tuya(e, { retries: 0 }).fetchAll();
    assert.deepEqual(
      t.failures.map((f) => f.id),
      ['ay-bob'],
    );
    const z = await zoom(e, { retries: 0 }).fetchAll();
    assert.deepEqual(
      z.failures.map((f) => [f.unit, f.id]),
      [['role', '2']],
    );

    e.setFaults({ failUsers: [], malformedRate: 1 });
    await assert.rejects(
      vonage(e, { retries: 0 }).fetchAll(),
      (err: unknown) => isVendorError(err) && err.failure === 'invalid-response',
    );
  });

  test('ids that would change the URL path are refused, and slashes stay inside one segment', async () => {
    const e = await emulator();
    e.state.dataset.tuya.permissions.set('a/b', [{ permission_id: 1, type: 0 }]);
    const r = await tuya(e, { users: ['a/b', '..', '.'] }).fetchAll();
    assert.deepEqual(
      r.failures.map((f) => [f.id, f.error.failure]),
      [
        ['..', 'invalid-request'],
        ['.', 'invalid-request'],
      ],
    );
    assert.ok(r.files.has('tuya/users/a%2Fb/permissions/page-0001.json'));
  });

  test('configuration is checked before any request, naming the key', () => {
    assert.throws(
      () => createZoomAdapter({ accountId: '', clientId: 'a', clientSecret: 'b' }),
      /vendors\.zoom\.accountId/,
    );
    assert.throws(
      () =>
        createVonageAdapter({ baseUrl: 'ftp://x', tokenUrl: 'https://t', clientId: 'a', clientSecret: 'b' }),
      /vendors\.vonage\.baseUrl/,
    );
  });
});
