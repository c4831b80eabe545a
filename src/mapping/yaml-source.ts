// The one place that turns YAML text into data with positions (the project's owner of `yaml`):
// mapping files and policy test suites both read through it, so both report file:line:column and
// both refuse duplicate keys, alias bombs and prototype keys the same way.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument, type Scalar, visit } from 'yaml';
import type { MappingProblem } from '../errors.js';

export type YamlPath = readonly (string | number)[];

export interface YamlSource {
  readonly data: unknown;
  /** A problem at a character offset of the text. */
  at(offset: number | undefined, message: string): MappingProblem;
  /** The node at a data path, for its position. */
  nodeAt(path: YamlPath): Node | undefined;
  /** The key node of `key` in the map at `path`. */
  keyAt(path: YamlPath, key: string): Node | undefined;
  /**
   * The text offset of character `index` of the string value at `path` (so a problem can point
   * inside it), or of the value's start when its text does not map character by character (a
   * block or multi-line scalar).
   */
  charAt(path: YamlPath, index: number): number | undefined;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const MAX_ALIASES = 50;

/** Parses YAML text strictly; `empty` is the message for an empty file. */
export function parseYamlSource(
  text: string,
  file: string,
  empty: string,
): { source: YamlSource } | { problems: MappingProblem[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const at = (offset: number | undefined, message: string): MappingProblem => {
    const { line, col } = lc.linePos(offset ?? 0);
    return { file, line, column: col, message };
  };
  const problems: MappingProblem[] = doc.errors.map((e) =>
    at(
      e.pos[0],
      e.code === 'DUPLICATE_KEY'
        ? `${firstLine(e.message)}; each key may appear once per mapping`
        : firstLine(e.message),
    ),
  );
  if (problems.length) return { problems };
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && FORBIDDEN_KEYS.has(String(pair.key.value))) {
        problems.push(
          at(pair.key.range?.[0], `the key "${String(pair.key.value)}" is not allowed; rename it`),
        );
      }
    },
  });
  if (problems.length) return { problems };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    return {
      problems: [
        at(
          0,
          `${(err as Error).message} (aliases may expand to at most ${MAX_ALIASES} nodes; write the values out)`,
        ),
      ],
    };
  }
  if (data === null || data === undefined) return { problems: [at(0, empty)] };
  const nodeAt = (path: YamlPath): Node | undefined => {
    const n = path.length === 0 ? doc.contents : doc.getIn(path, true);
    return n && typeof n === 'object' && 'range' in n ? (n as Node) : undefined;
  };
  const keyAt = (path: YamlPath, key: string): Node | undefined => {
    const parent = nodeAt(path);
    if (!isMap(parent)) return undefined;
    const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
    return pair && isScalar(pair.key) ? pair.key : undefined;
  };
  const charAt = (path: YamlPath, index: number): number | undefined => {
    const node = nodeAt(path);
    if (!isScalar(node) || !node.range) return node?.range?.[0];
    return scalarOffset(text, node, index) ?? node.range[0];
  };
  return { source: { data, at, nodeAt, keyAt, charAt } };
}

// Walks the scalar's source text until `index` characters of its value have gone by.
function scalarOffset(text: string, node: Scalar, index: number): number | undefined {
  const type = node.type;
  if (type !== 'PLAIN' && type !== 'QUOTE_DOUBLE' && type !== 'QUOTE_SINGLE') return undefined;
  let r = node.range![0] + (type === 'PLAIN' ? 0 : 1);
  for (let v = 0; v < index; ) {
    const c = text[r];
    if (c === undefined || c === '\n' || c === '\r') return undefined;
    if (type === 'QUOTE_DOUBLE' && c === '\\') {
      const e = text[r + 1];
      if (e === undefined || e === '\n' || e === '\r') return undefined;
      const digits = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
      v += digits === 8 && Number.parseInt(text.slice(r + 2, r + 10), 16) > 0xffff ? 2 : 1;
      r += 2 + digits;
    } else if (type === 'QUOTE_SINGLE' && c === "'") {
      v++;
      r += 2;
    } else {
      v++;
      r++;
    }
  }
  return r;
}

/** Schema errors as positioned problems; `describe` words each one for the file's readers. */
export function schemaProblems(
  validate: ValidateFunction,
  source: YamlSource,
  describe: (e: ErrorObject, path: YamlPath) => string,
): MappingProblem[] {
  if (validate(source.data)) return [];
  const problems: MappingProblem[] = [];
  for (const e of relevantErrors(validate.errors ?? [])) {
    const path = pointerToPath(e.instancePath);
    const extra = e.keyword === 'additionalProperties' ? String(e.params['additionalProperty']) : undefined;
    const node = extra !== undefined ? source.keyAt(path, extra) : source.nodeAt(path);
    problems.push(source.at(node?.range?.[0], describe(e, path)));
  }
  return problems;
}

// anyOf failures produce one error per branch; keep the most useful ones.
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out = errors.filter((e) => e.keyword === 'anyOf' || !anyOfPaths.has(e.instancePath));
  const seen = new Set<string>();
  return out.filter((e) => {
    const k = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/** "; did you mean X?" for a near miss. */
export function suggest(word: string, options: readonly string[]): string {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const o of options) {
    const d = distance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}
