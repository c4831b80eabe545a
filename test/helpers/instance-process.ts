// App instances as separate Node processes (authorizer-process.ts), each with its own connections
// to the store and the change feed, asked questions over IPC: what a real deployment of several
// instances is, as opposed to several authorizers in one test process.
import { type ChildProcess, fork } from 'node:child_process';
import type { Freshness } from '../../src/store/follower.js';
import { type ChildRun, startCli } from './child.js';
import { pollUntil } from './private-servers.js';

type Ask =
  | { readonly op: 'decide'; readonly args: [string, string, string] }
  | { readonly op: 'waitForVersion'; readonly args: [number, number] }
  | { readonly op: 'freshness' | 'keys' | 'errors' | 'close'; readonly args?: undefined };

export type InstanceRequest = { readonly id: number } & Ask;

export type InstanceReply =
  | { readonly ready: number }
  | { readonly fatal: string }
  | { readonly id: number; readonly value?: unknown; readonly error?: string };

/** One decision, with what the instance knew when it made it. */
export interface Decided {
  readonly allowed: boolean;
  /** enforceStrict's answer, or the name of the error it threw. */
  readonly strict: boolean | string;
  readonly version: number;
  /** ms since the instance last confirmed it was current, just before and just after deciding. */
  readonly heardAgo: readonly [number, number];
}

export interface InstanceProcess {
  readonly pid: number;
  decide(user: string, resource: string, action: string): Promise<Decided>;
  freshness(): Promise<Freshness>;
  /** waitForVersion in the instance (it asks the store at once). */
  waitForVersion(version: number, timeout?: number): Promise<void>;
  /** The rule and link keys the instance decides with, sorted. */
  keys(): Promise<string[]>;
  /** Messages of the background errors it reported (onError). */
  errors(): Promise<string[]>;
  /** Closes the authorizer and ends the process. */
  close(): Promise<void>;
  /** SIGKILL, for teardown after a failure; resolves when the process has ended. */
  kill(): Promise<void>;
}

const SCRIPT = new URL('./authorizer-process.ts', import.meta.url).pathname;

/**
 * Starts an instance on `config` and resolves once its authorizer is created.
 * @throws when createAuthorizer failed in it, or it ended or was not ready within `readyMs`.
 */
export async function startInstanceProcess(config: string, readyMs = 30_000): Promise<InstanceProcess> {
  const child: ChildProcess = fork(SCRIPT, [config], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 0;
  let ready: (v: number) => void = () => {};
  let failed: (e: Error) => void = () => {};
  const started = new Promise<number>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  child.on('message', (m: InstanceReply) => {
    if ('ready' in m) ready(m.ready);
    else if ('fatal' in m) failed(new Error(`the instance did not start: ${m.fatal}`));
    else {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.value);
    }
  });
  void exited.then(() => {
    const gone = new Error(`instance process ${child.pid} ended (stderr: ${stderr.slice(-2000)})`);
    failed(gone);
    for (const p of pending.values()) p.reject(gone);
    pending.clear();
  });
  const timer = setTimeout(
    () => failed(new Error(`the instance was not ready within ${readyMs} ms`)),
    readyMs,
  );
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await started;
  } catch (err) {
    await kill();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const call = <T>(r: Ask): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const req: InstanceRequest = { ...r, id };
      child.send(req);
    });
  return {
    pid: child.pid as number,
    decide: (user, resource, action) => call({ op: 'decide', args: [user, resource, action] }),
    freshness: () => call({ op: 'freshness' }),
    waitForVersion: (version, timeout = 10_000) => call({ op: 'waitForVersion', args: [version, timeout] }),
    keys: () => call({ op: 'keys' }),
    errors: () => call({ op: 'errors' }),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await call({ op: 'close' }).catch(() => {});
      await exited;
    },
    kill,
  };
}

/**
 * Resolves once every instance holds `version` or later by what it heard or polled on its own (it
 * is only asked its freshness, which reads nothing from the store), within `ms`.
 */
export async function allReach(instances: readonly InstanceProcess[], version: number, ms = 20_000) {
  await pollUntil(
    `every instance at version ${version}`,
    async () => {
      const held = await Promise.all(instances.map((i) => i.freshness()));
      return held.every((f) => f.version >= version);
    },
    ms,
  );
}

/**
 * `rbac-normalizer sync --config <config> --json` in a process of its own (or one already started
 * with startCli), to its end, with the version its summary reports.
 */
export async function cliSync(run: string | ChildRun) {
  const ended = await (typeof run === 'string' ? startCli(['sync', '--config', run, '--json']) : run).done;
  const summary = ended.code === 0 || ended.code === 1 ? (JSON.parse(ended.out) as { version?: number }) : {};
  return { ...ended, version: summary.version };
}
