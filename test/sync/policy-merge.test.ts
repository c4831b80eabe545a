import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Provenance, Vendor } from '../../src/grants.js';
import { formatPolicyCsv } from '../../src/policy/csv.js';
import { createFileStore } from '../../src/policy/policy-store.js';
import { readPolicy, readProvenance, writePolicy } from '../../src/policy/store.js';
import { linkKey, type Policy, type PolicyRule, ruleKey } from '../../src/policy/types.js';
import { type CarryOverRules, createPolicySpill, finishMerge } from '../../src/sync/policy-merge.js';

const rule = (sub: string, obj: string, act = 'read', from = Number.NEGATIVE_INFINITY): PolicyRule => ({
  sub,
  obj,
  act,
  eft: 'allow',
  from,
  until: Number.POSITIVE_INFINITY,
});
const prov = (vendor: Vendor, holder: string, raw = 'x'): Provenance => ({
  vendor,
  kind: 'test',
  holder,
  raw,
});

// Hostile names: a carried rule must come back byte for byte.
const WEIRD = 'eve, "the\nadmin"\r';

async function previousFolder() {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-merge-'));
  const policy: Policy = {
    rules: [
      rule('alice', 'zoom:recording', 'read'), // from zoom u1: refetched, gone now
      rule('bob', 'vonage:group:1'), // from vonage u2: vonage not fetched, stays
      rule('carol', 'manual:thing'), // no provenance: not sync's, stays
      rule(WEIRD, 'tuya:permission:1', 'use', 0), // from tuya t1, whose fetch failed: stays
    ],
    links: [{ member: 'dave', role: 'role:zoom:r9' }], // zoom role r9 failed: stays whole
  };
  const provenance = new Map<string, Provenance[]>([
    [ruleKey(policy.rules[0]!), [prov('zoom', 'u1')]],
    [ruleKey(policy.rules[1]!), [prov('vonage', 'u2')]],
    [ruleKey(policy.rules[3]!), [prov('tuya', 't1')]],
    [linkKey(policy.links[0]!), [prov('zoom', 'u4')]],
  ]);
  await writePolicy(dir, policy, provenance);
  return { dir, policy };
}

// As a full sync decides: what a fetched vendor held goes, but for a failed unit (tuya t1).
const carryOver = (fetchedVendors: Set<string>): CarryOverRules => ({
  fetchedVendors,
  keep: (p) => !fetchedVendors.has(p.vendor) || (p.vendor === 'tuya' && p.holder === 't1'),
  failedRoles: new Set(['role:zoom:r9']),
});

async function merged(dir: string, write: boolean, diffLimit = Number.POSITIVE_INFINITY, failed?: Vendor) {
  const spill = createPolicySpill(await mkdtemp(join(tmpdir(), 'rbac-spill-')), { runItems: 2 });
  const fresh = rule('alice', 'zoom:recording', 'edit');
  await spill.addFetched('zoom', {
    policy: { rules: [fresh], links: [] },
    provenance: new Map([[ruleKey(fresh), [prov('zoom', 'u1', 'Recording:Edit')]]]),
  });
  const lost = rule('zed', 'vonage:group:9');
  await spill.addFetched('vonage', {
    policy: { rules: [lost], links: [] },
    provenance: new Map([[ruleKey(lost), [prov('vonage', 'u9')]]]),
  });
  const store = createFileStore(dir);
  await spill.addPrevious(store);
  const seen: string[] = [];
  const rules = carryOver(new Set(['zoom', 'tuya'].filter((v) => v !== failed)));
  const writer = write ? await store.lock('sync') : undefined;
  const change = writer?.begin();
  const out = await finishMerge(
    spill.merge({ ...rules, seen: (p) => seen.push(`${p.vendor}:${p.holder}`) }),
    { ...(change ? { change } : {}), diffLimit, keep: true },
  );
  const done = async (f?: () => Promise<unknown>) => {
    await f?.();
    await writer?.release();
  };
  return { out, seen, commit: () => done(change?.commit), abort: () => done(change?.abort) };
}

