// The repository's own policy suites (policies/tests), run as node:test cases in `npm test`.
import { policySuites } from '../src/testing/node-test.js';

await policySuites(['policies/tests']);
