// What a reader of a policies folder does first: if a crash left a half-done commit or temporary
// files, tidy up (under the lock, when it is free and the folder writable); if a live writer is in
// the middle of its commit, read the files its journal is putting in place. Either way the reader
// sees the files of one commit, never the new policy beside the old provenance.
import { join, resolve } from 'node:path';
import { needsRecovery, readJournal, recoverFolder } from './commit.js';
import { tryLockPolicies } from './lock.js';

/** Where to read each file of a policies folder. */
export interface PolicyView {
  /** Paths to try in turn for file `name` (the first that exists holds its newest committed version). */
  paths(name: string): string[];
}

// Readers of one folder that start together (policy and provenance) share one look at it.
const opening = new Map<string, Promise<PolicyView>>();

/**
 * Prepares a policies folder for reading (see above). Cheap when there is nothing to do: one
 * listing of the folder.
 *
 * @throws PolicyError when the folder holds a commit journal this library did not write.
 */
export function openPolicies(dir: string): Promise<PolicyView> {
  const key = resolve(dir);
  let p = opening.get(key);
  if (!p) {
    p = open(dir).finally(() => opening.delete(key));
    opening.set(key, p);
  }
  return p;
}

async function open(dir: string): Promise<PolicyView> {
  const plain: PolicyView = { paths: (name) => [join(dir, name)] };
  if (!(await needsRecovery(dir))) return plain;
  const lock = await tryLockPolicies(dir, 'recover');
  if (lock) {
    try {
      await recoverFolder(dir);
    } finally {
      await lock.release();
    }
    return plain;
  }
  // A writer is committing (or the folder is read-only): its journal says where the new files are.
  // One it renames meanwhile is found under its final name, the next path.
  const journal = await readJournal(dir);
  if (!journal) return plain;
  const pending = new Map(journal.renames.map(([from, to]) => [to, join(dir, from)]));
  return {
    paths: (name) => {
      const tmp = pending.get(name);
      return tmp ? [tmp, join(dir, name)] : [join(dir, name)];
    },
  };
}
