// One checker per vendor response body, used by the adapters (as each body arrives) and by the
// snapshot reader (for a recorded folder). The shapes are the component schemas of the OpenAPI
// documents in src/adapters/openapi/, compiled with Ajv, so the documents are the single source of
// truth. What the checker does with a body:
//   - values vendors send in several forms are normalized once, in place (`x-scalar` in the
//     documents: ids as string or number → string; Tuya numbers as number or numeric string);
//   - fields the documents do not declare are ignored;
//   - an optional field that is missing, null, empty or unreadable is dropped (reported when it was
//     there but unreadable), never a failure;
//   - an array item that cannot be used (a required field missing or unreadable) is dropped and
//     reported: one grant or member skipped, not the body;
//   - anything else (not an object, a list that is not a list, a required top-level field) makes
//     the body unusable: `ok: false`, naming the field.
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  type components as TuyaComponents,
  componentSchemas as tuyaSchemas,
} from '../adapters/generated/tuya.js';
import {
  type components as VonageComponents,
  componentSchemas as vonageSchemas,
} from '../adapters/generated/vonage.js';
import {
  type components as ZoomComponents,
  componentSchemas as zoomSchemas,
} from '../adapters/generated/zoom.js';

type Zoom = ZoomComponents['schemas'];
type Vonage = VonageComponents['schemas'];
type Tuya = TuyaComponents['schemas'];

/** The Tuya permission listing envelope once checked: `success` is true and `result` a page. */
export interface TuyaPermissionEnvelope {
  readonly success: true;
  readonly result: Tuya['PermissionPage'];
  readonly [k: string]: unknown;
}

/** Every body the product reads, by the file (or call) it comes from, and its type once checked. */
export interface BodyTypes {
  'zoom.users': Zoom['UserList'];
  'zoom.user': Zoom['User'];
  'zoom.permissions': Zoom['Permissions'];
  'zoom.roles': Zoom['RoleList'];
  'zoom.role': Zoom['Role'];
  'zoom.members': Zoom['MemberList'];
  'vonage.users': Vonage['UserList'];
  'vonage.user': Vonage['User'];
  'vonage.groups': Vonage['GroupPermissions'];
  'vonage.access': Vonage['AccessPermissions'];
  'tuya.permissions': TuyaPermissionEnvelope;
}
export type BodyKind = keyof BodyTypes;

const SCHEMA_OF: Record<BodyKind, [vendor: 'zoom' | 'vonage' | 'tuya', schema: string]> = {
  'zoom.users': ['zoom', 'UserList'],
  'zoom.user': ['zoom', 'User'],
  'zoom.permissions': ['zoom', 'Permissions'],
  'zoom.roles': ['zoom', 'RoleList'],
  'zoom.role': ['zoom', 'Role'],
  'zoom.members': ['zoom', 'MemberList'],
  'vonage.users': ['vonage', 'UserList'],
  'vonage.user': ['vonage', 'User'],
  'vonage.groups': ['vonage', 'GroupPermissions'],
  'vonage.access': ['vonage', 'AccessPermissions'],
  'tuya.permissions': ['tuya', 'PermissionPage'],
};

/** Something in a usable body that was left out: a whole item (`skipped`) or one field (`ignored`). */
export interface BodyIssue {
  /** Where, e.g. `groupPermissions[2].groupPermission`. */
  readonly field: string;
  readonly message: string;
  readonly effect: 'skipped' | 'ignored';
}

export type CheckedBody<K extends BodyKind> =
  | { readonly ok: true; readonly body: BodyTypes[K]; readonly issues: readonly BodyIssue[] }
  | { readonly ok: false; readonly field: string; readonly message: string };

/**
 * Checks and normalizes one parsed body in place (see the file header for the rules).
 *
 * @example checkBody('vonage.groups', JSON.parse(text)) // { ok: true, body, issues: [] }
 */
export function checkBody<K extends BodyKind>(kind: K, value: unknown): CheckedBody<K> {
  if (kind === 'tuya.permissions') return checkTuyaEnvelope(value) as CheckedBody<K>;
  return checkAgainst(kind, value, []) as CheckedBody<K>;
}

