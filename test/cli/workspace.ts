// What the CLI tests share: running the CLI in-process, and a temp folder with the example data.
import assert from 'node:assert/strict';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { runCli as run } from '../helpers/cli.js';

export type { Ran } from '../helpers/cli.js';
export { run };

/**
 * A temp folder with the mappings, identities, a config naming `examples/snapshot`, and (unless
 * `compiled` is false) the example policy compiled into `out/`.
 */
export async function exampleWorkspace(compiled = true): Promise<{ dir: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-cli-'));
  await cp('mappings', join(dir, 'mappings'), { recursive: true });
  await cp('examples/identities.yaml', join(dir, 'identities.yaml'));
  const config = join(dir, 'rbac.config.yaml');
  await writeFile(
    config,
    `policies: out/\nmappings: mappings/\nidentities: identities.yaml\nsnapshot: ${resolve('examples/snapshot')}\n`,
  );
  if (compiled) {
    const r = await run(['compile', '--config', config]);
    assert.equal(r.code, 0, r.err);
  }
  return { dir, config };
}
