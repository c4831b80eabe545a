import { ConfigError } from '../errors.js';

/** What a route is authorized as: a resource (template) and, optionally, a fixed action. */
export interface RouteTarget {
  /** Resource, with `{param}` filled from the route's `:param`, e.g. `vonage:group:{groupId}`. */
  readonly resource: string;
  /** Action; default: from the HTTP method through `actions`. */
  readonly action?: string;
}

/**
 * Routes in order, first match wins: `"METHOD /path/:param"` (or `"/path"` for any method) → a
 * resource template or a RouteTarget. A trailing `/*` matches any rest of the path.
 */
export type RouteTable = Readonly<Record<string, string | RouteTarget>>;

/** The default action for each HTTP method. */
export const DEFAULT_METHOD_ACTIONS: Readonly<Record<string, string>> = Object.freeze({
  GET: 'read',
  HEAD: 'read',
  OPTIONS: 'read',
  POST: 'write',
  PUT: 'write',
  PATCH: 'write',
  DELETE: 'delete',
});

export interface RouteMatch {
  readonly resource: string;
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface RouteMapOptions {
  readonly routes: RouteTable;
  /** HTTP method → action, merged over DEFAULT_METHOD_ACTIONS. */
  readonly actions?: Readonly<Record<string, string>>;
}

/** Maps an HTTP method and path to the resource and action to authorize, or undefined. */
export type RouteMap = (method: string, path: string) => RouteMatch | undefined;

interface CompiledRoute {
  readonly method: string | undefined;
  /** Lowercased static segment, or a param name prefixed with ':'. */
  readonly segments: readonly string[];
  readonly rest: boolean;
  readonly resource: readonly (string | { param: string })[];
  readonly action: string | undefined;
}

const METHOD = /^[A-Z]+$/;
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * Compiles a route table once. Static segments match case-insensitively and a trailing slash is
 * ignored (as Express and Koa routers do by default); params are percent-decoded. A path that
 * cannot be decoded matches nothing, so it is denied.
 *
 * @throws ConfigError naming `routes["KEY"]` when a key or template is malformed.
 * @example
 * const map = createRouteMap({ routes: { 'GET /recordings/:id': 'zoom:recording' } });
 * map('GET', '/recordings/42'); // { resource: 'zoom:recording', action: 'read', params: { id: '42' } }
 */
export function createRouteMap(options: RouteMapOptions): RouteMap {
  if (options === null || typeof options.routes !== 'object' || options.routes === null)
    throw new ConfigError('routes', 'must be an object of "METHOD /path" → resource');
  const actions = { ...DEFAULT_METHOD_ACTIONS };
  for (const [m, a] of Object.entries(options.actions ?? {})) {
    if (!METHOD.test(m) || typeof a !== 'string' || a === '')
      throw new ConfigError(`actions.${m}`, 'must map an upper-case HTTP method to a non-empty action');
    actions[m] = a;
  }
  const compiled = Object.entries(options.routes).map(([key, target]) => compileRoute(key, target));

  return (method, path) => {
    const m = method.toUpperCase();
    const parts = splitPath(path);
    if (parts === undefined) return undefined;
    for (const r of compiled) {
      if (r.method !== undefined && r.method !== m) continue;
      const params = matchSegments(r, parts);
      if (params === undefined) continue;
      const action = r.action ?? actions[m];
      if (action === undefined) return undefined;
      const resource = r.resource.map((p) => (typeof p === 'string' ? p : (params[p.param] ?? ''))).join('');
      return { resource, action, params };
    }
    return undefined;
  };
}

function compileRoute(key: string, target: string | RouteTarget): CompiledRoute {
  const where = `routes[${JSON.stringify(key)}]`;
  const [first, second, ...extra] = key.trim().split(/\s+/);
  const [method, pattern] = second === undefined ? [undefined, first] : [first, second];
  if (extra.length > 0 || pattern === undefined || !pattern.startsWith('/'))
    throw new ConfigError(where, 'the key must be "METHOD /path" or "/path", e.g. "GET /recordings/:id"');
  if (method !== undefined && method !== '*' && !METHOD.test(method))
    throw new ConfigError(where, `"${method}" is not an HTTP method; write it in capitals, e.g. GET`);
  const raw = pattern.split('/').filter((s) => s !== '');
  const rest = raw.at(-1) === '*';
  if (rest) raw.pop();
  const names = new Set<string>();
  const segments = raw.map((s) => {
    if (s.startsWith(':')) {
      const name = PARAM.exec(s)?.[1];
      if (name === undefined || names.has(name))
        throw new ConfigError(where, `"${s}" must be a unique :name of letters, digits or _`);
      names.add(name);
      return `:${name}`;
    }
    if (s.includes('*')) throw new ConfigError(where, '"*" is only allowed as the last segment, as "/*"');
    return s.toLowerCase();
  });
  const t = typeof target === 'string' ? { resource: target } : target;
  if (t === null || typeof t !== 'object' || typeof t.resource !== 'string' || t.resource === '')
    throw new ConfigError(where, 'must be a resource string or { resource, action? }');
  if (t.action !== undefined && (typeof t.action !== 'string' || t.action === ''))
    throw new ConfigError(`${where}.action`, 'must be a non-empty string');
  const resource: (string | { param: string })[] = [];
  let last = 0;
  for (const m of t.resource.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    if (!names.has(name))
      throw new ConfigError(
        where,
        `resource uses {${name}} but the path has no :${name} (params: ${[...names].join(', ') || 'none'})`,
      );
    resource.push(t.resource.slice(last, m.index), { param: name });
    last = m.index + m[0].length;
  }
  resource.push(t.resource.slice(last));
  return {
    method: method === '*' ? undefined : method,
    segments,
    rest,
    resource: resource.filter((p) => p !== ''),
    action: t.action,
  };
}

/** Path segments without the query and empty segments; undefined when not decodable. */
function splitPath(path: string): string[] | undefined {
  const q = path.indexOf('?');
  const parts = (q === -1 ? path : path.slice(0, q)).split('/').filter((s) => s !== '');
  try {
    return parts.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function matchSegments(r: CompiledRoute, parts: readonly string[]): Record<string, string> | undefined {
  if (r.rest ? parts.length < r.segments.length : parts.length !== r.segments.length) return undefined;
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < r.segments.length; i++) {
    const seg = r.segments[i] as string;
    const part = parts[i] as string;
    if (seg.startsWith(':')) params[seg.slice(1)] = part;
    else if (seg !== part.toLowerCase()) return undefined;
  }
  return params;
}
