// Each fetched unit (a listing, a user, a role) as it arrives: recorded, read (its bodies were
// checked by the adapter, so nothing is parsed or checked again), compiled and handed to the
// external sort at once, so neither the raw responses nor the compiled policy of a large account are
// held whole. What a unit said (skipped grants, ignored fields, notices) is kept per vendor.
import type { FetchedUnit } from '../adapters/types.js';
import type { Vendor } from '../grants.js';
import type { Identities } from '../identities.js';
import type { MappingSet } from '../mapping/load.js';
import { holderKey } from '../policy/sync-state.js';
import {
  MEMORY_ROOT,
  memoryFiles,
  readSnapshot,
  type SnapshotProblem,
  type VendorData,
  type VendorUser,
} from '../snapshot/read.js';
import { createVendorCompiler } from '../vendor-compiler.js';
import type { PolicySpill } from './policy-merge.js';
import type { Recorder } from './record.js';

/** The most problems and notices kept per vendor (all are counted). */
const KEPT = 100;

export interface UnitIntake {
  readonly onUnit: (unit: FetchedUnit) => Promise<void>;
  /** Every account (and Zoom role) a vendor's units named, as holder keys. */
  holdersOf(vendor: Vendor): ReadonlySet<string>;
  /** What a vendor's units said: problems (at most 100, all counted) and notices (at most 100). */
  report(vendor: Vendor): { problems: SnapshotProblem[]; problemCount: number; notices: string[] };
  /** Drops what only the fetch needed. */
  clear(): void;
}

export function createUnitIntake(options: {
  mappings: MappingSet;
  identities: Identities;
  spill: PolicySpill;
  recorder?: Recorder | undefined;
}): UnitIntake {
  const compileUnit = createVendorCompiler(options.mappings, options.identities);
  const holders = new Map<Vendor, Set<string>>();
  const listed = new Map<string, VendorUser>();
  const problems = new Map<Vendor, { list: SnapshotProblem[]; count: number }>();
  const notices = new Map<Vendor, string[]>();
  // Zoom: what each user's roles give, so their own permissions (fetched after the roles) only
  // become direct grants for the rest.
  const zoomRolePrivileges = new Map<string, Set<string>>();
  const zoomMemberRoles = new Map<string, string[]>();

  const onUnit = async (unit: FetchedUnit) => {
    if (options.recorder) await options.recorder.write(unit.files);
    const data = await readSnapshot(MEMORY_ROOT, {
      files: memoryFiles(unit.files),
      strict: false,
      knownUser: (vendor, id) => listed.get(holderKey(vendor, id)),
      knownRolePrivileges: (id) =>
        (zoomMemberRoles.get(id) ?? []).flatMap((r) => [...(zoomRolePrivileges.get(r) ?? [])]),
    });
    if (data.problems.length > 0) {
      const p = problems.get(unit.vendor) ?? { list: [], count: 0 };
      problems.set(unit.vendor, p);
      p.count += data.problems.length;
      p.list.push(...data.problems.slice(0, Math.max(0, KEPT - p.list.length)));
    }
    if (unit.vendor === 'zoom' && unit.kind === 'role') {
      for (const g of data.grants) {
        if (g.holder.type !== 'role') continue;
        const set = zoomRolePrivileges.get(g.holder.roleId) ?? new Set<string>();
        zoomRolePrivileges.set(g.holder.roleId, set.add(g.raw));
      }
      for (const l of data.links)
        zoomMemberRoles.set(l.user.vendorUserId, [
          ...(zoomMemberRoles.get(l.user.vendorUserId) ?? []),
          l.roleId,
        ]);
    }
    const into = holders.get(unit.vendor) ?? new Set<string>();
    holders.set(unit.vendor, into);
    for (const u of data.users) {
      const key = holderKey(u.vendor, u.vendorUserId); // one string per account, in both
      listed.set(key, u);
      into.add(key);
    }
    for (const key of grantHolderKeys(data)) into.add(key);
    const compiled = compileUnit(data);
    const said = [
      ...compiled.notices,
      ...compiled.unmatched.map((u) => `no mapping rule for ${u.kind} ${u.raw} (held by ${u.holder})`),
      ...compiled.skipped.map((g) => `skipped ${g.raw} (held by ${g.holder}, rule ${g.rule}): ${g.reason}`),
    ];
    if (said.length > 0) {
      const list = notices.get(unit.vendor) ?? [];
      notices.set(unit.vendor, list);
      list.push(...said.slice(0, Math.max(0, KEPT - list.length)));
    }
    await options.spill.addFetched(unit.vendor, compiled);
  };

  return {
    onUnit,
    holdersOf: (vendor) => holders.get(vendor) ?? new Set(),
    report: (vendor) => ({
      problems: problems.get(vendor)?.list ?? [],
      problemCount: problems.get(vendor)?.count ?? 0,
      notices: notices.get(vendor) ?? [],
    }),
    clear() {
      holders.clear();
      listed.clear();
      zoomRolePrivileges.clear();
      zoomMemberRoles.clear();
    },
  };
}

/** Holder keys (for lastSuccess) of the grants and Zoom role links of a unit (its users are added with their listing). */
function* grantHolderKeys(data: VendorData): Iterable<string> {
  for (const g of data.grants)
    yield holderKey(g.vendor, g.holder.type === 'user' ? g.holder.vendorUserId : `role:${g.holder.roleId}`);
  for (const l of data.links) yield holderKey(l.vendor, `role:${l.roleId}`);
}
