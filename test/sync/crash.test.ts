// A sync killed at any point (kill -9, power cut) must leave what a clean sync leaves, once the next
// run (or any reader) has picked up the pieces: the same rules, links and provenance, no temporary file.
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, watch, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { hostTag } from '../../src/policy/durable.js';
import { lockPolicies } from '../../src/policy/lock.js';
import { readPolicy, readProvenance } from '../../src/policy/store.js';
import { linkKey, ruleKey } from '../../src/policy/types.js';
import { deadPid, runCli, startCli } from '../helpers/child.js';
import { runCli as inProcess } from '../helpers/cli.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

const BOB_VONAGE = '8e22b1fe-d2ea-403d-8c03-50eb21188e79';
const POLICY_FILES = ['model.conf', 'policy.csv', 'provenance.jsonl', 'sync-state.json'];
/** Temporary recording folders among names. */
const partial = (names: string[]) => names.filter((n) => n.startsWith('.rec') && n.includes('recording'));
/** Sync spill folders in a temp dir (tsx keeps its cache there too). */
const spills = async (dir: string) =>
  (await readdir(dir)).filter((n) => n.startsWith('rbac-normalizer-sync-')).sort();

/** What decides: the rules and links of policy.csv and the keys of provenance.jsonl, read as a reader would. */
async function decisions(dir: string) {
  const [policy, provenance] = await Promise.all([readPolicy(dir), readProvenance(dir)]);
  return {
    rules: policy.rules.map(ruleKey).sort(),
    links: policy.links.map(linkKey).sort(),
    provenance: [...provenance.keys()].sort(),
  };
}

