// Loading policy test suites (`*_test.yaml`): schema-checked, every problem with file:line:column.
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { type MappingProblem, SuiteError } from '../errors.js';
import type { VendorGrant } from '../grants.js';
import { parseYamlSource, schemaProblems, suggest, type YamlPath } from '../mapping/yaml-source.js';

export type Expected = 'allow' | 'deny';

/** One test: whose decisions, at what time, and what is expected. */
export interface SuiteTest {
  readonly name: string;
  readonly line: number;
  readonly principals: readonly string[];
  /** Epoch ms the decisions are made at. */
  readonly now: number;
  readonly unlisted: 'deny' | 'ignore';
  readonly skip: string | undefined;
  /** resource → action → expected effect. */
  readonly expect: ReadonlyMap<string, ReadonlyMap<string, Expected>>;
}

export interface Suite {
  readonly file: string;
  readonly name: string;
  readonly description: string | undefined;
  /** Absolute paths, when the suite names them. */
  readonly snapshot: string | undefined;
  readonly mappings: string | undefined;
  readonly identities: string | undefined;
  /** Vendor grants of the inline principals; each holder carries its principal as subject. */
  readonly grants: readonly VendorGrant[];
  readonly tests: readonly SuiteTest[];
}

const here = dirname(fileURLToPath(import.meta.url));
/** The JSON Schema for suites, shipped as policies/tests/schema.json. */
export const SUITE_SCHEMA_PATH = join(here, '..', '..', 'policies', 'tests', 'schema.json');
export const SUITE_FILE = /_test\.ya?ml$/;

let validator: ValidateFunction | undefined;
async function getValidator(): Promise<ValidateFunction> {
  if (validator) return validator;
  const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
  validator = new Ajv({ allErrors: true, strict: false }).compile(
    JSON.parse(await readFile(SUITE_SCHEMA_PATH, 'utf8')),
  );
  return validator;
}

/**
 * Finds suite files: each path is a `*_test.yaml` file or a folder searched recursively.
 *
 * @throws SuiteError when a path does not exist.
 */
export async function findSuites(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string): Promise<void> => {
    const s = await stat(p).catch(() => undefined);
    if (s === undefined)
      throw new SuiteError([{ file: p, line: 1, column: 1, message: 'no such file or folder' }]);
    if (s.isFile()) {
      out.push(p);
      return;
    }
    for (const e of (await readdir(p, { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const child = join(p, e.name);
      if (e.isDirectory()) await walk(child);
      else if (SUITE_FILE.test(e.name)) out.push(child);
    }
  };
  for (const p of paths) await walk(p);
  return out;
}

/**
 * Loads one suite file.
 *
 * @throws SuiteError listing every problem with file:line:column.
 */
export async function loadSuite(file: string, options: { cwd?: string } = {}): Promise<Suite> {
  const label = relative(options.cwd ?? process.cwd(), file) || file;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new SuiteError([
      { file: label, line: 1, column: 1, message: `cannot read: ${(err as Error).message}` },
    ]);
  }
  return parseSuite(text, label, dirname(resolve(file)));
}

interface RawSuite {
  name: string;
  description?: string;
  now: string;
  snapshot?: string;
  mappings?: string;
  identities?: string;
  unlisted?: 'deny' | 'ignore';
  principals?: Record<string, RawPrincipal>;
  tests: {
    name: string;
    principal?: string;
    principals?: string[];
    now?: string;
    unlisted?: 'deny' | 'ignore';
    skip?: string;
    expect: Record<string, Record<string, Expected>>;
  }[];
}

interface RawPrincipal {
  zoom?: string[];
  vonage?: { groups?: Record<string, string>; access?: Record<string, string> };
  tuya?: {
    permission_id: string | number;
    name?: string;
    type?: string | number;
    start_time?: string | number;
    end_time?: string | number;
  }[];
}

/** Parses a suite's text; relative paths in it resolve against `baseDir`. */
export async function parseSuite(text: string, file: string, baseDir: string): Promise<Suite> {
  const parsed = parseYamlSource(text, file, 'the file is empty; it needs "name:", "now:" and "tests:"');
  if ('problems' in parsed) throw new SuiteError(parsed.problems);
  const { source } = parsed;
  const problems = schemaProblems(await getValidator(), source, describe);
  if (problems.length) throw new SuiteError(problems);
  const raw = source.data as RawSuite;
  const lineOf = (path: YamlPath) => source.at(source.nodeAt(path)?.range?.[0], '').line;
  const problem = (path: YamlPath, message: string): MappingProblem =>
    source.at(source.nodeAt(path)?.range?.[0], message);

  const time = (value: string, path: YamlPath): number => {
    const t = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || !Number.isFinite(t)) {
      problems.push(problem(path, `"${value}" is not an ISO-8601 time; write e.g. 2026-11-22T12:00:00Z`));
      return Number.NaN;
    }
    return t;
  };
  const suiteNow = time(raw.now, ['now']);
  const principals = raw.principals ?? {};
  const grants = Object.entries(principals).flatMap(([name, p]) => inlineGrants(name, p, file));
  const tests: SuiteTest[] = raw.tests.map((t, i) => {
    const path = ['tests', i];
    const who = [...(t.principal !== undefined ? [t.principal] : []), ...(t.principals ?? [])];
    if (who.length === 0)
      problems.push(problem(path, `test "${t.name}" needs "principal: NAME" or "principals: [A, B]"`));
    const expect = new Map<string, Map<string, Expected>>();
    for (const [resource, actions] of Object.entries(t.expect)) {
      expect.set(resource, new Map(Object.entries(actions)));
    }
    return {
      name: t.name,
      line: lineOf(path),
      principals: who,
      now: t.now !== undefined ? time(t.now, [...path, 'now']) : suiteNow,
      unlisted: t.unlisted ?? raw.unlisted ?? 'deny',
      skip: t.skip,
      expect,
    };
  });
  const names = new Set<string>();
  raw.tests.forEach((t, i) => {
    if (names.has(t.name))
      problems.push(problem(['tests', i, 'name'], `another test is already named "${t.name}"`));
    names.add(t.name);
  });
  if (problems.length) throw new SuiteError(problems);
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(baseDir, p));
  return {
    file,
    name: raw.name,
    description: raw.description,
    snapshot: abs(raw.snapshot),
    mappings: abs(raw.mappings),
    identities: abs(raw.identities),
    grants,
    tests,
  };
}

