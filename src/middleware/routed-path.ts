import { plainPathEnd } from './readings.js';

/**
 * The path a framework routes by (parseurl's pathname of `url`, as Koa's `ctx.path`), with its
 * query: for an origin-form target whose path reads one way (plainPathEnd) that is `url` up to its
 * `?`, which the route table finds itself, so the URL is not parsed for it; for any other target,
 * `parsed()`.
 */
export function routedPath(url: string | undefined, parsed: () => string): string {
  return url !== undefined && url.charCodeAt(0) === 47 /* / */ && plainPathEnd(url) !== -1 ? url : parsed();
}
