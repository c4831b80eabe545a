import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emulatorConfig } from '../../src/cli/emulate.js';
import { snapshotDataset } from '../../src/emulator/dataset.js';
import { type Emulator, type EmulatorOptions, startEmulator } from '../../src/emulator/server.js';

/** The emulator serving the bundled example data, on a free loopback port. */
export async function exampleEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ dataset: await snapshotDataset('examples/snapshot'), ...options });
}

/** A temp folder with mappings, identities and an rbac.config.yaml pointing at the emulator. */
export async function syncWorkspace(url: string, extra = ''): Promise<{ dir: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-sync-'));
  await cp('mappings', join(dir, 'mappings'), { recursive: true });
  await cp('examples/identities.yaml', join(dir, 'identities.yaml'));
  const config = join(dir, 'rbac.config.yaml');
  // Generous budgets: the emulator has no limit unless a test sets one.
  const vendors = emulatorConfig(url).replace(/ }$/gm, ', perSecond: 200 }');
  await writeFile(
    config,
    `policies: policies/\nmappings: mappings/\nidentities: identities.yaml\n${vendors}\n${extra}`,
  );
  return { dir, config };
}
