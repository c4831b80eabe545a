// File-system writes of the policies folder and of a sync's temporary files. Every call that changes
// the disk goes through here, which gives one place to count them (see afterWrite) and one naming
// scheme for temporary files, so a later run can tell a dead process's leftovers from a live one's.
import { randomBytes } from 'node:crypto';
import { type FileHandle, link, mkdtemp, open, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

let writes = 0;
let crashAfter: number | undefined | null = null;

/**
 * Called after every file-system write. Internal, for crash tests only: with
 * RBAC_NORMALIZER_CRASH_AFTER_WRITE=N in the environment the process kills itself (SIGKILL, no
 * cleanup) right after its Nth write, as a power cut or `kill -9` would.
 */
export function afterWrite(): void {
  if (crashAfter === null) {
    const n = Number(process.env['RBAC_NORMALIZER_CRASH_AFTER_WRITE']);
    crashAfter = Number.isInteger(n) && n > 0 ? n : undefined;
  }
  if (crashAfter !== undefined && ++writes >= crashAfter) process.kill(process.pid, 'SIGKILL');
}

export async function renameFile(from: string, to: string): Promise<void> {
  await rename(from, to);
  afterWrite();
}

export async function unlinkFile(path: string): Promise<void> {
  await unlink(path);
  afterWrite();
}

/** Unlinks `path`; an absent file is fine. */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlinkFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export async function linkFile(existing: string, path: string): Promise<void> {
  await link(existing, path);
  afterWrite();
}

export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  afterWrite();
}

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(prefix);
  afterWrite();
  return dir;
}

/** Writes all of `data` to a new file (`wx`: never an existing one), flushed to disk. */
export async function writeNewFile(path: string, data: string): Promise<void> {
  const fh = await open(path, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    afterWrite();
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Pieces of text encoded into one reused buffer and written to `fh` when it fills, so a large file
 * is never joined into one string. Call flush() at the end.
 */
export function createChunkedWriter(fh: FileHandle, size = 1 << 20) {
  const buf = Buffer.allocUnsafe(size);
  let used = 0;
  return {
    async write(piece: string): Promise<void> {
      const bytes = Buffer.byteLength(piece);
      if (used + bytes > buf.length) {
        await fh.write(buf, 0, used);
        afterWrite();
        used = 0;
      }
      if (bytes > buf.length) {
        await fh.write(piece, null, 'utf8');
        afterWrite();
      } else used += buf.write(piece, used);
    },
    async flush(): Promise<void> {
      if (used > 0) {
        await fh.write(buf, 0, used);
        afterWrite();
      }
      used = 0;
    },
  };
}

/** Flushes a folder's entries (new names, renames, removals) to disk; a no-op where folders cannot be opened (Windows). */
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw err;
  } finally {
    await fh?.close();
  }
}

/** A temporary name beside `path`: `<path>.tmp-<pid>-<8 hex>`. */
export function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The target name and writer pid of a temporary name made by tempName(), or undefined. */
export function parseTempName(name: string): { target: string; pid: number } | undefined {
  const m = /^(.+)\.tmp-(\d{1,10})-[0-9a-f]{8}$/s.exec(name);
  return m ? { target: m[1] as string, pid: Number(m[2]) } : undefined;
}

/** This host's name as it may appear in a file name (letters, digits, dots; others become _). */
export function hostTag(): string {
  return hostname()
    .replace(/[^A-Za-z0-9.]/g, '_')
    .slice(0, 64);
}

/**
 * Whether a process with this id runs on this host. A process of another user counts as running
 * (EPERM), so only what is certainly dead is ever cleaned up or taken over.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
