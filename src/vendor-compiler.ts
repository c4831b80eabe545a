// Vendor data → mappings → normalized grants → a Casbin policy (the compile stage; policy/compile.ts
// turns the normalized grants and links into rules).
import type { Provenance, Vendor } from './grants.js';
import type { Identities } from './identities.js';
import type { MappingSet } from './mapping/load.js';
import {
  type SkippedGrant,
  type TranslateOptions,
  type TranslateResult,
  translate,
  type UnmatchedValue,
} from './mapping/translate.js';
import { compilePolicy, type LinkInput } from './policy/compile.js';
import type { ProvenanceIndex } from './policy/store.js';
import type { Policy } from './policy/types.js';
import { readSnapshot, type VendorData } from './snapshot/read.js';
import { createSubjectResolver, grantSubject, roleSubject } from './subjects.js';

export interface CompileResult {
  readonly policy: Policy;
  readonly provenance: ProvenanceIndex;
  readonly unmatched: readonly UnmatchedValue[];
  readonly skipped: readonly SkippedGrant[];
  /** Things skipped on purpose, and subject collisions (accounts sharing an email, a link naming two people). */
  readonly notices: readonly string[];
  readonly ruleHits: TranslateResult['ruleHits'];
  readonly shadowHits: TranslateResult['shadowHits'];
  readonly counts: {
    readonly users: number;
    readonly vendorGrants: number;
    readonly rules: number;
    readonly links: number;
  };
}

/**
 * Vendor data → mappings → normalized grants → Casbin policy. Pure: no I/O.
 *
 * @throws UnmatchedValueError when a mapping says `unmatched: error` and a value matched nothing.
 */
export function compileVendorData(
  data: VendorData,
  mappings: MappingSet,
  identities: Identities,
  options: TranslateOptions = {},
): CompileResult {
  return createVendorCompiler(mappings, identities, options)(data);
}

/**
 * compileVendorData with the identities indexed once, for compiling many small pieces (a sync
 * compiles each user as it arrives).
 */
export function createVendorCompiler(
  mappings: MappingSet,
  identities: Identities,
  options: TranslateOptions = {},
): (data: VendorData) => CompileResult {
  // One resolver for every piece: accounts seen in one (a sync's listing comes first) are known
  // when the next is compiled, so two accounts with one email are caught across pieces.
  const resolver = createSubjectResolver(identities);
  return (data) => {
    for (const u of data.users) resolver.see(u.vendor, u.vendorUserId, u.email);
    for (const l of data.links) resolver.see(l.vendor, l.user.vendorUserId, l.user.email);
    for (const g of data.grants)
      if (g.holder.type === 'user' && g.holder.subject === undefined)
        resolver.see(g.vendor, g.holder.vendorUserId, g.holder.email);
    const t = translate(data.grants, mappings, (g) => grantSubject(resolver, g), options);
    const links: LinkInput[] = data.links.map((l) => {
      const provenance: Provenance = {
        vendor: l.vendor as Vendor,
        kind: 'role-member',
        holder: l.user.vendorUserId,
        raw: l.raw,
        source: l.source,
      };
      return {
        member: resolver.subject(l.vendor, l.user.vendorUserId, l.user.email),
        role: roleSubject(l.vendor, l.roleId),
        provenance,
      };
    });
    const { policy, provenance } = compilePolicy(t.grants, links);
    return {
      policy,
      provenance,
      unmatched: t.unmatched,
      skipped: t.skipped,
      notices: [
        ...data.notices,
        ...resolver.takeNotices(),
        ...t.repaired.map(
          (r) =>
            `${r.vendor} ${r.raw} (held by ${r.holder}): lone UTF-16 surrogates in ${r.parts.join(', ')} replaced with U+FFFD`,
        ),
      ],
      ruleHits: t.ruleHits,
      shadowHits: t.shadowHits,
      counts: {
        users: data.users.length,
        vendorGrants: data.grants.length,
        rules: policy.rules.length,
        links: policy.links.length,
      },
    };
  };
}

/** Reads a snapshot folder and compiles it (compileVendorData over readSnapshot). Writes nothing. */
export async function compileSnapshot(
  dir: string,
  mappings: MappingSet,
  identities: Identities,
): Promise<CompileResult> {
  return compileVendorData(await readSnapshot(dir), mappings, identities);
}
