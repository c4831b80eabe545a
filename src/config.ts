import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isScalar, LineCounter, type Node, parseDocument } from 'yaml';
import { ConfigError, type SourcePosition } from './errors.js';
import { VENDORS } from './grants.js';
import { PACKAGE_MAPPINGS } from './mapping/load.js';
import { suggest } from './mapping/yaml-source.js';
import { vendorSettingKeys } from './sync/settings.js';

/** Resolved configuration: absolute paths of what the CLI and createAuthorizer load. */
export interface Config {
  /** The config file read, or undefined when the default was absent. */
  readonly file: string | undefined;
  /** Policies folder (policy.csv, provenance.jsonl, model.conf). */
  readonly policies: string;
  /** Mapping folder or file. */
  readonly mappings: string;
  /** Identities file (optional: absent means none). */
  readonly identities: string;
  /** True when the config names an identities file (then it must exist); the default one is optional. */
  readonly identitiesRequired: boolean;
  /** Snapshot folder `compile` reads when --snapshot is not given. */
  readonly snapshot: string | undefined;
  /** Vendor connection settings (used by sync). */
  readonly vendors: Readonly<Record<string, unknown>>;
  /** A PostgreSQL URL (`postgres://...`, or `${DATABASE_URL}`): the shared policy store. Default: none (the policies folder). */
  readonly store: string | undefined;
  /** With `store`: `notify` (PostgreSQL LISTEN/NOTIFY) or a `redis://` URL. Default: none (the poll only). */
  readonly propagation: string | undefined;
  /** With `store`: how often an instance confirms with the store without a message, ms. */
  readonly pollMs: number | undefined;
  /** With `store`: decisions fail closed once an instance has not confirmed it is current for this long, ms. */
  readonly maxStaleness: number | undefined;
}

export const DEFAULT_CONFIG_FILE = 'rbac.config.yaml';
const KEYS = [
  'policies',
  'mappings',
  'identities',
  'snapshot',
  'vendors',
  'store',
  'propagation',
  'pollMs',
  'maxStaleness',
] as const;

/**
 * Loads `rbac.config.yaml` (or `file`). Paths in it are relative to the file. `${ENV}` in values is
 * replaced from the environment. A missing default file gives the defaults; a missing explicit file
 * is an error.
 *
 * @throws ConfigError naming the key.
 */
