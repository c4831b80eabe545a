// New versions of several files of a policies folder put in place as one unit, even across a crash
// (kill -9, power cut). Each new file is written under a temporary name and flushed; then a small
// journal, `.commit`, naming every temporary → final rename is itself written atomically (temporary
// file, flush, rename, flush the folder). From that moment the commit has happened: the renames
// follow, the folder is flushed and the journal removed. Whoever opens the folder next under its
// lock finishes a journal it finds (renames whose temporary file is gone were already done) and
// removes temporary files of writers that are no longer running. So policy.csv, provenance.jsonl and
// sync-state.json always belong to the same run, and the layout stays what plain casbin reads.
import { type FileHandle, mkdir, open, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PolicyError } from '../errors.js';
import {
  createChunkedWriter,
  parseTempName,
  pidAlive,
  renameFile,
  syncDir,
  tempName,
  unlinkIfPresent,
  writeNewFile,
} from './durable.js';
import type { PolicyLock } from './lock.js';

export const JOURNAL_FILE = '.commit';

/** A new version of one file, written piece by piece. */
export interface StagedFile {
  write(piece: string): Promise<void>;
}

export interface PolicyCommit {
  /** The policies folder. */
  readonly dir: string;
  /** Starts the new version of `name` (a file of the folder) under a temporary name. */
  stage(name: string): Promise<StagedFile>;
  /** stage() and write `data` (a string or a sequence of pieces, never joined). */
  put(name: string, data: string | Iterable<string>): Promise<void>;
  /**
   * Puts every staged file in place as one unit.
   *
   * @throws PolicyLockError when the lock given to beginCommit is no longer this process's (nothing
   * is changed then), or a file-system error (before the journal is written nothing is changed;
   * after, the next opening of the folder finishes the commit).
   */
  commit(): Promise<void>;
  /** Removes the staged files; a no-op once commit() has written its journal. */
  abort(): Promise<void>;
}

interface Journal {
  /** [temporary name, final name], both names inside the folder. */
  readonly renames: readonly (readonly [string, string])[];
}

/**
 * Starts a commit of new files into `dir`. The caller should hold the folder's lock and pass it, so
 * that the commit checks it still does right before committing.
 */
export function beginCommit(dir: string, options: { lock?: PolicyLock } = {}): PolicyCommit {
  interface Staged {
    readonly tmp: string;
    readonly fh: FileHandle;
    readonly out: ReturnType<typeof createChunkedWriter>;
    closed: boolean;
  }
  const staged = new Map<string, Staged>();
  let state: 'open' | 'decided' | 'aborted' = 'open';

  const stage = async (name: string): Promise<StagedFile> => {
    if (state !== 'open') throw new Error(`cannot stage ${name}: the commit is ${state}`);
    if (!isPlainName(name) || staged.has(name))
      throw new Error(`cannot stage ${JSON.stringify(name)} twice or outside ${dir}`);
    await mkdir(dir, { recursive: true });
    const tmp = tempName(join(dir, name));
    const fh = await open(tmp, 'wx', 0o644);
    const f: Staged = { tmp, fh, out: createChunkedWriter(fh), closed: false };
    staged.set(name, f);
    return { write: (piece) => f.out.write(piece) };
  };

  const abort = async () => {
    if (state !== 'open') return;
    state = 'aborted';
    for (const f of staged.values()) {
      if (!f.closed) {
        f.closed = true;
        await f.fh.close().catch(() => {});
      }
      await unlinkIfPresent(f.tmp).catch(() => {});
    }
  };

  return {
    dir,
    stage,
    async put(name, data) {
      const f = await stage(name);
      if (typeof data === 'string') await f.write(data);
      else for (const piece of data) await f.write(piece);
    },
    async commit() {
      if (state !== 'open') throw new Error(`cannot commit: the commit is ${state}`);
      const journal: Journal = { renames: [...staged].map(([name, f]) => [basename(f.tmp), name] as const) };
      const journalTmp = tempName(join(dir, JOURNAL_FILE));
      try {
        for (const f of staged.values()) {
          await f.out.flush();
          await f.fh.sync();
          f.closed = true;
          await f.fh.close();
        }
        await options.lock?.verify();
        await writeNewFile(journalTmp, `${JSON.stringify(journal)}\n`);
        await renameFile(journalTmp, join(dir, JOURNAL_FILE));
      } catch (err) {
        await unlinkIfPresent(journalTmp).catch(() => {});
        await abort();
        throw err;
      }
      state = 'decided';
      await syncDir(dir);
      await applyJournal(dir, journal);
    },
    abort,
  };
}

/**
 * Finishes a commit a crash interrupted and removes temporary files of writers that no longer run.
 * Call it holding the folder's lock.
 *
 * @throws PolicyError when the journal is not one this library wrote (it is then left alone).
 */
export async function recoverFolder(dir: string): Promise<void> {
  const journal = await readJournal(dir);
  if (journal) await applyJournal(dir, journal);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const t = parseTempName(name);
    if (t && !pidAlive(t.pid)) await unlinkIfPresent(join(dir, name)).catch(() => {});
  }
}

/** Whether the folder has a journal, or temporary files of writers that no longer run. */
export async function needsRecovery(dir: string): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return false;
  }
  return names.some((n) => {
    if (n === JOURNAL_FILE) return true;
    const t = parseTempName(n);
    return t !== undefined && !pidAlive(t.pid);
  });
}

/**
 * The journal of a commit under way or interrupted, or undefined.
 *
 * @throws PolicyError naming `.commit` when it is not a list of renames of temporary files into
 * files of the folder.
 */
export async function readJournal(dir: string): Promise<Journal | undefined> {
  const file = join(dir, JOURNAL_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PolicyError('cannot read the commit journal', { file }, { cause: err });
  }
  let renames: unknown;
  try {
    renames = (JSON.parse(text) as { renames?: unknown }).renames;
  } catch (err) {
    throw new PolicyError(
      'the commit journal is not JSON; the policy may be half-written',
      { file },
      { cause: err },
    );
  }
  const ok =
    Array.isArray(renames) &&
    renames.every(
      (r) =>
        Array.isArray(r) &&
        r.length === 2 &&
        typeof r[0] === 'string' &&
        typeof r[1] === 'string' &&
        isPlainName(r[1]) &&
        parseTempName(r[0])?.target === r[1],
    );
  if (!ok)
    throw new PolicyError(
      'the commit journal names files this library does not write; the policy may be half-written',
      { file },
    );
  return { renames: renames as [string, string][] };
}

async function applyJournal(dir: string, journal: Journal): Promise<void> {
  for (const [from, to] of journal.renames) {
    try {
      await renameFile(join(dir, from), join(dir, to));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // renamed before a crash
    }
  }
  await syncDir(dir);
  await unlinkIfPresent(join(dir, JOURNAL_FILE));
  await syncDir(dir);
}

/** A file name inside the folder: no separator, not `.` or `..`. */
function isPlainName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}
