// rbac-normalizer/testing: policy suites as node:test cases, so `node --test` runs them with the rest.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeFailure } from './report.js';
import { type RunOptions, runSuites } from './run.js';

export { type CaseResult, type Check, type RunResult, runSuites, type SuiteResult } from './run.js';
export { findSuites, loadSuite, type Suite } from './suite.js';

/**
 * Runs the suites under `paths` and registers one node:test `describe` per suite and one `test` per
 * case (skipped cases as skipped tests). Call it with top-level await in a test file.
 *
 * @throws SuiteError when a suite is invalid (the test file then fails to load, loudly).
 * @example
 * // test/policies.test.ts
 * await policySuites(['policies/tests']);
 */
export async function policySuites(paths: readonly string[], options: RunOptions = {}): Promise<void> {
  const result = await runSuites(paths, options);
  for (const s of result.suites) {
    describe(`${s.name} (${s.file})`, () => {
      for (const c of s.cases) {
        test(c.name, c.status === 'skip' ? { skip: c.skipReason ?? true } : {}, () => {
          if (c.status === 'fail') assert.fail(c.failures.map(describeFailure).join('\n\n'));
        });
      }
    });
  }
}
