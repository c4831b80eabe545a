// `regex` matchers of the mapping language, on a linear-time engine (the project's owner of
// `re2js`). V8's RegExp backtracks: a pattern such as `(a+)+:` takes exponential time on a value of
// a few dozen characters, and a mapping file is not a place to trust with that. RE2 runs in time
// proportional to value length × pattern size whatever the pattern, and refuses the constructs that
// cannot be run that way (backreferences, lookaround). What remains unbounded is the product: it is
// bounded here by the value length (MAX_REGEX_VALUE_LENGTH) and by counted repetition
// (MAX_REGEX_REPEAT).
import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/** Values longer than this (UTF-16 code units) are not matched by a `regex`: the grant is skipped and reported. */
export const MAX_REGEX_VALUE_LENGTH = 1024;

/** The largest repetition count (`{n}`, `{n,m}`, nested ones multiplied) a `regex` may ask for. */
export const MAX_REGEX_REPEAT = 100;

/** A pattern the loader refuses; `index` is the offending character of the pattern, when known. */
export class PatternError extends Error {
  constructor(
    message: string,
    readonly index: number | undefined,
  ) {
    super(message);
    this.name = 'PatternError';
  }
}

/** A compiled `regex` matcher: whole-value match, named groups as captures. */
export interface RegexMatcher {
  readonly captures: readonly string[];
  readonly maxLength: number;
  match(value: string): Record<string, string> | undefined;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Compiles a mapping `regex` (RE2 syntax, `.` matches line breaks too) to match whole values.
 *
 * @throws PatternError for a syntax RE2 refuses (with the hint that backreferences and lookaround
 * are not available), a repetition count above MAX_REGEX_REPEAT, or a group name that cannot be a
 * template variable.
 * @example compileRegex('(?<area>[^:]+):(?<action>.+)', false).match('Recording:Edit') // { area: 'Recording', action: 'Edit' }
 */
export function compileRegex(source: string, ignoreCase: boolean): RegexMatcher {
  checkRepeats(source);
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, RE2JS.DOTALL | (ignoreCase ? RE2JS.CASE_INSENSITIVE : 0));
  } catch (err) {
    if (!(err instanceof RE2JSException)) throw err;
    const syntax = err instanceof RE2JSSyntaxException ? err : undefined;
    // RE2JS applies flags as a leading group, which its messages then quote: show the user's text.
    const quoted = syntax?.input ?? undefined;
    const input = quoted && !source.startsWith('(?') ? quoted.replace(/^\(\?[a-zA-Z]+\)/, '') : quoted;
    throw new PatternError(
      `${syntax?.error ?? err.message}${input ? ` \`${input}\`` : ''}; regexes use RE2 syntax, which runs in linear time: no backreferences, lookahead or lookbehind`,
      input ? uniqueIndex(source, input) : undefined,
    );
  }
  const names = Object.keys(re.namedGroups());
  for (const n of names) {
    if (!NAME.test(n)) {
      throw new PatternError(
        `the group name "${n}" cannot be a template variable; use letters, digits and _`,
        uniqueIndex(source, `<${n}>`),
      );
    }
  }
  return {
    captures: names,
    maxLength: MAX_REGEX_VALUE_LENGTH,
    match(value) {
      if (value.length > MAX_REGEX_VALUE_LENGTH) return undefined;
      // The DFA answers yes/no fastest; the capturing matcher runs only on a match.
      if (!re.testExact(value)) return undefined;
      const out: Record<string, string> = Object.create(null);
      if (names.length === 0) return out;
      const m = re.matcher(value);
      if (!m.matches()) return undefined;
      for (const n of names) out[n] = m.group(n) ?? '';
      return out;
    },
  };
}

function uniqueIndex(source: string, fragment: string): number | undefined {
  const i = source.indexOf(fragment);
  return i >= 0 && source.indexOf(fragment, i + 1) < 0 ? i : undefined;
}

/**
 * Refuses counted repetition whose count, multiplied through nested groups, exceeds
 * MAX_REGEX_REPEAT: RE2 expands `x{n}` into n copies, and the matching cost grows with them.
 * Escapes, character classes and \Q...\E are skipped so that their braces are not read as counts.
 */
function checkRepeats(source: string): void {
  // For each open group, the largest repetition product inside it so far; [0] is the whole pattern.
  const stack: number[] = [1];
  let last = 1; // the product of the atom or group just read (what a quantifier applies to)
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      if (source[i + 1] === 'Q') {
        const end = source.indexOf('\\E', i + 2);
        i = end < 0 ? source.length : end + 2;
      } else {
        i += 2;
      }
      last = 1;
    } else if (c === '[') {
      i = classEnd(source, i);
      last = 1;
    } else if (c === '(') {
      stack.push(1);
      i++;
      last = 1;
    } else if (c === ')') {
      last = stack.length > 1 ? stack.pop()! : 1;
      i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(?:,(\d*))?\}/.exec(source.slice(i, i + 24));
      if (m) {
        const count = Math.max(Number(m[1]), m[2] ? Number(m[2]) : 0);
        const product = last * Math.max(count, 1);
        if (count > MAX_REGEX_REPEAT || product > MAX_REGEX_REPEAT) {
          throw new PatternError(
            `repetition ${m[0]} asks for ${product} copies; at most ${MAX_REGEX_REPEAT} (nested counts multiply) keep matching fast — use + or * instead`,
            i,
          );
        }
        last = product;
        i += m[0].length;
      } else {
        i++;
        last = 1;
      }
    } else {
      i++;
      if (c !== '*' && c !== '+' && c !== '?') last = 1;
    }
    const top = stack.length - 1;
    stack[top] = Math.max(stack[top]!, last);
  }
}

/** The index just past the character class starting at `start` (RE2: `]` first is literal, `[:alpha:]` nests). */
function classEnd(source: string, start: number): number {
  let i = start + 1;
  if (source[i] === '^') i++;
  if (source[i] === ']') i++;
  while (i < source.length && source[i] !== ']') {
    if (source[i] === '\\') i += 2;
    else if (source[i] === '[' && source[i + 1] === ':') {
      const end = source.indexOf(':]', i + 2);
      i = end < 0 ? i + 1 : end + 2;
    } else i++;
  }
  return i + 1;
}
