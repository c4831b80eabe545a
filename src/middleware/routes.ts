import { ConfigError } from '../errors.js';
import { plainPathEnd, type Reading, readings } from './readings.js';

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

/** The default action for each HTTP method. HEAD is always decided as GET, with GET's action. */
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
  /** HTTP method → action, merged over DEFAULT_METHOD_ACTIONS. `HEAD` always gets GET's action. */
  readonly actions?: Readonly<Record<string, string>>;
}

/** Maps an HTTP method and path to the resource and action to authorize, or undefined. */
export type RouteMap = (method: string, path: string) => RouteMatch | undefined;

/** An entry that covers a request; `action` is undefined when neither the entry nor `actions` gives one. */
export interface CoveringEntry {
  readonly resource: string;
  readonly action: string | undefined;
  /** The route's params, when asked for. */
  readonly params?: Readonly<Record<string, string>>;
}

/**
 * What a route table says about one request: no entry covers it; its path cannot be decoded; or
 * the entries that cover it, one per reading of the path (the first is the plain reading's).
 */
export type RouteResolution =
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed' }
  | {
      readonly kind: 'covered';
      readonly entries: readonly CoveringEntry[];
      /** Some entry has no action for the method (the request cannot be decided). */
      readonly actionless: boolean;
    };

/** A route table compiled by compileRouteTable(); `params: true` fills each entry's params. */
export type RouteResolver = (method: string, path: string, params?: boolean) => RouteResolution;

interface CompiledRoute {
  readonly method: string | undefined;
  /** Lowercased static segment, or a param name prefixed with ':'. */
  readonly segments: readonly string[];
  /** The same segments with their case as written. */
  readonly exact: readonly string[];
  readonly rest: boolean;
  /** The resource template: text, and the index of the segment each param is read from. */
  readonly resource: readonly (string | { readonly param: string; readonly index: number })[];
  readonly action: string | undefined;
  /**
   * When the resource has no params: the resolution of a request this route alone covers, per
   * action (the entries are the same for every request, so they are built once).
   */
  readonly fixed: Map<string | undefined, RouteResolution> | undefined;
}

const METHOD = /^[A-Z]+(?:-[A-Z]+)*$/;
const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;
const PLACEHOLDER = /\{([^{}]*)\}/g;
const NONE: RouteResolution = { kind: 'none' };
const MALFORMED: RouteResolution = { kind: 'malformed' };

/**
 * Compiles a route table once. Static segments match case-insensitively and a trailing slash is
 * ignored (as Express and Koa routers do by default); params are percent-decoded; HEAD is matched
 * and decided as GET. A path that cannot be decoded, or a method without an action, matches nothing.
 *
 * @throws ConfigError naming `routes["KEY"]` when a key or template is malformed or its method has no
 * action, or `actions.METHOD` when an action is not a non-empty string (or HEAD's is not GET's).
 * @example
 * const map = createRouteMap({ routes: { 'GET /recordings/:id': 'zoom:recording' } });
 * map('GET', '/recordings/42'); // { resource: 'zoom:recording', action: 'read', params: { id: '42' } }
 */
export function createRouteMap(options: RouteMapOptions): RouteMap {
  const resolve = compileRouteTable(options);
  return (method, path) => {
    const r = resolve(method, path, true);
    if (r.kind !== 'covered') return undefined;
    const first = r.entries[0];
    return first?.action === undefined
      ? undefined
      : { resource: first.resource, action: first.action, params: first.params ?? {} };
  };
}

/**
 * The route table as the middleware uses it: every entry that covers a request under any reading
 * of its path (see readings()), so that a request a framework could route under a listed entry is
 * always decided.
 *
 * @throws ConfigError as createRouteMap does.
 */
