import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { SnapshotError } from '../errors.js';
import type { Vendor, VendorGrant } from '../grants.js';
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

export interface VendorData {
  readonly users: VendorUser[];
  readonly grants: VendorGrant[];
  readonly links: VendorRoleLink[];
  /** Things skipped on purpose (e.g. a pending Zoom user without an id). */
  readonly notices: string[];
}

type Json = Record<string, unknown>;

/** Where snapshot files come from: a folder on disk, or responses held in memory during a sync. */
export interface SnapshotFiles {
  isDir(path: string): Promise<boolean>;
  exists(path: string): Promise<boolean>;
  /** Names of the entries of a folder, with whether each is a folder. */
  list(path: string): Promise<{ name: string; dir: boolean }[]>;
  read(path: string): Promise<string>;
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
 * Snapshot files held in memory, keyed by their path in the snapshot layout (`zoom/users/page-0001.json`).
 * Read them with `readSnapshot(MEMORY_ROOT, { files: memoryFiles(map) })`.
 */
export function memoryFiles(files: ReadonlyMap<string, string>): SnapshotFiles {
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
      return v;
    },
  };
}

/**
 * Reads a snapshot folder into vendor users, grants and role links. Vendors whose folder is absent
 * are skipped.
 *
 * @throws SnapshotError when a body is not JSON or not shaped as the vendor documents it (the whole
 * read fails, so a compile never drops someone's rules because one file was bad).
 */
export async function readSnapshot(dir: string, options: ReadSnapshotOptions = {}): Promise<VendorData> {
  const fs = options.files ?? diskFiles;
  if (!(await fs.isDir(dir))) throw new SnapshotError(dir, 'snapshot folder not found');
  const out: VendorData = { users: [], grants: [], links: [], notices: [] };
  const ctx = { dir, out, fs, known: options.knownUser ?? (() => undefined) };
  const want = (v: Vendor) => !options.vendors || options.vendors.includes(v);
  if (want('zoom') && (await fs.isDir(join(dir, 'zoom')))) await readZoom(ctx);
  if (want('vonage') && (await fs.isDir(join(dir, 'vonage')))) await readVonage(ctx);
  if (want('tuya') && (await fs.isDir(join(dir, 'tuya')))) await readTuya(ctx);
  return out;
}

export interface ReadSnapshotOptions {
  /** Only these vendors. Default: every vendor with a folder. */
  readonly vendors?: readonly Vendor[];
  /** Where the files come from. Default: the disk. */
  readonly files?: SnapshotFiles;
  /**
   * Users listed outside these files (a sync reads each user's files as they arrive, after the
   * listing): gives their email to a user folder or role member the files do not list.
   */
  readonly knownUser?: (vendor: Vendor, vendorUserId: string) => VendorUser | undefined;
}

interface Ctx {
  dir: string;
  out: VendorData;
  fs: SnapshotFiles;
  known: NonNullable<ReadSnapshotOptions['knownUser']>;
}