function checkTuyaEnvelope(value: unknown): CheckedBody<'tuya.permissions'> {
  if (!isObject(value)) return { ok: false, field: '(body)', message: 'must be a JSON object' };
  if (value['success'] !== true) {
    const code = value['code'] ?? value['error_code'];
    const msg = value['msg'] ?? value['error_msg'];
    return {
      ok: false,
      field: 'success',
      message: `Tuya answered success=${JSON.stringify(value['success'])} (code ${String(code)}: ${String(msg)})`,
    };
  }
  const page = checkAgainst('tuya.permissions', value['result'], ['result']);
  if (!page.ok) return page;
  return { ok: true, body: value as unknown as TuyaPermissionEnvelope, issues: page.issues };
}

// ---- Ajv ------------------------------------------------------------------------------------

type Json = Record<string, unknown>;
type Schema = Json;

const DOCUMENTS = { zoom: zoomSchemas, vonage: vonageSchemas, tuya: tuyaSchemas };
let validators: Map<BodyKind, ValidateFunction> | undefined;
/** The documents with `x-scalar` fields left to the keyword alone (their `type` is the normalized one). */
let documents: Record<string, Record<string, Schema>> | undefined;

function compiled(kind: BodyKind): ValidateFunction {
  if (!validators) {
    // Loaded on first use: a process that never reads a vendor body never pays for Ajv.
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addKeyword({ keyword: 'x-scalar', modifying: true, errors: true, validate: scalar });
    documents = {};
    for (const [vendor, schemas] of Object.entries(DOCUMENTS)) {
      documents[vendor] = withoutScalarTypes(schemas) as Record<string, Schema>;
      ajv.addSchema({ $id: vendor, components: { schemas: documents[vendor] } });
    }
    validators = new Map();
    for (const [k, [vendor, name]] of Object.entries(SCHEMA_OF))
      validators.set(k as BodyKind, ajv.compile({ $ref: `${vendor}#/components/schemas/${name}` }));
  }
  return validators.get(kind) as ValidateFunction;
}

