import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

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
}

export const DEFAULT_CONFIG_FILE = 'rbac.config.yaml';
const KEYS = ['policies', 'mappings', 'identities', 'snapshot', 'vendors'] as const;

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
  const values: Record<string, unknown> = {};
  if (text !== undefined) {
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, strict: true });
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const p = lc.linePos(e.pos[0]);
      throw new ConfigError(`${path}:${p.line}:${p.col}`, e.message.split('\n')[0]!);
    }
    if (doc.contents !== null && !isMap(doc.contents))
      throw new ConfigError(path, 'must be a mapping of keys to values');
    for (const pair of isMap(doc.contents) ? doc.contents.items : []) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const p = lc.linePos(isScalar(pair.key) ? (pair.key.range?.[0] ?? 0) : 0);
      if (!(KEYS as readonly string[]).includes(key)) {
        throw new ConfigError(
          `${path}:${p.line}:${p.col}`,
          `unknown key "${key}"; allowed: ${KEYS.join(', ')}`,
        );
      }
    }
    Object.assign(values, interpolate(doc.toJS({ maxAliasCount: 20 }) ?? {}, env, 'config'));
  }
  const str = (key: string, dflt: string | undefined): string | undefined => {
    const v = values[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'string' || v === '')
      throw new ConfigError(key, `must be a path string, got ${JSON.stringify(v)}`);
    return v;
  };
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const vendors = values['vendors'] ?? {};
  if (typeof vendors !== 'object' || vendors === null || Array.isArray(vendors))
    throw new ConfigError('vendors', 'must be a mapping');
  const snapshot = str('snapshot', undefined);
  return {
    file: text === undefined ? undefined : path,
    policies: abs(str('policies', 'policies')!),
    mappings: abs(str('mappings', 'mappings')!),
    identities: abs(str('identities', 'identities.yaml')!),
    identitiesRequired: values['identities'] !== undefined && values['identities'] !== null,
    snapshot: snapshot === undefined ? undefined : abs(snapshot),
    vendors: vendors as Record<string, unknown>,
  };
}

function interpolate(v: unknown, env: NodeJS.ProcessEnv, key: string): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined) throw new ConfigError(key, `environment variable ${name} is not set`);
      return value;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => interpolate(x, env, `${key}[${i}]`));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v))
      out[k] = interpolate(x, env, key === 'config' ? k : `${key}.${k}`);
    return out;
  }
  return v;
}