describe('a sync killed mid-run', () => {
  let tmp: string;
  const savedTmp = process.env['TMPDIR'];
  afterEach(() => {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
  });

  test('killed after any one of its file writes, the next run leaves the same policy as a clean sync and no temporary file', async (t) => {
    const e = await exampleEmulator();
    try {
      const ws = await syncWorkspace(e.url);
      tmp = join(ws.dir, 'tmp'); // the sort's spill folders, for this test's runs only
      await mkdir(tmp);
      process.env['TMPDIR'] = tmp;
      const configText = await readFile(ws.config, 'utf8');
      const configFor = async (name: string) => {
        const file = join(ws.dir, `${name}.yaml`);
        await writeFile(file, configText.replace('policies: policies/', `policies: ${name}/`));
        return { file, dir: join(ws.dir, name) };
      };
      const base = await configFor('base');
      assert.equal((await inProcess(['sync', '--config', base.file])).code, 0);
      const baseline = await decisions(base.dir);

      // Between the runs, access shrinks in every vendor: a Zoom role loses a privilege, a Vonage
      // user a group permission, a Tuya user everything. A crash must not let any of it stay.
      const d = e.state.dataset;
      const role = d.zoom.roles.find((r) => r.id === '1');
      assert.ok(role, 'Zoom role 1');
      assert.ok(role.privileges.includes('Recording:Edit'));
      role.privileges = role.privileges.filter((p) => p !== 'Recording:Edit');
      for (const g of d.vonage.groups.get(BOB_VONAGE) ?? []) g['groupPermission'] = 'None';
      d.tuya.permissions.set('ay-bob', []);

      const ref = await configFor('ref');
      await cp(base.dir, ref.dir, { recursive: true });
      assert.equal((await inProcess(['sync', '--config', ref.file])).code, 0);
      const clean = await decisions(ref.dir);
      assert.notDeepEqual(clean, baseline, 'the change matters');
      const cleanStale = JSON.parse(await readFile(join(ref.dir, 'sync-state.json'), 'utf8')).stale;

      let crashes = 0;
      for (let n = 1; n < 200; n++) {
        const run = await configFor(`crash-${n}`);
        await cp(base.dir, run.dir, { recursive: true });
        const r = await runCli(['sync', '--config', run.file], {
          RBAC_NORMALIZER_CRASH_AFTER_WRITE: String(n),
          TMPDIR: tmp,
        });
        const finished = r.signal === null;
        if (finished) assert.equal(r.code, 0, r.err);
        else {
          assert.equal(r.signal, 'SIGKILL', `write ${n}`);
          crashes++;
          const whole = (seen: unknown) =>
            JSON.stringify(seen) === JSON.stringify(baseline) ||
            JSON.stringify(seen) === JSON.stringify(clean);
          // While a writer holds the lock (here: this process, taking over the dead one's), a reader
          // leaves the folder alone and reads through an unfinished commit.
          const lock = await lockPolicies(run.dir, 'sync');
          try {
            assert.ok(whole(await decisions(run.dir)), `killed after write ${n}: a locked reader sees a mix`);
          } finally {
            await lock.release();
          }
          // A reader alone finishes or drops it, and sees one whole policy, old or new, never a mix.
          const seen = await decisions(run.dir);
          assert.ok(
            JSON.stringify(seen) === JSON.stringify(baseline) ||
              JSON.stringify(seen) === JSON.stringify(clean),
            `killed after write ${n}: a reader sees a policy that is neither the old nor the new one`,
          );
        }
        const again = await inProcess(['sync', '--config', run.file]);
        assert.equal(again.code, 0, `after write ${n}: ${again.err}`);
        assert.deepEqual(await decisions(run.dir), clean, `killed after write ${n}`);
        const state = JSON.parse(await readFile(join(run.dir, 'sync-state.json'), 'utf8'));
        assert.deepEqual(state.stale, cleanStale, `killed after write ${n}: sync-state.json`);
        assert.deepEqual((await readdir(run.dir)).sort(), POLICY_FILES, `killed after write ${n}: leftovers`);
        assert.deepEqual(await spills(tmp), [], `killed after write ${n}: spill folders left`);
        if (finished) break;
      }
      assert.ok(crashes >= 10, `only ${crashes} crash points`);
      t.diagnostic(`killed after each of ${crashes} file writes`);
    } finally {
      await e.close();
    }
  });

  test("the next run removes a killed sync's spill folder, temporary policy files and partial recording, and keeps a live process's", async () => {
    const e = await exampleEmulator();
    try {
      const ws = await syncWorkspace(e.url);
      tmp = join(ws.dir, 'tmp');
      await mkdir(tmp);
      process.env['TMPDIR'] = tmp;
      assert.equal((await inProcess(['sync', '--config', ws.config])).code, 0);
      const policies = join(ws.dir, 'policies');

      // Killed (kill -9) as soon as its recording is under way (its spill folder exists by then):
      // mid-fetch, since every answer is slow.
      e.setFaults({ latencyMs: 200 });
      const ac = new AbortController();
      const recording = (async () => {
        try {
          for await (const ev of watch(ws.dir, { signal: ac.signal }))
            if (ev.filename && partial([ev.filename]).length > 0) return true;
        } catch {}
        return false;
      })();
      const child = startCli(['sync', '--config', ws.config, '--record', join(ws.dir, 'rec')], {
        TMPDIR: tmp,
      });
      const seen = await Promise.race([recording, child.done.then(() => false)]);
      ac.abort();
      if (seen) child.child.kill('SIGKILL');
      const killed = await child.done;
      assert.equal(killed.signal, 'SIGKILL', 'killed mid-run');
      e.setFaults({ latencyMs: 0 });
      const pid = child.child.pid as number;
      assert.equal((await spills(tmp)).length, 1, 'the killed run left its spill folder');
      assert.equal(partial(await readdir(ws.dir)).length, 1, 'and its partial recording');
      // What a kill during the commit leaves in the policies folder (as the crash test above makes).
      await writeFile(
        join(policies, `policy.csv.tmp-${pid}-0badc0de`),
        'p, eve, zoom:recording, edit, allow,,\n',
      );
      await writeFile(join(policies, `provenance.jsonl.tmp-${await deadPid()}-00c0ffee`), '');
      // Another sync, still running: its files stay.
      const liveSpill = join(tmp, `rbac-normalizer-sync-${hostTag()}-${process.pid}-abcdef`);
      await mkdir(liveSpill);
      const liveTemp = `policy.csv.tmp-${process.pid}-12345678`;
      await writeFile(join(policies, liveTemp), '');

      const r = await inProcess(['sync', '--config', ws.config, '--record', join(ws.dir, 'rec')]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(
        await spills(tmp),
        [liveSpill.slice(tmp.length + 1)],
        'only the live spill folder is left',
      );
      assert.deepEqual((await readdir(policies)).sort(), [...POLICY_FILES, liveTemp].sort());
      assert.deepEqual(
        (await readdir(ws.dir)).filter((n) => n.includes('rec')),
        ['rec'],
        'the killed run’s partial recording is removed',
      );
    } finally {
      await e.close();
    }
  });
});
