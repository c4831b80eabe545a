// The emulator's data: what each vendor "knows". Seeded (a handful of people to 10k+ per vendor),
// or read from a snapshot folder's raw bodies (the bundled example). Nothing here is shared with
// the adapters or the snapshot reader: the emulator reads the files its own way.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ZoomUser {
  id?: string;
  email: string;
  status: string;
  role_id: string;
  [k: string]: unknown;
}
export interface ZoomRole {
  id: string;
  name: string;
  description?: string;
  /** common (the default), iq, ... */
  type?: string;
  privileges: string[];
  members: { id: string; email?: string; [k: string]: unknown }[];
  /** Other fields of the role's detail body (e.g. sub_account_privileges), served as they are. */
  [k: string]: unknown;
}
export interface VonageUser {
  userId: string;
  username?: string;
  name?: string;
  email?: string;
  active?: boolean;
  [k: string]: unknown;
}
export type Item = Record<string, unknown>;

export interface Dataset {
  zoom: { users: ZoomUser[]; roles: ZoomRole[]; extraPermissions: Map<string, string[]> };
  vonage: { users: VonageUser[]; groups: Map<string, Item[]>; access: Map<string, Item[]> };
  tuya: { permissions: Map<string, Item[]> };
  /** Person → vendor accounts, for an identities file (Tuya users are only known through it). */
  people: Map<string, { zoom?: string; vonage?: string; tuya?: string }>;
}

const AREAS = [
  'User',
  'Role',
  'Recording',
  'Meeting',
  'Webinar',
  'Dashboard',
  'AccountSetting',
  'UsageReport',
  'Group',
];
const ACCESS_KEYS = ['CPA_View', 'CPA_ACD', 'AccessUserAdmin', 'Reporting', 'Wallboard', 'CallRecording'];
const ACCESS_LEVELS = ['Yes', 'No', 'Read', 'Modify', 'None'];
const GROUP_LEVELS = ['None', 'Read', 'Write'];

/** mulberry32: a tiny seeded PRNG, so a dataset is the same for the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A synthetic account per vendor with `users` people. */
export function seededDataset(options: { users: number; seed?: number; now?: number }): Dataset {
  const r = prng(options.seed ?? 1);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)] as T;
  const now = Math.floor((options.now ?? Date.parse('2026-11-22T12:00:00Z')) / 1000);
  const roles: ZoomRole[] = [
    {
      id: '0',
      name: 'Owner',
      type: 'common',
      privileges: AREAS.flatMap((a) => [`${a}:Read`, `${a}:Edit`]),
      members: [],
    },
    { id: '1', name: 'Admin', type: 'common', privileges: AREAS.map((a) => `${a}:Read`), members: [] },
    { id: '2', name: 'Member', type: 'common', privileges: ['Meeting:Join', 'Recording:Read'], members: [] },
  ];
  for (let k = 0; k < 17; k++) {
    const privileges = new Set<string>();
    while (privileges.size < 4) privileges.add(`${pick(AREAS)}:${pick(['Read', 'Edit'])}`);
    roles.push({
      id: `R${k.toString(16).padStart(4, '0')}`,
      name: `Custom ${k}`,
      type: 'common',
      privileges: [...privileges].sort(),
      members: [],
    });
  }
  const dataset: Dataset = {
    zoom: { users: [], roles, extraPermissions: new Map() },
    vonage: { users: [], groups: new Map(), access: new Map() },
    tuya: { permissions: new Map() },
    people: new Map(),
  };
  for (let i = 0; i < options.users; i++) {
    const email = `user${i}@example.com`;
    const zoomId = `z${i.toString(36)}`;
    const role = i === 0 ? roles[0]! : pick(roles.slice(1));
    dataset.zoom.users.push({ id: zoomId, email, status: 'active', role_id: role.id, type: 1 });
    role.members.push({ id: zoomId, email, first_name: 'User', last_name: String(i), type: 1 });
    const vonageId = `v-${i.toString(16).padStart(8, '0')}-0000-4000-8000-000000000000`;
    dataset.vonage.users.push({ userId: vonageId, username: email, name: `User ${i}`, email, active: true });
    const groups: Item[] = [];
    for (let n = Math.floor(r() * 4); n > 0; n--) {
      const g = Math.floor(r() * 50);
      groups.push({
        groupId: `g-${g}`,
        groupDisplayId: String(1000 + g),
        groupName: `Group ${g}`,
        groupPermission: pick(GROUP_LEVELS),
      });
    }
    dataset.vonage.groups.set(vonageId, groups);
    dataset.vonage.access.set(
      vonageId,
      ACCESS_KEYS.filter(() => r() < 0.3).map((k) => ({
        permissionKey: k,
        permissionLevel: pick(ACCESS_LEVELS),
      })),
    );
    const uid = `ay${i.toString(36)}`;
    const perms: Item[] = [];
    for (let n = Math.floor(r() * 3); n > 0; n--) {
      const id = 232371800 + Math.floor(r() * 100);
      const temporary = r() < 0.3;
      perms.push({
        permission_id: id,
        name: `Permission ${id}`,
        description: '',
        type: temporary ? 1 : 0,
        ...(temporary ? { start_time: now - 86400 * 5, end_time: now + 86400 * 5 } : {}),
        gmt_create: now - 86400 * 30,
      });
    }
    dataset.tuya.permissions.set(uid, perms);
    dataset.people.set(email, { zoom: zoomId, vonage: vonageId, tuya: uid });
  }
  return dataset;
}