export function compileRouteTable(options: RouteMapOptions): RouteResolver {
  if (
    options === null ||
    typeof options !== 'object' ||
    typeof options.routes !== 'object' ||
    options.routes === null
  )
    throw new ConfigError('routes', 'must be an object of "METHOD /path" → resource');
  const actions: Record<string, string> = { ...DEFAULT_METHOD_ACTIONS };
  const given = options.actions ?? {};
  for (const [m, a] of Object.entries(given)) {
    if (!METHOD.test(m) || typeof a !== 'string' || a === '')
      throw new ConfigError(`actions.${m}`, 'must map an upper-case HTTP method to a non-empty action');
    actions[m] = a;
  }
  // Express and Koa routers run GET handlers for HEAD, so HEAD must never be decided differently.
  if (Object.hasOwn(given, 'HEAD') && given['HEAD'] !== actions['GET'])
    throw new ConfigError(
      'actions.HEAD',
      `HEAD is decided as GET (frameworks answer HEAD with the GET handler), whose action is "${actions['GET']}"; set actions.GET instead`,
    );
  actions['HEAD'] = actions['GET'] as string;
  const compiled = Object.entries(options.routes).map(([key, target]) => compileRoute(key, target, actions));
  const caseMatters = compiled.some((r) => r.segments.some((s, i) => s !== r.exact[i]));

  const allows = (r: CompiledRoute, method: string) =>
    r.method === undefined || r.method === method || (method === 'HEAD' && r.method === 'GET');

  /** The first route that matches the reading, or undefined. */
  const first = (method: string, reading: Reading, exactCase: boolean): CompiledRoute | undefined => {
    for (const r of compiled) if (allows(r, method) && matches(r, reading, exactCase)) return r;
    return undefined;
  };

  /** The resolution of a request that `r`, whose resource has no params, alone covers. */
  const fixed = (r: CompiledRoute, method: string, fixedBy: Map<string | undefined, RouteResolution>) => {
    const action = r.action ?? actions[method];
    let resolution = fixedBy.get(action);
    if (resolution === undefined) {
      // At most one per action the route or the actions map gives, and one for none.
      resolution = {
        kind: 'covered',
        entries: Object.freeze([Object.freeze({ resource: r.resource.join(''), action })]),
        actionless: action === undefined,
      };
      fixedBy.set(action, resolution);
    }
    return resolution;
  };

  const entry = (r: CompiledRoute, method: string, reading: Reading, params: boolean): CoveringEntry => {
    const action = r.action ?? actions[method];
    let resource = '';
    for (const p of r.resource) resource += typeof p === 'string' ? p : reading.values[p.index];
    return params ? { resource, action, params: paramsOf(r, reading) } : { resource, action };
  };

  return (method, path, params = false) => {
    const m = upperCase(method);
    const end = caseMatters || params ? -1 : plainPathEnd(path);
    if (end !== -1) {
      // The common case, without splitting the path: a plain path reads one way, with no letter
      // case to fold, so the first route that matches decides. A route with params in its
      // resource takes the general way below, which builds the entry.
      let hit: CompiledRoute | undefined;
      for (const r of compiled) {
        if (allows(r, m) && matchesPlain(r, path, end)) {
          hit = r;
          break;
        }
      }
      if (hit === undefined) return NONE;
      if (hit.fixed !== undefined) return fixed(hit, m, hit.fixed);
    }
    const all = readings(path);
    if (all === undefined) return MALFORMED;
    const entries: CoveringEntry[] = [];
    for (const reading of all) {
      const folds = caseMatters || (!reading.lower && reading.keys.some((k) => k !== k.toLowerCase()));
      for (let pass = 0; pass < (folds ? 2 : 1); pass++) {
        const r = first(m, reading, pass === 1);
        if (r === undefined) continue;
        const hit = entry(r, m, reading, params);
        if (!entries.some((e) => e.resource === hit.resource && e.action === hit.action)) entries.push(hit);
      }
    }
    return entries.length === 0
      ? NONE
      : { kind: 'covered', entries, actionless: entries.some((e) => e.action === undefined) };
  };
}

