import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { writePolicy } from '../../src/policy/store.js';

// The example's policy, compiled from the example snapshot into a temporary folder (the shipped
// config's .rbac/policies/ is what `npm start` writes; test/examples/quickstart.test.ts runs that).
let dir: string;
let config: string;
/** A config whose policies folder holds an empty policy (as before the first compile or sync). */
let emptyConfig: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rbac-example-app-'));
  config = join(dir, 'rbac.config.yaml');
  const repo = (p: string) => JSON.stringify(resolve(p));
  const common = `mappings: ${repo('mappings')}\nidentities: ${repo('examples/identities.yaml')}\nsnapshot: ${repo('examples/snapshot')}\n`;
  await writeFile(config, `policies: policies/\n${common}`);
  emptyConfig = join(dir, 'empty.config.yaml');
  await writeFile(emptyConfig, `policies: empty/\n${common}`);
  await writePolicy(join(dir, 'empty'), { rules: [], links: [] });
  let err = '';
  const code = await main(['compile', '--config', config], {
    out: () => {},
    err: (t) => {
      err += t;
    },
  });
  assert.equal(code, 0, err);
});
after(() => rm(dir, { recursive: true, force: true }));

/** Starts `examples/app/server.ts` on a free loopback port and returns its base URL. */
function startExample(args: string[], cfg = config): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/app/server.ts', '--port', '0', '--config', cfg, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // Keep reading stdout after the port shows up: closing the pipe would kill the child with EPIPE.
  let out = '';
  child.stdout?.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: string) => {
      out += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) resolve({ url: m[1], child });
    });
    child.once('exit', (code) => reject(new Error(`example exited with ${code}: ${out}`)));
  });
}

for (const framework of ['Express', 'Koa']) {
  describe(`the ${framework} example app`, () => {
    const children: ChildProcess[] = [];
    after(async () => {
      for (const c of children) {
        c.kill();
        await once(c, 'exit');
      }
    });

    test('answers 200, 403 and 401 from the example data', async () => {
      const { url, child } = await startExample(framework === 'Koa' ? ['--koa'] : []);
      children.push(child);
      const carol = await fetch(`${url}/recordings/42`, { headers: { 'x-user': 'carol' } });
      assert.equal(carol.status, 200);
      assert.equal(carol.headers.get('x-rbac-decision'), 'allow');
      const id = carol.headers.get('x-rbac-call-id') ?? '';
      assert.match(id, /^[0-9a-f-]{36}$/, 'each answer carries a call id');
      const again = await fetch(`${url}/recordings/42`, { headers: { 'x-user': 'carol' } });
      assert.notEqual(again.headers.get('x-rbac-call-id'), id);
      const bob = await fetch(`${url}/groups/3615beae-3974-4c33-b38d-9ec230b2284c`, {
        headers: { 'x-user': 'bob' },
      });
      assert.equal(bob.status, 403);
      assert.equal(bob.headers.get('x-rbac-decision'), 'deny; reason=denied-by-rule');
      assert.equal((await fetch(`${url}/recordings/42`)).status, 401);

      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await metrics.text();
      assert.match(text, /^rbac_decisions_total\{result="allow",reason="allowed"\} 2$/m);
      assert.match(text, /^rbac_decisions_total\{result="deny",reason="denied-by-rule"\} 1$/m);
      assert.match(text, /^rbac_policy_rules [1-9]\d*$/m);
      assert.ok(!/carol|bob/.test(text), 'no subject in the metrics');
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 200);
      const body = (await health.json()) as { status: string; policy: { rules: number } };
      assert.equal(body.status, 'ok');
      assert.ok(body.policy.rules > 0);
      const after = await (await fetch(`${url}/metrics`)).text();
      assert.match(
        after,
        /^rbac_decisions_total\{result="allow",reason="allowed"\} 2$/m,
        'neither route decides',
      );
    });

    test('answers 503 on /healthz while no policy is loaded; /metrics still answers', async () => {
      const { url, child } = await startExample(framework === 'Koa' ? ['--koa'] : [], emptyConfig);
      children.push(child);
      const health = await fetch(`${url}/healthz`);
      assert.equal(health.status, 503);
      assert.deepEqual(await health.json(), {
        status: 'unavailable',
        reason: 'no policy loaded (no rules, no store version)',
      });
      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^rbac_policy_rules 0$/m);
    });
  });
}
