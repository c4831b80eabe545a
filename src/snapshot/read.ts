import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { SnapshotError } from '../errors.js';
import type { Vendor, VendorGrant } from '../grants.js';
import { type BodyKind, type BodyTypes, type CheckedBody, checkBody } from './bodies.js';
import { decodeIdSegment, PAGE_FILE } from './layout.js';

/** A vendor user seen in a snapshot. */
export interface VendorUser {
  readonly vendor: Vendor;
  readonly vendorUserId: string;
  readonly email?: string;
}

/** A vendor role membership (Zoom): the user holds the role. */
export interface VendorRoleLink {
  readonly vendor: Vendor;
  readonly user: VendorUser;
  readonly roleId: string;
  readonly roleName?: string;
  readonly raw: string;
  readonly source: string;
}

/**
 * Something wrong in a snapshot body: the whole body `unusable`, one item `skipped` (a grant or a
 * member whose required field cannot be read), or one optional field `ignored`.
 */
export interface SnapshotProblem {
  readonly file: string;
  /** The field, e.g. `groupPermissions[2].groupPermission`; absent when the file itself is the problem. */
  readonly field?: string;
  readonly message: string;
  readonly effect: 'unusable' | 'skipped' | 'ignored';
}

export interface VendorData {
  readonly users: VendorUser[];
  readonly grants: VendorGrant[];
  readonly links: VendorRoleLink[];
  /** Things skipped on purpose (e.g. a pending Zoom user without an id). */
  readonly notices: string[];
  /** What could not be read (only `skipped` and `ignored` ones when `strict` is off). */
  readonly problems: SnapshotProblem[];
}

/** A body a sync already parsed and checked, with its text as received (for a recording). */
export interface FetchedBody {
  readonly text: string;
  readonly checked: CheckedBody<BodyKind>;
}

/** Where snapshot files come from: a folder on disk, or responses held in memory during a sync. */
export interface SnapshotFiles {
  isDir(path: string): Promise<boolean>;
  exists(path: string): Promise<boolean>;
  /** Names of the entries of a folder, with whether each is a folder. */
  list(path: string): Promise<{ name: string; dir: boolean }[]>;
  read(path: string): Promise<string>;
  /** A body already checked (a sync's), so it is not parsed or checked again. */
  checked?(path: string): CheckedBody<BodyKind> | undefined;
}

const diskFiles: SnapshotFiles = {
  isDir: async (p) => (await stat(p).catch(() => undefined))?.isDirectory() ?? false,
  exists: async (p) => (await stat(p).catch(() => undefined)) !== undefined,
  list: async (p) =>
    (await readdir(p, { withFileTypes: true })).map((e) => ({ name: e.name, dir: e.isDirectory() })),
  read: (p) => readFile(p, 'utf8'),
};

/** The root folder name memory snapshots pretend to live under. */
export const MEMORY_ROOT = `${sep}snapshot`;

/**
 * Snapshot files held in memory, keyed by their path in the snapshot layout (`zoom/users/page-0001.json`):
 * text, or a body a sync already checked. Read them with `readSnapshot(MEMORY_ROOT, { files: memoryFiles(map) })`.
 */
export function memoryFiles(files: ReadonlyMap<string, string | FetchedBody>): SnapshotFiles {
  const rel = (p: string) => relative(MEMORY_ROOT, p).split(sep).join('/');
  // Each folder's entries, built once: listing is then proportional to the folder, not the snapshot.
  const children = new Map<string, Map<string, boolean>>([['', new Map()]]);
  for (const k of files.keys()) {
    const parts = k.split('/');
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      let entries = children.get(parent);
      if (!entries) {
        entries = new Map();
        children.set(parent, entries);
      }
      const isDir = i < parts.length - 1;
      entries.set(parts[i] as string, (entries.get(parts[i] as string) ?? false) || isDir);
    }
  }
  return {
    isDir: async (p) => children.has(rel(p)),
    exists: async (p) => children.has(rel(p)) || files.has(rel(p)),
    list: async (p) => [...(children.get(rel(p)) ?? [])].map(([name, dir]) => ({ name, dir })),
    read: async (p) => {
      const v = files.get(rel(p));
      if (v === undefined) throw new Error(`no such file: ${rel(p)}`);
      return typeof v === 'string' ? v : v.text;
    },
    checked: (p) => {
      const v = files.get(rel(p));
      return v === undefined || typeof v === 'string' ? undefined : v.checked;
    },
  };
}

