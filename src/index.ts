// rbac-normalizer: the library's public API, exactly what the README documents (explicit named
// exports; test/index.test.ts pins the list, so an accidental export fails). Subpaths:
// rbac-normalizer/express, /koa (middleware), /testing (policy suites in node:test), /emulator.
export { type CreateAuthorizerOptions, createAuthorizer, type FullAuthorizer } from './authorizer.js';
export { type Clock, manualClock } from './clock.js';
export type {
  LinkView,
  PermissionAccess,
  Permit,
  RuleView,
  SubjectAccess,
  WhatCanResult,
  WhoCanResult,
} from './engine/access-view.js';
export type {
  Authorizer,
  CacheOptions,
  ChangeResult,
  Decision,
  DecisionReason,
  PolicyChange,
} from './engine/authorizer.js';
export { formatDecision } from './engine/format.js';
export type { NearMiss } from './engine/near-miss.js';
export {
  ConfigError,
  DecisionError,
  type ErrorCode,
  IdentitiesError,
  isConfigError,
  isDecisionError,
  isIdentitiesError,
  isMappingError,
  isPolicyError,
  isPolicyLockError,
  isRbacError,
  isSnapshotError,
  isStoreError,
  isSuiteError,
  isVendorError,
  MappingError,
  type MappingProblem,
  PolicyError,
  PolicyLockError,
  type PolicyLockHolder,
  RbacError,
  SnapshotError,
  type SourcePosition,
  StoreError,
  type StoreFailure,
  SuiteError,
  UnmatchedValueError,
  VendorError,
  type VendorFailure,
} from './errors.js';
export type { Provenance, Vendor } from './grants.js';
export type { Health, VendorHealth } from './health.js';
export {
  createRouteMap,
  type RouteMap,
  type RouteMapOptions,
  type RouteMatch,
  type RouteTable,
  type RouteTarget,
} from './middleware/routes.js';
export type {
  DecisionLogEntry,
  DecisionLogFilter,
  DecisionLogOptions,
  LoggedGrant,
} from './observe/decision-log.js';
export type { DecisionContext } from './observe/observer.js';
export { createCasbinEnforcer, PolicyAdapter } from './policy/casbin.js';
export type { PolicyDiff } from './policy/diff.js';
export { createFileStore, type PolicyStore, type StoredPolicy } from './policy/policy-store.js';
export type { ProvenanceIndex } from './policy/store.js';
export type { StaleHolder } from './policy/sync-state.js';
export type { Effect, Policy, PolicyRule, RoleLink } from './policy/types.js';
export type { Freshness } from './store/follower.js';
export type { SyncOptions, SyncProgress, SyncSummary, VendorOutcome } from './sync/run.js';
export {
  type CaseResult,
  type Check,
  type RunOptions,
  type RunResult,
  runSuites,
  type SuiteResult,
} from './testing/run.js';
export type { CompileResult } from './vendor-compiler.js';