async function readZoom({ dir, out, fs, known }: Ctx): Promise<void> {
  const root = join(dir, 'zoom');
  const byId = new Map<string, VendorUser>();
  for (const [file, body] of await readPages(fs, dir, join(root, 'users'))) {
    for (const u of arrayField(file, body, 'users')) {
      const id = optString(file, u, 'id');
      const email = optString(file, u, 'email');
      if (!id) {
        out.notices.push(
          `${file}: skipped a Zoom user without an id${email ? ` (${email}, probably pending)` : ''}`,
        );
        continue;
      }
      const user: VendorUser = { vendor: 'zoom', vendorUserId: id, ...(email ? { email } : {}) };
      byId.set(id, user);
      out.users.push(user);
    }
  }
  // Roles: role privileges become the role's grants, members become g links.
  const rolePrivileges = new Map<string, Set<string>>();
  const memberRoles = new Map<string, string[]>();
  for (const roleDir of await subdirs(fs, join(root, 'roles'))) {
    const roleId = decodeIdSegment(roleDir);
    const base = join(root, 'roles', roleDir);
    const roleFile = join(base, 'role.json');
    const rel = relative(dir, roleFile);
    const role = (await readJson(fs, dir, roleFile)) as Json;
    const bodyId = optString(rel, role, 'id');
    if (bodyId !== undefined && bodyId !== roleId)
      throw new SnapshotError(rel, `role id ${bodyId} does not match its folder (${roleId})`);
    const roleName = optString(rel, role, 'name');
    const privileges = stringArray(rel, role, 'privileges');
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
    for (const [file, body] of await readPages(fs, dir, join(base, 'members'))) {
      for (const m of arrayField(file, body, 'members')) {
        const id = optString(file, m, 'id');
        const email = optString(file, m, 'email');
        if (!id) throw new SnapshotError(file, 'a role member has no "id"');
        const user = byId.get(id) ??
          known('zoom', id) ?? { vendor: 'zoom', vendorUserId: id, ...(email ? { email } : {}) };
        out.links.push({
          vendor: 'zoom',
          user,
          roleId,
          ...(roleName ? { roleName } : {}),
          raw: JSON.stringify(m),
          source: file,
        });
        memberRoles.set(id, [...(memberRoles.get(id) ?? []), roleId]);
      }
    }
  }
  // Per-user effective permissions: only what the user's roles do not already give becomes a direct grant.
  for (const userDir of await subdirs(fs, join(root, 'users'))) {
    const id = decodeIdSegment(userDir);
    const file = join(root, 'users', userDir, 'permissions.json');
    if (!(await fs.exists(file))) continue;
    const rel = relative(dir, file);
    const body = (await readJson(fs, dir, file)) as Json;
    const user = byId.get(id) ?? known('zoom', id) ?? { vendor: 'zoom' as const, vendorUserId: id };
    const fromRoles = new Set((memberRoles.get(id) ?? []).flatMap((r) => [...(rolePrivileges.get(r) ?? [])]));
    for (const p of stringArray(rel, body, 'permissions')) {
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

async function readVonage({ dir, out, fs, known }: Ctx): Promise<void> {
  const root = join(dir, 'vonage');
  const byId = new Map<string, VendorUser>();
  for (const [file, body] of await readPages(fs, dir, join(root, 'users'))) {
    for (const u of arrayField(file, body, 'users')) {
      const id = reqString(file, u, 'userId');
      const email = optString(file, u, 'email');
      const user: VendorUser = { vendor: 'vonage', vendorUserId: id, ...(email ? { email } : {}) };
      byId.set(id, user);
      out.users.push(user);
    }
  }
  for (const userDir of await subdirs(fs, join(root, 'users'))) {
    const id = decodeIdSegment(userDir);
    const user = byId.get(id) ?? known('vonage', id) ?? { vendor: 'vonage' as const, vendorUserId: id };
    const holder = { type: 'user' as const, vendorUserId: id, ...(user.email ? { email: user.email } : {}) };
    for (const [file, body] of await readPages(fs, dir, join(root, 'users', userDir, 'groups'))) {
      checkUserId(file, body, 'userId', id);
      for (const g of arrayField(file, body, 'groupPermissions')) {
        out.grants.push({
          vendor: 'vonage',
          kind: 'group',
          holder,
          fields: fields({
            groupId: reqString(file, g, 'groupId'),
            groupPermission: reqString(file, g, 'groupPermission'),
            groupDisplayId: optString(file, g, 'groupDisplayId'),
            groupName: optString(file, g, 'groupName'),
          }),
          raw: JSON.stringify(g),
          source: file,
        });
      }
    }
    for (const [file, body] of await readPages(fs, dir, join(root, 'users', userDir, 'accessPermissions'))) {
      checkUserId(file, body, 'userId', id);
      for (const a of arrayField(file, body, 'accessPermissions')) {
        out.grants.push({
          vendor: 'vonage',
          kind: 'access',
          holder,
          fields: fields({
            permissionKey: reqString(file, a, 'permissionKey'),
            permissionLevel: reqString(file, a, 'permissionLevel'),
          }),
          raw: JSON.stringify(a),
          source: file,
        });
      }
    }
  }
}

async function readTuya({ dir, out, fs }: Ctx): Promise<void> {
  const root = join(dir, 'tuya');
  for (const userDir of await subdirs(fs, join(root, 'users'))) {
    const id = decodeIdSegment(userDir);
    const user: VendorUser = { vendor: 'tuya', vendorUserId: id };
    out.users.push(user);
    for (const [file, body] of await readPages(fs, dir, join(root, 'users', userDir, 'permissions'))) {
      if (body['success'] !== true) {
        const code = body['code'] ?? body['error_code'];
        const msg = body['msg'] ?? body['error_msg'];
        throw new SnapshotError(file, `Tuya answered success=false (code ${String(code)}: ${String(msg)})`);
      }
      const result = body['result'];
      if (!isObject(result)) throw new SnapshotError(file, '"result" must be an object');
      checkUserId(file, result, 'user_id', id);
      for (const p of arrayField(file, result, 'permission_list')) {
        out.grants.push({
          vendor: 'tuya',
          kind: 'permission',
          holder: { type: 'user', vendorUserId: id },
          fields: fields({
            permission_id: reqScalar(file, p, 'permission_id'),
            name: optString(file, p, 'name'),
            description: optString(file, p, 'description'),
            type: reqScalar(file, p, 'type'),
            start_time: optScalar(file, p, 'start_time'),
            end_time: optScalar(file, p, 'end_time'),
            gmt_create: optScalar(file, p, 'gmt_create'),
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

async function readJson(fs: SnapshotFiles, dir: string, file: string): Promise<unknown> {
  const rel = relative(dir, file);
  let text: string;
  try {
    text = await fs.read(file);
  } catch (err) {
    throw new SnapshotError(rel, 'cannot read file', { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SnapshotError(rel, `not JSON (${(err as Error).message})`, { cause: err });
  }
}

/** Every page-NNNN.json in a folder, in order, as [relative path, object body]. */
async function readPages(fs: SnapshotFiles, dir: string, folder: string): Promise<[string, Json][]> {
  if (!(await fs.isDir(folder))) return [];
  const names = (await fs.list(folder))
    .filter((e) => !e.dir && PAGE_FILE.test(e.name))
    .map((e) => e.name)
    .sort();
  const out: [string, Json][] = [];
  for (const name of names) {
    const file = join(folder, name);
    const body = await readJson(fs, dir, file);
    const rel = relative(dir, file);
    if (!isObject(body)) throw new SnapshotError(rel, 'the body must be a JSON object');
    out.push([rel, body]);
  }
  return out;
}

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function arrayField(file: string, body: Json, key: string): Json[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SnapshotError(file, `"${key}" must be an array, got ${typeof v}`);
  v.forEach((item, i) => {
    if (!isObject(item)) throw new SnapshotError(file, `"${key}[${i}]" must be an object`);
  });
  return v as Json[];
}

function stringArray(file: string, body: Json, key: string): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new SnapshotError(file, `"${key}" must be an array of strings`);
  return v.map((s, i) => {
    if (typeof s !== 'string')
      throw new SnapshotError(file, `"${key}[${i}]" must be a string, got ${typeof s}`);
    return s.trim();
  });
}

function reqString(file: string, o: Json, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '')
    throw new SnapshotError(file, `"${key}" must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}
function optString(file: string, o: Json, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new SnapshotError(file, `"${key}" must be a string, got ${typeof v}`);
  return v;
}
function reqScalar(file: string, o: Json, key: string): string {
  const v = optScalar(file, o, key);
  if (v === undefined) throw new SnapshotError(file, `"${key}" is required`);
  return v;
}
function optScalar(file: string, o: Json, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return v;
  throw new SnapshotError(file, `"${key}" must be a number or a string, got ${typeof v}`);
}
function checkUserId(file: string, body: Json, key: string, id: string): void {
  const v = body[key];
  if (v !== undefined && v !== null && String(v) !== id) {
    throw new SnapshotError(
      file,
      `"${key}" is ${JSON.stringify(v)} but the file is in the folder of user ${JSON.stringify(id)}`,
    );
  }
}
function fields(o: Record<string, string | undefined>): Readonly<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
