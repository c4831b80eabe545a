// The index's role paths (explain()'s `via`, the decision log's) against a plain breadth-first
// search over random role graphs: cycles, diamonds, a member of many roles, chains past the depth limit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PolicyIndex } from '../../src/engine/policy-index.js';
import { MAX_ROLE_DEPTH, type RoleLink } from '../../src/policy/types.js';

const SUBJECTS = ['u0', 'u1', 'u,2', '__proto__', ...Array.from({ length: 14 }, (_, i) => `role:${i}`)];

/** The shortest path [from, ..., to] within MAX_ROLE_DEPTH links, found by a search (roles in link order). */
function searched(links: readonly RoleLink[], from: string, to: string): string[] | undefined {
  if (from === to) return [from];
  const roles = new Map<string, string[]>();
  for (const l of links) roles.set(l.member, [...(roles.get(l.member) ?? []), l.role]);
  const prev = new Map<string, string>();
  const seen = new Set([from]);
  let frontier = [from];
  for (let depth = 0; depth < MAX_ROLE_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const s of frontier)
      for (const r of roles.get(s) ?? []) {
        if (seen.has(r)) continue;
        seen.add(r);
        prev.set(r, s);
        if (r === to) {
          const path = [r];
          while (path[0] !== from) path.unshift(prev.get(path[0] as string) as string);
          return path;
        }
        next.push(r);
      }
    frontier = next;
  }
  return undefined;
}

const linksArb = fc
  .array(fc.record({ member: fc.constantFrom(...SUBJECTS), role: fc.constantFrom(...SUBJECTS.slice(4)) }), {
    maxLength: 40,
  })
  .map((ls) => {
    const seen = new Set<string>();
    return ls.filter(
      (l) => l.member !== l.role && !seen.has(`${l.member}\0${l.role}`) && seen.add(`${l.member}\0${l.role}`),
    );
  });

describe('PolicyIndex role paths', () => {
  test('path() is the shortest path a breadth-first search finds, for any role graph and any two subjects', () => {
    fc.assert(
      fc.property(linksArb, (links) => {
        const index = new PolicyIndex({ rules: [], links });
        for (const from of SUBJECTS)
          for (const to of SUBJECTS)
            assert.deepEqual(index.path(from, to), searched(links, from, to) ?? [from, to]);
      }),
      { numRuns: 300 },
    );
  });

  test('a chain longer than the depth limit has no path past it', () => {
    const chain = Array.from({ length: MAX_ROLE_DEPTH + 2 }, (_, i) => `role:c${i}`);
    const links = chain.slice(1).map((role, i) => ({ member: chain[i] as string, role }));
    const index = new PolicyIndex({ rules: [], links });
    assert.deepEqual(
      index.path('role:c0', chain[MAX_ROLE_DEPTH] as string),
      chain.slice(0, MAX_ROLE_DEPTH + 1),
    );
    // Beyond the limit the index reports the two ends only, as it did before.
    assert.deepEqual(index.path('role:c0', chain[MAX_ROLE_DEPTH + 1] as string), [
      'role:c0',
      chain[MAX_ROLE_DEPTH + 1],
    ]);
  });
});
