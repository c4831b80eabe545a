// The public shape of a sync: its options, progress callbacks, context and summary.
import type { Timers } from '../adapters/http.js';
import type { Config } from '../config.js';
import type { Authorizer } from '../engine/authorizer.js';
import type { Vendor } from '../grants.js';
import type { Identities } from '../identities.js';
import type { MappingSet } from '../mapping/load.js';
import type { PolicyDiff } from '../policy/diff.js';
import type { PolicyStore } from '../policy/policy-store.js';
import type { StaleHolder } from '../policy/sync-state.js';
import type { SnapshotProblem } from '../snapshot/read.js';
import type { PolicyChangeCounts } from './policy-merge.js';

/** Progress callbacks (the CLI draws them on a TTY). */
export interface SyncProgress {
  start?(vendor: Vendor, total: number): void;
  done?(vendor: Vendor): void;
  retry?(vendor: Vendor, info: { reason: string; waitMs: number }): void;
  request?(vendor: Vendor): void;
  finish?(vendor: Vendor, outcome: VendorOutcome): void;
}

export interface SyncOptions {
  /** Only these vendors (others keep their rules). Default: every configured vendor. */
  readonly vendors?: readonly Vendor[];
  /**
   * Refresh only these people (ids in the identities file) or accounts (`zoom:<id or email>`,
   * `vonage:<userId>`, `tuya:<uid>`), one request set each; everyone else keeps their rules.
   * Default: everyone (a full sync).
   */
  readonly users?: readonly string[];
  /** Compute and report the diff; change nothing. Default false. */
  readonly dryRun?: boolean;
  /**
   * The most changes of each kind (rules/links added/removed) kept in `SyncSummary.diff`;
   * `SyncSummary.changes` always counts all of them. Default: all.
   */
  readonly diffLimit?: number;
  /**
   * Also write the raw responses as a snapshot folder that `compile` can use offline; the folder is
   * replaced whole, so it must be new, empty or an earlier recording, and clear of the policies
   * folder and the project (see checkRecordTarget). Not with `dryRun`.
   */
  readonly record?: string;
  readonly signal?: AbortSignal;
  /** For tests: the fetch the adapters use. */
  readonly fetch?: typeof fetch;
  readonly progress?: SyncProgress;
  /** Environment for vendor settings. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Time source for sync-state. Default Date.now. */
  readonly now?: () => number;
  /** Per-request timeout (ms) and retries for the adapters. */
  readonly timeoutMs?: number;
  readonly retries?: number;
  /**
   * Internal, for tests: the adapters' clock and waits (backoff, Retry-After, rate limit, timeouts),
   * e.g. `virtualTimers()` so a sync with retries runs without waiting. Default the real ones.
   */
  readonly timers?: Timers;
}

export interface VendorOutcome {
  readonly vendor: Vendor;
  /** ok: all fetched; partial: some users/roles failed; failed: nothing fetched; skipped: not configured. */
  readonly status: 'ok' | 'partial' | 'failed' | 'skipped';
  readonly units: number;
  readonly failures: readonly {
    readonly unit: 'user' | 'role';
    readonly id: string;
    readonly error: string;
    /** For a body that could not be used: its file in the snapshot layout and the field. */
    readonly file?: string;
    readonly field?: string;
  }[];
  /**
   * What was left out of usable bodies: grants or members skipped (a required field unreadable) and
   * optional fields ignored. At most 100 are listed; `problemCount` counts them all.
   */
  readonly problems: readonly SnapshotProblem[];
  readonly problemCount: number;
  /**
   * What the mappings and subject resolution said about this vendor's data: values no mapping
   * rule matched, grants a rule matched but could not turn into a rule (e.g. a temporary grant
   * without a readable end), accounts sharing an email, pending users. At most 100.
   */
  readonly notices: readonly string[];
  readonly error?: string;
  readonly notice?: string;
  readonly requests: number;
  readonly retries: number;
  readonly rateLimited: number;
}

export interface SyncSummary {
  readonly ok: boolean;
  readonly dryRun: boolean;
  readonly vendors: readonly VendorOutcome[];
  /** The changes made (or, on a dry run, that would be): at most `diffLimit` of each kind. */
  readonly diff: PolicyDiff;
  /** How many changes of each kind, exactly. */
  readonly changes: PolicyChangeCounts;
  /** Subjects whose cached decisions were dropped (0 on a dry run or without an authorizer). */
  readonly invalidatedSubjects: number;
  readonly stale: readonly StaleHolder[];
  readonly rules: number;
  readonly links: number;
  readonly durationMs: number;
  readonly recorded?: string;
  /** The version the store committed (stores with a change feed, such as PostgreSQL). */
  readonly version?: number;
}

export interface SyncContext {
  readonly config: Config;
  readonly mappings: MappingSet;
  readonly identities: Identities;
  /** A live authorizer to update incrementally; optional (the CLI writes files only). */
  readonly authorizer?: Pick<Authorizer, 'applyChanges' | 'getPolicy' | 'setStale'>;
  /** Where the policy is kept. Default: the file store of `config.policies`. */
  readonly store?: PolicyStore;
}
