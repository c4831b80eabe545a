import { VendorError } from '../errors.js';
import type { Vendor } from '../grants.js';
import type { FetchedBody } from '../snapshot/read.js';

/** A unit whose data is fetched all-or-nothing: a vendor user, or a Zoom role. */
export interface UnitFailure {
  readonly vendor: Vendor;
  readonly unit: 'user' | 'role';
  readonly id: string;
  readonly error: VendorError;
}

/** Response bodies in the snapshot layout (path → text and check), and what could not be fetched. */
export interface FetchResult {
  readonly vendor: Vendor;
  /** Every unit's files; empty when `onUnit` received them instead. */
  readonly files: Map<string, FetchedBody>;
  readonly failures: readonly UnitFailure[];
  /** Units fetched (users, or roles for Zoom). */
  readonly units: number;
}

/** Cancelling and request events are the adapter's options (`signal`, `events`), not per fetch. */
export interface FetchOptions {
  /** Called with the number of units once known, and after each unit. */
  readonly progress?: { total(n: number): void; done(): void };
  /** Units fetched at once. Default 8. */
  readonly concurrency?: number;
  /**
   * Receives each unit's files as soon as every request of the unit succeeded (a listing first,
   * then each user or role), instead of collecting them all in the result: a large account is then
   * never held whole. An error it throws stops the fetch.
   */
  readonly onUnit?: (unit: FetchedUnit) => void | Promise<void>;
}

/** The files of one unit: the user (or role) listing, one user, or one Zoom role. */
export interface FetchedUnit {
  readonly vendor: Vendor;
  readonly kind: 'listing' | 'user' | 'role';
  /** The user or role id (absent for a listing). */
  readonly id?: string;
  /** Path in the snapshot layout → the body as received and as checked. */
  readonly files: ReadonlyMap<string, FetchedBody>;
}

export interface VendorAdapter {
  readonly vendor: Vendor;
  /**
   * Fetches everything the vendor knows about its users' permissions. A unit (user or role) that
   * fails is reported in `failures` and contributes no file; a failure of the vendor as a whole
   * (credentials, listing users) throws VendorError.
   */
  fetchAll(options?: FetchOptions): Promise<FetchResult>;
  /**
   * Fetches one user's permissions (a single-user refresh), as one unit in the snapshot layout: a
   * listing of just that user, their permission pages, and for Zoom their role. `userId` is the
   * vendor's user id (Zoom also takes an email). A failure is reported in `failures`.
   */
  fetchUser(userId: string, options?: FetchOptions): Promise<FetchResult>;
}

/** Files of one unit, kept apart until every request of the unit succeeded. */
export class UnitFiles {
  readonly files = new Map<string, FetchedBody>();
  add(path: string, body: FetchedBody): void {
    this.files.set(path, body);
  }
}

/**
 * Where a fetch puts finished units: `options.onUnit` when given, otherwise `files` (the result's).
 */
export function unitSink(vendor: Vendor, options: FetchOptions) {
  const files = new Map<string, FetchedBody>();
  return {
    files,
    async commit(kind: FetchedUnit['kind'], id: string | undefined, unit: UnitFiles): Promise<void> {
      if (!options.onUnit) {
        for (const [k, v] of unit.files) files.set(k, v);
        return;
      }
      await options.onUnit({ vendor, kind, ...(id !== undefined ? { id } : {}), files: unit.files });
    },
  };
}

/**
 * Fetches one unit all-or-nothing: its files reach the sink only when every request succeeded; a
 * VendorError makes it a failure (other errors, such as the sink's, propagate).
 */
export async function fetchUnit(
  sink: ReturnType<typeof unitSink>,
  failures: UnitFailure[],
  unit: { vendor: Vendor; kind: 'user' | 'role'; id: string },
  produce: () => Promise<{ id?: string; files: UnitFiles }>,
): Promise<void> {
  try {
    const r = await produce();
    await sink.commit(unit.kind, r.id ?? unit.id, r.files);
  } catch (err) {
    if (!(err instanceof VendorError)) throw err;
    failures.push({ vendor: unit.vendor, unit: unit.kind, id: unit.id, error: err });
  }
}

/** A single-user fetch (fetchUser): one unit, reported like fetchAll. */
export async function fetchOneUser(
  vendor: Vendor,
  userId: string,
  options: FetchOptions,
  produce: () => Promise<{ id?: string; files: UnitFiles }>,
): Promise<FetchResult> {
  const sink = unitSink(vendor, options);
  const failures: UnitFailure[] = [];
  options.progress?.total(1);
  await fetchUnit(sink, failures, { vendor, kind: 'user', id: userId }, produce);
  options.progress?.done();
  return { vendor, files: sink.files, failures, units: 1 };
}

/** Runs `fn` over `items` with at most `concurrency` at once. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
