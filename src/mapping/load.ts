import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ConfigError, MappingError, type MappingProblem, type SourcePosition } from '../errors.js';
import type { Vendor } from '../grants.js';
import type { Effect } from '../policy/types.js';
import { KINDS, TEMPORARY } from './kinds.js';
import { compileRegex, PatternError } from './regex.js';
import { compilePattern, compileTemplate, type Matcher, type Template } from './template.js';
import { parseYamlSource, schemaProblems, suggest, type YamlPath } from './yaml-source.js';

/** One compiled mapping rule. */
export interface MappingRule {
  readonly id: string | undefined;
  readonly vendor: Vendor;
  readonly kind: string;
  /** Where the rule starts (its list item). */
  readonly position: SourcePosition;
  readonly when: readonly { readonly field: string; readonly matcher: Matcher }[];
  readonly resource: Template;
  readonly actions: readonly Template[];
  readonly effect: Effect;
  readonly window: { readonly from?: Template; readonly until?: Template } | undefined;
}

/** Everything the mapping files say about one vendor. */
export interface VendorMapping {
  readonly vendor: Vendor;
  readonly files: readonly string[];
  readonly unmatched: 'warn' | 'error';
  /** For each action, the lower actions it implies (from the `levels` ladders). */
  readonly implied: ReadonlyMap<string, readonly string[]>;
  readonly rules: readonly MappingRule[];
}

export type MappingSet = ReadonlyMap<Vendor, VendorMapping>;

interface ParsedFile {
  vendor: Vendor;
  unmatched: 'warn' | 'error';
  levels: string[][];
  rules: MappingRule[];
  file: string;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The JSON Schema for mapping files, shipped as mappings/schema.json. */
export const MAPPING_SCHEMA_PATH = join(here, '..', '..', 'mappings', 'schema.json');
/** The package's own mapping folder (the default mappings), beside its schema. */
export const PACKAGE_MAPPINGS = dirname(MAPPING_SCHEMA_PATH);

let validator: ValidateFunction | undefined;
async function getValidator(): Promise<ValidateFunction> {
  if (validator) return validator;
  const require = createRequire(import.meta.url);
  const { Ajv } = require('ajv') as typeof import('ajv');
  const schema = JSON.parse(await readFile(MAPPING_SCHEMA_PATH, 'utf8'));
  validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  return validator;
}

/**
 * Loads every `*.yaml` / `*.yml` mapping file in a folder (or the given files), in name order.
 *
 * @throws ConfigError (key `mappings`) when the path does not exist or the folder has no mapping
 *   files; MappingError listing every problem in the files with file:line:column.
 */
export async function loadMappings(
  source: string | readonly string[],
  options: { cwd?: string } = {},
): Promise<MappingSet> {
  let files: string[];
  const found = typeof source === 'string' ? await stat(source).catch(() => undefined) : undefined;
  if (typeof source === 'string' && !found) {
    // A wrong path is a configuration problem, not a position in a file.
    throw new ConfigError('mappings', `no mapping folder or file at ${source}`);
  }
  if (typeof source === 'string' && found?.isDirectory()) {
    files = (await readdir(source))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => join(source, f));
    if (files.length === 0)
      throw new ConfigError('mappings', `no mapping files (*.yaml) in the folder ${source}`);
  } else {
    files = typeof source === 'string' ? [source] : [...source];
  }
  const problems: MappingProblem[] = [];
  const parsed: ParsedFile[] = [];
  for (const file of files) {
    const label = relative(options.cwd ?? process.cwd(), file) || file;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      problems.push({
        file: label,
        line: 1,
        column: 1,
        message: `cannot read mapping file: ${(err as Error).message}`,
      });
      continue;
    }
    const result = await parseMappingText(text, label);
    if ('problems' in result) problems.push(...result.problems);
    else parsed.push(result.file);
  }
  if (files.length === 0) {
    problems.push({
      file: String(source),
      line: 1,
      column: 1,
      message: 'no mapping files (*.yaml) found here',
    });
  }
  if (problems.length) throw new MappingError(problems);
  return combine(parsed);
}

/** Parses one mapping file's text. `file` is the name used in positions. */
export async function parseMapping(text: string, file: string): Promise<MappingSet> {
  const result = await parseMappingText(text, file);
  if ('problems' in result) throw new MappingError(result.problems);
  return combine([result.file]);
}

