// HTTP benchmark: autocannon against a hello-world app with and without the middleware.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface HttpResult {
  framework: string;
  bare: number;
  authz: number;
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
 * Bare and with-middleware runs alternate `rounds` times and the best of each is kept: on a shared
 * 2-vCPU machine (client and server on the same cores) single runs vary by 30% or more.
 */
export async function httpBench(seconds = 3, rounds = 5): Promise<HttpResult[]> {
  const results: HttpResult[] = [];
  for (const framework of ['express', 'koa']) {
    let bare = 0;
    let authz = 0;
    for (let i = 0; i < rounds; i++) {
      bare = Math.max(bare, await requestsPerSecond(framework, 'bare', seconds));
      authz = Math.max(authz, await requestsPerSecond(framework, 'authz', seconds));
    }
    results.push({ framework, bare, authz });
  }
  return results;
}
