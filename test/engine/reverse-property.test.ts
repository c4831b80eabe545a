// whoCan and whatCan against enforce, over random policies built as differential.test.ts builds them
// (roles, role hierarchies with cycles, a chain longer than the depth limit, denies, windows, hostile
// names): for every subject, resource and action of the universe at a random time, explain() allows
// iff whoCan lists the subject iff whatCan lists (resource, action). Explain itself is checked
// against casbin by differential.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRoleSubject, type Permit } from '../../src/engine/access-view.js';
import { createEngine } from '../../src/engine/authorizer.js';
import { diffPolicies } from '../../src/policy/diff.js';
import { MAX_ROLE_DEPTH, type Policy, type PolicyRule, type RoleLink } from '../../src/policy/types.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const HOUR = 3_600_000;
const USERS = [
  'user0',
  'user1',
  'user2',
  'user3',
  'a,b',
  'say "hi"',
  ' padded ',
  'ünï',
  '__proto__',
  'l\nf',
  '',
];
const ROLES = ['role:0', 'role:1', 'role:2', 'role:3', 'role:4', 'role:\u202e5'];
// A chain of 12 roles: chain0 → chain1 → ... → chain11, longer than the depth limit of 10 links.
const CHAIN = Array.from({ length: MAX_ROLE_DEPTH + 2 }, (_, i) => `role:chain${i}`);
const OBJS = ['zoom:recording', 'vonage:group:1', 'x,y', 'constructor'];
const ACTS = ['read', 'write', 'use'];
const SUBJECTS = [...USERS, ...ROLES, ...CHAIN, 'nobody'];

const bound = fc.integer({ min: 0, max: 24 }).map((h) => T0 + h * HOUR);
const ruleArb: fc.Arbitrary<PolicyRule> = fc
  .record({
    sub: fc.oneof(
      { arbitrary: fc.constantFrom(...ROLES), weight: 5 },
      { arbitrary: fc.constantFrom(...USERS), weight: 4 },
      { arbitrary: fc.constantFrom(...CHAIN), weight: 1 },
    ),
    obj: fc.constantFrom(...OBJS),
    act: fc.constantFrom(...ACTS),
    deny: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    window: fc.option(fc.tuple(fc.option(bound), fc.option(bound)), { freq: 4 }),
  })
  .map(({ sub, obj, act, deny, window }) => {
    const [a, b] = window ?? [null, null];
    // Empty windows (from >= until) are possible on purpose: they never hold.
    return {
      sub,
      obj,
      act,
      eft: deny ? ('deny' as const) : ('allow' as const),
      from: a ?? Number.NEGATIVE_INFINITY,
      until: b === null ? Number.POSITIVE_INFINITY : b + HOUR,
    };
  });
const linkArb: fc.Arbitrary<RoleLink> = fc.record({
  member: fc.oneof({ arbitrary: fc.constantFrom(...USERS), weight: 3 }, fc.constantFrom(...ROLES)),
  role: fc.constantFrom(...ROLES, CHAIN[0]!),
});
const policyArb: fc.Arbitrary<Policy> = fc
  .record({
    rules: fc.array(ruleArb, { minLength: 10, maxLength: 80 }),
    links: fc.array(linkArb, { minLength: 5, maxLength: 40 }),
    chain: fc.boolean(),
  })
  .map(({ rules, links, chain }) => ({
    rules,
    links: chain
      ? [
          ...links,
          ...CHAIN.slice(1).map((role, i) => ({ member: CHAIN[i]!, role })),
          { member: 'user0', role: CHAIN[0]! },
        ]
      : links,
  }));
// Whole hours hit window edges exactly; the offset lands inside an hour.
const atArb = fc
  .tuple(fc.integer({ min: -1, max: 26 }), fc.constantFrom(0, 0, 1, HOUR - 1, 1_234_567))
  .map(([h, ms]) => T0 + h * HOUR + ms);

type Authz = Awaited<ReturnType<typeof createEngine>>;

