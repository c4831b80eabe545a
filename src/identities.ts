import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { RbacError } from './errors.js';
import { VENDORS, type Vendor, type VendorGrant } from './grants.js';

/** People and their vendor accounts: canonical id → { zoom?: id, vonage?: id, tuya?: uid }. */
export type Identities = ReadonlyMap<string, Readonly<Partial<Record<Vendor, string>>>>;

export class IdentitiesError extends RbacError {
  constructor(message: string) {
    super('IDENTITIES_INVALID', message);
  }
}

/**
 * Loads an identities file. A missing file is an empty set when `optional` is true.
 *
 * @throws IdentitiesError with file:line:column for malformed entries or an account claimed twice.
 */
export async function loadIdentities(
  file: string,
  options: { optional?: boolean } = {},
): Promise<Identities> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (options.optional) return new Map();
    throw new IdentitiesError(`${file}: cannot read identities file (${(err as Error).message})`);
  }
  return parseIdentities(text, file);
}

export function parseIdentities(text: string, file: string): Identities {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, strict: true });
  const at = (offset: number | undefined) => {
    const p = lc.linePos(offset ?? 0);
    return `${file}:${p.line}:${p.col}`;
  };
  if (doc.errors.length)
    throw new IdentitiesError(`${at(doc.errors[0]!.pos[0])}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const out = new Map<string, Partial<Record<Vendor, string>>>();
  const claimed = new Map<string, string>();
  if (doc.contents === null) return out;
  if (!isMap(doc.contents))
    throw new IdentitiesError(`${at(0)}: expected a mapping of person id → { zoom, vonage, tuya }`);
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    const pos = at(isScalar(pair.key) ? pair.key.range?.[0] : 0);
    if (typeof key !== 'string' && typeof key !== 'number')
      throw new IdentitiesError(`${pos}: a person id must be a string`);
    const id = String(key);
    if (id === '' || id === '__proto__') throw new IdentitiesError(`${pos}: "${id}" cannot be a person id`);
    if (!isMap(pair.value))
      throw new IdentitiesError(`${pos}: ${id} must map to { zoom: ..., vonage: ..., tuya: ... }`);
    const accounts: Partial<Record<Vendor, string>> = {};
    for (const p of pair.value.items) {
      const vendor = isScalar(p.key) ? String(p.key.value) : '';
      const vpos = at(isScalar(p.key) ? p.key.range?.[0] : 0);
      if (!(VENDORS as readonly string[]).includes(vendor)) {
        throw new IdentitiesError(`${vpos}: unknown vendor "${vendor}"; use zoom, vonage or tuya`);
      }
      const value = isScalar(p.value) ? p.value.value : undefined;
      if ((typeof value !== 'string' && typeof value !== 'number') || String(value) === '') {
        throw new IdentitiesError(`${vpos}: ${id}.${vendor} must be the vendor's user id (a string)`);
      }
      const account = `${vendor}:${String(value).toLowerCase()}`;
      const prev = claimed.get(account);
      if (prev !== undefined)
        throw new IdentitiesError(`${vpos}: ${vendor} account ${String(value)} is already linked to ${prev}`);
      claimed.set(account, id);
      accounts[vendor as Vendor] = String(value);
    }
    out.set(id, accounts);
  }
  return out;
}

/**
 * The subject of a vendor user: the person the identities file links the account to; else the
 * vendor's email, lowercased; else `<vendor>:<vendorUserId>`.
 */
export function createSubjectResolver(
  identities: Identities,
): (vendor: Vendor, vendorUserId: string, email?: string) => string {
  const byAccount = new Map<string, string>();
  for (const [person, accounts] of identities) {
    for (const v of VENDORS) {
      const a = accounts[v];
      if (a !== undefined) byAccount.set(`${v}:${a.toLowerCase()}`, person);
    }
  }
  return (vendor, vendorUserId, email) =>
    byAccount.get(`${vendor}:${vendorUserId.toLowerCase()}`) ??
    (email ? byAccount.get(`${vendor}:${email.toLowerCase()}`) : undefined) ??
    (email ? email.toLowerCase() : `${vendor}:${vendorUserId}`);
}

/** The subject for a vendor role (Zoom roles become Casbin roles): `role:<vendor>:<roleId>`. */
export const roleSubject = (vendor: Vendor, roleId: string): string => `role:${vendor}:${roleId}`;

/** Subject of any vendor grant holder. */
export function grantSubject(resolve: ReturnType<typeof createSubjectResolver>, g: VendorGrant): string {
  if (g.holder.type === 'role') return roleSubject(g.vendor, g.holder.roleId);
  return g.holder.subject ?? resolve(g.vendor, g.holder.vendorUserId, g.holder.email);
}
