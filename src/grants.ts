import type { SourcePosition } from './errors.js';
import type { Effect } from './policy/types.js';

export type Vendor = 'zoom' | 'vonage' | 'tuya';
export const VENDORS: readonly Vendor[] = ['zoom', 'vonage', 'tuya'];

/** Who holds a vendor grant: a vendor user account, or a vendor role (Zoom roles). */
export type Holder =
  | {
      readonly type: 'user';
      readonly vendorUserId: string;
      readonly email?: string;
      /** The subject, when fixed by the caller (inline test fixtures) rather than resolved. */
      readonly subject?: string;
    }
  | { readonly type: 'role'; readonly roleId: string; readonly roleName?: string };

/**
 * One permission as a vendor reports it, before mapping. `fields` are the vendor item's fields as
 * strings (numbers sent as strings or numbers look the same); `raw` is the item as received.
 */
export interface VendorGrant {
  readonly vendor: Vendor;
  /** zoom: privilege; vonage: group, access; tuya: permission. */
  readonly kind: string;
  readonly holder: Holder;
  readonly fields: Readonly<Record<string, string>>;
  readonly raw: string;
  /** The file (snapshot) or endpoint the grant was read from. */
  readonly source?: string;
}

/** Where a normalized grant came from: the vendor grant and the mapping rule that translated it. */
export interface Provenance {
  readonly vendor: Vendor;
  readonly kind: string;
  /** Vendor user id, or `role:<roleId>` for a role's grant. */
  readonly holder: string;
  readonly raw: string;
  readonly mapping?: SourcePosition;
  readonly source?: string;
}

/** A grant in the product's own terms. Window bounds are epoch ms; absent means open. */
export interface NormalizedGrant {
  readonly subject: string;
  readonly resource: string;
  readonly action: string;
  readonly effect: Effect;
  readonly validFrom?: number;
  readonly validUntil?: number;
  readonly provenance: Provenance;
}
