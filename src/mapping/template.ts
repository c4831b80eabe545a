// Patterns ("{area}:{action}") and templates ("zoom:{area|lower}") of the mapping language.

export const TRANSFORMS: Readonly<Record<string, (s: string) => string>> = {
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  trim: (s) => s.trim(),
  kebab: (s) =>
    s
      .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
      .replace(/[\s_]+/g, '-')
      .toLowerCase(),
  snake: (s) =>
    s
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .replace(/[\s-]+/g, '_')
      .toLowerCase(),
};

type Part = { text: string } | { name: string; transforms: ((s: string) => string)[] };

/** A compiled template: literal text and {variable|transform} placeholders. */
export interface Template {
  readonly source: string;
  readonly variables: readonly string[];
  render(vars: Readonly<Record<string, string>>): string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits text into literals and {placeholders}; `{{` and `}}` are literal braces. Throws with a fix hint. */
function scan(source: string): ({ text: string } | { inner: string })[] {
  const out: ({ text: string } | { inner: string })[] = [];
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '{' && source[i + 1] === '{') {
      text += '{';
      i++;
    } else if (c === '}' && source[i + 1] === '}') {
      text += '}';
      i++;
    } else if (c === '{') {
      const end = source.indexOf('}', i);
      if (end < 0)
        throw new Error(`unclosed "{" in ${JSON.stringify(source)}; write {name} or {{ for a literal brace`);
      if (text) out.push({ text });
      text = '';
      out.push({ inner: source.slice(i + 1, end) });
      i = end;
    } else if (c === '}') {
      throw new Error(`stray "}" in ${JSON.stringify(source)}; write }} for a literal brace`);
    } else {
      text += c;
    }
  }
  if (text) out.push({ text });
  return out;
}

export function compileTemplate(source: string): Template {
  const parts: Part[] = scan(source).map((p) => {
    if ('text' in p) return p;
    const [name = '', ...ts] = p.inner.split('|').map((s) => s.trim());
    if (!NAME.test(name)) throw new Error(`"{${p.inner}}" is not a variable; write {name} or {name|lower}`);
    const transforms = ts.map((t) => {
      const f = TRANSFORMS[t];
      if (!f || !Object.hasOwn(TRANSFORMS, t)) {
        throw new Error(
          `unknown transform "${t}" in {${p.inner}}; use one of ${Object.keys(TRANSFORMS).join(', ')}`,
        );
      }
      return f;
    });
    return { name, transforms };
  });
  return {
    source,
    variables: parts.flatMap((p) => ('name' in p ? [p.name] : [])),
    render(vars) {
      let s = '';
      for (const p of parts) {
        if ('text' in p) s += p.text;
        else {
          let v = Object.hasOwn(vars, p.name) ? vars[p.name]! : '';
          for (const t of p.transforms) v = t(v);
          s += v;
        }
      }
      return s;
    },
  };
}

/** A compiled matcher: returns the captures on a whole-value match, else undefined. */
export interface Matcher {
  readonly captures: readonly string[];
  /**
   * Values longer than this are never matched: a rule that cannot look at a value does not decide
   * it (translate skips and reports the grant). Absent: any length.
   */
  readonly maxLength?: number;
  match(value: string): Record<string, string> | undefined;
}

/** Counts the characters a pattern matcher compares, for tests that check its cost. */
export interface StepMeter {
  steps: number;
}

/**
 * "{area}:{action}" → a whole-value matcher; text without placeholders matches exactly.
 *
 * Captures are greedy and non-empty, as `^(?<area>.+):(?<action>.+)$` would be, but no regular
 * expression is run: the literals between captures are placed from the right, each at its last
 * occurrence that leaves every capture at least one character (which is exactly the greedy choice,
 * see matchParts). Each literal is searched once, right to left, so a match costs at most
 * (value length + 1) × (pattern length + 1) character comparisons: no backtracking.
 */
export function compilePattern(source: string, meter?: StepMeter): Matcher {
  const names: string[] = [];
  const literals: string[] = [''];
  for (const p of scan(source)) {
    if ('text' in p) literals[literals.length - 1] += p.text;
    else {
      const name = p.inner.trim();
      if (!NAME.test(name)) throw new Error(`"{${p.inner}}" is not a capture name; write {name}`);
      if (names.includes(name))
        throw new Error(`capture {${name}} appears twice in ${JSON.stringify(source)}`);
      names.push(name);
      literals.push('');
    }
  }
  if (names.length === 0) {
    return { captures: [], match: (v) => (v === source ? {} : undefined) };
  }
  return {
    captures: names,
    match(v) {
      const cuts = matchParts(literals, v, meter);
      if (!cuts) return undefined;
      const out: Record<string, string> = Object.create(null);
      names.forEach((n, i) => {
        out[n] = v.slice(cuts[i]! + literals[i]!.length, cuts[i + 1]);
      });
      return out;
    },
  };
}

/**
 * Where each literal of `L0 (.+) L1 (.+) ... Lk` starts in `v`, or undefined when `v` does not match.
 *
 * Greedy captures take the longest first capture that lets the rest match, then the longest
 * second, and so on. Whether the rest matches from a position only gets easier further left (a
 * capture can take more), so the greedy L1 is its last occurrence that still leaves room for
 * L2..Lk — and that is found by placing Lk, then Lk-1, ... each as far right as possible.
 */
function matchParts(
  literals: readonly string[],
  v: string,
  meter: StepMeter | undefined,
): number[] | undefined {
  if (meter) meter.steps++;
  const k = literals.length - 1;
  const first = literals[0]!;
  const last = literals[k]!;
  const starts = new Array<number>(k + 1);
  starts[0] = 0;
  starts[k] = v.length - last.length;
  if (starts[k]! < first.length + k || !occursAt(v, first, 0, meter) || !occursAt(v, last, starts[k]!, meter))
    return undefined;
  for (let j = k - 1; j >= 1; j--) {
    const lit = literals[j]!;
    // Lj must end at least one character (capture j+1) before Lj+1 starts.
    let s = starts[j + 1]! - 1 - lit.length;
    // ...and start at least one character (capture j) after Lj-1 could end: at least first + j chars in.
    const lowest = first.length + j + sumLengths(literals, 1, j);
    while (s >= lowest && !occursAt(v, lit, s, meter)) s--;
    if (s < lowest) return undefined;
    starts[j] = s;
  }
  return starts;
}

function sumLengths(literals: readonly string[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += literals[i]!.length;
  return n;
}

function occursAt(v: string, lit: string, at: number, meter: StepMeter | undefined): boolean {
  if (meter) meter.steps++;
  for (let i = 0; i < lit.length; i++) {
    if (meter) meter.steps++;
    if (v.charCodeAt(at + i) !== lit.charCodeAt(i)) return false;
  }
  return true;
}
