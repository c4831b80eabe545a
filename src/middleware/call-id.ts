// The call id of a request (the `callId` option): joins the decision log entry, which records the
// id the authorizer is given, to the app's own logs through a response header.
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** The object form of the `callId` option. */
export interface CallIdOptions<Req> {
  /** The response header that carries the id. Default `x-rbac-call-id`. */
  readonly header?: string;
  /** The app's own id for the request; an unsafe or missing one is replaced by a new UUID. Default: none. */
  readonly from?: (req: Req) => unknown;
}

/** `true`, `false` (the default), a header name, or CallIdOptions. */
export type CallIdOption<Req> = boolean | string | CallIdOptions<Req>;

export interface CallIds<Req> {
  /** The header that carries the id; undefined when the option is off. */
  readonly header: string | undefined;
  /** The request's id; undefined when the option is off. Never throws. */
  readonly of: (req: Req) => string | undefined;
}

/** A header name as the options take it. */
export const HEADER_NAME = /^[A-Za-z0-9-]+$/;
/** What an app's own request id must look like to be logged and sent back as it is. */
const SAFE_ID = /^[A-Za-z0-9._~:+/=@-]{1,128}$/;
const DEFAULT_HEADER = 'x-rbac-call-id';
const off = (): undefined => undefined;
const fresh = (): string => randomUUID();

/**
 * Checks the option once and builds the per-request step. A `from` that throws gets a new id, and
 * the error goes to `failed` with it.
 *
 * @throws ConfigError naming `callId`, `callId.header` or `callId.from`.
 */
export function createCallIds<Req>(
  option: CallIdOption<Req> | undefined,
  failed: (error: unknown, req: Req, id: string) => void,
): CallIds<Req> {
  const value = option ?? false;
  if (value === false) return { header: undefined, of: off };
  if (value === true) return { header: DEFAULT_HEADER, of: fresh };
  const shape = 'must be true, false, a header name or { header, from }';
  if (typeof value === 'string') {
    if (!HEADER_NAME.test(value)) throw new ConfigError('callId', shape);
    return { header: value.toLowerCase(), of: fresh };
  }
  if (value === null || typeof value !== 'object') throw new ConfigError('callId', shape);
  const { header = DEFAULT_HEADER, from } = value;
  if (typeof header !== 'string' || !HEADER_NAME.test(header))
    throw new ConfigError('callId.header', 'must be a header name (letters, digits and -)');
  if (from !== undefined && typeof from !== 'function')
    throw new ConfigError('callId.from', 'must be a function of the request returning its id');
  if (from === undefined) return { header: header.toLowerCase(), of: fresh };
  return {
    header: header.toLowerCase(),
    of(req) {
      let id: unknown;
      try {
        id = from(req);
      } catch (err) {
        const replacement = randomUUID();
        failed(err, req, replacement);
        return replacement;
      }
      return typeof id === 'string' && SAFE_ID.test(id) ? id : randomUUID();
    },
  };
}
