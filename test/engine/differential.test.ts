import assert from 'node:assert/strict';
import { test } from 'node:test';
import { manualClock } from '../../src/clock.js';
import { createEngine } from '../../src/engine/authorizer.js';
import { createCasbinEnforcer } from '../../src/policy/casbin.js';
import { formatNow } from '../../src/policy/time.js';
import type { Policy, PolicyRule, RoleLink } from '../../src/policy/types.js';
import { rng } from '../helpers/random.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const HOUR = 3_600_000;

function randomPolicy(seed: number): {
  policy: Policy;
  users: string[];
  roles: string[];
  objs: string[];
  acts: string[];
} {
  const r = rng(seed);
  const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
  // Hostile-looking names on purpose: commas, quotes, spaces, unicode.
  users.push('a,b', 'say "hi"', ' padded ', 'ünï');
  const roles = Array.from({ length: 8 }, (_, i) => `role:${i}`);
  const objs = [
    'zoom:recording',
    'zoom:user',
    'vonage:group:1',
    'vonage:group:2',
    'tuya:permission:9',
    'x,y',
  ];
  const acts = ['read', 'edit', 'write', 'use'];
  const time = () => T0 + r.int(48) * HOUR;
  const rules: PolicyRule[] = [];
  const n = 20 + r.int(60);
  for (let i = 0; i < n; i++) {
    const windowed = r.chance(0.35);
    const a = time();
    const b = time();
    rules.push({
      sub: r.chance(0.6) ? r.pick(roles) : r.pick(users),
      obj: r.pick(objs),
      act: r.pick(acts),
      eft: r.chance(0.2) ? 'deny' : 'allow',
      from: windowed && r.chance(0.8) ? Math.min(a, b) : Number.NEGATIVE_INFINITY,
      until: windowed && r.chance(0.8) ? Math.max(a, b) + HOUR : Number.POSITIVE_INFINITY,
    });
  }
  const links: RoleLink[] = [];
  for (const u of users) for (let k = r.int(3); k > 0; k--) links.push({ member: u, role: r.pick(roles) });
  // Role hierarchies, cycles included.
  for (let k = r.int(6); k > 0; k--) links.push({ member: r.pick(roles), role: r.pick(roles) });
  const seen = new Set<string>();
  const uniqueLinks = links.filter((l) => {
    const key = `${l.member}\u0000${l.role}`;
    if (seen.has(key) || l.member === l.role) return false;
    seen.add(key);
    return true;
  });
  return { policy: { rules, links: uniqueLinks }, users: [...users, 'nobody'], roles, objs, acts };
}

test('agrees with casbin enforceSync on 12,000 random queries over random policies with roles, denies and windows', async () => {
  let queries = 0;
  let disagreements = 0;
  let allows = 0;
  for (let seed = 1; seed <= 20; seed++) {
    const { policy, users, roles, objs, acts } = randomPolicy(seed);
    const casbin = await createCasbinEnforcer(policy);
    const clock = manualClock(T0);
    const authz = await createEngine({ policies: policy, clock, cache: { max: 50 } });
    const r = rng(seed * 7919);
    for (let q = 0; q < 600; q++) {
      const sub = r.chance(0.85) ? r.pick(users) : r.pick(roles);
      const obj = r.pick(objs);
      const act = r.pick(acts);
      // Move time forward and backward so cached answers are tested against window edges.
      clock.set(T0 + (r.int(50) - 1) * HOUR + (r.chance(0.3) ? 0 : r.int(HOUR)));
      const expected = casbin.enforceSync(sub, obj, act, formatNow(clock.now()));
      const actual = authz.enforce(sub, obj, act);
      const explained = authz.explain(sub, obj, act).allowed;
      queries++;
      if (expected) allows++;
      if (actual !== expected || explained !== expected) {
        disagreements++;
        if (disagreements < 5)
          console.error({ seed, sub, obj, act, at: clock.now(), expected, actual, explained });
      }
    }
  }
  assert.equal(queries, 12_000);
  assert.equal(disagreements, 0);
  // The sample must exercise both answers to mean anything.
  assert.ok(allows > 1000 && allows < 11_000, `allows=${allows}`);
});
