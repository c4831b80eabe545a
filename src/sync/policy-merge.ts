// The end of a sync without the policy in memory: every fetched rule and link, every row of the
// store's current policy and every provenance line goes through one external sort in policy order;
// reading it back groups all that is known about one rule or link, which is then decided (kept,
// added, removed) and put into the store's change in order, one at a time.

import type { Provenance } from '../grants.js';
import { byLink, byRule } from '../policy/compile.js';
import type { PolicyEntry } from '../policy/csv.js';
import type { PolicyDiff } from '../policy/diff.js';
import type { PolicyStore, StoreChange } from '../policy/policy-store.js';
import type { ProvenanceIndex } from '../policy/store.js';
import {
  linkKey,
  type Policy,
  type PolicyRule,
  parseEntryKey,
  type RoleLink,
  ruleKey,
  ruleOfParts,
} from '../policy/types.js';
import { createExternalSort } from './external-sort.js';

const FETCHED = 0;
const PREVIOUS_ROW = 1;
const PREVIOUS_PROVENANCE = 2;

interface PolicyRecord {
  /** FETCHED now, a PREVIOUS_ROW of policy.csv, or a PREVIOUS_PROVENANCE line. */
  readonly src: number;
  /** The vendor whose fetch gave a FETCHED record ('' otherwise). */
  readonly vendor: string;
  readonly entry: PolicyEntry;
  readonly from: readonly Provenance[];
}

/** What happens to one rule or link. */
export interface MergedEntry {
  readonly entry: PolicyEntry;
  /** Its provenance in the new policy (empty when removed). */
  readonly from: readonly Provenance[];
  /** same: in the previous and the new policy; added: only in the new one; removed: only in the previous one. */
  readonly change: 'same' | 'added' | 'removed';
  /** For a `same` entry: whether its provenance differs from the stored one. */
  readonly provenanceChanged?: boolean;
}

/** Which previous rules and provenance stay (decided once every vendor's fetch has ended). */
export interface CarryOverRules {
  /** Vendors whose fetch succeeded: their fetched records are used (a failed vendor's are dropped). */
  readonly fetchedVendors: ReadonlySet<string>;
  /** Whether a previous vendor grant behind a rule stays (its holder was not fetched again). */
  readonly keep: (p: Provenance) => boolean;
  /** Zoom roles whose fetch failed: a link to one stays whole (its members were not read). */
  readonly failedRoles: ReadonlySet<string>;
  /** Told every previous vendor grant (for finding the holders of a vendor that failed). */
  readonly seen?: (p: Provenance) => void;
}

export interface PolicySpill {
  /** Adds a compiled unit (a user, a role, a listing) fetched from `vendor`. */
  addFetched(vendor: string, unit: { policy: Policy; provenance: ProvenanceIndex }): Promise<void>;
  /**
   * Adds the previous policy and provenance from a policies folder (absent files: nothing).
   *
   * @throws PolicyError when either file exists but cannot be read.
   */
  addPrevious(store: PolicyStore): Promise<void>;
  /** Every rule and link of the union, in policy order (rules, then links), decided. Call once. */
  merge(rules: CarryOverRules): AsyncGenerator<MergedEntry>;
}

/** @param dir an existing empty folder for the sort's run files (the caller removes it). */
export function createPolicySpill(dir: string, options: { runItems?: number } = {}): PolicySpill {
  const sort = createExternalSort<PolicyRecord>({
    dir,
    compare: compareRecords,
    encode,
    decode,
    ...(options.runItems ? { runItems: options.runItems } : {}),
  });
  return {
    async addFetched(vendor, { policy, provenance }) {
      for (const rule of policy.rules)
        await sort.add({ src: FETCHED, vendor, entry: { rule }, from: provenance.get(ruleKey(rule)) ?? [] });
      for (const link of policy.links)
        await sort.add({ src: FETCHED, vendor, entry: { link }, from: provenance.get(linkKey(link)) ?? [] });
    },
    async addPrevious(store) {
      await store.scan({
        entry: (entry) => sort.add({ src: PREVIOUS_ROW, vendor: '', entry, from: [] }),
        provenance: async (k, from) => {
          const entry = parseEntryKey(k);
          if (entry && from.length > 0) await sort.add({ src: PREVIOUS_PROVENANCE, vendor: '', entry, from });
        },
      });
    },
    async *merge(rules) {
      let group: PolicyRecord[] = [];
      for await (const rec of sort.sorted()) {
        if (group.length > 0 && compareRecords(group[0]!, rec) !== 0) {
          const m = decide(group, rules);
          if (m) yield m;
          group = [];
        }
        group.push(rec);
      }
      if (group.length > 0) {
        const m = decide(group, rules);
        if (m) yield m;
      }
    },
  };
}

/**
 * One rule or link: in the new policy when a vendor that succeeded fetched it, or when it was in
 * the previous policy and either no vendor grant is behind it (not sync's to remove) or one that
 * stays is; its provenance is the fetched grants, then the previous ones that stay.
 */
