// The package's public API is exactly what the README documents: every entry point's exported
// names (values and types) equal the lists below, so an accidental export fails here.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = new URL('../', import.meta.url);

/** Entry point → its source, its values and its types, sorted. */
const API: Record<string, { source: string; values: string[]; types: string[] }> = {
  '.': {
    source: 'src/index.ts',
    values: [
      'ConfigError',
      'DecisionError',
      'IdentitiesError',
      'MappingError',
      'PolicyAdapter',
      'PolicyError',
      'PolicyLockError',
      'RbacError',
      'SnapshotError',
      'StoreError',
      'SuiteError',
      'UnmatchedValueError',
      'VendorError',
      'createAuthorizer',
      'createCasbinEnforcer',
      'createFileStore',
      'createRouteMap',
      'formatDecision',
      'isConfigError',
      'isDecisionError',
      'isIdentitiesError',
      'isMappingError',
      'isPolicyError',
      'isPolicyLockError',
      'isRbacError',
      'isSnapshotError',
      'isStoreError',
      'isSuiteError',
      'isVendorError',
      'manualClock',
      'runSuites',
    ],
    types: [
      'Authorizer',
      'CacheOptions',
      'CaseResult',
      'ChangeResult',
      'Check',
      'Clock',
      'CompileResult',
      'CreateAuthorizerOptions',
      'Decision',
      'DecisionContext',
      'DecisionLogEntry',
      'DecisionLogFilter',
      'DecisionLogOptions',
      'DecisionReason',
      'Effect',
      'ErrorCode',
      'Freshness',
      'FullAuthorizer',
      'Health',
      'LinkView',
      'LoggedGrant',
      'MappingProblem',
      'NearMiss',
      'PermissionAccess',
      'Permit',
      'Policy',
      'PolicyChange',
      'PolicyDiff',
      'PolicyLockHolder',
      'PolicyRule',
      'PolicyStore',
      'Provenance',
      'ProvenanceIndex',
      'RoleLink',
      'RouteMap',
      'RouteMapOptions',
      'RouteMatch',
      'RouteTable',
      'RouteTarget',
      'RuleView',
      'RunOptions',
      'RunResult',
      'SourcePosition',
      'StaleHolder',
      'StoreFailure',
      'StoredPolicy',
      'SubjectAccess',
      'SuiteResult',
      'SyncOptions',
      'SyncProgress',
      'SyncSummary',
      'Vendor',
      'VendorFailure',
      'VendorHealth',
      'VendorOutcome',
      'WhatCanResult',
      'WhoCanResult',
    ],
  },
  './express': {
    source: 'src/middleware/express.ts',
    values: ['DEFAULT_METHOD_ACTIONS', 'authorize', 'createRouteMap'],
    types: [
      'AuthorizationInfo',
      'CallIdOptions',
      'ExpressAuthorizeOptions',
      'MiddlewareAuthorizer',
      'RouteMap',
      'RouteMatch',
      'RouteTable',
      'RouteTarget',
    ],
  },
  './koa': {
    source: 'src/middleware/koa.ts',
    values: ['DEFAULT_METHOD_ACTIONS', 'authorize', 'createRouteMap'],
    types: [
      'AuthorizationInfo',
      'CallIdOptions',
      'KoaAuthorizeOptions',
      'MiddlewareAuthorizer',
      'RouteMap',
      'RouteMatch',
      'RouteTable',
      'RouteTarget',
    ],
  },
  './testing': {
    source: 'src/testing/node-test.ts',
    values: ['findSuites', 'loadSuite', 'policySuites', 'runSuites'],
    types: ['CaseResult', 'Check', 'RunResult', 'Suite', 'SuiteResult'],
  },
  './postgres': {
    source: 'src/store/index.ts',
    values: [
      'DEFAULT_REDIS_CHANNEL',
      'createCasbinAdapter',
      'createCasbinWatcher',
      'createPgNotifyTransport',
      'createPolicyFollower',
      'createPostgresStore',
      'createRedisTransport',
      'systemScheduler',
    ],
    types: [
      'CasbinAdapterOptions',
      'CasbinFilter',
      'CasbinWatcherOptions',
      'ChangeDelta',
      'ChangeMessage',
      'ChangeSource',
      'ChangeTransport',
      'ChangesSince',
      'CommitResult',
      'FollowEvent',
      'FollowedAuthorizer',
      'Freshness',
      'LinkMatch',
      'LockOptions',
      'PgNotifyTransportOptions',
      'PolicyFilter',
      'PolicyFollower',
      'PolicyFollowerOptions',
      'PostgresCasbinAdapter',
      'PostgresCasbinWatcher',
      'PostgresStore',
      'PostgresStoreOptions',
      'RedisTransportOptions',
      'ReleaseLock',
      'RuleMatch',
      'Scheduler',
      'StoreChange',
      'StoreSnapshot',
      'TransportListener',
      'WatchedEnforcer',
    ],
  },
  './emulator': {
    source: 'src/emulator/index.ts',
    values: ['EMULATOR_CREDENTIALS', 'identitiesYaml', 'seededDataset', 'snapshotDataset', 'startEmulator'],
    types: ['Dataset', 'Emulator', 'EmulatorCredentials', 'EmulatorOptions', 'EmulatorStats', 'Faults'],
  },
};

const sorted = (names: Iterable<string>) => [...names].sort();

test('package.json exports exactly these entry points, each built from its source', async () => {
  const pkg = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
    exports: Record<string, string | { types: string; default: string }>;
  };
  assert.deepEqual(sorted(Object.keys(pkg.exports)), sorted([...Object.keys(API), './package.json']));
  for (const [entry, { source }] of Object.entries(API)) {
    const built = source.replace(/^src\//, './dist/').replace(/\.ts$/, '');
    assert.deepEqual(pkg.exports[entry], { types: `${built}.d.ts`, default: `${built}.js` }, entry);
  }
});

test('each entry point exports the documented values and nothing else', async () => {
  for (const [entry, { source, values }] of Object.entries(API)) {
    const module = (await import(new URL(source, root).href)) as Record<string, unknown>;
    assert.deepEqual(sorted(Object.keys(module)), sorted(values), entry);
  }
});

test('each entry point exports the documented types and nothing else', () => {
  const files = Object.values(API).map((e) => fileURLToPath(new URL(e.source, root)));
  const config = ts.getParsedCommandLineOfConfigFile(
    fileURLToPath(new URL('tsconfig.json', root)),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(config);
  const program = ts.createProgram(files, { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  for (const [entry, { source, values, types }] of Object.entries(API)) {
    const file = program.getSourceFile(fileURLToPath(new URL(source, root)));
    assert.ok(file, source);
    const symbol = checker.getSymbolAtLocation(file);
    assert.ok(symbol, source);
    const names = checker.getExportsOfModule(symbol).map((s) => s.getName());
    assert.deepEqual(sorted(names), sorted([...values, ...types]), entry);
  }
});