function compileRoute(
  key: string,
  target: string | RouteTarget,
  actions: Readonly<Record<string, string>>,
): CompiledRoute {
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
  const names = new Map<string, number>();
  const exact = raw.map((s, i) => {
    if (s.startsWith(':')) {
      const name = PARAM.exec(s)?.[1];
      if (name === undefined || names.has(name))
        throw new ConfigError(where, `"${s}" must be a unique :name of letters, digits or _`);
      names.set(name, i);
      return `:${name}`;
    }
    if (s.includes('*')) throw new ConfigError(where, '"*" is only allowed as the last segment, as "/*"');
    return s;
  });
  const segments = exact.map((s) => (s.startsWith(':') ? s : s.toLowerCase()));
  const t = typeof target === 'string' ? { resource: target } : target;
  if (t === null || typeof t !== 'object' || typeof t.resource !== 'string' || t.resource === '')
    throw new ConfigError(where, 'must be a resource string or { resource, action? }');
  if (t.action !== undefined && (typeof t.action !== 'string' || t.action === ''))
    throw new ConfigError(`${where}.action`, 'must be a non-empty string');
  if (t.action === undefined && method !== undefined && method !== '*' && actions[method] === undefined)
    throw new ConfigError(
      where,
      `${method} has no action: give the entry one ({ resource, action }) or add actions.${method}`,
    );
  const resource: (string | { param: string; index: number })[] = [];
  let last = 0;
  for (const m of t.resource.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    const index = names.get(name);
    if (index === undefined)
      throw new ConfigError(
        where,
        `resource uses {${name}} but the path has no :${name} (params: ${[...names.keys()].join(', ') || 'none'})`,
      );
    resource.push(t.resource.slice(last, m.index), { param: name, index });
    last = m.index + m[0].length;
  }
  resource.push(t.resource.slice(last));
  const parts = resource.filter((p) => p !== '');
  return {
    method: method === '*' ? undefined : method,
    segments,
    exact,
    rest,
    resource: parts,
    action: t.action,
    fixed: parts.every((p) => typeof p === 'string') ? new Map() : undefined,
  };
}

/** The method in capitals; as it is when it has no lower-case letter (Node's parser gives capitals). */
function upperCase(method: string): string {
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    if (c >= 97 && c <= 122) return method.toUpperCase();
  }
  return method;
}

/**
 * Whether a plain path (plainPathEnd; `end` is where its query starts) matches the route, read as
 * readings() reads it (empty segments dropped) but without splitting it.
 */
function matchesPlain(r: CompiledRoute, p: string, end: number): boolean {
  let i = 0;
  for (const seg of r.segments) {
    while (i < end && p.charCodeAt(i) === 47 /* / */) i++;
    if (i === end) return false;
    let j = p.indexOf('/', i);
    if (j === -1 || j > end) j = end;
    if (seg.charCodeAt(0) !== 58 /* : a param */ && (j - i !== seg.length || !p.startsWith(seg, i)))
      return false;
    i = j;
  }
  if (r.rest) return true;
  while (i < end && p.charCodeAt(i) === 47) i++;
  return i === end;
}

function matches(r: CompiledRoute, reading: Reading, exactCase: boolean): boolean {
  const { keys } = reading;
  if (r.rest ? keys.length < r.segments.length : keys.length !== r.segments.length) return false;
  for (let i = 0; i < r.segments.length; i++) {
    const seg = r.segments[i] as string;
    if (seg.charCodeAt(0) === 58 /* : a param */) continue;
    const key = keys[i] as string;
    if (exactCase ? r.exact[i] !== key : seg !== (reading.lower ? key : key.toLowerCase())) return false;
  }
  return true;
}

function paramsOf(r: CompiledRoute, reading: Reading): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < r.segments.length; i++) {
    const seg = r.segments[i] as string;
    if (seg.startsWith(':')) params[seg.slice(1)] = reading.values[i] as string;
  }
  return params;
}
