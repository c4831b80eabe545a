// Synthetic policy shaped like the vendors' data (see ../shared/reference/casbin-performance.md):
// 50 Zoom-like roles of 60 permissions, 1-3 roles per user, 20% of users with 1-5 Vonage-like group
// grants over 1k groups (10% of them "None" → deny), 5% with a temporary Tuya-like grant.
import type { Policy, PolicyRule, RoleLink } from '../src/policy/types.js';
import { rng } from '../test/helpers/random.js';

const OPEN = { from: Number.NEGATIVE_INFINITY, until: Number.POSITIVE_INFINITY };
export const AREAS = Array.from({ length: 100 }, (_, i) => `zoom:area${i}`);
export const ACTS = ['read', 'edit', 'join'];

export function syntheticPolicy(users: number, seed = 1): Policy {
  const r = rng(seed);
  const rules: PolicyRule[] = [];
  const links: RoleLink[] = [];
  for (let k = 0; k < 50; k++) {
    const areas = new Set<string>();
    while (areas.size < 30) areas.add(r.pick(AREAS));
    for (const a of areas) {
      const acts = new Set<string>();
      while (acts.size < 2) acts.add(r.pick(ACTS));
      for (const act of acts) rules.push({ sub: `role:zoom:${k}`, obj: a, act, eft: 'allow', ...OPEN });
    }
  }
  const now = Date.now();
  for (let u = 0; u < users; u++) {
    const sub = `user${u}@example.com`;
    const roles = new Set<number>();
    for (let n = 1 + r.int(3); roles.size < n; ) roles.add(r.int(50));
    for (const k of roles) links.push({ member: sub, role: `role:zoom:${k}` });
    if (r.chance(0.2)) {
      for (let n = 1 + r.int(5); n > 0; n--) {
        const deny = r.chance(0.1);
        rules.push({
          sub,
          obj: `vonage:group:${r.int(1000)}`,
          act: 'read',
          eft: deny ? 'deny' : 'allow',
          ...OPEN,
        });
      }
    }
    if (r.chance(0.05)) {
      rules.push({
        sub,
        obj: `tuya:permission:${r.int(200)}`,
        act: 'use',
        eft: 'allow',
        from: now - 86_400_000,
        until: now + 86_400_000,
      });
    }
  }
  // Deduplicate (random draws can repeat a grant).
  const seen = new Set<string>();
  const unique = rules.filter((x) => {
    const k = `${x.sub}|${x.obj}|${x.act}|${x.eft}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { rules: unique, links };
}