describe('merging a sync on disk', () => {
  test('replaces what the fetched vendors hold and carries over the rest, hostile names byte for byte', async () => {
    const { dir, policy } = await previousFolder();
    const { out, seen, commit } = await merged(dir, true);
    await commit();
    const next = await readPolicy(dir);
    assert.deepEqual(next.rules, [
      rule('alice', 'zoom:recording', 'edit'),
      rule('bob', 'vonage:group:1'),
      rule('carol', 'manual:thing'),
      policy.rules[3],
    ]);
    assert.deepEqual(next.links, policy.links, 'a link to a role that failed stays whole');
    assert.deepEqual(out.changes, { addRules: 1, removeRules: 1, addLinks: 0, removeLinks: 0 });
    assert.deepEqual(out.diff.removeRules, [policy.rules[0]]);
    assert.equal((await readFile(join(dir, 'policy.csv'), 'utf8')).includes('"eve, ""the\nadmin""\r"'), true);
    const provenance = await readProvenance(dir);
    assert.deepEqual(provenance.get(ruleKey(rule('alice', 'zoom:recording', 'edit'))), [
      prov('zoom', 'u1', 'Recording:Edit'),
    ]);
    assert.deepEqual(provenance.get(ruleKey(policy.rules[3]!)), [prov('tuya', 't1')]);
    assert.equal(provenance.has(ruleKey(rule('zed', 'vonage:group:9'))), false, 'vonage was not fetched');
    assert.deepEqual(seen.sort(), ['tuya:t1', 'vonage:u2', 'zoom:u1', 'zoom:u4']);
    assert.deepEqual(out.policy?.policy, next, 'the policy kept for a live authorizer is the one written');
    assert.deepEqual((await readdir(dir)).sort(), ['model.conf', 'policy.csv', 'provenance.jsonl']);
  });

  test('writes the same files as the in-memory writer, in policy order, from a hand-sorted previous policy', async () => {
    const { dir, policy } = await previousFolder();
    // Rows out of order (edited by hand): the output is sorted all the same.
    await writeFile(
      join(dir, 'policy.csv'),
      formatPolicyCsv({ rules: [...policy.rules].reverse(), links: policy.links }),
    );
    const { out, commit } = await merged(dir, true);
    await commit();
    const expected = await mkdtemp(join(tmpdir(), 'rbac-merge-'));
    await writePolicy(expected, out.policy!.policy, out.policy!.provenance);
    for (const f of ['policy.csv', 'provenance.jsonl'])
      assert.equal(await readFile(join(dir, f), 'utf8'), await readFile(join(expected, f), 'utf8'), f);
  });

  test('a vendor that failed as a whole contributes none of its fetched records', async () => {
    const { dir } = await previousFolder();
    const { out } = await merged(dir, false, Number.POSITIVE_INFINITY, 'zoom');
    const rules = out.policy!.policy.rules.map((r) => `${r.sub} ${r.act}`);
    assert.ok(!rules.includes('alice edit'), 'zoom failed: its fetched rule is dropped');
    assert.ok(rules.includes('alice read'), 'and its previous rule stays');
  });

  test('a dry run writes nothing, and the diff keeps at most diffLimit of each kind with exact counts', async () => {
    const { dir } = await previousFolder();
    const before = await readFile(join(dir, 'policy.csv'), 'utf8');
    const { out, commit } = await merged(dir, false, 0);
    await commit();
    assert.equal(await readFile(join(dir, 'policy.csv'), 'utf8'), before);
    assert.deepEqual(out.diff, { addRules: [], removeRules: [], addLinks: [], removeLinks: [] });
    assert.deepEqual(out.changes, { addRules: 1, removeRules: 1, addLinks: 0, removeLinks: 0 });
  });

  test('an aborted merge leaves the previous files and no temporary file', async () => {
    const { dir } = await previousFolder();
    const before = await readFile(join(dir, 'policy.csv'), 'utf8');
    const { abort } = await merged(dir, true);
    await abort();
    assert.equal(await readFile(join(dir, 'policy.csv'), 'utf8'), before);
    assert.deepEqual((await readdir(dir)).sort(), ['model.conf', 'policy.csv', 'provenance.jsonl']);
  });
});
