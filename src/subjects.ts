import { VENDORS, type Vendor, type VendorGrant } from './grants.js';
import type { Identities } from './identities.js';

/**
 * Subjects come in three kinds that no string can belong to at once (README, "Subjects are
 * people"): people (ids from the identities file, which never contain ":"), roles
 * (`role:<vendor>:<roleId>`), and vendor accounts no person is linked to (`email:<email
 * lowercased>`, else `<vendor>:<vendorUserId>`). Only the identities file turns a vendor account
 * into a person, and only by an exact account id (or, for Zoom, an email listed there, compared
 * without case); nothing a vendor reports can name a role or a person on its own.
 */

/** Whether a person id is allowed: not empty and without ":", which every vendor-made subject has. */
export const isPersonId = (id: string): boolean => id !== '' && !id.includes(':');

/** The subject for a vendor role (Zoom roles become Casbin roles): `role:<vendor>:<roleId>`. */
export const roleSubject = (vendor: Vendor, roleId: string): string => `role:${vendor}:${roleId}`;

/** The subject of a vendor account no person is linked to, by its id: `<vendor>:<vendorUserId>` (exact case). */
export const accountSubject = (vendor: Vendor, vendorUserId: string): string => `${vendor}:${vendorUserId}`;

/** The subject of vendor accounts no person is linked to, by their email: `email:<email lowercased>`. */
export const emailSubject = (email: string): string => `email:${email.toLowerCase()}`;

/**
 * Whether an identities-file value for `vendor` names an email rather than an account id: Zoom
 * looks users up by either, and its ids never contain "@".
 */
export const isEmailAccount = (vendor: Vendor, value: string): boolean =>
  vendor === 'zoom' && value.includes('@');

/** Turns vendor accounts into subjects, remembering what it has seen to find collisions. */
export interface SubjectResolver {
  /**
   * Notes an account before subjects are asked for, so that two accounts of one vendor with the
   * same email are found whichever is asked about first.
   */
  see(vendor: Vendor, vendorUserId: string, email?: string): void;
  /**
   * The subject of a vendor account: the person the identities file links it to (by its exact id,
   * or a Zoom account by its email without case); else `email:<email lowercased>`; else
   * `<vendor>:<vendorUserId>`. An email that two accounts of the vendor report, or a link that
   * names two people, is used for neither: the account is then `<vendor>:<vendorUserId>`, and a
   * notice says why.
   */
  subject(vendor: Vendor, vendorUserId: string, email?: string): string;
  /** The notices (collisions) found since the last call, each once. */
  takeNotices(): string[];
}

/**
 * A resolver for one compile, or one sync (which compiles its units as they arrive and sees the
 * account listings first).
 *
 * @example
 * const r = createSubjectResolver(new Map([['alice', { zoom: 'z-alice' }]]));
 * r.subject('zoom', 'z-alice');                // 'alice'
 * r.subject('zoom', 'Z-ALICE');                // 'zoom:Z-ALICE' (ids are exact)
 * r.subject('vonage', 'v1', 'Dave@Example.com'); // 'email:dave@example.com'
 */
export function createSubjectResolver(identities: Identities): SubjectResolver {
  const byAccount = new Map<string, string>();
  const byZoomEmail = new Map<string, string>();
  for (const [person, accounts] of identities) {
    for (const v of VENDORS) {
      const a = accounts[v];
      if (a === undefined) continue;
      if (isEmailAccount(v, a)) byZoomEmail.set(a.toLowerCase(), person);
      else byAccount.set(accountSubject(v, a), person);
    }
  }
  // Per `<vendor>:<email lowercased>`: the first account seen with it, whether a second one was,
  // and the account the email already named (a sync cannot take back what it compiled).
  const owner = new Map<string, string>();
  const contested = new Set<string>();
  const named = new Map<string, string>();
  const notices: string[] = [];
  const reported = new Set<string>();
  const notice = (key: string, text: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    notices.push(text);
  };
  const see = (vendor: Vendor, id: string, email?: string) => {
    if (!email) return;
    const key = `${vendor}:${email.toLowerCase()}`;
    const first = owner.get(key);
    if (first === undefined) owner.set(key, id);
    else if (first !== id && !contested.has(key)) {
      contested.add(key);
      const earlier = named.get(key);
      notice(
        `email ${key}`,
        `${vendor} accounts ${JSON.stringify(first)} and ${JSON.stringify(id)} both have the email ` +
          `${JSON.stringify(email.toLowerCase())}: it links or names neither account (each is ${vendor}:<id> unless its id is linked)` +
          (earlier !== undefined
            ? `; ${JSON.stringify(earlier)} was already named through it earlier in this run`
            : ''),
      );
    }
  };
  return {
    see,
    subject(vendor, id, email) {
      see(vendor, id, email);
      const byId = byAccount.get(accountSubject(vendor, id));
      const lower = email ? email.toLowerCase() : undefined;
      if (lower === undefined || contested.has(`${vendor}:${lower}`))
        return byId ?? accountSubject(vendor, id);
      const byEmail = vendor === 'zoom' ? byZoomEmail.get(lower) : undefined;
      if (byId !== undefined && byEmail !== undefined && byId !== byEmail) {
        notice(
          `link ${vendor}:${id}`,
          `${vendor} account ${JSON.stringify(id)} is linked to ${JSON.stringify(byId)} by its id and ` +
            `to ${JSON.stringify(byEmail)} by its email: it is linked to neither (it is ${accountSubject(vendor, id)})`,
        );
        return accountSubject(vendor, id);
      }
      if (byId !== undefined) return byId;
      named.set(`${vendor}:${lower}`, id);
      return byEmail ?? emailSubject(lower);
    },
    takeNotices: () => notices.splice(0),
  };
}

/** Subject of any vendor grant holder: its role's subject, the caller's fixed subject, or the resolver's. */
export function grantSubject(resolver: SubjectResolver, g: VendorGrant): string {
  if (g.holder.type === 'role') return roleSubject(g.vendor, g.holder.roleId);
  return g.holder.subject ?? resolver.subject(g.vendor, g.holder.vendorUserId, g.holder.email);
}
