// The CLI as a separate process (src/cli/main.ts through tsx), for tests that kill it or run two at once.
import { type ChildProcess, spawn } from 'node:child_process';

export interface ChildRun {
  readonly child: ChildProcess;
  /** Resolves when the process has ended (its pid is then free). */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

/** Starts `rbac-normalizer ...args` with `env` added to this process's environment. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (t: string) => (out += t));
  child.stderr?.setEncoding('utf8').on('data', (t: string) => (err += t));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>(
    (resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal, out, err }));
    },
  );
  return { child, done };
}

/** Runs the CLI to its end. */
export const runCli = (args: readonly string[], env: NodeJS.ProcessEnv = {}) => startCli(args, env).done;

/** The pid of a process that has ended (nothing runs under it now, barring reuse). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('close', resolve));
  return child.pid as number;
}
