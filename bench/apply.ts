// Applying policy changes at 100k users, in a fresh process: `apply.ts <users> <dir>`; one JSON line.
// Ours: applyChanges on the live index (with a warm decision cache); casbin: addPolicies/removePolicies.
import { PerformanceObserver } from 'node:perf_hooks';
import { createEngine } from '../src/engine/authorizer.js';
import { createCasbinEnforcer } from '../src/policy/casbin.js';
import { diffPolicies } from '../src/policy/diff.js';
import { ruleToCasbin } from '../src/policy/store.js';
import type { Policy, PolicyRule } from '../src/policy/types.js';
import { rng } from '../test/helpers/random.js';
import { ACTS, AREAS, syntheticPolicy } from './data.js';

const [usersArg, dir] = process.argv.slice(2) as [string, string];
const users = Number(usersArg);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const open = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };
const r = rng(99);
/** 60 direct rules for one user (what a Zoom-like role's worth of permissions looks like). */
const sixty = (sub: string, salt: number): PolicyRule[] =>
  Array.from({ length: 60 }, (_, i) => ({
    sub,
    obj: `${AREAS[(i + salt) % AREAS.length]}:x${salt}`,
    act: ACTS[i % ACTS.length] as string,
    eft: 'allow' as const,
    ...open,
  }));

const policy: Policy = syntheticPolicy(users);
const authz = await createEngine({ policies: policy, cache: { max: 100_000 } });
for (let i = 0; i < 20_000; i++)
  authz.enforce(`user${r.int(users)}@example.com`, r.pick(AREAS), r.pick(ACTS));

// (a) one user's changed rules: add 60, then remove them again, for 1,000 users (2,000 samples, so
// p99 is a percentile and not the slowest sample); GC pauses are counted alongside.
const gcPauses: number[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push(e.duration);
});
gcObserver.observe({ entryTypes: ['gc'] });
const one: number[] = [];
for (let k = 0; k < 1010; k++) {
  const sub = `user${r.int(users)}@example.com`;
  const rules = sixty(sub, k);
  let t0 = process.hrtime.bigint();
  authz.applyChanges({ addRules: rules });
  one.push(ms(t0));
  t0 = process.hrtime.bigint();
  authz.applyChanges({ removeRules: rules });
  one.push(ms(t0));
}
one.splice(0, 20); // the first ten users warm the JIT up
one.sort((a, b) => a - b);
await new Promise((resolve) => setTimeout(resolve, 10)); // GC entries are delivered asynchronously
gcObserver.disconnect();

// (b) a diff touching 10k users (each gains 2 rules and moves to another role): diff + apply.
const touched = Math.min(10_000, users);
const nextRules: PolicyRule[] = [...policy.rules];
const moved = new Set<string>();
for (let i = 0; i < touched; i++) {
  const sub = `user${i}@example.com`;
  moved.add(sub);
  nextRules.push(
    { sub, obj: 'zoom:new', act: 'read', eft: 'allow', ...open },
    { sub, obj: 'zoom:new', act: 'edit', eft: 'allow', ...open },
  );
}
const next: Policy = {
  rules: nextRules,
  links: policy.links.map((l) =>
    moved.has(l.member) && l.role === 'role:zoom:0' ? { ...l, role: 'role:zoom:49' } : l,
  ),
};
const t1 = process.hrtime.bigint();
const diff = diffPolicies(authz.getPolicy(), next);
const diffMs = ms(t1);
const t2 = process.hrtime.bigint();
const result = authz.applyChanges(diff);
const applyMs = ms(t2);

// casbin: one user's 60 rules with addPolicies / removePolicies (each add scans for duplicates).
const casbin = await createCasbinEnforcer(dir);
casbin.enableAutoSave(false); // in memory only, as ours
const casbinAdd: number[] = [];
const casbinRemove: number[] = [];
for (let k = 0; k < 3; k++) {
  const rows = sixty(`user${r.int(users)}@example.com`, 100 + k).map(ruleToCasbin);
  let t0 = process.hrtime.bigint();
  await casbin.addPolicies(rows);
  casbinAdd.push(ms(t0));
  t0 = process.hrtime.bigint();
  await casbin.removePolicies(rows);
  casbinRemove.push(ms(t0));
}
console.log(
  JSON.stringify({
    oneMedianMs: one[Math.floor(one.length / 2)],
    oneP99Ms: one[Math.floor(one.length * 0.99)],
    oneMaxMs: one[one.length - 1],
    oneSamples: one.length,
    gcPauses: gcPauses.length,
    gcMaxMs: Math.max(0, ...gcPauses),
    touched,
    diffMs,
    applyMs,
    changes: diff.addRules.length + diff.removeRules.length + diff.addLinks.length + diff.removeLinks.length,
    invalidated: result.invalidatedSubjects,
    casbinAddMs: casbinAdd.sort((a, b) => a - b)[1],
    casbinRemoveMs: casbinRemove.sort((a, b) => a - b)[1],
  }),
);
