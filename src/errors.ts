/** Where in a source file a problem is: 1-based line and column. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export type ErrorCode =
  | 'MAPPING_INVALID'
  | 'CONFIG_INVALID'
  | 'POLICY_INVALID'
  | 'SNAPSHOT_INVALID'
  | 'UNMATCHED_VENDOR_VALUE'
  | 'IDENTITIES_INVALID'
  | 'DECISION_FAILED'
  | 'SUITE_INVALID'
  | 'VENDOR_ERROR'
  | 'POLICY_LOCKED'
  | 'STORE_ERROR';

/** Base of every error this library throws on purpose. `code` is stable; `message` is for people. */
export class RbacError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem in a mapping file, with its position. */
export interface MappingProblem extends SourcePosition {
  message: string;
}

/**
 * A mapping file (or several) could not be loaded. `problems` lists every problem found, each with
 * file:line:column; `message` prints them one per line.
 */
export class MappingError extends RbacError {
  readonly problems: readonly MappingProblem[];
  constructor(problems: readonly MappingProblem[], options?: { cause?: unknown }) {
    super('MAPPING_INVALID', problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }
  get file(): string | undefined {
    return this.problems[0]?.file;
  }
  get line(): number | undefined {
    return this.problems[0]?.line;
  }
  get column(): number | undefined {
    return this.problems[0]?.column;
  }
}

/** A policy test suite could not be loaded; `problems` lists every problem with file:line:column. */
export class SuiteError extends RbacError {
  readonly problems: readonly MappingProblem[];
  constructor(problems: readonly MappingProblem[], options?: { cause?: unknown }) {
    super('SUITE_INVALID', problems.map(formatProblem).join('\n'), options);
    this.problems = problems;
  }
}

/** What went wrong talking to a vendor; decides whether a retry can help. */
export type VendorFailure =
  | 'auth' // credentials rejected, or a token that stays invalid
  | 'forbidden' // missing scope or plan; a configuration problem
  | 'not-found'
  | 'rate-limited' // still limited after the allowed retries
  | 'server' // 5xx after the allowed retries
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'invalid-response' // not JSON, or not shaped as documented
  | 'invalid-request'; // e.g. an id that cannot be sent safely

/**
 * A vendor call failed. Names the vendor, the endpoint (templated path), the user concerned when
 * there is one, the HTTP status and the vendor's own error code. Never carries a secret.
 */
export class VendorError extends RbacError {
  readonly vendor: string;
  readonly endpoint: string;
  readonly failure: VendorFailure;
  readonly status: number | undefined;
  readonly vendorCode: string | number | undefined;
  readonly user: string | undefined;
  /** For an unusable body: where it goes in the snapshot layout (`vonage/users/<id>/groups/page-0001.json`). */
  readonly file: string | undefined;
  /** For an unusable body: the field that could not be read (`groupPermissions`, `(body)`). */
  readonly field: string | undefined;
  /**
   * What went wrong in the vendor's (or the HTTP layer's) own words, without the prefix `message`
   * adds (vendor, endpoint, user, status, vendor code): `Role does not exist.`, `server error`.
   */
  readonly detail: string;
  constructor(
    init: {
      vendor: string;
      endpoint: string;
      failure: VendorFailure;
      message: string;
      status?: number | undefined;
      vendorCode?: string | number | undefined;
      user?: string | undefined;
      file?: string | undefined;
      field?: string | undefined;
    },
    options?: { cause?: unknown },
  ) {
    const who =
      init.user === undefined
        ? ''
        : init.user.startsWith('role ')
          ? ` (${init.user})`
          : ` (user ${init.user})`;
    const status = init.status !== undefined ? ` HTTP ${init.status}` : '';
    const code = init.vendorCode !== undefined ? ` code ${init.vendorCode}` : '';
    super('VENDOR_ERROR', `${init.vendor} ${init.endpoint}${who}:${status}${code} ${init.message}`, options);
    this.vendor = init.vendor;
    this.endpoint = init.endpoint;
    this.failure = init.failure;
    this.status = init.status;
    this.vendorCode = init.vendorCode;
    this.user = init.user;
    this.file = init.file;
    this.field = init.field;
    this.detail = init.message;
  }
}

/**
 * A configuration value is wrong; `key` names the option or config key (`--at`, `cache.max`,
 * `vendors.zoom.clientSecret`). When the value is in a file, `file`, `line` and `column` say where,
 * and the message starts with them instead of the key: `rbac.config.yaml:2:1: unknown key ...`.
 */
export class ConfigError extends RbacError {
  readonly key: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(key: string, message: string, options?: { cause?: unknown; at?: SourcePosition }) {
    const at = options?.at;
    super(
      'CONFIG_INVALID',
      at ? `${at.file}:${at.line}:${at.column}: ${message}` : `${key}: ${message}`,
      options && 'cause' in options ? { cause: options.cause } : undefined,
    );
    this.key = key;
    this.file = at?.file;
    this.line = at?.line;
    this.column = at?.column;
  }
}

/** A compiled policy file is unreadable or inconsistent. */
export class PolicyError extends RbacError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  constructor(message: string, where?: { file?: string; line?: number }, options?: { cause?: unknown }) {
    const at = where?.file ? `${where.file}${where.line ? `:${where.line}` : ''}: ` : '';
    super('POLICY_INVALID', at + message, options);
    this.file = where?.file;
    this.line = where?.line;
  }
}

