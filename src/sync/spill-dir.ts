// The folder a sync's external sort writes its runs to (tens of MB for a large account), under the
// OS temp dir. Its name carries the host and pid of the sync, so a later sync can remove the folders
// of syncs that were killed before they could remove their own, and only those.
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostTag, makeTempDir, pidAlive, removeTree } from '../policy/durable.js';

const PREFIX = 'rbac-normalizer-sync-';

/** Creates this sync's spill folder `rbac-normalizer-sync-<host>-<pid>-XXXXXX`, after removing orphaned ones. */
export async function createSpillDir(root: string = tmpdir()): Promise<string> {
  await removeOrphanSpillDirs(root);
  return makeTempDir(join(root, `${PREFIX}${hostTag()}-${process.pid}-`));
}

/** Removes the spill folders in `root` of syncs on this host whose process no longer runs. */
export async function removeOrphanSpillDirs(root: string = tmpdir()): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return;
  }
  const host = hostTag();
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const m = /^(.*)-(\d{1,10})-[A-Za-z0-9]{6}$/s.exec(name.slice(PREFIX.length));
    if (!m || m[1] !== host || pidAlive(Number(m[2]))) continue;
    // Another user's folder (EPERM) or one removed meanwhile is not ours to worry about.
    await removeTree(join(root, name)).catch(() => {});
  }
}
