import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as CasbinTypes from 'casbin';
import { parsePolicyCsv } from './csv.js';
import { MODEL_TEXT } from './model.js';
import { linkToCasbin, MODEL_FILE, POLICY_FILE, ruleToCasbin } from './store.js';
import type { Policy } from './types.js';

// casbin's ESM bundle is 1.6-2.8x slower than its CommonJS build (see the performance notes), so
// the CommonJS build is loaded even from ESM.
const require = createRequire(import.meta.url);
let casbinModule: typeof CasbinTypes | undefined;

/** The casbin module (CommonJS build). */
export function casbin(): typeof CasbinTypes {
  casbinModule ??= require('casbin') as typeof CasbinTypes;
  return casbinModule;
}

/**
 * A casbin Adapter that loads a compiled policy by pushing rows straight into the model (no
 * per-line CSV parsing, no duplicate scans), from memory or from a policies folder's policy.csv.
 * It is read-only: policies are written by `rbac-normalizer compile`.
 */
export class PolicyAdapter implements CasbinTypes.Adapter {
  private readonly source: Policy | string;

  /** `source`: a Policy, or the path of a policies folder. */
  constructor(source: Policy | string) {
    this.source = source;
  }

  async loadPolicy(model: CasbinTypes.Model): Promise<void> {
    const policy =
      typeof this.source === 'string'
        ? parsePolicyCsv(
            await readFile(join(this.source, POLICY_FILE), 'utf8'),
            join(this.source, POLICY_FILE),
          )
        : this.source;
    const p = model.model.get('p')?.get('p');
    const g = model.model.get('g')?.get('g');
    if (!p || !g) throw new Error('the casbin model needs p and g definitions');
    for (const r of policy.rules) p.policy.push(ruleToCasbin(r));
    for (const l of policy.links) g.policy.push(linkToCasbin(l));
  }

  async savePolicy(): Promise<boolean> {
    throw new Error('PolicyAdapter is read-only; write policies with rbac-normalizer compile');
  }
  async addPolicy(): Promise<void> {
    throw new Error('PolicyAdapter is read-only');
  }
  async removePolicy(): Promise<void> {
    throw new Error('PolicyAdapter is read-only');
  }
  async removeFilteredPolicy(): Promise<void> {
    throw new Error('PolicyAdapter is read-only');
  }
}

/**
 * A plain casbin Enforcer over a compiled policy and the shipped model (or a policies folder's
 * model.conf). Use it to cross-check decisions: `e.enforceSync(sub, obj, act, nowIso)`.
 */
export async function createCasbinEnforcer(source: Policy | string): Promise<CasbinTypes.Enforcer> {
  const c = casbin();
  const modelText =
    typeof source === 'string'
      ? await readFile(join(source, MODEL_FILE), 'utf8').catch(() => MODEL_TEXT)
      : MODEL_TEXT;
  return c.newEnforcer(c.newModelFromString(modelText), new PolicyAdapter(source));
}
