import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { createZoomAdapter } from '../../src/adapters/zoom.js';
import { main } from '../../src/cli/main.js';
import { EMULATOR_CREDENTIALS as C, type Emulator } from '../../src/emulator/server.js';
import { isVendorError } from '../../src/errors.js';
import { loadMappings } from '../../src/mapping/load.js';
import { ZOOM_PRIVILEGES } from '../../src/mapping/zoom-catalogue.js';
import { forwardDirect, pushRole, reverseZoom } from '../../src/zoom/push-role.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

const mappings = await loadMappings('mappings');
const forward = (privileges: readonly string[]) => [...forwardDirect(privileges, mappings).values()].flat();

describe('Zoom role write-back', () => {
  test('forward then reverse gives the same privileges (any subset of the catalogue)', () => {
    fc.assert(
      fc.property(fc.subarray([...ZOOM_PRIVILEGES]), (privileges) => {
        const back = reverseZoom(forward(privileges), mappings);
        assert.deepEqual(back.unmapped, []);
        assert.deepEqual(back.privileges, [...privileges].sort());
      }),
    );
  });

  test('a permission with no reverse mapping is reported, never dropped', () => {
    const r = reverseZoom(
      [
        { resource: 'zoom:recording', action: 'edit' },
        { resource: 'zoom:recording', action: 'delete' },
        { resource: 'vonage:group:g1', action: 'read' },
      ],
      mappings,
    );
    assert.deepEqual(r.privileges, ['Recording:Edit']);
    assert.deepEqual(r.unmapped, [
      { resource: 'zoom:recording', action: 'delete' },
      { resource: 'vonage:group:g1', action: 'read' },
    ]);
  });

  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  const adapter = (e: Emulator) =>
    createZoomAdapter({
      baseUrl: `${e.url}/zoom/v2`,
      tokenUrl: `${e.url}/zoom/oauth/token`,
      ...C.zoom,
      retries: 0,
    });

  test('shows the difference, then PATCHes the role on the emulator', async () => {
    const e = await exampleEmulator();
    emulators.push(e);
    const desired = [
      { resource: 'zoom:recording', action: 'read' },
      { resource: 'zoom:meeting', action: 'join' },
      { resource: 'zoom:webinar', action: 'read' },
    ];
    const dry = await pushRole(adapter(e), '2', desired, mappings, { dryRun: true });
    assert.deepEqual([dry.add, dry.remove, dry.applied], [['Webinar:Read'], [], false]);
    const done = await pushRole(adapter(e), '2', desired, mappings);
    assert.equal(done.applied, true);
    assert.deepEqual((await adapter(e).getRole('2')).privileges, [
      'Meeting:Join',
      'Recording:Read',
      'Webinar:Read',
    ]);
  });

  test("Zoom's documented refusals come back as clear messages", async () => {
    const e = await exampleEmulator();
    emulators.push(e);
    e.state.dataset.zoom.roles.push({ id: '0', name: 'Owner', privileges: [], members: [] });
    const one = [{ resource: 'zoom:recording', action: 'read' }];
    await assert.rejects(pushRole(adapter(e), '0', one, mappings), /cannot be updated/);
    await assert.rejects(pushRole(adapter(e), 'nope', one, mappings), (err: unknown) => {
      assert.ok(isVendorError(err));
      assert.match(
        err.message,
        /^zoom GET \/roles\/\{roleId\} \(role nope\): HTTP 404 .*role does not exist/i,
      );
      return true;
    });
    e.setFaults({ zoomPlan: 'free' });
    await assert.rejects(pushRole(adapter(e), '2', one, mappings), /paid \(Pro or higher\) account/);
  });

  test('the CLI refuses to push when a permission has no reverse mapping', async () => {
    const e = await exampleEmulator();
    emulators.push(e);
    const ws = await syncWorkspace(e.url);
    const file = join(await mkdtemp(join(tmpdir(), 'rbac-push-')), 'perms.yaml');
    await writeFile(file, 'zoom:recording: [read, delete]\n');
    let out = '';
    const code = await main(['zoom', 'push-role', '2', '--permissions', file, '--config', ws.config], {
      out: (t) => (out += t),
      err: (t) => (out += t),
    });
    assert.equal(code, 1);
    assert.match(out, /no Zoom privilege maps to zoom:recording delete: not pushed/);
    assert.match(out, /nothing sent/);
    assert.deepEqual(e.state.dataset.zoom.roles.find((r) => r.id === '2')?.privileges.sort(), [
      'Meeting:Join',
      'Recording:Read',
    ]);
  });
});