/** Deep copy in which a schema with `x-scalar` keeps no `type`: the keyword checks and normalizes. */
function withoutScalarTypes(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(withoutScalarTypes);
  if (!isObject(x)) return x;
  const out: Json = {};
  for (const [k, v] of Object.entries(x)) out[k] = withoutScalarTypes(v);
  if ('x-scalar' in out) {
    delete out['type'];
    delete out['oneOf'];
  }
  return out;
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const WHOLE = /^[+-]?\d+$/;

/** The `x-scalar` keyword: checks a value and replaces it with its normalized form. */
function scalar(
  kind: unknown,
  data: unknown,
  _parentSchema?: unknown,
  cxt?: { parentData: unknown; parentDataProperty: string | number },
): boolean {
  const fail = (message: string) => {
    scalar.errors = [{ keyword: 'x-scalar', message, params: { kind } }];
    return false;
  };
  let out: string | number;
  if (data === null || data === '') return fail('is empty');
  if (kind === 'string') {
    if (typeof data === 'string') out = data;
    else if (typeof data === 'number' && Number.isFinite(data)) out = String(data);
    else return fail('must be a string or a number');
  } else {
    let digits: string;
    if (typeof data === 'number' && Number.isFinite(data)) digits = String(data);
    else if (typeof data === 'string' && NUMERIC.test(data.trim())) digits = data.trim();
    else return fail('must be a number or a string holding one');
    if (kind === 'integer') {
      const n = Number(digits);
      if (!Number.isSafeInteger(n)) return fail('must be a whole number');
      out = n;
    } else {
      // Whole numbers keep their digits (a Long id may not fit a double); others their shortest form.
      out = WHOLE.test(digits)
        ? digits.replace(/^\+/, '').replace(/^(-?)0+(?=\d)/, '$1')
        : String(Number(digits));
    }
  }
  if (cxt && isObject(cxt.parentData)) cxt.parentData[cxt.parentDataProperty] = out;
  else if (cxt && Array.isArray(cxt.parentData)) cxt.parentData[cxt.parentDataProperty as number] = out;
  return true;
}
scalar.errors = [] as Partial<ErrorObject>[];

// ---- what an error costs ---------------------------------------------------------------------

function checkAgainst(kind: BodyKind, value: unknown, prefix: string[]): CheckedBody<BodyKind> {
  const validate = compiled(kind);
  if (validate(value)) return { ok: true, body: value as BodyTypes[BodyKind], issues: [] };
  const [vendor, name] = SCHEMA_OF[kind];
  const root = documents?.[vendor]?.[name] as Schema;
  const schemaAt = (path: readonly string[]) => resolve(vendor, root, path);
  const issues: BodyIssue[] = [];
  const dropFields: string[][] = [];
  const dropItems = new Map<string, { array: string[]; index: number }>();
  for (const e of validate.errors ?? []) {
    const path = pointer(e.instancePath);
    const missing = e.keyword === 'required' ? String(e.params['missingProperty']) : undefined;
    const at = missing === undefined ? path : [...path, missing];
    const field = fieldName([...prefix, ...at]);
    const message = `${missing === undefined ? e.message : 'is required'}`;
    if (missing === undefined && path.length > 0) {
      const parent = schemaAt(path.slice(0, -1));
      const last = path[path.length - 1] as string;
      if (isObjectSchema(parent) && !requiredIn(parent).includes(last)) {
        const v = valueAt(value, path);
        if (v !== null && v !== '') issues.push({ field, message, effect: 'ignored' });
        dropFields.push(path);
        continue;
      }
    }
    // A required field (or an item itself) is unreadable: the innermost list item holding it goes.
    const item = innermostItem(schemaAt, path);
    if (!item) return { ok: false, field, message };
    const key = item.join('/');
    if (!dropItems.has(key)) {
      issues.push({ field, message, effect: 'skipped' });
      dropItems.set(key, { array: item.slice(0, -1), index: Number(item[item.length - 1]) });
    }
  }
  for (const p of dropFields) {
    const parent = valueAt(value, p.slice(0, -1));
    if (isObject(parent)) delete parent[p[p.length - 1] as string];
  }
  const byIndexDesc = [...dropItems.values()].sort((a, b) => b.index - a.index);
  for (const { array, index } of byIndexDesc) {
    const list = valueAt(value, array);
    if (Array.isArray(list)) list.splice(index, 1);
  }
  return { ok: true, body: value as BodyTypes[BodyKind], issues };
}

/** The path of the innermost array item on `path` (or the path itself when it names one). */
function innermostItem(
  schemaAt: (p: readonly string[]) => Schema | undefined,
  path: readonly string[],
): string[] | undefined {
  for (let i = path.length; i > 0; i--) {
    if (schemaAt(path.slice(0, i - 1))?.['type'] === 'array') return path.slice(0, i);
  }
  return undefined;
}

/** The schema at an instance path (objects by property, arrays by item), following local $refs. */
function resolve(vendor: string, root: Schema, path: readonly string[]): Schema | undefined {
  let s: Schema | undefined = deref(vendor, root);
  for (const seg of path) {
    if (!s) return undefined;
    if (s['type'] === 'array') s = deref(vendor, s['items'] as Schema | undefined);
    else s = deref(vendor, (s['properties'] as Record<string, Schema> | undefined)?.[seg]);
  }
  return s;
}

function deref(vendor: string, s: Schema | undefined): Schema | undefined {
  const ref = s?.['$ref'];
  if (typeof ref !== 'string') return s;
  const name = ref.replace('#/components/schemas/', '');
  return documents?.[vendor]?.[name];
}

const isObjectSchema = (s: Schema | undefined): s is Schema =>
  s !== undefined && (s['type'] === 'object' || 'properties' in s);
const requiredIn = (s: Schema): string[] => (Array.isArray(s['required']) ? (s['required'] as string[]) : []);

function valueAt(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const seg of path) {
    if (Array.isArray(v)) v = v[Number(seg)];
    else if (isObject(v)) v = v[seg];
    else return undefined;
  }
  return v;
}

/** JSON Pointer → segments. */
function pointer(p: string): string[] {
  if (p === '') return [];
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Segments → `a.b[2].c`. */
export function fieldName(path: readonly string[]): string {
  if (path.length === 0) return '(body)';
  let out = '';
  for (const seg of path) out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  return out;
}

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
