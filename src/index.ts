// rbac-normalizer: the library's public API (explicit named exports).
export { type CreateAuthorizerOptions, createAuthorizer, type FullAuthorizer } from './authorizer.js';
export { type Clock, manualClock, systemClock } from './clock.js';
export { type CompileResult, compileVendorData } from './compile.js';
export { type Config, DEFAULT_CONFIG_FILE, loadConfig } from './config.js';
export { type Dataset, seededDataset, snapshotDataset } from './emulator/dataset.js';
export {
  EMULATOR_CREDENTIALS,
  type Emulator,
  type EmulatorOptions,
  type Faults,
  startEmulator,
} from './emulator/server.js';
export {
  type AccessChange,
  diffAccess,
  effectiveAccess,
  type Interval,
  type SubjectAccessDiff,
} from './engine/access.js';
export type {
  Authorizer,
  AuthorizerOptions,
  CacheOptions,
  ChangeResult,
  Decision,
  DecisionReason,
  PolicyChange,
} from './engine/authorizer.js';
export { formatDecision } from './engine/format.js';
export {
  ConfigError,
  DecisionError,
  type ErrorCode,
  isConfigError,
  isDecisionError,
  isMappingError,
  isPolicyError,
  isPolicyLockError,
  isRbacError,
  isSnapshotError,
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
  SuiteError,
  UnmatchedValueError,
  VendorError,
  type VendorFailure,
} from './errors.js';
export type { Holder, NormalizedGrant, Provenance, Vendor, VendorGrant } from './grants.js';
export {
  createSubjectResolver,
  type Identities,
  IdentitiesError,
  loadIdentities,
  roleSubject,
} from './identities.js';
export {
  loadMappings,
  type MappingRule,
  type MappingSet,
  parseMapping,
  type VendorMapping,
} from './mapping/load.js';
export { parseTime, type TranslateResult, translate } from './mapping/translate.js';
export type { AuthorizationInfo, MiddlewareAuthorizer } from './middleware/core.js';
export {
  createRouteMap,
  DEFAULT_METHOD_ACTIONS,
  type RouteMap,
  type RouteMapOptions,
  type RouteMatch,
  type RouteTable,
  type RouteTarget,
} from './middleware/routes.js';
export { createCasbinEnforcer, PolicyAdapter } from './policy/casbin.js';
export { compilePolicy } from './policy/compile.js';
export { formatPolicyCsv, parsePolicyCsv } from './policy/csv.js';
export { diffPolicies, type PolicyDiff } from './policy/diff.js';
export { MODEL_TEXT } from './policy/model.js';
export {
  type ProvenanceIndex,
  readPolicy,
  readProvenance,
  writeFileAtomic,
  writePolicy,
} from './policy/store.js';
export type { StaleHolder } from './policy/sync-state.js';
export type { Effect, Policy, PolicyRule, RoleLink } from './policy/types.js';
export { decodeIdSegment, encodeIdSegment } from './snapshot/layout.js';
export { readSnapshot, type VendorData } from './snapshot/read.js';
export type { SyncOptions, SyncProgress, SyncSummary, VendorOutcome } from './sync/run.js';
export { type MappingCoverage, mappingCoverage } from './testing/coverage.js';
export { type Reporter, report } from './testing/report.js';
export {
  type CaseResult,
  type Check,
  type RunOptions,
  type RunResult,
  runSuites,
  type SuiteResult,
} from './testing/run.js';
export { findSuites, loadSuite, parseSuite, type Suite, type SuiteTest } from './testing/suite.js';
