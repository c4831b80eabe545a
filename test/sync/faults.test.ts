// The fault matrix: each case is a whole sync against the emulator serving examples/snapshot, after
// a first clean sync, with every unit of every vendor changed in between so that a change lost or
// applied shows. Each case states its expected result: the exit status, each vendor's status and
// failures, the stale accounts, which slices of the policy keep their previous rules (all others
// must equal a clean sync of the changed data), the requests each vendor answered and the waits
// the adapters asked for. Syncs run on a virtual clock: no case waits for real time, except the
// per-request timeout case (twice 500 ms, real, as a slow answer is real).
import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { virtualTimers } from '../../src/adapters/http.js';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config.js';
import type { Dataset } from '../../src/emulator/dataset.js';
import { EMULATOR_CREDENTIALS, type Emulator, type Faults } from '../../src/emulator/server.js';
import type { Vendor } from '../../src/grants.js';
import { loadIdentities } from '../../src/identities.js';
import { loadMappings } from '../../src/mapping/load.js';
import { readPolicy } from '../../src/policy/store.js';
import { linkKey, type Policy, ruleKey } from '../../src/policy/types.js';
import { runSync, type SyncSummary } from '../../src/sync/run.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';

const ALICE_VONAGE = '2f9207ca-8922-4245-bfc5-d8f42939e29a';
const BOB_VONAGE = '8e22b1fe-d2ea-403d-8c03-50eb21188e79';
const DAVE_VONAGE = '3c4d5e6f-0000-4000-8000-00000000da5e';
const VENDORS: readonly Vendor[] = ['zoom', 'vonage', 'tuya'];
/** Requests each vendor answers in a clean sync of the example data (Vonage: one more to learn its page numbering). */
const CLEAN_REQUESTS: Record<Vendor, number> = { zoom: 12, vonage: 9, tuya: 4 };
/** Every account and role the first sync saw, per vendor: what a vendor that fails as a whole leaves stale. */
const HOLDERS: Record<Vendor, string[]> = {
  zoom: ['role:1', 'role:2', 'role:Rc0ffee', 'z-alice', 'z-bob', 'z-carol'],
  vonage: [ALICE_VONAGE, BOB_VONAGE, DAVE_VONAGE],
  tuya: ['ay-alice', 'ay-bob', 'ay-carol'],
};

/** Between the two syncs every unit of every vendor changes, so a kept unit and an applied one differ. */
function changeEverything(d: Dataset): void {
  const role = (id: string) => d.zoom.roles.find((r) => r.id === id) as Dataset['zoom']['roles'][number];
  role('1').privileges = role('1').privileges.filter((p) => p !== 'Recording:Edit');
  role('2').privileges.push('Dashboard:Read');
  role('Rc0ffee').privileges.push('Webinar:Read');
  d.zoom.extraPermissions.set('z-alice', ['Webinar:Edit']);
  d.zoom.extraPermissions.set('z-bob', ['Meeting:Edit']);
  d.zoom.extraPermissions.set('z-carol', ['Meeting:Join']);
  for (const g of d.vonage.groups.get(ALICE_VONAGE) ?? []) g['groupPermission'] = 'Read';
  for (const g of d.vonage.groups.get(BOB_VONAGE) ?? []) g['groupPermission'] = 'Write';
  for (const g of d.vonage.groups.get(DAVE_VONAGE) ?? []) g['groupPermission'] = 'None';
  d.tuya.permissions.set(
    'ay-alice',
    (d.tuya.permissions.get('ay-alice') ?? []).filter((p) => Number(p['permission_id']) !== 232371811),
  );
  d.tuya.permissions.set('ay-bob', []);
  d.tuya.permissions.get('ay-carol')?.push({ permission_id: 232371900, name: 'Camera', type: 0 });
}

/**
 * The policy cut into the slices a failure keeps whole: `<vendor> <subject>` for a person's (or a
 * Zoom role's) rules from one vendor, with a Zoom role's member links in the role's slice.
 */
