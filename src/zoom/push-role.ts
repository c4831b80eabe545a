// Zoom role write-back: a desired set of normalized permissions → Zoom privilege strings through
// the same mapping in reverse → the difference against the role's privileges → PATCH /roles/{roleId}.
import type { ZoomAdapter } from '../adapters/zoom.js';
import type { VendorGrant } from '../grants.js';
import type { MappingSet } from '../mapping/load.js';
import { translate } from '../mapping/translate.js';
import { ZOOM_PRIVILEGES } from '../mapping/zoom-catalogue.js';

export interface Permission {
  readonly resource: string;
  readonly action: string;
}

export interface Reversed {
  /** Privileges that give exactly the desired permissions (each maps to one of them directly). */
  readonly privileges: readonly string[];
  /** Desired permissions that no known Zoom privilege maps to: reported, never dropped. */
  readonly unmapped: readonly Permission[];
}

const pairKey = (p: Permission) => JSON.stringify([p.resource, p.action]);

/**
 * What each candidate privilege grants *directly* under the mapping (its own action, without the
 * action ladder: `edit` implying `read` is the mapping's reading, not something to write back).
 */
export function forwardDirect(
  privileges: readonly string[],
  mappings: MappingSet,
): Map<string, Permission[]> {
  const zoom = mappings.get('zoom');
  const direct = new Map(mappings);
  if (zoom) direct.set('zoom', { ...zoom, implied: new Map(), unmatched: 'warn' });
  const out = new Map<string, Permission[]>();
  for (const privilege of privileges) {
    const grant: VendorGrant = {
      vendor: 'zoom',
      kind: 'privilege',
      holder: { type: 'role', roleId: 'write-back' },
      fields: { privilege },
      raw: privilege,
    };
    const t = translate([grant], direct, () => 'role:write-back');
    out.set(
      privilege,
      t.grants.filter((g) => g.effect === 'allow').map((g) => ({ resource: g.resource, action: g.action })),
    );
  }
  return out;
}

/**
 * Maps normalized permissions back to Zoom privileges. Candidates are the role's current privileges
 * (preferred, to keep its spelling) and Zoom's published catalogue.
 */
export function reverseZoom(
  desired: readonly Permission[],
  mappings: MappingSet,
  current: readonly string[] = [],
): Reversed {
  const candidates = [...new Set([...current, ...ZOOM_PRIVILEGES])];
  const images = forwardDirect(candidates, mappings);
  const byPair = new Map<string, string>();
  for (const c of candidates) {
    for (const p of images.get(c) ?? []) if (!byPair.has(pairKey(p))) byPair.set(pairKey(p), c);
  }
  const privileges = new Set<string>();
  const unmapped: Permission[] = [];
  for (const d of desired) {
    const p = byPair.get(pairKey(d));
    if (p === undefined) unmapped.push(d);
    else privileges.add(p);
  }
  return { privileges: [...privileges].sort(), unmapped };
}

export interface PushPlan {
  readonly roleId: string;
  readonly roleName: string | undefined;
  readonly current: readonly string[];
  readonly next: readonly string[];
  readonly add: readonly string[];
  readonly remove: readonly string[];
  readonly unmapped: readonly Permission[];
  readonly applied: boolean;
}

/**
 * Plans (and unless dry-run or something is unmapped, applies) a role's new privileges.
 *
 * @throws VendorError with Zoom's documented reasons (paid account required, role cannot be
 * updated, role not found, missing scope).
 */
export async function pushRole(
  adapter: Pick<ZoomAdapter, 'getRole' | 'setRolePrivileges'>,
  roleId: string,
  desired: readonly Permission[],
  mappings: MappingSet,
  options: { dryRun?: boolean } = {},
): Promise<PushPlan> {
  const role = await adapter.getRole(roleId);
  const current = [...(role.privileges ?? [])].sort();
  const { privileges, unmapped } = reverseZoom(desired, mappings, current);
  const add = privileges.filter((p) => !current.includes(p));
  const remove = current.filter((p) => !privileges.includes(p));
  const apply = !options.dryRun && unmapped.length === 0 && (add.length > 0 || remove.length > 0);
  if (apply) await adapter.setRolePrivileges(roleId, privileges);
  return { roleId, roleName: role.name, current, next: privileges, add, remove, unmapped, applied: apply };
}