function decide(group: readonly PolicyRecord[], rules: CarryOverRules): MergedEntry | undefined {
  const entry = group[0]!.entry;
  let fetched = false;
  let before = false;
  const fresh: Provenance[] = [];
  const previous: Provenance[] = [];
  for (const rec of group) {
    if (rec.src === FETCHED) {
      if (!rules.fetchedVendors.has(rec.vendor)) continue;
      fetched = true;
      addAll(fresh, rec.from);
    } else if (rec.src === PREVIOUS_ROW) before = true;
    else {
      for (const p of rec.from) rules.seen?.(p);
      previous.push(...rec.from);
    }
  }
  let stays: readonly Provenance[] = [];
  let kept = false;
  if (before) {
    const wholeLink = 'link' in entry && rules.failedRoles.has(entry.link.role);
    stays = previous.length === 0 || wholeLink ? previous : previous.filter(rules.keep);
    kept = previous.length === 0 || stays.length > 0;
  }
  if (!fetched && !kept) return before ? { entry, from: [], change: 'removed' } : undefined;
  addAll(fresh, stays);
  if (!before) return { entry, from: fresh, change: 'added' };
  return { entry, from: fresh, change: 'same', provenanceChanged: !sameProvenance(previous, fresh) };
}

function sameProvenance(a: readonly Provenance[], b: readonly Provenance[]): boolean {
  if (a.length !== b.length) return false;
  const text = (x: readonly Provenance[]) => x.map((p) => JSON.stringify(p)).sort();
  const [x, y] = [text(a), text(b)];
  return x.every((v, i) => v === y[i]);
}

/** Appends provenance not already in `into` (same vendor, holder and raw value). */
function addAll(into: Provenance[], from: readonly Provenance[]): void {
  for (const p of from)
    if (!into.some((x) => x.raw === p.raw && x.holder === p.holder && x.vendor === p.vendor)) into.push(p);
}

function compareRecords(a: PolicyRecord, b: PolicyRecord): number {
  const x = a.entry;
  const y = b.entry;
  if ('rule' in x) return 'rule' in y ? byRule(x.rule, y.rule) : -1;
  return 'rule' in y ? 1 : byLink(x.link, y.link);
}

// One JSON array per record; an unbounded from/until is null (JSON has no Infinity).
function encode(r: PolicyRecord): string {
  const e = r.entry;
  return 'rule' in e
    ? JSON.stringify([
        r.src,
        r.vendor,
        e.rule.sub,
        e.rule.obj,
        e.rule.act,
        e.rule.eft,
        e.rule.from,
        e.rule.until,
        r.from,
      ])
    : JSON.stringify([r.src, r.vendor, e.link.member, e.link.role, r.from]);
}

function decode(line: string): PolicyRecord {
  const a = JSON.parse(line) as unknown[];
  if (a.length === 9) {
    const [src, vendor, sub, obj, act, eft, from, until, prov] = a as [
      number,
      string,
      string,
      string,
      string,
      'allow' | 'deny',
      number | null,
      number | null,
      Provenance[],
    ];
    return { src, vendor, entry: { rule: ruleOfParts(sub, obj, act, eft, from, until) }, from: prov };
  }
  const [src, vendor, member, role, prov] = a as [number, string, string, string, Provenance[]];
  return { src, vendor, entry: { link: { member, role } }, from: prov };
}

/** Exact counts of a sync's changes. */
export interface PolicyChangeCounts {
  readonly addRules: number;
  readonly removeRules: number;
  readonly addLinks: number;
  readonly removeLinks: number;
}

export interface MergeOutput {
  /** The changes, at most `diffLimit` of each kind. */
  readonly diff: PolicyDiff;
  readonly changes: PolicyChangeCounts;
  readonly rules: number;
  readonly links: number;
  /** The whole new policy, when asked for (`keep`). */
  readonly policy?: { policy: Policy; provenance: ProvenanceIndex };
}

/**
 * Consumes merged entries: counts the changes, keeps up to `diffLimit` of each kind, puts every
 * entry (removed ones included) into `change` when given (the store's change, which the caller
 * commits or aborts), and with `keep` also holds the whole new policy (for a live authorizer).
 */
export async function finishMerge(
  entries: AsyncIterable<MergedEntry>,
  options: { change?: StoreChange; keep?: boolean; diffLimit: number },
): Promise<MergeOutput> {
  const diff = {
    addRules: [] as PolicyRule[],
    removeRules: [] as PolicyRule[],
    addLinks: [] as RoleLink[],
    removeLinks: [] as RoleLink[],
  };
  const changes = { addRules: 0, removeRules: 0, addLinks: 0, removeLinks: 0 };
  const kept = options.keep
    ? {
        rules: [] as PolicyRule[],
        links: [] as RoleLink[],
        provenance: new Map<string, readonly Provenance[]>(),
      }
    : undefined;
  let rules = 0;
  let links = 0;
  for await (const { entry, from, change, provenanceChanged } of entries) {
    await options.change?.put(entry, from, change, provenanceChanged ?? change === 'added');
    if (change !== 'same') {
      const kind = `${change === 'added' ? 'add' : 'remove'}${'rule' in entry ? 'Rules' : 'Links'}` as const;
      if (changes[kind]++ < options.diffLimit) {
        if ('rule' in entry) (diff[kind] as PolicyRule[]).push(entry.rule);
        else (diff[kind] as RoleLink[]).push(entry.link);
      }
      if (change === 'removed') continue;
    }
    if ('rule' in entry) {
      rules++;
      kept?.rules.push(entry.rule);
    } else {
      links++;
      kept?.links.push(entry.link);
    }
    if (kept && from.length > 0)
      kept.provenance.set('rule' in entry ? ruleKey(entry.rule) : linkKey(entry.link), from);
  }
  return {
    diff,
    changes,
    rules,
    links,
    ...(kept
      ? { policy: { policy: { rules: kept.rules, links: kept.links }, provenance: kept.provenance } }
      : {}),
  };
}
