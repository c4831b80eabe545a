// HTTP benchmark: autocannon against a hello-world app with and without the middleware.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface HttpResult {
  framework: string;
  /** Best req/s of the runs. */
  bare: number;
  authz: number;
  /** Every run's req/s, in order (run i of each was taken side by side). */
  bareRuns: number[];
  authzRuns: number[];
  /** Median over rounds of authz / bare in the same round. */
  pairedRatio: number;
}

function serve(framework: string, mode: string): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'http-server.ts'), framework, mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // Keep reading stdout after the port shows up: closing the pipe would kill the child with EPIPE.
  let out = '';
  child.stdout?.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /"port":(\d+)/.exec(out);
      if (m?.[1]) resolve({ port: Number(m[1]), child });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}: ${out}`)));
  });
}

async function requestsPerSecond(framework: string, mode: string, seconds: number): Promise<number> {
  const { port, child } = await serve(framework, mode);
  try {
    const opts = {
      url: `http://127.0.0.1:${port}/recordings/42`,
      connections: 50,
      headers: { 'x-user': 'bench@example.com' },
    };
    await autocannon({ ...opts, duration: 1 }); // warm-up: JIT and the decision cache
    const r = await autocannon({ ...opts, duration: seconds });
    if (r.non2xx > 0 || r.errors > 0)
      throw new Error(`${framework}/${mode}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    return r.requests.average;
  } finally {
    child.kill();
    await once(child, 'exit');
  }
}

/**
 * Bare and with-middleware runs alternate `rounds` times (which goes first alternates too); the
 * best of each and the median of the side-by-side ratios are kept: on a shared 2-vCPU machine
 * (client and server on the same cores) single runs vary by 2x when other jobs run.
 */
export async function httpBench(seconds = 3, rounds = 7): Promise<HttpResult[]> {
  const results: HttpResult[] = [];
  for (const framework of ['express', 'koa']) {
    const bareRuns: number[] = [];
    const authzRuns: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const first = i % 2 === 0 ? 'bare' : 'authz';
      const a = await requestsPerSecond(framework, first, seconds);
      const b = await requestsPerSecond(framework, first === 'bare' ? 'authz' : 'bare', seconds);
      bareRuns.push(first === 'bare' ? a : b);
      authzRuns.push(first === 'bare' ? b : a);
    }
    const ratios = authzRuns.map((x, i) => x / (bareRuns[i] as number)).sort((x, y) => x - y);
    results.push({
      framework,
      bare: Math.max(...bareRuns),
      authz: Math.max(...authzRuns),
      bareRuns,
      authzRuns,
      pairedRatio: ratios[ratios.length >> 1] as number,
    });
  }
  return results;
}
