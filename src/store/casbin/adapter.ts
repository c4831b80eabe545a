// A casbin Adapter over the store's tables, for applications that use casbin's Enforcer directly.
// Every write is one store commit (one transaction, the next version, a change-log entry), so
// followers and casbin watchers on other instances see it as a delta.
import type { BatchAdapter, FilteredAdapter, Model, UpdatableAdapter } from 'casbin';
import { ConfigError, StoreError } from '../../errors.js';
import { linkKey, type PolicyRule, type RoleLink, ruleKey } from '../../policy/types.js';
import type { PostgresStore } from '../postgres/store.js';
import type { CommitResult, StoreChange } from '../types.js';
import {
  type Kind,
  kindOf,
  linkFromCasbin,
  linkMatchFromCasbin,
  linkToCasbin,
  ruleFromCasbin,
  ruleMatchFromCasbin,
  ruleToCasbin,
} from './rows.js';

/** casbin's filter shape: field values per type from the first field, '' = any; an absent type loads all. */
export interface CasbinFilter {
  readonly p?: readonly string[];
  readonly g?: readonly string[];
}

export interface CasbinAdapterOptions {
  /** The store (createPostgresStore) whose tables hold the policy. */
  readonly store: PostgresStore;
}

export interface PostgresCasbinAdapter extends BatchAdapter, UpdatableAdapter, FilteredAdapter {
  /** The store version the last loadPolicy/loadFilteredPolicy read (-1 before any). */
  loadedVersion(): number;
  /** Called after each commit this adapter makes (the casbin watcher uses it). Returns an unsubscribe. */
  onCommit(listener: (result: CommitResult) => void): () => void;
  readonly store: PostgresStore;
}

/**
 * A casbin BatchAdapter, UpdatableAdapter and FilteredAdapter on the PostgreSQL store. Rules keep
 * every field in its own column (an empty `from` stays an open start), removePolicy removes
 * exactly the one rule given, and each call (a whole batch included) is one transaction.
 *
 * @throws ConfigError when `store` is missing. Calls reject with StoreError.
 * @example
 * const e = await newEnforcer(newModelFromString(MODEL_TEXT), createCasbinAdapter({ store }));
 */
export function createCasbinAdapter(options: CasbinAdapterOptions): PostgresCasbinAdapter {
  const store = options?.store;
  if (typeof store?.commit !== 'function' || typeof store.loadPolicy !== 'function')
    throw new ConfigError('store', 'must be a store from createPostgresStore');
  let loaded = -1;
  let filtered = false;
  const listeners = new Set<(r: CommitResult) => void>();

  const commit = async (change: StoreChange, baseVersion?: number) => {
    const r = await store.commit(change, baseVersion === undefined ? {} : { baseVersion });
    for (const l of listeners) l(r);
    return r;
  };
  const rulesOf = (rows: readonly string[][], op: string) => rows.map((r) => ruleFromCasbin(r, op));
  const linksOf = (rows: readonly string[][], op: string) => rows.map((r) => linkFromCasbin(r, op));
  const adds = (kind: Kind, rows: readonly string[][], op: string): StoreChange =>
    kind === 'rule' ? { addRules: rulesOf(rows, op) } : { addLinks: linksOf(rows, op) };
  const removes = (kind: Kind, rows: readonly string[][], op: string): StoreChange =>
    kind === 'rule' ? { removeRules: rulesOf(rows, op) } : { removeLinks: linksOf(rows, op) };

  /** Pushes rows straight into the model's assertions (no CSV parsing, fields exactly as stored). */
  const fill = (model: Model, rules: readonly PolicyRule[], links: readonly RoleLink[]) => {
    const p = model.model.get('p')?.get('p');
    const g = model.model.get('g')?.get('g');
    if (!p || !g)
      throw new StoreError({
        failure: 'invalid',
        operation: 'load',
        message: 'the casbin model needs p and g definitions',
      });
    for (const r of rules) p.policy.push(ruleToCasbin(r));
    for (const l of links) g.policy.push(linkToCasbin(l));
  };

  return {
    store,
    loadedVersion: () => loaded,
    onCommit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async loadPolicy(model) {
      const { policy, version } = await store.loadPolicy();
      fill(model, policy.rules, policy.links);
      loaded = version;
      filtered = false;
    },

    async loadFilteredPolicy(model, filter: CasbinFilter | undefined) {
      const f = filter ?? {};
      const { policy, version } = await store.loadPolicy({
        rules: f.p === undefined ? {} : ruleMatchFromCasbin(0, f.p, 'loadFilteredPolicy'),
        links: f.g === undefined ? {} : linkMatchFromCasbin(0, f.g, 'loadFilteredPolicy'),
      });
      fill(model, policy.rules, policy.links);
      loaded = version;
      filtered = true;
    },

    isFiltered: () => filtered,

    /** Makes the store hold exactly the model's p and g rows, as one commit based on the version read. */
    async savePolicy(model) {
      const rules = rulesOf(model.model.get('p')?.get('p')?.policy ?? [], 'savePolicy');
      const links = linksOf(model.model.get('g')?.get('g')?.policy ?? [], 'savePolicy');
      const { policy, version } = await store.loadPolicy();
      const want = new Set([...rules.map(ruleKey), ...links.map(linkKey)]);
      const have = new Set([...policy.rules.map(ruleKey), ...policy.links.map(linkKey)]);
      await commit(
        {
          addRules: rules.filter((r) => !have.has(ruleKey(r))),
          addLinks: links.filter((l) => !have.has(linkKey(l))),
          removeRules: policy.rules.filter((r) => !want.has(ruleKey(r))),
          removeLinks: policy.links.filter((l) => !want.has(linkKey(l))),
        },
        version,
      );
      return true;
    },

    async addPolicy(sec, ptype, rule) {
      await commit(adds(kindOf(sec, ptype, 'addPolicy'), [rule], 'addPolicy'));
    },
    async addPolicies(sec, ptype, rules) {
      await commit(adds(kindOf(sec, ptype, 'addPolicies'), rules, 'addPolicies'));
    },
    async removePolicy(sec, ptype, rule) {
      await commit(removes(kindOf(sec, ptype, 'removePolicy'), [rule], 'removePolicy'));
    },
    async removePolicies(sec, ptype, rules) {
      await commit(removes(kindOf(sec, ptype, 'removePolicies'), rules, 'removePolicies'));
    },
    async removeFilteredPolicy(sec, ptype, fieldIndex, ...fieldValues) {
      const op = 'removeFilteredPolicy';
      await commit(
        kindOf(sec, ptype, op) === 'rule'
          ? { removeRulesMatching: [ruleMatchFromCasbin(fieldIndex, fieldValues, op)] }
          : { removeLinksMatching: [linkMatchFromCasbin(fieldIndex, fieldValues, op)] },
      );
    },
    async updatePolicy(sec, ptype, oldRule, newRule) {
      const kind = kindOf(sec, ptype, 'updatePolicy');
      await commit({ ...removes(kind, [oldRule], 'updatePolicy'), ...adds(kind, [newRule], 'updatePolicy') });
    },
  };
}