/** Checks the three answers agree on `policy` at `at`; counts the allows seen and those that end. */
function check(authz: Authz, policy: Policy, at: number, seen: { allows: number; ending: number }): void {
  const links = new Set(policy.links.map((l) => JSON.stringify([l.member, l.role])));
  // Decisions change only at rule bounds: checking every bound in [at, until) checks the whole interval.
  const bounds = [...new Set(policy.rules.flatMap((r) => [r.from, r.until]))].filter(Number.isFinite);
  const allowedAt = (s: string, o: string, a: string, t: number) => authz.explain(s, o, a, { at: t }).allowed;
  const whatCan = new Map(
    SUBJECTS.map((s) => {
      const w = authz.whatCan(s, { at });
      return [s, new Map(w.permissions.map((p) => [JSON.stringify([p.resource, p.action]), p]))];
    }),
  );
  for (const obj of OBJS) {
    for (const act of ACTS) {
      const who = authz.whoCan(obj, act, { at, includeRoles: true });
      const listed = new Map(who.subjects.map((s) => [s.subject, s]));
      const people = authz.whoCan(obj, act, { at }).subjects.map((s) => s.subject);
      assert.deepEqual(
        people,
        who.subjects.map((s) => s.subject).filter((s) => !isRoleSubject(s)),
        'without includeRoles, roles are left out and nobody else',
      );
      for (const s of listed.keys())
        assert.ok(SUBJECTS.includes(s), `lists ${JSON.stringify(s)}, not a subject`);
      for (const sub of SUBJECTS) {
        const allowed = allowedAt(sub, obj, act, at);
        const entry = listed.get(sub);
        const ctx = JSON.stringify({ sub, obj, act, at: new Date(at).toISOString() });
        assert.equal(entry !== undefined, allowed, `whoCan vs enforce ${ctx}`);
        assert.equal(whatCan.get(sub)!.has(JSON.stringify([obj, act])), allowed, `whatCan vs enforce ${ctx}`);
        if (!entry) continue;
        seen.allows++;
        if (entry.until !== null) seen.ending++;
        const permission = whatCan.get(sub)!.get(JSON.stringify([obj, act]))!;
        assert.equal(permission.until, entry.until, `whatCan and whoCan agree on until ${ctx}`);
        const rules = (list: readonly Permit[]) => list.map((p) => JSON.stringify([p.rule, p.via])).sort();
        assert.deepEqual(
          rules(permission.allowedBy),
          rules(entry.allowedBy),
          `whatCan and whoCan name the same rules ${ctx}`,
        );
        assert.ok(entry.allowedBy.length > 0, ctx);
        for (const p of entry.allowedBy) {
          assert.equal(p.rule.eft, 'allow', ctx);
          const path = [sub, ...p.via];
          assert.equal(path.at(-1), p.rule.sub, ctx);
          assert.ok(p.via.length <= MAX_ROLE_DEPTH, ctx);
          for (let i = 0; i + 1 < path.length; i++)
            assert.ok(links.has(JSON.stringify([path[i], path[i + 1]])), `via is a g path ${ctx}`);
          const from = p.rule.from === '' ? Number.NEGATIVE_INFINITY : Date.parse(p.rule.from);
          const until = p.rule.until === '' ? Number.POSITIVE_INFINITY : Date.parse(p.rule.until);
          assert.ok(from <= at && at < until, `the allowing rule holds at the time ${ctx}`);
        }
        const until = entry.until === null ? Number.POSITIVE_INFINITY : Date.parse(entry.until);
        assert.ok(until > at, ctx);
        for (const b of bounds)
          if (b > at && b < until) assert.ok(allowedAt(sub, obj, act, b), `holds at ${b} ${ctx}`);
        if (entry.until === null)
          assert.ok(allowedAt(sub, obj, act, T0 + 10_000 * HOUR), `holds for good ${ctx}`);
        else {
          assert.ok(allowedAt(sub, obj, act, until - 1), `holds until just before its end ${ctx}`);
          assert.ok(!allowedAt(sub, obj, act, until), `ends at its until ${ctx}`);
        }
      }
    }
  }
}

test('whoCan lists a subject iff enforce allows it iff whatCan lists the permission, over random policies, after loading and after incremental changes', async () => {
  const seen = { allows: 0, ending: 0 };
  await fc.assert(
    fc.asyncProperty(policyArb, policyArb, atArb, async (before, after, at) => {
      const authz = await createEngine({ policies: before, cache: false });
      check(authz, before, at, seen);
      authz.applyChanges(diffPolicies(authz.getPolicy(), after));
      check(authz, after, at, seen);
      await authz.loadPolicy(before);
      check(authz, before, at, seen);
    }),
    { numRuns: 60, seed: 15 },
  );
  // The sample must contain allows, and allows that end, for the agreement to mean anything.
  assert.ok(seen.allows > 2000 && seen.ending > 500, JSON.stringify(seen));
});
