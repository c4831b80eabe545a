// Writes examples/snapshot: raw vendor response bodies for a small, realistic organisation.
// Run: node --import tsx scripts/example-snapshot.ts
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pageFile, encodeIdSegment as seg } from '../src/snapshot/layout.js';

const root = join(import.meta.dirname, '..', 'examples', 'snapshot');
const put = async (path: string, body: unknown) => {
  const file = join(root, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(body, null, 2)}\n`);
};
const s = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const ms = (iso: string) => Date.parse(iso);

await rm(root, { recursive: true, force: true });

// ---- Zoom ----
const zoomUsers = [
  {
    id: 'z-alice',
    first_name: 'Alice',
    last_name: 'Adams',
    email: 'Alice@Example.com',
    type: 2,
    role_id: '1',
    status: 'active',
  },
  {
    id: 'z-bob',
    first_name: 'Bob',
    last_name: 'Brown',
    email: 'bob@example.com',
    type: 1,
    role_id: '2',
    status: 'active',
  },
  {
    id: 'z-carol',
    first_name: 'Carol',
    last_name: 'Chen',
    email: 'carol@example.com',
    type: 2,
    role_id: 'Rc0ffee',
    status: 'active',
  },
  { email: 'erin@example.com', first_name: 'Erin', type: 1, status: 'pending' },
];
await put(`zoom/users/${pageFile(1)}`, {
  page_count: 2,
  page_number: 1,
  page_size: 2,
  total_records: 4,
  next_page_token: 'tok-2',
  users: zoomUsers.slice(0, 2),
});
await put(`zoom/users/${pageFile(2)}`, {
  page_count: 2,
  page_number: 2,
  page_size: 2,
  total_records: 4,
  next_page_token: '',
  users: zoomUsers.slice(2),
});
const adminPrivileges = [
  'User:Read',
  'User:Edit',
  'Role:Read',
  'Role:Edit',
  'Recording:Read',
  'Recording:Edit',
  'AccountSetting:Read',
  'AccountSetting:Edit',
  'Dashboard:Read',
  'IMSetting:Read',
];
const memberPrivileges = ['Recording:Read', 'Meeting:Join'];
const editorPrivileges = ['Recording:Edit', 'RecordingContent:Read', 'UsageReport:Read'];
await put(`zoom/roles/${pageFile(1)}`, {
  total_records: 3,
  roles: [
    { id: '1', name: 'Admin', description: 'Account admin', total_members: 1 },
    { id: '2', name: 'Member', description: 'Regular member', total_members: 1 },
    {
      id: 'Rc0ffee',
      name: 'Recording Editors',
      description: 'Custom role: edits recordings',
      total_members: 1,
    },
  ],
});
const roles: [string, string, string[], (typeof zoomUsers)[number][]][] = [
  ['1', 'Admin', adminPrivileges, [zoomUsers[0]!]],
  ['2', 'Member', memberPrivileges, [zoomUsers[1]!]],
  ['Rc0ffee', 'Recording Editors', editorPrivileges, [zoomUsers[2]!]],
];
for (const [id, name, privileges, members] of roles) {
  await put(`zoom/roles/${seg(id)}/role.json`, {
    id,
    name,
    description: name,
    type: 'common',
    total_members: members.length,
    privileges,
  });
  await put(`zoom/roles/${seg(id)}/members/${pageFile(1)}`, {
    page_count: 1,
    page_size: 30,
    total_records: members.length,
    next_page_token: '',
    members: members.map((m) => ({
      id: m.id,
      email: m.email,
      first_name: m.first_name,
      last_name: m.last_name,
      type: m.type,
    })),
  });
}
// Effective permissions per user: the role's privileges, plus for bob one granted outside his role.
await put(`zoom/users/${seg('z-alice')}/permissions.json`, { permissions: adminPrivileges });
await put(`zoom/users/${seg('z-bob')}/permissions.json`, {
  permissions: [...memberPrivileges, 'Webinar:Read'],
});
await put(`zoom/users/${seg('z-carol')}/permissions.json`, { permissions: editorPrivileges });

// ---- Vonage Contact Center ----
const vUsers = [
  {
    userId: '2f9207ca-8922-4245-bfc5-d8f42939e29a',
    username: 'alice',
    name: 'Alice Adams',
    email: 'alice@example.com',
    active: true,
    userAccountConfiguration: { role: 'Admin' },
  },
  {
    userId: '8e22b1fe-d2ea-403d-8c03-50eb21188e79',
    username: 'bob',
    name: 'Bob Brown',
    email: 'bob@example.com',
    active: true,
    userAccountConfiguration: { role: 'Supervisor' },
  },
  {
    userId: '3c4d5e6f-0000-4000-8000-00000000da5e',
    username: 'dave',
    name: 'Dave Diaz',
    email: 'Dave@Example.com',
    active: true,
    userAccountConfiguration: { role: 'Agent' },
  },
];
await put(`vonage/users/${pageFile(1)}`, {
  meta: { page: 1, count: 2, pageCount: 2, totalCount: 3 },
  users: vUsers.slice(0, 2),
});
await put(`vonage/users/${pageFile(2)}`, {
  meta: { page: 2, count: 1, pageCount: 2, totalCount: 3 },
  users: vUsers.slice(2),
});
const G = {
  sales: '687c104e-f28a-4985-9467-8f96a5868117',
  support: '3615beae-3974-4c33-b38d-9ec230b2284c',
  billing: '38c791f5-961e-4578-979f-5f375a9e49ec',
};
const gp = (groupId: string, groupDisplayId: string, groupName: string, groupPermission: string) => ({
  groupId,
  groupDisplayId,
  groupName,
  groupPermission,
});
const [alice, bob, dave] = vUsers as [(typeof vUsers)[0], (typeof vUsers)[0], (typeof vUsers)[0]];
await put(`vonage/users/${seg(alice.userId)}/groups/${pageFile(1)}`, {
  meta: { page: 1, count: 2, pageCount: 2, totalCount: 3 },
  userId: alice.userId,
  groupPermissions: [gp(G.sales, '9876', 'Sales', 'Write'), gp(G.support, '5678', 'Support', 'Write')],
});
await put(`vonage/users/${seg(alice.userId)}/groups/${pageFile(2)}`, {
  meta: { page: 2, count: 1, pageCount: 2, totalCount: 3 },
  userId: alice.userId,
  groupPermissions: [gp(G.billing, '1234', 'Billing', 'Read')],
});
await put(`vonage/users/${seg(alice.userId)}/accessPermissions/${pageFile(1)}`, {
  meta: { page: 1, count: 3, pageCount: 1, totalCount: 3 },
  userId: alice.userId,
  accessPermissions: [
    { permissionKey: 'CPA_View', permissionLevel: 'Yes' },
    { permissionKey: 'CPA_ACD', permissionLevel: 'Modify' },
    { permissionKey: 'AccessUserAdmin', permissionLevel: 'Yes' },
  ],
});
await put(`vonage/users/${seg(bob.userId)}/groups/${pageFile(1)}`, {
  meta: { page: 1, count: 3, pageCount: 1, totalCount: 3 },
  userId: bob.userId,
  groupPermissions: [
    gp(G.sales, '9876', 'Sales', 'Read'),
    gp(G.support, '5678', 'Support', 'None'),
    gp(G.billing, '1234', 'Billing', 'None'),
  ],
});
await put(`vonage/users/${seg(bob.userId)}/accessPermissions/${pageFile(1)}`, {
  meta: { page: 1, count: 2, pageCount: 1, totalCount: 2 },
  userId: bob.userId,
  accessPermissions: [
    { permissionKey: 'CPA_View', permissionLevel: 'Read' },
    { permissionKey: 'AccessUserAdmin', permissionLevel: 'No' },
  ],
});
await put(`vonage/users/${seg(dave.userId)}/groups/${pageFile(1)}`, {
  meta: { page: 1, count: 1, pageCount: 1, totalCount: 1 },
  userId: dave.userId,
  groupPermissions: [gp(G.support, '5678', 'Support', 'Write')],
});
await put(`vonage/users/${seg(dave.userId)}/accessPermissions/${pageFile(1)}`, {
  meta: { page: 1, count: 1, pageCount: 1, totalCount: 1 },
  userId: dave.userId,
  accessPermissions: [{ permissionKey: 'CPA_ACD', permissionLevel: 'Supervise' }],
});

// ---- Tuya Cloud IAM ----
const tuyaPage = (user_id: string, list: unknown[], last_row_key: number, t: number) => ({
  tid: `tid-${user_id}-${last_row_key}`,
  result: { last_row_key, user_id, permission_list: list, page_size: 2 },
  t,
  success: true,
});
const t = ms('2026-11-20T08:00:00Z');
await put(
  `tuya/users/${seg('ay-alice')}/permissions/${pageFile(1)}`,
  tuyaPage(
    'ay-alice',
    [
      {
        permission_id: 232371810,
        name: 'Device control',
        description: 'Control devices',
        type: '0',
        gmt_create: s('2025-03-01T00:00:00Z'),
      },
      {
        permission_id: 232371811,
        name: 'Device view',
        description: 'View devices',
        type: 0,
        gmt_create: s('2025-03-01T00:00:00Z'),
      },
    ],
    181044,
    t,
  ),
);
await put(
  `tuya/users/${seg('ay-alice')}/permissions/${pageFile(2)}`,
  tuyaPage(
    'ay-alice',
    [
      {
        permission_id: 232371899,
        name: 'Firmware upgrade',
        description: 'Push firmware',
        type: 0,
        gmt_create: s('2025-06-01T00:00:00Z'),
      },
    ],
    181045,
    t,
  ),
);
// bob: a temporary grant in seconds for November, and one in milliseconds that already ended.
await put(
  `tuya/users/${seg('ay-bob')}/permissions/${pageFile(1)}`,
  tuyaPage(
    'ay-bob',
    [
      {
        permission_id: 232371810,
        name: 'Device control',
        type: 1,
        start_time: s('2026-11-01T00:00:00Z'),
        end_time: s('2026-12-01T00:00:00Z'),
        gmt_create: s('2026-10-30T00:00:00Z'),
      },
      {
        permission_id: 232371811,
        name: 'Device view',
        type: '1',
        start_time: String(ms('2026-10-01T00:00:00Z')),
        end_time: String(ms('2026-10-15T00:00:00Z')),
        gmt_create: s('2026-09-30T00:00:00Z'),
      },
    ],
    181050,
    t,
  ),
);
// carol: a temporary grant in milliseconds, 20-25 November 2026.
await put(
  `tuya/users/${seg('ay-carol')}/permissions/${pageFile(1)}`,
  tuyaPage(
    'ay-carol',
    [
      {
        permission_id: 232371899,
        name: 'Firmware upgrade',
        type: 1,
        start_time: ms('2026-11-20T00:00:00Z'),
        end_time: ms('2026-11-25T00:00:00Z'),
        gmt_create: s('2026-11-19T00:00:00Z'),
      },
    ],
    181060,
    t,
  ),
);
// a Tuya account the identities file does not know.
await put(
  `tuya/users/${seg('ay-unlinked')}/permissions/${pageFile(1)}`,
  tuyaPage(
    'ay-unlinked',
    [{ permission_id: 232371811, name: 'Device view', type: 0, gmt_create: s('2025-01-01T00:00:00Z') }],
    181070,
    t,
  ),
);
console.log(`wrote ${root}`);