function combine(files: ParsedFile[]): MappingSet {
  const out = new Map<Vendor, VendorMapping>();
  for (const f of files) {
    const prev = out.get(f.vendor);
    const implied = new Map(prev?.implied ?? []);
    for (const ladder of f.levels) {
      ladder.forEach((action, i) => {
        const set = new Set([...(implied.get(action) ?? []), ...ladder.slice(0, i)]);
        implied.set(action, [...set]);
      });
    }
    out.set(f.vendor, {
      vendor: f.vendor,
      files: [...(prev?.files ?? []), f.file],
      unmatched: prev?.unmatched === 'error' || f.unmatched === 'error' ? 'error' : 'warn',
      implied,
      rules: [...(prev?.rules ?? []), ...f.rules],
    });
  }
  return out;
}

async function parseMappingText(
  text: string,
  file: string,
): Promise<{ file: ParsedFile } | { problems: MappingProblem[] }> {
  const parsed = parseYamlSource(text, file, 'the file is empty; it needs "vendor:" and "rules:"');
  if ('problems' in parsed) return parsed;
  const { source } = parsed;
  const { data, at, nodeAt, keyAt, charAt } = source;
  const problems = schemaProblems(await getValidator(), source, describe);
  if (problems.length) return { problems };

  const m = data as {
    vendor: Vendor;
    unmatched?: 'warn' | 'error';
    levels?: string[][];
    rules: {
      id?: string;
      kind: string;
      when?: Record<string, string | string[] | { regex: string; ignoreCase?: boolean }>;
      resource: string;
      actions: string[];
      effect?: Effect;
      window?: { from?: string; until?: string };
    }[];
  };
  const rules: MappingRule[] = [];
  const kinds = KINDS[m.vendor];
  m.rules.forEach((r, i) => {
    const rulePath = ['rules', i];
    const rulePos = at(nodeAt(rulePath)?.range?.[0], '');
    const fields = kinds[r.kind];
    if (!fields || !Object.hasOwn(kinds, r.kind)) {
      problems.push(
        at(
          nodeAt([...rulePath, 'kind'])?.range?.[0],
          `${m.vendor} has no grant kind "${r.kind}"; use ${Object.keys(kinds).join(' or ')}`,
        ),
      );
      return;
    }
    const vars = new Set(fields);
    const when: { field: string; matcher: Matcher }[] = [];
    for (const [field, spec] of Object.entries(r.when ?? {})) {
      const fieldPath = [...rulePath, 'when', field];
      if (!fields.includes(field)) {
        problems.push(
          at(
            keyAt([...rulePath, 'when'], field)?.range?.[0],
            `a ${m.vendor} ${r.kind} has no field "${field}"${suggest(field, fields)}; fields: ${fields.join(', ')}`,
          ),
        );
        continue;
      }
      const alternatives = typeof spec === 'string' ? [spec] : Array.isArray(spec) ? spec : undefined;
      try {
        if (alternatives) {
          const compiled = alternatives.map((p) => compilePattern(p));
          const captures = compiled[0]!.captures;
          if (compiled.some((c) => c.captures.join() !== captures.join())) {
            throw new Error('every alternative in a list must have the same captures');
          }
          for (const c of captures) vars.add(c);
          when.push({ field, matcher: { captures, match: (v) => firstMatch(compiled, v) } });
        } else {
          const spec2 = spec as { regex: string; ignoreCase?: boolean };
          const matcher = compileRegex(spec2.regex, spec2.ignoreCase ?? false);
          for (const c of matcher.captures) vars.add(c);
          when.push({ field, matcher });
        }
      } catch (err) {
        const where =
          err instanceof PatternError
            ? charAt([...fieldPath, 'regex'], err.index ?? 0)
            : nodeAt(fieldPath)?.range?.[0];
        problems.push(at(where, `invalid matcher: ${(err as Error).message}`));
      }
    }
    const template = (path: (string | number)[], source: string): Template | undefined => {
      try {
        const t = compileTemplate(source);
        for (const v of t.variables) {
          if (!vars.has(v))
            throw new Error(
              `unknown variable {${v}}${suggest(v, [...vars])}; known here: ${[...vars].join(', ')}`,
            );
        }
        return t;
      } catch (err) {
        problems.push(at(nodeAt(path)?.range?.[0], (err as Error).message));
        return undefined;
      }
    };
    const resource = template([...rulePath, 'resource'], r.resource);
    const actions = r.actions.map((a, j) => template([...rulePath, 'actions', j], a));
    const from =
      r.window?.from !== undefined ? template([...rulePath, 'window', 'from'], r.window.from) : undefined;
    const until =
      r.window?.until !== undefined ? template([...rulePath, 'window', 'until'], r.window.until) : undefined;
    if (!resource || actions.some((a) => a === undefined)) return;
    const temporary = TEMPORARY[m.vendor]?.[r.kind];
    if (temporary && (r.effect ?? 'allow') === 'allow') {
      const typeMatcher = when.find((w) => w.field === temporary.field)?.matcher;
      const bounded =
        from?.variables.includes(temporary.from) === true &&
        until?.variables.includes(temporary.until) === true;
      if ((!typeMatcher || typeMatcher.match(temporary.value)) && !bounded) {
        problems.push(
          at(
            nodeAt(rulePath)?.range?.[0],
            `this rule can match ${m.vendor} ${r.kind}s with ${temporary.field} ${temporary.value} (temporary grants), so it must bound them: add window: { from: "{${temporary.from}}", until: "{${temporary.until}}" }, or match only other ${temporary.field}s (e.g. when: { ${temporary.field}: "0" })`,
          ),
        );
        return;
      }
    }
    rules.push({
      id: r.id,
      vendor: m.vendor,
      kind: r.kind,
      position: { file: rulePos.file, line: rulePos.line, column: rulePos.column },
      when,
      resource,
      actions: actions as Template[],
      effect: r.effect ?? 'allow',
      window: r.window ? { ...(from ? { from } : {}), ...(until ? { until } : {}) } : undefined,
    });
  });
  if (problems.length) return { problems };
  return {
    file: { vendor: m.vendor, unmatched: m.unmatched ?? 'warn', levels: m.levels ?? [], rules, file },
  };
}

