// The emulator serves a snapshot faithfully: syncing from it (what `npm start` does) and compiling
// the same snapshot offline (what `rbac-normalizer compile` does) give the same policy.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Emulator } from '../../src/emulator/server.js';
import { loadIdentities } from '../../src/identities.js';
import { loadMappings } from '../../src/mapping/load.js';
import { readPolicy } from '../../src/policy/store.js';
import { linkKey, type Policy, ruleKey } from '../../src/policy/types.js';
import { compileSnapshot } from '../../src/vendor-compiler.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

const emulators: Emulator[] = [];
after(() => Promise.all(emulators.map((e) => e.close())));

const keys = (p: Policy) => ({
  rules: p.rules.map(ruleKey).sort(),
  links: p.links.map(linkKey).sort(),
});

test('a sync from the emulator serving examples/snapshot gives the policy compile gives for that snapshot', async () => {
  const e = await exampleEmulator();
  emulators.push(e);
  const ws = await syncWorkspace(e.url);
  // As the shipped config does: Tuya has no user listing, so the unlinked uid is named.
  const config = await readFile(ws.config, 'utf8');
  await writeFile(ws.config, config.replace(/( {2}tuya: \{.*?) \}$/m, '$1, users: [ay-unlinked] }'));
  const code = await main(['sync', '--config', ws.config], { out: () => {}, err: () => {} });
  assert.equal(code, 0);
  const synced = await readPolicy(join(ws.dir, 'policies'));

  const compiled = await compileSnapshot(
    'examples/snapshot',
    await loadMappings('mappings'),
    await loadIdentities('examples/identities.yaml'),
  );
  assert.deepEqual(keys(synced), keys(compiled.policy));
  // The two cases that once differed: bob's own Zoom permission and a Tuya uid no person links.
  for (const p of [synced, compiled.policy]) {
    assert.ok(p.rules.some((r) => r.sub === 'bob' && r.obj === 'zoom:webinar' && r.act === 'read'));
    assert.ok(p.rules.some((r) => r.sub === 'tuya:ay-unlinked'));
  }
});
