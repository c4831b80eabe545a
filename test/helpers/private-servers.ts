// A Redis server and a PostgreSQL cluster of a test's own, on free loopback ports, for tests that
// kill, stop and restart them: the shared servers (6379, 5432) are used by other test files at the
// same time and must never go down. Locally a test whose binaries are missing is skipped with a
// message; in CI (CI=true) it fails instead, since CI installs them.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Client } from 'pg';

const run = promisify(execFile);
const IN_CI = process.env['CI'] === 'true';

/** A port nothing listens on now (the OS picks it; it is free again once this returns). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

/** Calls `check` every 50 ms until it resolves true; throws after `ms` with `what`. */
export async function pollUntil(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function missing(what: string, fix: string): string {
  if (IN_CI) throw new Error(`${what}; CI must install it (.ci/run)`);
  return `${what}: ${fix}`;
}

/** false when redis-server can be run; otherwise a skip reason. @throws in CI when it cannot. */
export async function needRedisServer(): Promise<string | false> {
  try {
    await run('redis-server', ['--version']);
    return false;
  } catch (err) {
    return missing(`redis-server cannot be run (${(err as Error).message})`, 'install redis-server');
  }
}

/** The folder holding initdb and pg_ctl (the newest /usr/lib/postgresql/<version>/bin), if any. */
async function postgresBin(): Promise<string | undefined> {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? await readdir(root) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/** false when initdb and pg_ctl are installed; otherwise a skip reason. @throws in CI when not. */
export async function needPostgresBinaries(): Promise<string | false> {
  if (await postgresBin()) return false;
  return missing(
    'no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin',
    'install postgresql',
  );
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL: gone at once, nothing saved; resolves when the process has ended. */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Kills it if it runs (for teardown). */
  close(): Promise<void>;
}

/** A redis-server of the caller's own (no persistence) on a free port, answering PING. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const pings = async () => {
    const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return (await r.ping()) === 'PONG';
    } finally {
      r.disconnect();
    }
  };
  const start = async () => {
    const p = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    proc = p;
    exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    let early = false;
    void exited.then(() => (early = true));
    await pollUntil(`redis-server on port ${port} answering`, async () => {
      if (early) throw new Error('redis-server exited');
      return pings();
    });
  };
  const kill = async () => {
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url, kill, start, close: kill };
}

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust auth). */
  readonly url: string;
  /** `pg_ctl stop` (default mode immediate: no shutdown checkpoint, clients cut off). */
  stop(mode?: 'immediate' | 'fast'): Promise<void>;
  /** Starts it again on the same port and folder; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it if it runs and removes its folder (for teardown). */
  close(): Promise<void>;
}

/**
 * A PostgreSQL cluster of the caller's own: initdb into a temp folder (as the postgres user when
 * this process is root, since the server refuses to run as root), started on a free port.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = await postgresBin();
  if (!bin) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  const root = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'rbac-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  const as = (cmd: string, args: string[]) =>
    root ? run('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]) : run(join(bin, cmd), args);
  // initdb as the postgres user needs the folders to be its own.
  const owner = root
    ? await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])])
    : undefined;
  await mkdir(data);
  if (owner) for (const d of [dir, data]) await chown(d, Number(owner[0].stdout), Number(owner[1].stdout));
  let running = false;
  const close = async () => {
    if (running) await as('pg_ctl', ['-D', data, 'stop', '-m', 'immediate', '-w']).catch(() => {});
    running = false;
    await rm(dir, { recursive: true, force: true });
  };
  const start = async () => {
    await as('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      '-w',
      'start',
    ]);
    running = true;
  };
  try {
    await as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await start();
  } catch (err) {
    await close();
    throw err;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await pollUntil(`PostgreSQL on port ${port} accepting connections`, async () => {
    const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    try {
      await c.connect();
      return (await c.query('SELECT 1 AS one')).rows.length === 1;
    } finally {
      await c.end().catch(() => {});
    }
  });
  return {
    port,
    url,
    async stop(mode = 'immediate') {
      await as('pg_ctl', ['-D', data, 'stop', '-m', mode, '-w']);
      running = false;
    },
    start,
    close,
  };
}