/** Vendor grants for an inline principal, shaped as the snapshot reader shapes vendor items. */
function inlineGrants(name: string, p: RawPrincipal, file: string): VendorGrant[] {
  const source = `${file} (principal ${name})`;
  const holder = { type: 'user' as const, vendorUserId: `fixture:${name}`, subject: name };
  const out: VendorGrant[] = [];
  for (const privilege of p.zoom ?? []) {
    out.push({ vendor: 'zoom', kind: 'privilege', holder, fields: { privilege }, raw: privilege, source });
  }
  for (const [groupId, groupPermission] of Object.entries(p.vonage?.groups ?? {})) {
    const item = { groupId, groupPermission };
    out.push({ vendor: 'vonage', kind: 'group', holder, fields: item, raw: JSON.stringify(item), source });
  }
  for (const [permissionKey, permissionLevel] of Object.entries(p.vonage?.access ?? {})) {
    const item = { permissionKey, permissionLevel };
    out.push({ vendor: 'vonage', kind: 'access', holder, fields: item, raw: JSON.stringify(item), source });
  }
  for (const t of p.tuya ?? []) {
    const fields: Record<string, string> = { type: String(t.type ?? 0) };
    for (const [k, v] of Object.entries(t)) if (v !== undefined) fields[k] = String(v);
    out.push({ vendor: 'tuya', kind: 'permission', holder, fields, raw: JSON.stringify(t), source });
  }
  return out;
}

const TOP_KEYS = [
  'name',
  'description',
  'now',
  'snapshot',
  'mappings',
  'identities',
  'unlisted',
  'principals',
  'tests',
];
const TEST_KEYS = ['name', 'principal', 'principals', 'now', 'unlisted', 'skip', 'expect'];

function describe(e: ErrorObject, path: YamlPath): string {
  const where = path.length ? `"${path.join('.')}"` : 'the suite';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params['additionalProperty']);
      const allowed =
        path.length === 0 ? TOP_KEYS : path[0] === 'tests' && path.length === 2 ? TEST_KEYS : [];
      return `unknown field "${key}"${suggest(key, allowed)}${allowed.length ? `; allowed here: ${allowed.join(', ')}` : ''}`;
    }
    case 'required':
      return `${where} is missing "${String(e.params['missingProperty'])}"`;
    case 'enum':
      return `${where} must be one of ${(e.params['allowedValues'] as unknown[]).map(String).join(', ')}`;
    case 'type':
      return `${where} must be ${e.params['type'] === 'array' ? 'a list' : e.params['type'] === 'object' ? 'a mapping of keys to values' : `a ${String(e.params['type'])}`}`;
    case 'minItems':
    case 'minProperties':
      return `${where} must not be empty`;
    case 'minLength':
      return `${where} must not be empty`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}