function slices(p: Policy): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (key: string, value: string) => out.set(key, [...(out.get(key) ?? []), value].sort());
  for (const r of p.rules) add(`${r.obj.split(':')[0]} ${r.sub}`, ruleKey(r));
  for (const l of p.links) add(`${l.role.split(':')[1]} ${l.role}`, `g ${linkKey(l)}`);
  return out;
}

type Wait = readonly [reason: string, min: number, max: number];

interface Case {
  readonly name: string;
  /** Emulator knobs for the second sync. */
  readonly faults?: Partial<Faults>;
  /** Edits the workspace's config (a wrong secret, a host nobody answers on). */
  readonly config?: (text: string, refused: string) => string;
  /** Per-request timeout and retries for this case (default 30 s and 4). */
  readonly transport?: { readonly timeoutMs: number; readonly retries: number };
  /** What the CLI would exit with (0 when everything asked for was fetched, else 1). */
  readonly exit: 0 | 1;
  readonly status: Record<Vendor, 'ok' | 'partial' | 'failed'>;
  /** Failed units, `<vendor> <unit> <id>`. */
  readonly failures?: readonly string[];
  /** What a failed vendor's error, or every failed unit's error, says. */
  readonly errors?: Partial<Record<Vendor, RegExp>>;
  /** Stale accounts, `<vendor> <holder>`, or `<vendor> *` for every account of the vendor. */
  readonly stale: readonly string[];
  /** Slices that keep their previous rules (`<vendor> <subject>`, or `<vendor> *`); every other slice is updated. */
  readonly kept: readonly string[];
  /** Requests the emulator answered per vendor in the second sync (exact, or [min, max]); default a clean sync's. */
  readonly requests?: Partial<Record<Vendor, number | readonly [number, number]>>;
  /** Retry waits the adapters asked for, per vendor, in order: [reason, min ms, max ms]; default none. */
  readonly waits?: Partial<Record<Vendor, readonly Wait[]>>;
  /** Tokens the emulator issued after `expireTokensAfter` expired them, per vendor (the renewals). */
  readonly renewals?: Partial<Record<Vendor, number>>;
}

const ALL_OK = { zoom: 'ok', vonage: 'ok', tuya: 'ok' } as const;
/** Full-jitter backoff bounds for attempts 1..n (500 ms base, doubling). */
const backoff = (reason: string, n: number): Wait[] =>
  Array.from({ length: n }, (_, i) => [reason, 0, 500 * 2 ** i] as const);

