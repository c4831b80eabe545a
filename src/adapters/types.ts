import type { VendorError } from '../errors.js';
import type { Vendor } from '../grants.js';
import type { HttpEvents } from './http.js';

/** A unit whose data is fetched all-or-nothing: a vendor user, or a Zoom role. */
export interface UnitFailure {
  readonly vendor: Vendor;
  readonly unit: 'user' | 'role';
  readonly id: string;
  readonly error: VendorError;
}

/** Raw response bodies in the snapshot layout (path → JSON text), and what could not be fetched. */
export interface FetchResult {
  readonly vendor: Vendor;
  readonly files: Map<string, string>;
  readonly failures: readonly UnitFailure[];
  /** Units fetched (users, or roles for Zoom). */
  readonly units: number;
}

export interface FetchOptions {
  readonly signal?: AbortSignal;
  /** Called with the number of units once known, and after each unit. */
  readonly progress?: { total(n: number): void; done(): void };
  readonly events?: HttpEvents;
  /** Units fetched at once. Default 8. */
  readonly concurrency?: number;
}

export interface VendorAdapter {
  readonly vendor: Vendor;
  /**
   * Fetches everything the vendor knows about its users' permissions. A unit (user or role) that
   * fails is reported in `failures` and contributes no file; a failure of the vendor as a whole
   * (credentials, listing users) throws VendorError.
   */
  fetchAll(options?: FetchOptions): Promise<FetchResult>;
}

/** Files of one unit, kept apart until every request of the unit succeeded. */
export class UnitFiles {
  private readonly files = new Map<string, string>();
  add(path: string, body: unknown): void {
    this.files.set(path, `${JSON.stringify(body)}\n`);
  }
  commitTo(target: Map<string, string>): void {
    for (const [k, v] of this.files) target.set(k, v);
  }
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
