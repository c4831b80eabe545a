// `npm start`: the real path, with no vendor account. Starts the bundled vendor emulator (serving
// the example data in examples/snapshot as Zoom, Vonage and Tuya would), syncs all three vendors
// over HTTP into the policies folder of rbac.config.yaml (.rbac/policies/, ignored by git), and
// prints a few explained decisions. The clock is pinned so the temporary Tuya grants in the example
// data give the same answers on any day. It uses only the package's public entry points.
import { EMULATOR_CREDENTIALS as C, snapshotDataset, startEmulator } from '../src/emulator/index.js';
import { createAuthorizer, formatDecision, manualClock } from '../src/index.js';

const emulator = await startEmulator({ dataset: await snapshotDataset('examples/snapshot') });
console.log(`Vendor emulator on ${emulator.url}; syncing Zoom, Vonage and Tuya over HTTP...\n`);
try {
  const at = '2026-11-22T12:00:00.000Z';
  // Starts from an empty policy (a fresh clone has none compiled yet); the sync writes the config's
  // policies folder and applies what it fetched to this authorizer.
  const authz = await createAuthorizer({
    config: 'rbac.config.yaml',
    policies: { rules: [], links: [] },
    clock: manualClock(at),
  });
  const url = emulator.url;
  const summary = await authz.sync({
    env: {
      ZOOM_BASE_URL: `${url}/zoom/v2`,
      ZOOM_TOKEN_URL: `${url}/zoom/oauth/token`,
      ZOOM_ACCOUNT_ID: C.zoom.accountId,
      ZOOM_CLIENT_ID: C.zoom.clientId,
      ZOOM_CLIENT_SECRET: C.zoom.clientSecret,
      VONAGE_BASE_URL: `${url}/vonage/useradmin`,
      VONAGE_TOKEN_URL: `${url}/vonage/Auth/connect/token`,
      VONAGE_CLIENT_ID: C.vonage.clientId,
      VONAGE_CLIENT_SECRET: C.vonage.clientSecret,
      TUYA_BASE_URL: `${url}/tuya`,
      TUYA_CLIENT_ID: C.tuya.clientId,
      TUYA_CLIENT_SECRET: C.tuya.clientSecret,
    },
  });
  for (const v of summary.vendors)
    console.log(
      `  ${v.vendor.padEnd(7)} ${v.status.padEnd(8)} ${v.units} ${v.vendor === 'zoom' ? 'roles and users' : 'users'}, ${v.requests} requests`,
    );
  const c = summary.changes;
  console.log(
    `  policy: ${summary.rules} rules, ${summary.links} role links in .rbac/policies/ (+${c.addRules + c.addLinks} / -${c.removeRules + c.removeLinks} this run)`,
  );
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
  if (!summary.ok) process.exitCode = 1;
} finally {
  await emulator.close();
}
