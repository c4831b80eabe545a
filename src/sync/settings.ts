// Vendor connection settings: the config's `vendors:` section with environment overrides, checked
// once before any request, with errors that name the key (or the environment variable).
import { ConfigError } from '../errors.js';
import type { Vendor } from '../grants.js';

export interface ZoomSettings {
  baseUrl: string;
  tokenUrl: string;
  accountId: string;
  clientId: string;
  clientSecret: string;
  perSecond?: number;
}
export interface VonageSettings {
  baseUrl: string;
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  perSecond?: number;
  limit?: number;
}
export interface TuyaSettings {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  perSecond?: number;
  pageSize?: number;
  /** Tuya uids to fetch besides those of the identities file (Tuya has no user listing). */
  users?: string[];
}
export interface VendorSettings {
  zoom?: ZoomSettings;
  vonage?: VonageSettings;
  tuya?: TuyaSettings;
}

const FIELDS = {
  zoom: {
    required: ['accountId', 'clientId', 'clientSecret'],
    defaults: { baseUrl: 'https://api.zoom.us/v2', tokenUrl: 'https://zoom.us/oauth/token' },
    numbers: ['perSecond'],
    strings: [],
    lists: [],
    env: {
      baseUrl: 'ZOOM_BASE_URL',
      tokenUrl: 'ZOOM_TOKEN_URL',
      accountId: 'ZOOM_ACCOUNT_ID',
      clientId: 'ZOOM_CLIENT_ID',
      clientSecret: 'ZOOM_CLIENT_SECRET',
    },
  },
  vonage: {
    required: ['baseUrl', 'tokenUrl', 'clientId', 'clientSecret'],
    defaults: {},
    numbers: ['perSecond', 'limit'],
    strings: ['scope'],
    lists: [],
    env: {
      baseUrl: 'VONAGE_BASE_URL',
      tokenUrl: 'VONAGE_TOKEN_URL',
      clientId: 'VONAGE_CLIENT_ID',
      clientSecret: 'VONAGE_CLIENT_SECRET',
    },
  },
  tuya: {
    required: ['baseUrl', 'clientId', 'clientSecret'],
    defaults: {},
    numbers: ['perSecond', 'pageSize'],
    strings: [],
    lists: ['users'],
    env: { baseUrl: 'TUYA_BASE_URL', clientId: 'TUYA_CLIENT_ID', clientSecret: 'TUYA_CLIENT_SECRET' },
  },
} as const;

/** The settings `vendors.<vendor>` takes in the config (the config loader checks names against them). */
export function vendorSettingKeys(vendor: Vendor): readonly string[] {
  const spec = FIELDS[vendor];
  return [...Object.keys(spec.env), ...spec.numbers, ...spec.strings, ...spec.lists];
}

/**
 * Resolves each vendor's settings. A vendor with nothing configured (neither in the file nor in the
 * environment) is absent from the result; a partly configured one is an error naming what is missing.
 *
 * @throws ConfigError naming `vendors.<vendor>.<key>` (or the environment variable).
 */
export function vendorSettings(
  vendors: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv = process.env,
): VendorSettings {
  for (const k of Object.keys(vendors)) {
    if (!(k in FIELDS)) throw new ConfigError(`vendors.${k}`, 'unknown vendor; use zoom, vonage or tuya');
  }
  const out: VendorSettings = {};
  for (const vendor of Object.keys(FIELDS) as Vendor[]) {
    const spec = FIELDS[vendor];
    const raw = vendors[vendor] ?? {};
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw new ConfigError(`vendors.${vendor}`, 'must be a mapping of settings');
    const file = raw as Record<string, unknown>;
    const known = new Set<string>(vendorSettingKeys(vendor));
    for (const k of Object.keys(file)) {
      if (!known.has(k))
        throw new ConfigError(`vendors.${vendor}.${k}`, `unknown setting; allowed: ${[...known].join(', ')}`);
    }
    const values: Record<string, unknown> = {};
    let given = false;
    for (const [key, envName] of Object.entries(spec.env)) {
      const fromEnv = env[envName];
      const v = fromEnv !== undefined && fromEnv !== '' ? fromEnv : file[key];
      if (v !== undefined && v !== null) {
        if (typeof v !== 'string' || v === '')
          throw new ConfigError(`vendors.${vendor}.${key}`, `must be a non-empty string (or set ${envName})`);
        values[key] = v;
        given = true;
      }
    }
    for (const key of spec.numbers) {
      const v = file[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !(v > 0))
        throw new ConfigError(`vendors.${vendor}.${key}`, 'must be a positive number');
      values[key] = v;
    }
    for (const key of spec.strings) {
      const v = file[key];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v === '')
        throw new ConfigError(`vendors.${vendor}.${key}`, 'must be a non-empty string');
      values[key] = v;
    }
    for (const key of spec.lists) {
      const v = file[key];
      if (v === undefined) continue;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x === ''))
        throw new ConfigError(`vendors.${vendor}.${key}`, 'must be a list of non-empty strings');
      values[key] = v;
    }
    if (!given) continue;
    for (const [k, v] of Object.entries(spec.defaults)) values[k] ??= v;
    for (const key of spec.required) {
      if (values[key] === undefined)
        throw new ConfigError(
          `vendors.${vendor}.${key}`,
          `is required once ${vendor} is configured (or set ${(spec.env as Record<string, string>)[key]})`,
        );
    }
    for (const key of ['baseUrl', 'tokenUrl'] as const) {
      const v = values[key];
      if (typeof v !== 'string') continue;
      try {
        if (!/^https?:$/.test(new URL(v).protocol)) throw new Error('protocol');
      } catch {
        throw new ConfigError(`vendors.${vendor}.${key}`, `must be an http(s) URL, got ${JSON.stringify(v)}`);
      }
    }
    (out as Record<string, unknown>)[vendor] = values;
  }
  return out;
}
