// Subjects made from vendor data (README, "Subjects are people"): a vendor value never names a
// role or a person; only the identities file links an account to a person.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { createEngine } from '../src/engine/authorizer.js';
import type { Vendor, VendorGrant } from '../src/grants.js';
import type { Identities } from '../src/identities.js';
import { loadMappings } from '../src/mapping/load.js';
import type { VendorData, VendorRoleLink, VendorUser } from '../src/snapshot/read.js';
import { compileVendorData } from '../src/vendor-compiler.js';
import { HOSTILE_VALUES } from './helpers/hostile.js';

const mappings = await loadMappings('mappings');

interface Account {
  readonly vendor: Vendor;
  readonly id: string;
  readonly email?: string;
  /** Zoom roles the account is a member of. */
  readonly roles?: readonly string[];
}

/** One grant per account, each on a resource of its own (grant n → resource n), so rules name their account. */
function ownGrant(a: Account, n: number): { grant: VendorGrant; resource: string; action: string } {
  const holder = { type: 'user' as const, vendorUserId: a.id, ...(a.email ? { email: a.email } : {}) };
  if (a.vendor === 'zoom')
    return {
      grant: {
        vendor: 'zoom',
        kind: 'privilege',
        holder,
        fields: { privilege: `Area${n}:Read` },
        raw: `Area${n}:Read`,
      },
      resource: `zoom:area${n}`,
      action: 'read',
    };
  if (a.vendor === 'vonage')
    return {
      grant: {
        vendor: 'vonage',
        kind: 'access',
        holder,
        fields: { permissionKey: `K${n}`, permissionLevel: 'Yes' },
        raw: `{"permissionKey":"K${n}","permissionLevel":"Yes"}`,
      },
      resource: `vonage:access:K${n}`,
      action: 'use',
    };
  return {
    grant: {
      vendor: 'tuya',
      kind: 'permission',
      holder,
      fields: { permission_id: String(n), type: '0' },
      raw: `{"permission_id":${n},"type":0}`,
    },
    resource: `tuya:permission:${n}`,
    action: 'use',
  };
}

/** Zoom roles: 0 (Owner) edits the account, 2 (Member) joins meetings. */
const ROLE_PRIVILEGES: Readonly<Record<string, string>> = { '0': 'Account:Edit', '2': 'Meeting:Join' };

function vendorData(accounts: readonly Account[], roles: Readonly<Record<string, string>> = ROLE_PRIVILEGES) {
  const users: VendorUser[] = accounts.map((a) => ({
    vendor: a.vendor,
    vendorUserId: a.id,
    ...(a.email ? { email: a.email } : {}),
  }));
  const own = accounts.map((a, n) => ownGrant(a, n));
  const grants: VendorGrant[] = [
    ...own.map((o) => o.grant),
    ...Object.entries(roles).map(
      ([roleId, privilege]): VendorGrant => ({
        vendor: 'zoom',
        kind: 'privilege',
        holder: { type: 'role', roleId },
        fields: { privilege, roleId },
        raw: privilege,
      }),
    ),
  ];
  const links: VendorRoleLink[] = accounts.flatMap((a, n) =>
    (a.roles ?? []).map((roleId) => ({
      vendor: a.vendor,
      user: users[n] as VendorUser,
      roleId,
      raw: JSON.stringify({ id: a.id, email: a.email }),
      source: `zoom/roles/${roleId}/members/page-0001.json`,
    })),
  );
  const data: VendorData = { users, grants, links, notices: [], problems: [] };
  return { data, own };
}

/** The subject each account's own grant went to. */
function compile(accounts: readonly Account[], identities: Identities, roles?: Record<string, string>) {
  const { data, own } = vendorData(accounts, roles);
  const result = compileVendorData(data, mappings, identities);
  const subjects = own.map(({ resource, action }) => {
    const found = result.policy.rules.filter((r) => r.obj === resource && r.act === action);
    assert.equal(found.length, 1, `one rule for ${resource} ${action}`);
    return (found[0] as { sub: string }).sub;
  });
  return { result, subjects };
}

const people = (o: Record<string, Partial<Record<Vendor, string>>>): Identities => new Map(Object.entries(o));