/**
 * Reads a snapshot folder into vendor users, grants and role links. Vendors whose folder is absent
 * are skipped. Every body is checked with the vendor's body checker (src/snapshot/bodies.ts).
 *
 * @throws SnapshotError when `strict` (the default) and any body is not JSON or not shaped as the
 * vendor documents it, or any grant or member in it cannot be read: every such file is listed in
 * `problems`, so a compile never drops someone's rules because one file was bad.
 */
export async function readSnapshot(dir: string, options: ReadSnapshotOptions = {}): Promise<VendorData> {
  const fs = options.files ?? diskFiles;
  if (!(await fs.isDir(dir))) throw new SnapshotError(dir, 'snapshot folder not found');
  const out: VendorData = { users: [], grants: [], links: [], notices: [], problems: [] };
  const ctx: Ctx = {
    dir,
    out,
    fs,
    known: options.knownUser ?? (() => undefined),
    rolePrivileges: options.knownRolePrivileges ?? (() => []),
  };
  const want = (v: Vendor) => !options.vendors || options.vendors.includes(v);
  if (want('zoom') && (await fs.isDir(join(dir, 'zoom')))) await readZoom(ctx);
  if (want('vonage') && (await fs.isDir(join(dir, 'vonage')))) await readVonage(ctx);
  if (want('tuya') && (await fs.isDir(join(dir, 'tuya')))) await readTuya(ctx);
  if (options.strict !== false) {
    const bad = out.problems.filter((p) => p.effect !== 'ignored');
    if (bad.length > 0) throw SnapshotError.of(bad);
  }
  return out;
}

export interface ReadSnapshotOptions {
  /** Only these vendors. Default: every vendor with a folder. */
  readonly vendors?: readonly Vendor[];
  /** Where the files come from. Default: the disk. */
  readonly files?: SnapshotFiles;
  /**
   * Throw a SnapshotError listing every body that cannot be used and every item skipped. Default
   * true; a sync reads its own checked units with false and reports what was skipped.
   */
  readonly strict?: boolean;
  /**
   * Users listed outside these files (a sync reads each user's files as they arrive, after the
   * listing): gives their email to a user folder or role member the files do not list.
   */
  readonly knownUser?: (vendor: Vendor, vendorUserId: string) => VendorUser | undefined;
  /**
   * Privileges a Zoom user holds through roles read outside these files (a sync reads each user's
   * permissions after their roles): they do not become direct grants.
   */
  readonly knownRolePrivileges?: (zoomUserId: string) => Iterable<string>;
}

interface Ctx {
  dir: string;
  out: VendorData;
  fs: SnapshotFiles;
  known: NonNullable<ReadSnapshotOptions['knownUser']>;
  rolePrivileges: NonNullable<ReadSnapshotOptions['knownRolePrivileges']>;
}