export async function loadConfig(
  file?: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Config> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const path = resolve(cwd, file ?? DEFAULT_CONFIG_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (file !== undefined)
      throw new ConfigError(
        '--config',
        `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
  }
  const base = text === undefined ? cwd : dirname(path);
  let values: Record<string, unknown> = {};
  // Where a config value is, for errors: file:line:column of the node at `keys`.
  let where: (keys: readonly (string | number)[]) => SourcePosition | undefined = () => undefined;
  if (text !== undefined) {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, strict: true });
    const at = (offset: number | undefined): SourcePosition => {
      const p = lc.linePos(offset ?? 0);
      return { file: path, line: p.line, column: p.col };
    };
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      throw new ConfigError(path, e.message.split('\n')[0]!, { at: at(e.pos[0]) });
    }
    if (doc.contents !== null && !isMap(doc.contents))
      throw new ConfigError(path, 'the config must be a mapping of keys to values', {
        at: at(doc.contents.range?.[0]),
      });
    where = (keys) => {
      const node = keys.length === 0 ? doc.contents : doc.getIn(keys, true);
      return isNode(node) ? at(node.range?.[0]) : undefined;
    };
    checkNames(doc, (node) => at(node?.range?.[0]));
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 20 });
    } catch (err) {
      throw new ConfigError(path, `${(err as Error).message} (write the values out instead of aliases)`, {
        at: at(0),
        cause: err,
      });
    }
    values = interpolate(data ?? {}, env, [], where) as Record<string, unknown>;
  }
  const fail = (key: string, message: string): ConfigError => {
    const at = where([key]);
    return at ? new ConfigError(key, `"${key}" ${message}`, { at }) : new ConfigError(key, message);
  };
  const str = (key: string, dflt: string | undefined): string | undefined => {
    const v = values[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string' || v === '') throw fail(key, `must be a path string, got ${JSON.stringify(v)}`);
    return v;
  };
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const vendors = values['vendors'] ?? {};
  if (typeof vendors !== 'object' || vendors === null || Array.isArray(vendors))
    throw fail('vendors', 'must be a mapping of vendor names to settings');
  const snapshot = str('snapshot', undefined);
  const store = str('store', undefined);
  if (store !== undefined && !/^postgres(ql)?:\/\//.test(store))
    throw fail('store', 'must be a postgres:// URL (or leave it out for the policies folder)');
  const propagation = str('propagation', undefined);
  if (propagation !== undefined && propagation !== 'notify' && !/^rediss?:\/\//.test(propagation))
    throw fail('propagation', 'must be "notify" or a redis:// URL');
  if (propagation !== undefined && store === undefined)
    throw fail('propagation', 'needs a `store` (a postgres:// URL) to propagate its changes');
  const ms = (key: string): number | undefined => {
    const v = values[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw fail(key, 'must be a number of ms > 0');
    return v;
  };
  return {
    store,
    propagation,
    pollMs: ms('pollMs'),
    maxStaleness: ms('maxStaleness'),
    file: text === undefined ? undefined : path,
    policies: abs(str('policies', 'policies')!),
    // A config that names no mappings uses `mappings/` beside it when there is one, else the
    // package's own default mappings (a new project that installed the package has none).
    mappings:
      values['mappings'] === undefined || values['mappings'] === null
        ? existsSync(abs('mappings'))
          ? abs('mappings')
          : PACKAGE_MAPPINGS
        : abs(str('mappings', 'mappings')!),
    identities: abs(str('identities', 'identities.yaml')!),
    identitiesRequired: values['identities'] !== undefined && values['identities'] !== null,
    snapshot: snapshot === undefined ? undefined : abs(snapshot),
    vendors: vendors as Record<string, unknown>,
  };
}

const isNode = (n: unknown): n is Node =>
  typeof n === 'object' && n !== null && 'range' in n && Array.isArray((n as Node).range);

/**
 * Unknown keys, vendor names and vendor settings, each at its file:line:column with the nearest
 * allowed name: a typo (`policys`, `vendor:`, `zom`, `clientSecrt`) is an error, never ignored.
 */
function checkNames(doc: Document, at: (node: Node | undefined) => SourcePosition): void {
  if (!isMap(doc.contents)) return;
  const unknown = (
    key: string,
    node: Node | undefined,
    what: string,
    name: string,
    allowed: readonly string[],
  ) =>
    new ConfigError(
      key,
      `unknown ${what.replace('%s', () => JSON.stringify(name))}${suggest(name, allowed)}; allowed: ${allowed.join(', ')}`,
      { at: at(node) },
    );
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const keyNode = isNode(pair.key) ? pair.key : undefined;
    if (!(KEYS as readonly string[]).includes(key)) throw unknown(key, keyNode, 'key %s', key, KEYS);
    if (key !== 'vendors' || !isMap(pair.value)) continue;
    for (const v of pair.value.items) {
      const vendor = isScalar(v.key) ? String(v.key.value) : '';
      const vendorNode = isNode(v.key) ? v.key : undefined;
      if (!(VENDORS as readonly string[]).includes(vendor))
        throw unknown(`vendors.${vendor}`, vendorNode, 'vendor %s', vendor, VENDORS);
      if (!isMap(v.value)) continue;
      const allowed = vendorSettingKeys(vendor as (typeof VENDORS)[number]);
      for (const setting of v.value.items) {
        const name = isScalar(setting.key) ? String(setting.key.value) : '';
        if (!allowed.includes(name))
          throw unknown(
            `vendors.${vendor}.${name}`,
            isNode(setting.key) ? setting.key : undefined,
            `setting %s in vendors.${vendor}`,
            name,
            allowed,
          );
      }
    }
  }
}

/** `${ENV}` in string values replaced from the environment; an unset variable is an error at its value. */
function interpolate(
  v: unknown,
  env: NodeJS.ProcessEnv,
  keys: readonly (string | number)[],
  where: (keys: readonly (string | number)[]) => SourcePosition | undefined,
): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined) {
        const key = keys
          .map((k) => (typeof k === 'number' ? `[${k}]` : k))
          .join('.')
          .replaceAll('.[', '[');
        const at = where(keys);
        throw new ConfigError(
          key || 'config',
          `${at ? `${key}: ` : ''}environment variable ${name} is not set`,
          at ? { at } : undefined,
        );
      }
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, env, [...keys, i], where));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = interpolate(x, env, [...keys, k], where);
    return out;
  }
  return v;
}
