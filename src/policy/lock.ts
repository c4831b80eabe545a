// One writer at a time per policies folder. Across processes: `<policies>/.lock`, created whole (a
// hard link to a complete temporary file, which fails if the lock exists) and naming its holder's
// pid, host and start; a lock whose process is gone from this host is taken over, so a killed sync
// never blocks the next one. A holder renews the lock's mtime every LEASE_RENEW_MS; another host's
// lock (whose pid cannot be checked from here) is taken over once not renewed for LEASE_MS. A
// holder checks it still holds the lock right before it commits (PolicyLock.verify). Within a
// process: callers queue, so authorizer.sync(), syncEvery() and compileSnapshot({ write }) on one
// folder run one after the other instead of failing.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, realpath, stat, utimes } from 'node:fs/promises';
import { hostname, uptime } from 'node:os';
import { join, resolve } from 'node:path';
import { PolicyLockError, type PolicyLockHolder } from '../errors.js';
import { linkFile, pidAlive, renameFile, tempName, unlinkIfPresent, writeNewFile } from './durable.js';

export const LOCK_FILE = '.lock';

/** What a lock's holder is doing (shown to whoever finds the folder locked). */
export type LockPurpose = 'sync' | 'compile' | 'recover';

/** A held lock. */
export interface PolicyLock {
  readonly file: string;
  /**
   * Checks that the lock file is still this holder's.
   *
   * @throws PolicyLockError when another process has taken it over.
   */
  verify(): Promise<void>;
  /** Removes the lock (if it is still this holder's) and lets the next caller of this process in. */
  release(): Promise<void>;
}

interface LockRecord extends PolicyLockHolder {
  readonly token: string;
}

/** A lock as read back: its record and when it was last renewed (mtime, ms). */
interface ReadLock extends LockRecord {
  readonly renewedAt: number;
}

export const LEASE_RENEW_MS = 15_000;
export const LEASE_MS = 120_000;

// Per folder (real path): settles when the current in-process holder releases.
const held = new Map<string, Promise<void>>();

/**
 * Takes the lock of a policies folder (creating the folder), waiting for holders in this process
 * first.
 *
 * @throws PolicyLockError when another live process holds it.
 * @throws the signal's reason when it aborts while waiting.
 */
export async function lockPolicies(
  dir: string,
  purpose: LockPurpose,
  signal?: AbortSignal,
): Promise<PolicyLock> {
  await mkdir(dir, { recursive: true });
  const key = await realpath(dir).catch(() => resolve(dir));
  for (let current = held.get(key); current; current = held.get(key)) {
    await waitFor(current, signal);
  }
  signal?.throwIfAborted();
  return hold(key, dir, purpose);
}

/**
 * Takes the lock only if it is free right now (no holder in this process, none alive elsewhere)
 * and the folder is writable; otherwise undefined. For readers that tidy up after a crash.
 */
export async function tryLockPolicies(dir: string, purpose: LockPurpose): Promise<PolicyLock | undefined> {
  const key = await realpath(dir).catch(() => undefined);
  if (key === undefined || held.has(key)) return undefined;
  try {
    return await hold(key, dir, purpose, { wait: false });
  } catch (err) {
    if (err instanceof PolicyLockError) return undefined;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return undefined;
    throw err;
  }
}

async function hold(
  key: string,
  dir: string,
  purpose: LockPurpose,
  opts = { wait: true },
): Promise<PolicyLock> {
  let done!: () => void;
  held.set(key, new Promise<void>((r) => (done = r)));
  const free = () => {
    held.delete(key);
    done();
  };
  let record: LockRecord;
  try {
    record = await acquire(join(dir, LOCK_FILE), purpose, opts.wait);
  } catch (err) {
    free();
    throw err;
  }
  const file = join(dir, LOCK_FILE);
  let released = false;
  const renew = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => {});
  }, LEASE_RENEW_MS);
  renew.unref();
  return {
    file,
    async verify() {
      const now = await readLock(file);
      if (typeof now !== 'object' || now.token !== record.token)
        throw new PolicyLockError(file, typeof now === 'object' ? holderOf(now) : undefined);
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(renew);
      try {
        const now = await readLock(file);
        if (typeof now === 'object' && now.token === record.token) await unlinkIfPresent(file);
      } finally {
        free();
      }
    },
  };
}