const CASES: readonly Case[] = [
  {
    name: 'tokens that expire mid-sync are renewed once per vendor and every change applies',
    faults: { expireTokensAfter: { zoom: 2, vonage: 2, tuya: 1 } },
    exit: 0,
    status: ALL_OK,
    stale: [],
    kept: [],
    // Each request already sent with the expired token (the units in flight: up to Zoom's three
    // roles, Vonage's and Tuya's three users) is refused (401, Tuya 1010) and sent again after one
    // renewal (Tuya: with its refresh token).
    requests: {
      zoom: [12 + 1 + 1, 12 + 3 + 1],
      vonage: [9 + 1 + 1, 9 + 3 + 1],
      tuya: [4 + 1 + 1, 4 + 2 + 1],
    },
    renewals: { zoom: 1, vonage: 1, tuya: 1 },
  },
  {
    name: 'a 429 storm with Retry-After is waited out exactly as asked, and every change applies',
    faults: { burst: { zoom: { status: 429, count: 4 }, vonage: { status: 429, count: 4 } } },
    exit: 0,
    status: ALL_OK,
    stale: [],
    kept: [],
    requests: { zoom: 12 + 4, vonage: 9 + 4 },
    waits: {
      zoom: Array.from({ length: 4 }, () => ['429', 1000, 1000] as const),
      vonage: Array.from({ length: 4 }, () => ['429', 1000, 1000] as const),
    },
  },
  {
    name: 'a 429 storm without Retry-After backs off at least a rate window each time, and every change applies',
    faults: { burst: { zoom: { status: 429, count: 4 } }, retryAfter: 'none' },
    exit: 0,
    status: ALL_OK,
    stale: [],
    kept: [],
    requests: { zoom: 12 + 4 },
    waits: {
      zoom: [
        ['429', 1000, 1000],
        ['429', 1000, 1000],
        ['429', 1000, 2000],
        ['429', 1000, 4000],
      ],
    },
  },
  {
    name: 'a 429 storm that outlasts the retries fails its vendor after five attempts; its rules are kept',
    faults: { burst: { zoom: { status: 429, count: 1000 } } },
    exit: 1,
    status: { zoom: 'failed', vonage: 'ok', tuya: 'ok' },
    errors: { zoom: /GET \/users: HTTP 429 rate limited/ },
    stale: ['zoom *'],
    kept: ['zoom *'],
    requests: { zoom: 1 + 5 },
    waits: { zoom: Array.from({ length: 4 }, () => ['429', 1000, 1000] as const) },
  },
  {
    name: "Zoom's daily limit stops Zoom at once: one request answered 429, no wait, all its rules kept",
    faults: { zoomDailyLimitAfter: 0 },
    exit: 1,
    status: { zoom: 'failed', vonage: 'ok', tuya: 'ok' },
    errors: { zoom: /daily/ },
    stale: ['zoom *'],
    kept: ['zoom *'],
    requests: { zoom: 1 + 1 },
  },
  {
    name: "Zoom's daily limit reached mid-sync sends nothing more to Zoom: the units not fetched keep their rules",
    faults: { zoomDailyLimitAfter: 2 },
    exit: 1,
    status: { zoom: 'partial', vonage: 'ok', tuya: 'ok' },
    failures: [
      'zoom role 1',
      'zoom role 2',
      'zoom role Rc0ffee',
      'zoom user z-alice',
      'zoom user z-bob',
      'zoom user z-carol',
    ],
    errors: { zoom: /daily/ },
    stale: ['zoom role:1', 'zoom role:2', 'zoom role:Rc0ffee', 'zoom z-alice', 'zoom z-bob', 'zoom z-carol'],
    kept: ['zoom *'],
    // token, users, roles, then the three role requests already in flight when the limit came
    requests: { zoom: [1 + 2 + 1, 1 + 2 + 3] },
  },
  {
    name: 'a Retry-After far beyond a minute fails the vendor at once instead of waiting or spinning',
    faults: { burst: { vonage: { status: 429, count: 1000 } }, retryAfter: 3600 },
    exit: 1,
    status: { zoom: 'ok', vonage: 'failed', tuya: 'ok' },
    errors: { vonage: /asks to wait 3600 s/ },
    stale: ['vonage *'],
    kept: ['vonage *'],
    requests: { vonage: 1 + 1 },
  },
  {
    name: 'a burst of 503s is retried with bounded backoff, and every change applies',
    faults: { burst: { vonage: { status: 503, count: 3 }, tuya: { status: 503, count: 2 } } },
    exit: 0,
    status: ALL_OK,
    stale: [],
    kept: [],
    requests: { vonage: 9 + 3, tuya: 4 + 2 },
    waits: { vonage: backoff('HTTP 503', 3), tuya: backoff('HTTP 503', 2) },
  },
  {
    name: "a truncated body fails only its unit: bob's rules are kept in every vendor, everyone else's change",
    faults: { malformedUnits: ['z-bob', BOB_VONAGE, 'ay-bob'] },
    exit: 1,
    status: { zoom: 'partial', vonage: 'partial', tuya: 'partial' },
    failures: ['zoom user z-bob', `vonage user ${BOB_VONAGE}`, 'tuya user ay-bob'],
    errors: { zoom: /not JSON/, vonage: /not JSON/, tuya: /not JSON/ },
    stale: ['zoom z-bob', `vonage ${BOB_VONAGE}`, 'tuya ay-bob'],
    kept: ['zoom bob', 'vonage bob', 'tuya bob'],
    // bob's Vonage unit stops at its cut groups page: his access permissions are not asked for.
    requests: { vonage: 9 - 1 },
  },
  {
    name: 'answers slower than the timeout fail only their unit after the retries; the others apply',
    // Real time, as a slow answer is: 500 ms is far above a loopback answer even on a busy machine,
    // and one retry keeps the case to about a second.
    faults: { slowUnits: { [BOB_VONAGE]: 3000 } },
    transport: { timeoutMs: 500, retries: 1 },
    exit: 1,
    status: { zoom: 'ok', vonage: 'partial', tuya: 'ok' },
    failures: [`vonage user ${BOB_VONAGE}`],
    errors: { vonage: /no answer within 500 ms/ },
    stale: [`vonage ${BOB_VONAGE}`],
    kept: ['vonage bob'],
    // two attempts at bob's groups page, and his access permissions never asked for
    requests: { vonage: 9 + 1 - 1 },
    waits: { vonage: backoff('timeout', 1) },
  },
  {
    name: "a Tuya clock ten minutes off is corrected from the answer's t: one request again, no wait",
    faults: { tuyaClockOffsetMs: 10 * 60_000 },
    exit: 0,
    status: ALL_OK,
    stale: [],
    kept: [],
    requests: { tuya: 4 + 1 },
  },
  {
    name: 'a Tuya clock skew that cannot be corrected (no t in the answer) fails Tuya at once, naming the clock',
    faults: { tuyaClockOffsetMs: 10 * 60_000, tuyaOmitTime: true },
    exit: 1,
    status: { zoom: 'ok', vonage: 'ok', tuya: 'failed' },
    errors: { tuya: /code 1013 .*clock/ },
    stale: ['tuya *'],
    kept: ['tuya *'],
    requests: { tuya: 1 },
  },
  {
    name: 'a wrong Tuya secret (sign invalid, 1004) fails Tuya as a whole after one request, naming the credentials',
    config: (text) => text.replace(EMULATOR_CREDENTIALS.tuya.clientSecret, 'not-the-secret'),
    exit: 1,
    status: { zoom: 'ok', vonage: 'ok', tuya: 'failed' },
    errors: { tuya: /code 1004 sign invalid \(credentials refused: .*vendors\.tuya\.clientSecret\)$/ },
    stale: ['tuya *'],
    kept: ['tuya *'],
    requests: { tuya: 1 },
  },
  {
    name: 'a vendor answering 503 to everything for the whole run fails after its retries; its rules are kept',
    faults: { down: ['vonage'] },
    exit: 1,
    status: { zoom: 'ok', vonage: 'failed', tuya: 'ok' },
    errors: { vonage: /HTTP 503/ },
    stale: ['vonage *'],
    kept: ['vonage *'],
    requests: { vonage: 5 },
    waits: { vonage: backoff('HTTP 503', 4) },
  },
  {
    name: 'a vendor refusing connections for the whole run fails after its retries; its rules are kept',
    config: (text, refused) =>
      text.replace(
        /(zoom: \{ baseUrl: )\S+?\/zoom\/v2, tokenUrl: \S+?,/,
        `$1${refused}/zoom/v2, tokenUrl: ${refused}/zoom/oauth/token,`,
      ),
    exit: 1,
    status: { zoom: 'failed', vonage: 'ok', tuya: 'ok' },
    errors: { zoom: /network error/ },
    stale: ['zoom *'],
    kept: ['zoom *'],
    requests: { zoom: 0 },
    waits: { zoom: backoff('network', 4) },
  },
];

describe('a sync meets vendor faults', { timeout: 180_000 }, () => {
  const emulators: Emulator[] = [];
  after(() => Promise.all(emulators.map((e) => e.close())));
  const emulator = async (change: boolean) => {
    const e = await exampleEmulator();
    emulators.push(e);
    if (change) changeEverything(e.state.dataset);
    return e;
  };
  let previous: { policies: string; policy: Policy };
  let fresh: Policy;
  /** A loopback origin nobody listens on (a port just freed, so no emulator has it yet). */
  const refusedOrigin = async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    return `http://127.0.0.1:${port}`;
  };

  /** One sync of a workspace on a virtual clock, with what the adapters asked to wait. */
  const sync = async (config: string, extra: { timeoutMs?: number; retries?: number } = {}) => {
    const c = await loadConfig(config);
    const [mappings, identities] = await Promise.all([
      loadMappings(c.mappings),
      loadIdentities(c.identities, { optional: !c.identitiesRequired }),
    ]);
    const timers = virtualTimers();
    const waits: Record<Vendor, [string, number][]> = { zoom: [], vonage: [], tuya: [] };
    const summary = await runSync(
      { config: c, mappings, identities },
      { ...extra, timers, progress: { retry: (v, i) => waits[v].push([i.reason, i.waitMs]) } },
    );
    for (const v of VENDORS)
      for (const [, ms] of waits[v])
        assert.ok(timers.waits.includes(ms), `${v}: the ${ms} ms wait was slept`);
    return { summary, waits, policy: await readPolicy(c.policies) };
  };

  before(async () => {
    const first = await emulator(false);
    const ws = await syncWorkspace(first.url);
    const s = await sync(ws.config);
    assert.equal(s.summary.ok, true);
    previous = { policies: join(ws.dir, 'policies'), policy: s.policy };
    const reference = await emulator(true);
    const clean = await sync((await syncWorkspace(reference.url)).config);
    assert.equal(clean.summary.ok, true);
    fresh = clean.policy;
  });

  test('through the CLI, a fault exits 1 and prints the failed vendor, its error and what was kept stale', async () => {
    for (const fault of ['tuya secret', 'zoom daily limit'] as const) {
      const e = await emulator(true);
      const ws = await syncWorkspace(e.url);
      await cp(previous.policies, join(ws.dir, 'policies'), { recursive: true });
      if (fault === 'tuya secret')
        await writeFile(
          ws.config,
          (await readFile(ws.config, 'utf8')).replace(
            EMULATOR_CREDENTIALS.tuya.clientSecret,
            'not-the-secret',
          ),
        );
      else e.setFaults({ zoomDailyLimitAfter: 0 });
      let out = '';
      let err = '';
      const code = await main(['sync', '--config', ws.config], {
        out: (t) => (out += t),
        err: (t) => (err += t),
      });
      assert.equal(code, 1, err);
      const v = fault === 'tuya secret' ? 'tuya' : 'zoom';
      assert.match(
        out,
        fault === 'tuya secret'
          ? /^tuya {4}failed {3}0 users, 1 request, 0 retries.*\n {8}error: tuya GET \/v1\.0\/token: code 1004 sign invalid \(credentials refused: check vendors\.tuya\.clientId and vendors\.tuya\.clientSecret\)$/m
          : /^zoom {4}failed {3}0 roles and users, 2 requests, 0 retries.*\n {8}error: zoom GET \/users: HTTP 429 daily rate limit reached; the vendor asks to wait \d+ s \(until \d{4}-\d\d-\d\dT00:00:00\.000Z\)$/m,
      );
      for (const h of HOLDERS[v]) assert.match(out, new RegExp(`^stale: ${v} ${h}: rules kept from 20`, 'm'));
      assert.match(out, /some data could not be fetched: exit 1/);
      assert.doesNotMatch(out + err, /not-the-secret|emu-\w+-secret/);
      const now = slices(await readPolicy(join(ws.dir, 'policies')));
      for (const [key, rules] of slices(previous.policy))
        if (key.startsWith(`${v} `)) assert.deepEqual(now.get(key), rules, key);
    }
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const e = await emulator(true);
      const ws = await syncWorkspace(e.url);
      await cp(previous.policies, join(ws.dir, 'policies'), { recursive: true });
      if (c.config)
        await writeFile(ws.config, c.config(await readFile(ws.config, 'utf8'), await refusedOrigin()));
      e.setFaults(structuredClone(c.faults ?? {}));
      const sent = { ...e.state.stats.requests };
      const { summary, waits, policy } = await sync(ws.config, c.transport ?? {});

      assert.equal(summary.ok ? 0 : 1, c.exit, 'exit status');
      const outcome = (v: Vendor) =>
        summary.vendors.find((o) => o.vendor === v) as SyncSummary['vendors'][number];
      assert.deepEqual(
        Object.fromEntries(VENDORS.map((v) => [v, outcome(v).status])),
        c.status,
        'vendor status',
      );
      assert.deepEqual(
        summary.vendors.flatMap((o) => o.failures.map((f) => `${o.vendor} ${f.unit} ${f.id}`)).sort(),
        [...(c.failures ?? [])].sort(),
        'failed units',
      );
      for (const v of VENDORS) {
        const o = outcome(v);
        const said = [o.error, ...o.failures.map((f) => f.error)].filter((x) => x !== undefined);
        const expected = c.errors?.[v];
        if (expected) {
          assert.ok(said.length > 0, `${v} reports an error`);
          for (const m of said) assert.match(m, expected, `${v} error`);
        } else assert.deepEqual(said, [], `${v} reports no error`);
        for (const m of said)
          assert.doesNotMatch(m, /emu-\w+-secret|not-the-secret/, 'no secret in messages');
      }
      assert.deepEqual(
        summary.stale.map((h) => `${h.vendor} ${h.holder}`).sort(),
        c.stale
          .flatMap((s) =>
            s.endsWith(' *') ? HOLDERS[s.split(' ')[0] as Vendor].map((h) => `${s.split(' ')[0]} ${h}`) : [s],
          )
          .sort(),
        'stale accounts',
      );

      // Every slice is either kept as it was or updated as a clean sync of the changed data has it.
      const was = slices(previous.policy);
      const now = slices(policy);
      const clean = slices(fresh);
      const isKept = (key: string) =>
        c.kept.some((k) => k === key || (k.endsWith(' *') && key.startsWith(k.slice(0, -1))));
      for (const key of new Set([...was.keys(), ...now.keys(), ...clean.keys()])) {
        if (isKept(key)) {
          assert.notDeepEqual(was.get(key), clean.get(key), `${key}: the change would show`);
          assert.deepEqual(now.get(key), was.get(key), `${key}: kept as it was`);
        } else assert.deepEqual(now.get(key), clean.get(key), `${key}: updated`);
      }

      for (const v of VENDORS) {
        const want = c.requests?.[v] ?? CLEAN_REQUESTS[v];
        const got = e.state.stats.requests[v] - sent[v];
        if (typeof want === 'number') assert.equal(got, want, `${v} requests`);
        else assert.ok(got >= want[0] && got <= want[1], `${v} requests: ${got} not in [${want}]`);
        const expected = c.waits?.[v] ?? [];
        assert.equal(waits[v].length, expected.length, `${v} waits: ${JSON.stringify(waits[v])}`);
        waits[v].forEach(([reason, ms], i) => {
          const [r, min, max] = expected[i] as Wait;
          assert.equal(reason, r, `${v} wait ${i + 1} reason`);
          assert.ok(ms >= min && ms <= max, `${v} wait ${i + 1}: ${ms} ms not in [${min}, ${max}]`);
        });
        const renewals = c.renewals?.[v];
        if (renewals !== undefined) {
          // The expiry emptied the vendor's token list: what is in it now was issued afterwards.
          assert.equal(e.state.faults.expireTokensAfter[v], undefined, `${v} tokens did expire`);
          assert.equal(e.state.tokens[v].size, renewals, `${v} tokens issued after the expiry`);
        }
      }
    });
  }
});