/** Who holds a policies folder's lock, as written in its `.lock` file. */
export interface PolicyLockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the holder took the lock. */
  readonly startedAt: string;
  /** What it is doing: `sync`, `compile` (writePolicy), or `recover` (tidying up after a crash). */
  readonly purpose: string;
}

/**
 * Another process holds the lock of the policies folder (`<policies>/.lock`), so this run changed
 * nothing. A lock whose process is gone from this host, or another host's that has not been renewed
 * for 2 minutes, is taken over without this error; `holder` is undefined when the lock file cannot
 * be read. The CLI's `sync` exits 3 on it.
 */
export class PolicyLockError extends RbacError {
  readonly lockFile: string;
  readonly holder: PolicyLockHolder | undefined;
  /** @param options.message replaces the lock-file wording (a lock that is not a file: PostgreSQL's). */
  constructor(
    lockFile: string,
    holder: PolicyLockHolder | undefined,
    options?: { cause?: unknown; message?: string },
  ) {
    const who = holder
      ? `another ${holder.purpose} (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt})`
      : 'another process (its lock file cannot be read)';
    const then = holder
      ? 'Run again once it has finished (a lock whose process is gone is taken over by the next run)'
      : `If no sync or compile is running, delete ${lockFile}`;
    super(
      'POLICY_LOCKED',
      options?.message ?? `${who} holds the lock ${lockFile}: nothing was changed. ${then}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.lockFile = lockFile;
    this.holder = holder;
  }
}

/** One unusable body (or skipped item) of a snapshot: the file and, when known, the field. */
export interface SnapshotFileProblem {
  readonly file: string;
  readonly field?: string;
  readonly message: string;
}

/**
 * A snapshot body is not what the vendor documents (wrong types, missing fields, not JSON).
 * `problems` lists every bad file found in one read; `file` is the first.
 */
export class SnapshotError extends RbacError {
  readonly file: string;
  readonly problems: readonly SnapshotFileProblem[];
  constructor(file: string, message: string, options?: { cause?: unknown; field?: string }) {
    super('SNAPSHOT_INVALID', `${file}: ${options?.field ? `"${options.field}" ` : ''}${message}`, options);
    this.file = file;
    this.problems = [{ file, ...(options?.field ? { field: options.field } : {}), message }];
  }
  /** One error listing every problem, one per line. */
  static of(problems: readonly SnapshotFileProblem[]): SnapshotError {
    const first = problems[0] ?? { file: '(snapshot)', message: 'unreadable' };
    const e = new SnapshotError(first.file, first.message, first.field ? { field: first.field } : {});
    const lines = problems.map((p) => `${p.file}: ${p.field ? `"${p.field}" ` : ''}${p.message}`);
    e.message =
      problems.length > 1
        ? `${problems.length} snapshot files have problems:\n${lines.join('\n')}`
        : e.message;
    (e as { problems: readonly SnapshotFileProblem[] }).problems = problems;
    return e;
  }
}

/**
 * The identities file cannot be used: unreadable, not YAML, a malformed entry, a person id that
 * could collide with a vendor-made subject, or an account claimed twice. Carries the position.
 */
export class IdentitiesError extends RbacError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(
    message: string,
    where?: { file: string; line?: number; column?: number },
    options?: { cause?: unknown },
  ) {
    const at = where
      ? `${where.file}${where.line !== undefined ? `:${where.line}:${where.column ?? 1}` : ''}: `
      : '';
    super('IDENTITIES_INVALID', at + message, options);
    this.file = where?.file;
    this.line = where?.line;
    this.column = where?.column;
  }
}

/** A vendor value matched no mapping rule and the mapping says `unmatched: error`. */
export class UnmatchedValueError extends RbacError {
  constructor(message: string) {
    super('UNMATCHED_VENDOR_VALUE', message);
  }
}

/**
 * No decision could be made (input that is not a string, a clock that fails, an internal error).
 * Only `enforceStrict` throws it; every caller must treat it as a deny.
 */
export class DecisionError extends RbacError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DECISION_FAILED', message, options);
  }
}

/** Why a policy store (PostgreSQL) or change feed (Redis, LISTEN/NOTIFY) operation failed. */
export type StoreFailure =
  | 'unavailable' // the server cannot be reached or the connection dropped (nothing was committed)
  | 'conflict' // the store moved past the expected version (compare-and-swap), or a serialization failure
  | 'locked' // the writers' lock is held by another session
  | 'invalid' // a value the store cannot hold (NUL, a lone surrogate, a bad bound or effect)
  | 'not-migrated' // the tables are missing or older than this code: run migrate()
  | 'timeout' // waited longer than allowed
  | 'closed' // used after close()
  | 'failed'; // anything else the server reported

/**
 * A policy store or change-feed operation failed. `failure` says whether a retry can help;
 * `operation` names what was attempted (`commit`, `load`, `lock`, `redis publish`, ...);
 * `pgCode` is PostgreSQL's SQLSTATE when the server reported one. Never carries a password or a
 * connection string.
 */
export class StoreError extends RbacError {
  readonly failure: StoreFailure;
  readonly operation: string;
  readonly pgCode: string | undefined;
  /** For a `conflict`: the version the caller expected and the one the store holds. */
  readonly expectedVersion: number | undefined;
  readonly actualVersion: number | undefined;
  constructor(
    init: {
      failure: StoreFailure;
      operation: string;
      message: string;
      pgCode?: string | undefined;
      expectedVersion?: number | undefined;
      actualVersion?: number | undefined;
    },
    options?: { cause?: unknown },
  ) {
    super('STORE_ERROR', `${init.operation}: ${init.message}`, options);
    this.failure = init.failure;
    this.operation = init.operation;
    this.pgCode = init.pgCode;
    this.expectedVersion = init.expectedVersion;
    this.actualVersion = init.actualVersion;
  }
}

export function formatProblem(p: MappingProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

export const isRbacError = (e: unknown): e is RbacError => e instanceof RbacError;
export const isMappingError = (e: unknown): e is MappingError => e instanceof MappingError;
export const isConfigError = (e: unknown): e is ConfigError => e instanceof ConfigError;
export const isPolicyError = (e: unknown): e is PolicyError => e instanceof PolicyError;
export const isSnapshotError = (e: unknown): e is SnapshotError => e instanceof SnapshotError;
export const isDecisionError = (e: unknown): e is DecisionError => e instanceof DecisionError;
export const isSuiteError = (e: unknown): e is SuiteError => e instanceof SuiteError;
export const isVendorError = (e: unknown): e is VendorError => e instanceof VendorError;
export const isPolicyLockError = (e: unknown): e is PolicyLockError => e instanceof PolicyLockError;
export const isIdentitiesError = (e: unknown): e is IdentitiesError => e instanceof IdentitiesError;
export const isStoreError = (e: unknown): e is StoreError => e instanceof StoreError;

/**
 * Wraps an `onError` hook so that its own throw (or an async hook's rejection) never reaches the
 * caller: hooks are called on decision paths, which answer deny rather than throw.
 */
export function reporter(onError: (error: unknown) => void): (error: unknown) => void {
  return (error) => {
    try {
      const r: unknown = onError(error);
      // An async hook's rejection is dropped too (unhandled, it would end the process).
      if (typeof (r as { then?: unknown } | null)?.then === 'function')
        (r as Promise<unknown>).then(undefined, () => {});
    } catch {
      // The hook's own failure: nowhere left to report it.
    }
  };
}