/**
 * The data behind a snapshot folder (the bundled example): what a vendor would have answered.
 * `people` comes from an identities map if given (Tuya users are only known through it).
 */
export async function snapshotDataset(
  dir: string,
  people: Map<string, { zoom?: string; vonage?: string; tuya?: string }> = new Map(),
): Promise<Dataset> {
  const json = async (p: string) => JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
  const isDir = async (p: string) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
  const dirs = async (p: string) =>
    (await isDir(p))
      ? (await readdir(p, { withFileTypes: true }))
          .filter((e) => e.isDirectory())
          .map((e) => e.name)
          .sort()
      : [];
  const pages = async (p: string) => {
    if (!(await isDir(p))) return [];
    const names = (await readdir(p)).filter((f) => /^page-\d+\.json$/.test(f)).sort();
    return Promise.all(names.map((n) => json(join(p, n))));
  };
  const items = (body: Record<string, unknown>, key: string) =>
    Array.isArray(body[key]) ? (body[key] as Item[]) : [];
  const dataset: Dataset = {
    zoom: { users: [], roles: [], extraPermissions: new Map() },
    vonage: { users: [], groups: new Map(), access: new Map() },
    tuya: { permissions: new Map() },
    people,
  };
  const z = join(dir, 'zoom');
  for (const b of await pages(join(z, 'users')))
    dataset.zoom.users.push(...(items(b, 'users') as ZoomUser[]));
  // The role list (GET /roles) fills in what a role's detail body lacks.
  const listed = new Map(
    (await pages(join(z, 'roles'))).flatMap((b) => items(b, 'roles')).map((r) => [String(r['id']), r]),
  );
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  for (const d of await dirs(join(z, 'roles'))) {
    const detail = await json(join(z, 'roles', d, 'role.json'));
    const members = (await pages(join(z, 'roles', d, 'members'))).flatMap((b) => items(b, 'members'));
    // total_members is left out: the emulator counts the members, so the count follows them.
    const { id: _id, name, description, type, privileges, total_members: _count, ...rest } = detail;
    const id = String(detail['id'] ?? decodeURIComponent(d));
    const summary = listed.get(id) ?? {};
    const desc = str(description) ?? str(summary['description']);
    const kind = str(type) ?? str(summary['type']);
    dataset.zoom.roles.push({
      ...rest,
      id,
      name: str(name) ?? str(summary['name']) ?? '',
      ...(desc !== undefined ? { description: desc } : {}),
      ...(kind !== undefined ? { type: kind } : {}),
      privileges: Array.isArray(privileges) ? (privileges as string[]) : [],
      members: members as ZoomRole['members'],
    });
  }
  // A user's effective permissions are their role's privileges plus any granted outside it; only
  // the latter are kept, so a change to the role shows in the user's permissions as it does in Zoom.
  for (const d of await dirs(join(z, 'users'))) {
    const f = join(z, 'users', d, 'permissions.json');
    if (await stat(f).catch(() => undefined)) {
      const id = decodeURIComponent(d);
      const body = await json(f);
      const all = Array.isArray(body['permissions']) ? (body['permissions'] as string[]) : [];
      const roleId = dataset.zoom.users.find((u) => u.id === id)?.role_id;
      const fromRole = new Set(dataset.zoom.roles.find((r) => r.id === roleId)?.privileges ?? []);
      const extra = all.filter((p) => !fromRole.has(p));
      dataset.zoom.extraPermissions.set(id, extra);
    }
  }
  const v = join(dir, 'vonage');
  for (const b of await pages(join(v, 'users')))
    dataset.vonage.users.push(...(items(b, 'users') as VonageUser[]));
  for (const d of await dirs(join(v, 'users'))) {
    const id = decodeURIComponent(d);
    dataset.vonage.groups.set(
      id,
      (await pages(join(v, 'users', d, 'groups'))).flatMap((b) => items(b, 'groupPermissions')),
    );
    dataset.vonage.access.set(
      id,
      (await pages(join(v, 'users', d, 'accessPermissions'))).flatMap((b) => items(b, 'accessPermissions')),
    );
  }
  const t = join(dir, 'tuya');
  for (const d of await dirs(join(t, 'users'))) {
    const list = (await pages(join(t, 'users', d, 'permissions'))).flatMap((b) =>
      items((b['result'] as Record<string, unknown>) ?? {}, 'permission_list'),
    );
    dataset.tuya.permissions.set(decodeURIComponent(d), list);
  }
  return dataset;
}

/** An identities file (YAML) for a dataset's people. */
export function identitiesYaml(dataset: Dataset): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = ['# Generated by the rbac-normalizer emulator for its data set.'];
  for (const [person, a] of dataset.people) {
    lines.push(`${q(person)}:`);
    for (const v of ['zoom', 'vonage', 'tuya'] as const) if (a[v]) lines.push(`  ${v}: ${q(a[v] as string)}`);
  }
  return `${lines.join('\n')}\n`;
}
