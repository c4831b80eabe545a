// Which vendor accounts a refresh of some people (or named accounts) fetches.
import { ConfigError } from '../errors.js';
import { VENDORS, type Vendor } from '../grants.js';
import type { Identities } from '../identities.js';

/**
 * The vendor accounts of the people or `vendor:id` accounts asked for.
 *
 * @throws ConfigError (key "users") naming one that is neither.
 */
export function accountsOf(users: readonly string[], identities: Identities): Map<Vendor, string[]> {
  const out = new Map<Vendor, string[]>();
  const add = (vendor: Vendor, id: string) => {
    const list = out.get(vendor) ?? [];
    if (!list.includes(id)) list.push(id);
    out.set(vendor, list);
  };
  for (const u of users) {
    const person = identities.get(u);
    const account = /^(zoom|vonage|tuya):(.+)$/s.exec(u);
    if (person) {
      for (const v of VENDORS) {
        const id = person[v];
        if (id !== undefined) add(v, id);
      }
    } else if (account) add(account[1] as Vendor, account[2] as string);
    else
      throw new ConfigError(
        'users',
        `${JSON.stringify(u)} is not a person in the identities file; name an account as zoom:<id or email>, vonage:<userId> or tuya:<uid>`,
      );
  }
  return out;
}
