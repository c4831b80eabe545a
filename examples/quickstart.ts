// `npm start`: compile the bundled example snapshot (no vendor account, no network) into policies/
// and print a few explained decisions. The clock is pinned so the temporary Tuya grants in the
// example data give the same answers on any day.
import { createAuthorizer } from '../src/authorizer.js';
import { manualClock } from '../src/clock.js';
import { formatDecision } from '../src/engine/format.js';

const at = '2026-11-22T12:00:00.000Z';
const clock = manualClock(at);
const authz = await createAuthorizer({
  config: 'rbac.config.yaml',
  policies: { rules: [], links: [] },
  clock,
});
const result = await authz.compileSnapshot('examples/snapshot', { write: true });
console.log(
  `Compiled ${result.counts.vendorGrants} vendor grants (${result.counts.users} accounts) into ${result.counts.rules} rules and ${result.counts.links} role links; wrote policies/.`,
);
for (const u of result.unmatched)
  console.log(`  unmapped: ${u.vendor} ${u.kind} ${u.raw} (held by ${u.holder})`);
console.log(`\nDecisions as of ${at}:\n`);
const questions: [string, string, string][] = [
  ['alice', 'zoom:recording', 'edit'], // Zoom Admin role
  ['bob', 'zoom:recording', 'edit'], // Member role: read only
  ['carol', 'zoom:recording', 'read'], // custom role: edit implies read
  ['bob', 'vonage:group:3615beae-3974-4c33-b38d-9ec230b2284c', 'read'], // Vonage "None" → deny
  ['alice', 'vonage:access:CPA_ACD', 'read'], // Modify implies read
  ['bob', 'tuya:permission:232371810', 'use'], // temporary grant (seconds), valid in November
  ['bob', 'tuya:permission:232371811', 'use'], // temporary grant (milliseconds), ended in October
];
for (const [user, resource, action] of questions)
  console.log(formatDecision(authz.explain(user, resource, action)));
