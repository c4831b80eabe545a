// The shapes shared by the policy store, the change feed and the followers. No runtime code.
import type { Provenance } from '../grants.js';
import type { ProvenanceIndex } from '../policy/store.js';
import type { SyncState } from '../policy/sync-state.js';
import type { Effect, Policy, PolicyRule, RoleLink } from '../policy/types.js';

/** Fields a rule must equal to be removed by `removeRulesMatching`; an absent field matches any value. */
export interface RuleMatch {
  readonly sub?: string;
  readonly obj?: string;
  readonly act?: string;
  readonly eft?: Effect;
  /** Epoch ms; `-Infinity` matches an open start. */
  readonly from?: number;
  /** Epoch ms; `Infinity` matches an open end. */
  readonly until?: number;
}

/** Fields a link must equal to be removed by `removeLinksMatching`; an absent field matches any value. */
export interface LinkMatch {
  readonly member?: string;
  readonly role?: string;
}

/**
 * Everything one sync (or one casbin call) changes, committed in one transaction: removals first,
 * then additions, then provenance (for added and kept items) and the sync state.
 */
export interface StoreChange {
  readonly addRules?: readonly PolicyRule[];
  readonly removeRules?: readonly PolicyRule[];
  readonly addLinks?: readonly RoleLink[];
  readonly removeLinks?: readonly RoleLink[];
  /** Removes every rule that equals all the given fields of any one match. */
  readonly removeRulesMatching?: readonly RuleMatch[];
  readonly removeLinksMatching?: readonly LinkMatch[];
  /** Provenance by ruleKey()/linkKey(); replaces what the store holds for those keys. */
  readonly provenance?: ProvenanceIndex;
  /** The sync state after this change; absent leaves the stored one. */
  readonly state?: SyncState;
}

/** What one committed version changed, as it was applied (only rows that really changed). */
export interface ChangeDelta extends DeltaBody {
  readonly version: number;
  /** Commit time, epoch ms (the database's clock). */
  readonly committedAt: number;
}

/** The parts of a delta stored in the change log (version and commit time are columns). */
export interface DeltaBody {
  readonly addRules: readonly PolicyRule[];
  readonly removeRules: readonly PolicyRule[];
  readonly addLinks: readonly RoleLink[];
  readonly removeLinks: readonly RoleLink[];
  /** Provenance entries that were added or changed. */
  readonly provenance: ReadonlyMap<string, readonly Provenance[]>;
  /** The sync state written by this version, or null when it left the state as it was. */
  readonly state: SyncState | null;
  /** Subjects of the rules and members of the links added or removed (without the role closure). */
  readonly subjects: readonly string[];
}

/** What a change feed carries: a version to catch up to. `subjects` is null when too many to list. */
export interface ChangeMessage {
  readonly version: number;
  readonly subjects: readonly string[] | null;
  /** The committing store instance's `origin`, so that instance can tell its own commits. */
  readonly origin?: string;
}

export interface CommitResult {
  readonly version: number;
  readonly delta: ChangeDelta;
  /** The message to publish for this version. */
  readonly message: ChangeMessage;
}

/** The whole stored policy at one version, read in one snapshot. */
export interface StoreSnapshot {
  readonly policy: Policy;
  readonly provenance: ProvenanceIndex;
  /** undefined when no sync has stored a state yet. */
  readonly state: SyncState | undefined;
  readonly version: number;
}

/**
 * The deltas after a version, in order, or `pruned` when the change log no longer reaches back to
 * it (or the store is behind it), so only a full load can catch up.
 */
export type ChangesSince =
  | { readonly kind: 'changes'; readonly changes: readonly ChangeDelta[]; readonly head: number }
  | { readonly kind: 'pruned'; readonly head: number; readonly oldest: number | null };

/** What a follower reads: a full snapshot, and the deltas after a version. */
export interface ChangeSource {
  load(): Promise<StoreSnapshot>;
  changesSince(version: number, options?: { limit?: number }): Promise<ChangesSince>;
}

/** Receives a transport's events. */
export interface TransportListener {
  /** A message arrived; undefined when its payload was not a ChangeMessage (still a hint to catch up). */
  message(message: ChangeMessage | undefined): void;
  /** The connection was lost and is back: anything published meanwhile was missed. */
  reconnected(): void;
  /** A connection problem the transport is recovering from. */
  error?(error: unknown): void;
}

/** A change feed between instances (Redis pub/sub, PostgreSQL LISTEN/NOTIFY, in-memory). */
export interface ChangeTransport {
  /** Starts delivering messages; resolves once subscribed. Returns a function that stops delivery. */
  subscribe(listener: TransportListener): Promise<() => Promise<void>>;
  /** Announces a committed version to the other instances. */
  publish(message: ChangeMessage): Promise<void>;
  /** Closes the connections the transport opened. */
  close(): Promise<void>;
}

/** Timers, injectable so tests drive polling and timeouts without sleeping. */
export interface Scheduler {
  /** Calls fn every ms; returns a function that stops it. */
  every(ms: number, fn: () => void): () => void;
  /** Calls fn once after ms; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}