async function readZoom(ctx: Ctx): Promise<void> {
  const { dir, out, fs, known } = ctx;
  const root = join(dir, 'zoom');
  const byId = new Map<string, VendorUser>();
  for (const [file, body] of await readPages(ctx, join(root, 'users'), 'zoom.users')) {
    for (const u of body.users) {
      const email = nonEmpty(u.email);
      if (!u.id) {
        out.notices.push(
          `${file}: skipped a Zoom user without an id${email ? ` (${email}, probably pending)` : ''}`,
        );
        continue;
      }
      const user: VendorUser = { vendor: 'zoom', vendorUserId: u.id, ...(email ? { email } : {}) };
      byId.set(u.id, user);
      out.users.push(user);
    }
  }
  // The role listing names the roles; each role's folder holds its privileges and members.
  await readPages(ctx, join(root, 'roles'), 'zoom.roles');
  // Roles: role privileges become the role's grants, members become g links.
  const rolePrivileges = new Map<string, Set<string>>();
  const memberRoles = new Map<string, string[]>();
  for (const roleDir of await subdirs(fs, join(root, 'roles'))) {
    const roleId = decodeIdSegment(roleDir);
    const base = join(root, 'roles', roleDir);
    const rel = relative(dir, join(base, 'role.json'));
    const role = await load(ctx, join(base, 'role.json'), 'zoom.role');
    if (!role) continue;
    if (role.id !== roleId) {
      problem(ctx, rel, 'id', `role id ${role.id} does not match its folder (${roleId})`);
      continue;
    }
    const roleName = nonEmpty(role.name);
    const privileges = (role.privileges ?? []).map((p) => p.trim());
    rolePrivileges.set(roleId, new Set(privileges));
    for (const p of privileges) {
      out.grants.push({
        vendor: 'zoom',
        kind: 'privilege',
        holder: { type: 'role', roleId, ...(roleName ? { roleName } : {}) },
        fields: fields({ privilege: p, roleId, roleName }),
        raw: p,
        source: rel,
      });
    }
    for (const [file, body] of await readPages(ctx, join(base, 'members'), 'zoom.members')) {
      for (const m of body.members) {
        const email = nonEmpty(m.email);
        const user = byId.get(m.id) ??
          known('zoom', m.id) ?? { vendor: 'zoom', vendorUserId: m.id, ...(email ? { email } : {}) };
        out.links.push({
          vendor: 'zoom',
          user,
          roleId,
          ...(roleName ? { roleName } : {}),
          raw: JSON.stringify(m),
          source: file,
        });
        memberRoles.set(m.id, [...(memberRoles.get(m.id) ?? []), roleId]);
      }
    }
  }
  // Per-user effective permissions: only what the user's roles do not already give becomes a direct grant.
  for (const userDir of await subdirs(fs, join(root, 'users'))) {
    const id = decodeIdSegment(userDir);
    const file = join(root, 'users', userDir, 'permissions.json');
    if (!(await fs.exists(file))) continue;
    const rel = relative(dir, file);
    const body = await load(ctx, file, 'zoom.permissions');
    if (!body) continue;
    const user = byId.get(id) ?? known('zoom', id) ?? { vendor: 'zoom' as const, vendorUserId: id };
    const fromRoles = new Set(ctx.rolePrivileges(id));
    for (const r of memberRoles.get(id) ?? []) for (const p of rolePrivileges.get(r) ?? []) fromRoles.add(p);
    for (const raw of body.permissions) {
      const p = raw.trim();
      if (fromRoles.has(p)) continue;
      out.grants.push({
        vendor: 'zoom',
        kind: 'privilege',
        holder: { type: 'user', vendorUserId: id, ...(user.email ? { email: user.email } : {}) },
        fields: fields({ privilege: p }),
        raw: p,
        source: rel,
      });
    }
  }
}

async function readVonage(ctx: Ctx): Promise<void> {
  const { dir, out, fs, known } = ctx;
  const root = join(dir, 'vonage');
  const byId = new Map<string, VendorUser>();
  for (const [, body] of await readPages(ctx, join(root, 'users'), 'vonage.users')) {
    for (const u of body.users) {
      const email = nonEmpty(u.email);
      const user: VendorUser = { vendor: 'vonage', vendorUserId: u.userId, ...(email ? { email } : {}) };
      byId.set(u.userId, user);
      out.users.push(user);
    }
  }
  for (const userDir of await subdirs(fs, join(root, 'users'))) {
    const id = decodeIdSegment(userDir);
    const user = byId.get(id) ?? known('vonage', id) ?? { vendor: 'vonage' as const, vendorUserId: id };
    const holder = { type: 'user' as const, vendorUserId: id, ...(user.email ? { email: user.email } : {}) };
    for (const [file, body] of await readPages(
      ctx,
      join(root, 'users', userDir, 'groups'),
      'vonage.groups',
    )) {
      if (!ownedBy(ctx, file, 'userId', body.userId, id)) continue;
      for (const g of body.groupPermissions) {
        out.grants.push({
          vendor: 'vonage',
          kind: 'group',
          holder,
          fields: fields({
            groupId: g.groupId,
            groupPermission: g.groupPermission,
            groupDisplayId: g.groupDisplayId,
            groupName: g.groupName,
          }),
          raw: JSON.stringify(g),
          source: file,
        });
      }
    }
    const accessFolder = join(root, 'users', userDir, 'accessPermissions');
    for (const [file, body] of await readPages(ctx, accessFolder, 'vonage.access')) {
      if (!ownedBy(ctx, file, 'userId', body.userId, id)) continue;
      for (const a of body.accessPermissions) {
        out.grants.push({
          vendor: 'vonage',
          kind: 'access',
          holder,
          fields: fields({ permissionKey: a.permissionKey, permissionLevel: a.permissionLevel }),
          raw: JSON.stringify(a),
          source: file,
        });
      }
    }
  }
}