// A holder tidying up after a crash keeps the lock for a few file operations: worth waiting for.
const RECOVER_WAIT_MS = 5;
const RECOVER_WAITS = 400;

async function acquire(file: string, purpose: LockPurpose, waitForRecovery: boolean): Promise<LockRecord> {
  const record: LockRecord = {
    pid: process.pid,
    hostname: thisHost(),
    startedAt: new Date().toISOString(),
    purpose,
    token: randomBytes(8).toString('hex'),
  };
  const tmp = tempName(file);
  await writeNewFile(tmp, `${JSON.stringify(record)}\n`);
  try {
    for (let round = 0; round < 20 + RECOVER_WAITS; round++) {
      if (await create(tmp, file)) return record;
      const holder = await readLock(file);
      if (holder === 'absent') continue; // released meanwhile
      if (holder === 'unreadable') throw new PolicyLockError(file, undefined);
      if (isOrphan(holder)) await breakOrphan(file, holder);
      else if (holder.purpose === 'recover' && waitForRecovery)
        await new Promise((r) => setTimeout(r, RECOVER_WAIT_MS));
      else throw new PolicyLockError(file, holderOf(holder));
    }
    throw new PolicyLockError(file, undefined);
  } finally {
    await unlinkIfPresent(tmp).catch(() => {});
  }
}

/** Creates `file` as a link to the complete `tmp`; false when it exists. */
async function create(tmp: string, file: string): Promise<boolean> {
  try {
    await linkFile(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err;
  }
  // No hard links on this file system: exclusive create (a reader may then briefly see it empty,
  // which counts as held).
  try {
    await writeNewFile(file, await readFile(tmp, 'utf8'));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * A lock left by a process that no longer runs on this host, that was taken before this host last
 * started or by an earlier process with this one's pid (pids are reused, say in containers; this
 * process's own holders are in `held`, so never get here); or another host's lock not renewed
 * within the lease.
 */
function isOrphan(h: ReadLock): boolean {
  if (h.hostname !== thisHost()) return Date.now() - h.renewedAt > LEASE_MS;
  const bootedAt = Date.now() - uptime() * 1000;
  return h.pid === process.pid || !pidAlive(h.pid) || Date.parse(h.startedAt) < bootedAt - 60_000;
}

const holderOf = ({ pid, hostname, startedAt, purpose }: LockRecord): PolicyLockHolder => ({
  pid,
  hostname,
  startedAt,
  purpose,
});

const thisHost = () => printable(hostname());

/**
 * Removes an orphaned lock. It is first renamed aside, so that of two processes taking it over
 * only one removes it; should the lock renamed aside be a new one (the orphan was already replaced
 * meanwhile), it is put back.
 */
async function breakOrphan(file: string, orphan: ReadLock): Promise<void> {
  const aside = tempName(file);
  try {
    await renameFile(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await readLock(aside);
  if (typeof moved === 'object' && moved.token !== orphan.token) await create(aside, file);
  await unlinkIfPresent(aside);
}

async function readLock(file: string): Promise<ReadLock | 'absent' | 'unreadable'> {
  let text: string;
  let renewedAt: number;
  try {
    renewedAt = (await stat(file)).mtimeMs;
    text = await readFile(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unreadable';
  }
  try {
    const r = JSON.parse(text) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? printable(v) : undefined);
    const pid = r['pid'];
    const host = str(r['hostname']);
    const startedAt = str(r['startedAt']);
    const purpose = str(r['purpose']);
    const token = str(r['token']);
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return 'unreadable';
    if (host === undefined || startedAt === undefined || purpose === undefined || token === undefined)
      return 'unreadable';
    return { pid, hostname: host, startedAt, purpose, token, renewedAt };
  } catch {
    return 'unreadable';
  }
}

/** A value from the lock file as it may appear in a message: printable ASCII, at most 100 characters. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
}

function waitFor(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}