function firstMatch(ms: Matcher[], v: string): Record<string, string> | undefined {
  for (const m of ms) {
    const r = m.match(v);
    if (r) return r;
  }
  return undefined;
}

const EXAMPLES: Record<string, string> = {
  vendor: 'vendor: zoom',
  rules: 'rules: [] (a list of rules)',
  kind: 'kind: privilege',
  resource: 'resource: "zoom:{area|lower}"',
  actions: 'actions: [read]',
  regex: 'regex: "^(?<area>[^:]+):(?<action>.+)$"',
};

function describe(e: ErrorObject, path: YamlPath): string {
  const where = path.length ? `"${path.join('.')}"` : 'the file';
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params['additionalProperty']);
      const allowed = allowedKeys(path);
      return `unknown field "${key}"${suggest(key, allowed)}; allowed here: ${allowed.join(', ')}`;
    }
    case 'required': {
      const key = String(e.params['missingProperty']);
      return `${where} is missing "${key}"; write e.g. ${EXAMPLES[key] ?? `${key}: ...`}`;
    }
    case 'enum':
      return `${where} must be one of ${(e.params['allowedValues'] as unknown[]).map(String).join(', ')}`;
    case 'type':
      return `${where} must be ${e.params['type'] === 'array' ? 'a list' : e.params['type'] === 'object' ? 'a mapping of keys to values' : `a ${String(e.params['type'])}`}`;
    case 'anyOf':
      return `${where} must be a pattern string, a list of patterns, or { regex: "..." }`;
    case 'minItems':
      return `${where} needs at least ${String(e.params['limit'])} item(s)`;
    case 'minLength':
      return `${where} must not be empty`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

function allowedKeys(path: YamlPath): string[] {
  const last = path[path.length - 1];
  if (path.length === 0) return ['vendor', 'unmatched', 'levels', 'rules'];
  if (last === 'window') return ['from', 'until'];
  if (path.length >= 4 && path[2] === 'when') return ['regex', 'ignoreCase'];
  return ['id', 'kind', 'when', 'resource', 'actions', 'effect', 'window'];
}
