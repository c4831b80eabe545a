// How a request path may be read: by a router, by a static file server, by a server behind a proxy.
// The route table (routes.ts) must cover a request under every reading a framework could route it by.

/** One way to read a path: `keys` are compared with static segments, `values` fill params. */
export interface Reading {
  readonly keys: readonly string[];
  readonly values: readonly string[];
  /** The keys are known to be lower-case (a plain path), so matching them with case is the same. */
  readonly lower?: true;
}

/** A path made only of these reads one way: nothing to decode, no dot segments, no case to fold. */
const PLAIN_PATH = /^[a-z0-9/\-_~!$&'()*+,:=@]*$/;
/** PLAIN_PATH's characters by char code (1 = plain), for a scan without a regular expression. */
const PLAIN_CHAR = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyz0123456789/-_~!$&'()*+,:=@") PLAIN_CHAR[c.charCodeAt(0)] = 1;

/**
 * Where the path of a request target ends (the index of its `?`, or its length) when the path reads
 * one way, as it is (only PLAIN_PATH's characters); -1 when it does not.
 */
export function plainPathEnd(target: string): number {
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 63 /* ? */) return i;
    if (c >= 128 || PLAIN_CHAR[c] === 0) return -1;
  }
  return target.length;
}

/**
 * The ways a framework, a static file server or a proxy behind it may read a path, or undefined when
 * it has an invalid percent-escape. First the plain reading (segments, each percent-decoded); then
 * the segments as sent, compared before decoding as Express's router does (params still decoded);
 * then the decoded path split again on `/` and backslashes, `;params` cut from each segment and `.`/`..`
 * resolved, as `send`/`serve-static` and servers behind a proxy read it. Empty segments are dropped
 * in all of them (`//admin` is `/admin`).
 */
export function readings(path: string): Reading[] | undefined {
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  const raw = segmentsOf(p);
  if (PLAIN_PATH.test(p)) return [{ keys: raw, values: raw, lower: true }];
  const encoded = p.includes('%');
  let decoded = raw;
  let whole = p;
  if (encoded) {
    try {
      decoded = raw.map((s) => decodeURIComponent(s));
      whole = decodeURIComponent(p);
    } catch {
      return undefined;
    }
  }
  const all: Reading[] = [{ keys: decoded, values: decoded }];
  if (encoded) all.push({ keys: raw, values: decoded });
  if (encoded || p.includes(';') || p.includes('\\') || decoded.some((s) => s === '.' || s === '..')) {
    const resolved: string[] = [];
    for (const part of whole.split(/[/\\]/)) {
      const s = part.split(';', 1)[0] as string;
      if (s === '..') resolved.pop();
      else if (s !== '' && s !== '.') resolved.push(s);
    }
    if (resolved.length !== decoded.length || resolved.some((s, i) => s !== decoded[i]))
      all.push({ keys: resolved, values: resolved });
  }
  return all;
}

/** The non-empty segments of a path (`//a/b/` → a, b). */
function segmentsOf(p: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= p.length; i++) {
    if (i === p.length || p.charCodeAt(i) === 47 /* / */) {
      if (i > start) out.push(p.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}
