// The CLI in this process, with stdout and stderr captured (tests of a real process use child.ts).
import { main } from '../../src/cli/main.js';

export interface Ran {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Runs the CLI with `args` (without node and script), capturing what it prints. */
export async function runCli(args: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}