describe('subjects made from vendor data', () => {
  test('a Zoom email that spells a role gives no role to another role (role:zoom:2 case)', async () => {
    const { result } = compile(
      [
        { vendor: 'zoom', id: 'z-owner', email: 'role:zoom:2', roles: ['0'] },
        { vendor: 'zoom', id: 'z-member', email: 'member@example.com', roles: ['2'] },
      ],
      people({}),
    );
    const links = result.policy.links.map((l) => [l.member, l.role]);
    assert.ok(
      links.every(([member]) => !member?.startsWith('role:')),
      `no role is a member of anything: ${JSON.stringify(links)}`,
    );
    // Whoever holds the Member role cannot do what only the Owner role may.
    const authz = await createEngine({ policies: result.policy, cache: false });
    const members = links.filter(([, role]) => role === 'role:zoom:2').map(([member]) => member as string);
    assert.equal(members.length, 1);
    for (const m of members) {
      assert.equal(authz.enforce(m, 'zoom:meeting', 'join'), true);
      assert.equal(authz.enforce(m, 'zoom:account', 'edit'), false, `${m} must not get the Owner role`);
    }
    assert.equal(authz.enforce('role:zoom:2', 'zoom:account', 'edit'), false);
    assert.deepEqual(links, [
      ['email:member@example.com', 'role:zoom:2'],
      ['email:role:zoom:2', 'role:zoom:0'],
    ]);
  });

  test('Zoom account Z-ALICE is not person alice, whose account is z-alice (ids are exact)', async () => {
    const { result, subjects } = compile(
      [
        { vendor: 'zoom', id: 'z-alice' },
        { vendor: 'zoom', id: 'Z-ALICE' },
      ],
      people({ alice: { zoom: 'z-alice' } }),
    );
    assert.deepEqual(subjects, ['alice', 'zoom:Z-ALICE']);
    const authz = await createEngine({ policies: result.policy, cache: false });
    assert.equal(authz.enforce('alice', 'zoom:area0', 'read'), true);
    assert.equal(authz.enforce('alice', 'zoom:area1', 'read'), false);
  });

  test('a Vonage account whose email is BOB does not merge into person bob', async () => {
    const { result, subjects } = compile(
      [
        { vendor: 'vonage', id: 'v-bob', email: 'bob@example.com' },
        { vendor: 'vonage', id: 'v-other', email: 'BOB' },
      ],
      people({ bob: { vonage: 'v-bob' } }),
    );
    assert.deepEqual(subjects, ['bob', 'email:bob']);
    const authz = await createEngine({ policies: result.policy, cache: false });
    assert.equal(authz.enforce('bob', 'vonage:access:K1', 'use'), false);
  });

  test("a vendor email equal to a person's account id does not link to that person", () => {
    const { subjects } = compile(
      [
        { vendor: 'zoom', id: 'z-bob' },
        { vendor: 'zoom', id: 'z-mallory', email: 'z-bob' },
        { vendor: 'vonage', id: 'v-mallory', email: 'v-bob' },
      ],
      people({ bob: { zoom: 'z-bob', vonage: 'v-bob' } }),
    );
    assert.deepEqual(subjects, ['bob', 'email:z-bob', 'email:v-bob']);
  });

  test('a Zoom account is linked by an email listed in the identities file, whatever its case', () => {
    const { subjects } = compile(
      [{ vendor: 'zoom', id: 'Kd9x', email: 'alice@example.com' }],
      people({ alice: { zoom: 'Alice@Example.com' } }),
    );
    assert.deepEqual(subjects, ['alice']);
  });

  test('accounts of different vendors with the same email meet as one email subject', () => {
    const { subjects, result } = compile(
      [
        { vendor: 'zoom', id: 'z-dave', email: 'Dave@Example.com' },
        { vendor: 'vonage', id: 'v-dave', email: 'dave@example.com' },
        { vendor: 'tuya', id: 'ay-dave' },
      ],
      people({}),
    );
    assert.deepEqual(subjects, ['email:dave@example.com', 'email:dave@example.com', 'tuya:ay-dave']);
    assert.deepEqual(result.notices, []);
  });

  test('two accounts of one vendor with the same email are named by neither, and the compile says so', () => {
    const { subjects, result } = compile(
      [
        { vendor: 'vonage', id: 'v-1', email: 'Shared@Example.com' },
        { vendor: 'vonage', id: 'v-2', email: 'shared@example.com' },
        { vendor: 'zoom', id: 'z-1', email: 'carol@example.com' },
        { vendor: 'zoom', id: 'z-2', email: 'CAROL@example.com' },
      ],
      people({ carol: { zoom: 'carol@example.com' } }),
    );
    assert.deepEqual(subjects, ['vonage:v-1', 'vonage:v-2', 'zoom:z-1', 'zoom:z-2']);
    assert.equal(result.notices.length, 2);
    assert.match(
      result.notices[0] ?? '',
      /vonage accounts "v-1" and "v-2" both have the email "shared@example.com"/,
    );
    assert.match(
      result.notices[1] ?? '',
      /zoom accounts "z-1" and "z-2" both have the email "carol@example.com"/,
    );
  });

  test('an account linked to one person by id and to another by email is linked to neither, and the compile says so', () => {
    const { subjects, result } = compile(
      [{ vendor: 'zoom', id: 'z-bob', email: 'alice@example.com' }],
      people({ alice: { zoom: 'alice@example.com' }, bob: { zoom: 'z-bob' } }),
    );
    assert.deepEqual(subjects, ['zoom:z-bob']);
    assert.match(
      result.notices.join('\n'),
      /zoom account "z-bob" is linked to "bob" by its id and to "alice"/,
    );
  });

  test('no vendor-made subject equals a role or a person unless the identities file links it (property)', () => {
    const personIds = [
      'alice',
      'bob',
      'BOB',
      'dave@example.com',
      'z-alice',
      ...HOSTILE_VALUES.filter((v) => v !== '' && !v.includes(':')),
    ];
    const hostile = [
      'role:zoom:0',
      'role:zoom:2',
      'role:zoom:Rc0ffee',
      'email:bob',
      'email:dave@example.com',
      'zoom:z-alice',
      'vonage:v-bob',
      'tuya:ay-bob',
      'Alice@Example.com',
      'alice@example.com',
      ...personIds,
      ...personIds.map((p) => p.toUpperCase()),
      ...HOSTILE_VALUES.filter((v) => v !== ''),
    ];
    const value = fc.oneof(fc.constantFrom(...hostile), fc.string({ minLength: 1, maxLength: 8 }));
    const vendor = fc.constantFrom<Vendor>('zoom', 'vonage', 'tuya');
    const account = fc.record({
      vendor,
      id: value,
      email: fc.option(value, { nil: undefined }),
      roles: fc.subarray(['0', '2', 'Rc0ffee']),
    });
    const person = fc.record(
      { zoom: value, vonage: value, tuya: value },
      { requiredKeys: [] },
    ) as fc.Arbitrary<Partial<Record<Vendor, string>>>;
    fc.assert(
      fc.property(
        fc.uniqueArray(account, { maxLength: 12, selector: (a) => `${a.vendor}:${a.id}` }),
        fc.uniqueArray(fc.tuple(fc.constantFrom(...personIds), person), {
          maxLength: 5,
          selector: ([p]) => p,
        }),
        (raw, rows) => {
          // Only Zoom has roles; no account of a vendor claimed by two people (the loader refuses that).
          const accounts = raw.map((a) => {
            const { email, roles, ...rest } = a;
            return {
              ...rest,
              ...(email !== undefined ? { email } : {}),
              ...(a.vendor === 'zoom' ? { roles } : {}),
            };
          });
          const claimed = new Set<string>();
          const identities = new Map<string, Partial<Record<Vendor, string>>>();
          for (const [id, links] of rows) {
            const kept: Partial<Record<Vendor, string>> = {};
            for (const [v, a] of Object.entries(links) as [Vendor, string][]) {
              const claim = v === 'zoom' && a.includes('@') ? `zoom email ${a.toLowerCase()}` : `${v}:${a}`;
              if (claimed.has(claim)) continue;
              claimed.add(claim);
              kept[v] = a;
            }
            identities.set(id, kept);
          }
          const roleIds = new Set(['role:zoom:0', 'role:zoom:2', 'role:zoom:Rc0ffee']);
          const { result, subjects } = compile(accounts, identities, {
            ...ROLE_PRIVILEGES,
            Rc0ffee: 'Recording:Edit',
          });
          const linkedTo = (a: Account, p: string) => {
            const listed = identities.get(p)?.[a.vendor];
            if (listed === undefined) return false;
            if (a.vendor === 'zoom' && listed.includes('@'))
              return a.email !== undefined && a.email.toLowerCase() === listed.toLowerCase();
            return listed === a.id;
          };
          accounts.forEach((a, n) => {
            const sub = subjects[n] as string;
            const what = `${a.vendor} account ${JSON.stringify(a)} → ${JSON.stringify(sub)}`;
            assert.ok(!roleIds.has(sub) && !sub.startsWith('role:'), `${what} names a role`);
            if (identities.has(sub)) assert.ok(linkedTo(a, sub), `${what}: a person it is not linked to`);
            else
              assert.ok(
                sub === `${a.vendor}:${a.id}` ||
                  (a.email !== undefined && sub === `email:${a.email.toLowerCase()}`),
                `${what}: neither its email nor its id`,
              );
            // Two accounts of one vendor are never one subject.
            accounts.forEach((b, m) => {
              if (m !== n && b.vendor === a.vendor)
                assert.notEqual(subjects[m], sub, `${what} and ${JSON.stringify(b)} share a subject`);
            });
          });
          for (const l of result.policy.links) {
            assert.ok(!l.member.startsWith('role:'), `link from a role: ${l.member} → ${l.role}`);
            assert.ok(
              accounts.some(
                (a, n) => subjects[n] === l.member && a.roles?.some((r) => `role:zoom:${r}` === l.role),
              ),
              `${l.member} → ${l.role} is not a role of that account`,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