async function readTuya(ctx: Ctx): Promise<void> {
  const { dir, out, fs } = ctx;
  const root = join(dir, 'tuya');
  for (const userDir of await subdirs(fs, join(root, 'users'))) {
    const id = decodeIdSegment(userDir);
    const user: VendorUser = { vendor: 'tuya', vendorUserId: id };
    out.users.push(user);
    const folder = join(root, 'users', userDir, 'permissions');
    for (const [file, body] of await readPages(ctx, folder, 'tuya.permissions')) {
      if (!ownedBy(ctx, file, 'result.user_id', body.result.user_id, id)) continue;
      for (const p of body.result.permission_list) {
        out.grants.push({
          vendor: 'tuya',
          kind: 'permission',
          holder: { type: 'user', vendorUserId: id },
          fields: fields({
            permission_id: p.permission_id,
            name: p.name,
            description: p.description,
            type: p.type,
            start_time: p.start_time,
            end_time: p.end_time,
            gmt_create: p.gmt_create,
          }),
          raw: JSON.stringify(p),
          source: file,
        });
      }
    }
  }
}

// ---- small readers -------------------------------------------------------------------------

async function subdirs(fs: SnapshotFiles, p: string): Promise<string[]> {
  if (!(await fs.isDir(p))) return [];
  return (await fs.list(p))
    .filter((e) => e.dir)
    .map((e) => e.name)
    .sort();
}

function problem(ctx: Ctx, file: string, field: string | undefined, message: string): void {
  ctx.out.problems.push({ file, ...(field !== undefined ? { field } : {}), message, effect: 'unusable' });
}

/**
 * One body, parsed and checked (or as a sync already checked it). An unusable body is recorded as a
 * problem and gives undefined; what the checker skipped or ignored in it is recorded too.
 */
async function load<K extends BodyKind>(ctx: Ctx, file: string, kind: K): Promise<BodyTypes[K] | undefined> {
  const rel = relative(ctx.dir, file);
  let checked = ctx.fs.checked?.(file) as CheckedBody<K> | undefined;
  if (!checked) {
    let text: string;
    try {
      text = await ctx.fs.read(file);
    } catch (err) {
      problem(ctx, rel, undefined, `cannot read file (${(err as Error).message})`);
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      problem(ctx, rel, undefined, `not JSON (${(err as Error).message})`);
      return undefined;
    }
    checked = checkBody(kind, value);
  }
  if (!checked.ok) {
    problem(ctx, rel, checked.field, checked.message);
    return undefined;
  }
  for (const i of checked.issues)
    ctx.out.problems.push({
      file: rel,
      field: i.field,
      message: i.message,
      effect: i.effect === 'skipped' ? 'skipped' : 'ignored',
    });
  return checked.body;
}

/** Every page-NNNN.json in a folder, in order, as [relative path, checked body]; unusable pages are left out. */
async function readPages<K extends BodyKind>(
  ctx: Ctx,
  folder: string,
  kind: K,
): Promise<[string, BodyTypes[K]][]> {
  if (!(await ctx.fs.isDir(folder))) return [];
  const names = (await ctx.fs.list(folder))
    .filter((e) => !e.dir && PAGE_FILE.test(e.name))
    .map((e) => e.name)
    .sort();
  const out: [string, BodyTypes[K]][] = [];
  for (const name of names) {
    const file = join(folder, name);
    const body = await load(ctx, file, kind);
    if (body !== undefined) out.push([relative(ctx.dir, file), body]);
  }
  return out;
}

/** Whether a page's own user id (when it has one) is the user of its folder; a mismatch is a problem. */
function ownedBy(ctx: Ctx, file: string, field: string, owner: string | undefined, id: string): boolean {
  if (owner === undefined || owner === id) return true;
  problem(
    ctx,
    file,
    field,
    `is ${JSON.stringify(owner)} but the file is in the folder of user ${JSON.stringify(id)}`,
  );
  return false;
}

const nonEmpty = (s: string | undefined) => (s === undefined || s === '' ? undefined : s);

function fields(o: Record<string, string | undefined>): Readonly<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
