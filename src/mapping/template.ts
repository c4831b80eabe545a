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
  match(value: string): Record<string, string> | undefined;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** "{area}:{action}" → a regex with named groups, anchored; text without placeholders matches exactly. */
export function compilePattern(source: string): Matcher {
  const names: string[] = [];
  let re = '';
  for (const p of scan(source)) {
    if ('text' in p) re += escapeRegex(p.text);
    else {
      const name = p.inner.trim();
      if (!NAME.test(name)) throw new Error(`"{${p.inner}}" is not a capture name; write {name}`);
      if (names.includes(name))
        throw new Error(`capture {${name}} appears twice in ${JSON.stringify(source)}`);
      names.push(name);
      re += `(?<${name}>.+)`;
    }
  }
  if (names.length === 0) {
    return { captures: [], match: (v) => (v === source ? {} : undefined) };
  }
  return regexMatcher(new RegExp(`^${re}$`, 's'), names);
}

export function compileRegex(source: string, ignoreCase: boolean): Matcher {
  const re = new RegExp(`^(?:${source})$`, ignoreCase ? 'is' : 's');
  const names = [...source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);
  return regexMatcher(re, names);
}

function regexMatcher(re: RegExp, names: string[]): Matcher {
  return {
    captures: names,
    match(v) {
      const m = re.exec(v);
      if (!m) return undefined;
      const out: Record<string, string> = Object.create(null);
      for (const n of names) out[n] = m.groups?.[n] ?? '';
      return out;
    },
  };
}
