// createAuthorizer({ metrics: registry }): what a Prometheus scrape sees of decisions, the cache,
// the policy, its freshness and syncs.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { register as globalRegistry, type OpenMetricsContentType, Registry } from 'prom-client';
import { virtualTimers } from '../../src/adapters/http.js';
import { createAuthorizer } from '../../src/authorizer.js';
import { manualClock } from '../../src/clock.js';
import type { Emulator } from '../../src/emulator/server.js';
import { ALLOWED, type DecisionCode, decisionOf, NO_RULE } from '../../src/engine/decision-cache.js';
import { isConfigError, isPolicyError } from '../../src/errors.js';
import type { Health } from '../../src/health.js';
import { createMetrics, METRIC_NAMES } from '../../src/observe/metrics.js';
import { type ObserverHost, TIMED_ONE_IN } from '../../src/observe/observer.js';
import { writePolicy } from '../../src/policy/store.js';
import type { Policy } from '../../src/policy/types.js';
import { exampleEmulator, syncWorkspace } from '../helpers/emulator.js';
import { docPolicy, rule } from '../helpers/policy.js';

const policy = docPolicy;
const START = '2026-11-22T10:00:00Z';

const dirs: string[] = [];
const emulators: Emulator[] = [];
after(async () => {
  await Promise.all(emulators.map((e) => e.close()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function policyDir(p: Policy = policy): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-metrics-'));
  dirs.push(dir);
  await writePolicy(dir, p);
  return dir;
}

/**
 * The samples of an exposition, `name{labels}` → value, after checking its shape: every sample
 * line follows a HELP and a TYPE of its family and has a number.
 */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-z_]+) (.+)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3] ?? '', /^(counter|gauge|histogram)$/);
        typed.add(meta[2] ?? '');
      }
      continue;
    }
    const m = /^([a-z_]+)(\{[a-z_]+="[^"]*"(?:,[a-z_]+="[^"]*")*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const family = (m[1] ?? '').replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1] ?? '') || typed.has(family), `${line}: no TYPE before it`);
    const value = Number(m[3]);
    assert.ok(!Number.isNaN(value), line);
    out.set(`${m[1]}${m[2] ?? ''}`, value);
  }
  return out;
}

/** Checks a histogram's buckets rise and end at its count; returns the count. */
function histogram(s: Map<string, number>, name: string): { count: number; sum: number } {
  const buckets = [...s].filter(([k]) => k.startsWith(`${name}_bucket{`));
  assert.ok(buckets.length > 1, `${name} has buckets`);
  for (let i = 1; i < buckets.length; i++)
    assert.ok((buckets[i]?.[1] ?? 0) >= (buckets[i - 1]?.[1] ?? 0), `${name} buckets are cumulative`);
  const count = s.get(`${name}_count`) ?? Number.NaN;
  assert.equal(s.get(`${name}_bucket{le="+Inf"}`), count);
  return { count, sum: s.get(`${name}_sum`) ?? Number.NaN };
}

const scrape = async (registry: Registry) => samples(await registry.metrics());

describe('metrics', () => {
  test('count each decision by result and reason, and the cache, exactly', async () => {
    const registry = new Registry();
    const authz = await createAuthorizer({ policies: await policyDir(), metrics: registry });
    assert.equal(authz.enforce('alice', 'doc', 'read'), true);
    assert.equal(authz.enforce('alice', 'doc', 'read'), true, 'a cache hit');
    assert.equal(authz.enforceStrict('bob', 'doc', 'read'), false);
    assert.equal(authz.enforce('dave', 'doc', 'read'), false);
    assert.equal(authz.enforce(42 as unknown as string, 'doc', 'read'), false);
    assert.throws(() => authz.enforceStrict('carol', {} as unknown as string, 'read'));
    const s = await scrape(registry);
    const decisions = (result: string, reason: string) =>
      s.get(`rbac_decisions_total{result="${result}",reason="${reason}"}`);
    assert.equal(decisions('allow', 'allowed'), 2);
    assert.equal(decisions('deny', 'denied-by-rule'), 1);
    assert.equal(decisions('deny', 'no-matching-rule'), 1);
    assert.equal(decisions('deny', 'invalid-request'), 2);
    assert.equal(decisions('deny', 'error'), 0);
    assert.equal(s.get('rbac_cache_hits_total'), 1);
    assert.equal(s.get('rbac_cache_misses_total'), 3);
    assert.equal(s.get('rbac_cache_entries'), 3);
    assert.equal(s.get('rbac_cache_evictions_total'), 0);
    // About one call in TIMED_ONE_IN is timed, at random (test/observe/observer.test.ts checks the draw).
    const { count, sum } = histogram(s, 'rbac_decision_duration_seconds');
    assert.ok(count >= 0 && count <= 6, `${count} timed`);
    assert.ok(count === 0 ? sum === 0 : sum > 0 && sum < 1, `sum ${sum} of ${count}`);
  });

  test('keep counting across scrapes: a counter never goes back', async () => {
    const registry = new Registry();
    const authz = await createAuthorizer({ policies: await policyDir(), metrics: registry });
    authz.enforce('alice', 'doc', 'read');
    const first = await scrape(registry);
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('alice', 'doc', 'read');
    const second = await scrape(registry);
    const allowed = 'rbac_decisions_total{result="allow",reason="allowed"}';
    assert.deepEqual([first.get(allowed), second.get(allowed)], [1, 3]);
    assert.deepEqual([first.get('rbac_cache_hits_total'), second.get('rbac_cache_hits_total')], [0, 2]);
  });

  test("put each timed decision in the first bucket that holds it; count the engine's decisions and the refusals", async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    const host: ObserverHost = {
      clock: manualClock(START),
      via: () => {
        throw new Error('not asked');
      },
      grantsOf: () => {
        throw new Error('not asked');
      },
      // By code: no rule, allowed, denied by rule (the engine counts every decision, told or not).
      decisions: () => [0, 6, 1],
      policyVersion: () => 0,
      stats: () => ({ rules: 0, links: 0, cached: 0, hits: 0, misses: 0, evictions: 0 }),
    };
    const observer = metrics.observe(host);
    assert.ok(observer);
    const never = { since: 0, until: 0, denied: false, rule: undefined, reach: undefined };
    const decided = (code: DecisionCode) => decisionOf(code, never);
    assert.equal(observer.share, 1 / TIMED_ONE_IN);
    const times = [0.0000004, 0.000001, 0.0000011, 0.00003, 0.02];
    for (const t of times) observer.decided('u', 'r', 'a', decided(ALLOWED), true, t, undefined);
    observer.decided('u', 'r', 'a', decided(NO_RULE), false, 0.000002, undefined);
    // A refusal on a call that was not drawn is counted, not timed.
    observer.refused(1, 'r', 'a', 'error', new Error('x'), 0.004, undefined);
    observer.refused(1, 'r', 'a', 'invalid-request', new Error('x'), Number.NaN, undefined);
    metrics.register({ freshness: () => ({ version: 0, lastHeardAt: null, loadedAt: null }), health });
    const s = await scrape(registry);
    const le = (b: string) => s.get(`rbac_decision_duration_seconds_bucket{le="${b}"}`);
    assert.deepEqual(
      ['0.000001', '0.0000025', '0.000005', '0.00005', '0.0025', '0.005', '0.01', '+Inf'].map(le),
      [2, 4, 4, 5, 5, 6, 6, 7],
    );
    const { count, sum } = histogram(s, 'rbac_decision_duration_seconds');
    assert.equal(count, 7);
    assert.ok(Math.abs(sum - (0.0000004 + 0.000001 + 0.0000011 + 0.00003 + 0.02 + 0.000002 + 0.004)) < 1e-12);
    assert.equal(s.get('rbac_decisions_total{result="allow",reason="allowed"}'), 6);
    assert.equal(s.get('rbac_decisions_total{result="deny",reason="denied-by-rule"}'), 1);
    assert.equal(s.get('rbac_decisions_total{result="deny",reason="error"}'), 1);
    assert.equal(s.get('rbac_decisions_total{result="deny",reason="invalid-request"}'), 1);
    assert.equal(s.get('rbac_decisions_total{result="deny",reason="no-matching-rule"}'), 0);
  });

  test('count the evictions of a full cache', async () => {
    const registry = new Registry();
    const authz = await createAuthorizer({
      policies: await policyDir(),
      cache: { max: 1 },
      metrics: registry,
    });
    authz.enforce('alice', 'doc', 'read');
    authz.enforce('carol', 'doc', 'read');
    authz.enforce('alice', 'doc', 'read');
    const s = await scrape(registry);
    assert.equal(s.get('rbac_cache_evictions_total'), 2);
    assert.equal(s.get('rbac_cache_entries'), 1);
  });

  test('report the policy held, its version and when it was loaded and confirmed, on the injected clock', async () => {
    const registry = new Registry();
    const clock = manualClock(START);
    const authz = await createAuthorizer({ policies: await policyDir(), clock, metrics: registry });
    clock.advance(60_000);
    const s = await scrape(registry);
    assert.equal(s.get('rbac_policy_rules'), 3);
    assert.equal(s.get('rbac_policy_links'), 2);
    assert.equal(s.get('rbac_policy_version'), 0);
    assert.equal(s.get('rbac_policy_loaded_timestamp_seconds'), Date.parse(START) / 1000);
    assert.equal(s.get('rbac_policy_last_confirmed_timestamp_seconds'), Date.parse(START) / 1000);
    authz.applyChanges({ addRules: [rule('erin', 'doc', 'read')] });
    assert.equal((await scrape(registry)).get('rbac_policy_rules'), 4);
  });

  test('never put a subject, resource or action in a label', async () => {
    const registry = new Registry();
    const secret = ['subj-7f3a@example.com', 'res-private-9c1b', 'act-hidden-44'] as const;
    const p: Policy = { rules: [rule(secret[0], secret[1], secret[2])], links: [] };
    const authz = await createAuthorizer({ policies: await policyDir(p), metrics: registry });
    authz.enforce(...secret);
    authz.enforce(...secret);
    authz.enforce('subj-other-51', secret[1], secret[2]);
    authz.enforce(secret[0], 'res-other-6d', 'act-other-2');
    authz.enforce(secret[0], 7 as unknown as string, 'act-bad-9');
    const text = await registry.metrics();
    assert.ok(text.includes('rbac_decisions_total'));
    for (const s of [
      ...secret,
      'subj-other-51',
      'res-other-6d',
      'act-other-2',
      'act-bad-9',
      'subj',
      'res-',
      'act-',
    ])
      assert.ok(!text.includes(s), `${s} is not in the exposition`);
  });

  test('sync runs: outcomes per vendor, requests, 429s, retries, durations; a failing vendor keeps its last success', async () => {
    const e = await exampleEmulator();
    emulators.push(e);
    const ws = await syncWorkspace(e.url);
    dirs.push(ws.dir);
    const registry = new Registry();
    const clock = manualClock(START);
    await writePolicy(join(ws.dir, 'policies'), { rules: [], links: [] });
    const authz = await createAuthorizer({ config: ws.config, clock, metrics: registry });
    // Each vendor's start takes 1.5 s of the clock.
    let starts = 0;
    const opts = {
      timers: virtualTimers(),
      now: () => clock.now(),
      progress: {
        start: () => {
          starts++;
          clock.advance(1500);
        },
      },
    };
    const first = await authz.sync(opts);
    assert.equal(first.ok, true);
    assert.equal(starts, 3);
    const firstEnd = clock.now();
    const before = await scrape(registry);
    assert.equal(before.get('rbac_stale_units{vendor="tuya"}'), 0);
    clock.advance(3_600_000);
    e.setFaults({ down: ['vonage'], failUsers: ['ay-bob'], burst: { zoom: { status: 429, count: 2 } } });
    const secondStart = clock.now();
    const second = await authz.sync(opts);
    const secondEnd = clock.now();
    const secondSeconds = (secondEnd - secondStart) / 1000;
    assert.ok(secondSeconds > 0 && secondSeconds <= 4.5);
    assert.equal(second.ok, false);
    const status = Object.fromEntries(second.vendors.map((v) => [v.vendor, v.status]));
    assert.deepEqual(status, { zoom: 'ok', vonage: 'failed', tuya: 'partial' });
    await assert.rejects(authz.sync({ ...opts, signal: AbortSignal.abort() }));

    const s = await scrape(registry);
    assert.equal(s.get('rbac_syncs_total{status="ok"}'), 1);
    assert.equal(s.get('rbac_syncs_total{status="incomplete"}'), 1);
    assert.equal(s.get('rbac_syncs_total{status="error"}'), 1);
    assert.equal(s.get('rbac_vendor_syncs_total{vendor="zoom",status="ok"}'), 2);
    assert.equal(s.get('rbac_vendor_syncs_total{vendor="vonage",status="ok"}'), 1);
    assert.equal(s.get('rbac_vendor_syncs_total{vendor="vonage",status="failed"}'), 1);
    assert.equal(s.get('rbac_vendor_syncs_total{vendor="tuya",status="partial"}'), 1);
    for (const vendor of ['zoom', 'vonage', 'tuya'] as const) {
      const of = (x: typeof first) => x.vendors.find((v) => v.vendor === vendor);
      const total = (k: 'requests' | 'retries' | 'rateLimited') =>
        (of(first)?.[k] ?? 0) + (of(second)?.[k] ?? 0);
      assert.equal(s.get(`rbac_vendor_requests_total{vendor="${vendor}"}`), total('requests'), vendor);
      assert.equal(s.get(`rbac_vendor_retries_total{vendor="${vendor}"}`), total('retries'), vendor);
      assert.equal(s.get(`rbac_vendor_rate_limited_total{vendor="${vendor}"}`), total('rateLimited'), vendor);
    }
    assert.equal(s.get('rbac_vendor_rate_limited_total{vendor="zoom"}'), 2, 'the two 429s');
    assert.ok((s.get('rbac_vendor_retries_total{vendor="vonage"}') ?? 0) > 0, 'the 503s were retried');
    assert.ok((s.get('rbac_vendor_requests_total{vendor="zoom"}') ?? 0) > 10);
    const durations = histogram(s, 'rbac_sync_duration_seconds');
    assert.equal(durations.count, 3);
    assert.equal(durations.sum, 4.5 + secondSeconds + (clock.now() - secondEnd) / 1000);
    assert.equal(s.get('rbac_sync_duration_seconds_bucket{le="0.1"}'), 1, 'the aborted run');
    assert.equal(s.get('rbac_sync_duration_seconds_bucket{le="2.5"}'), 1);
    assert.equal(s.get('rbac_sync_duration_seconds_bucket{le="5"}'), 3);

    const lastSuccess = (v: string) =>
      s.get(`rbac_vendor_last_success_timestamp_seconds{vendor="${v}"}`) ?? 0;
    const within = (t: number, from: number, to: number) => t >= from / 1000 && t <= to / 1000;
    assert.ok(within(lastSuccess('zoom'), secondStart, secondEnd), 'zoom succeeded again');
    assert.ok(within(lastSuccess('vonage'), Date.parse(START), firstEnd), 'vonage kept its last success');
    assert.equal(s.get('rbac_stale_units{vendor="tuya"}'), 1);
    assert.ok((s.get('rbac_stale_units{vendor="vonage"}') ?? 0) >= 1, 'the down vendor is stale');
    assert.equal(s.get('rbac_stale_units{vendor="zoom"}'), 0);
    assert.ok((s.get('rbac_policy_rules') ?? 0) > 20);
  });

  test('a scrape that cannot read the sync state keeps the last values and reports why', async () => {
    const registry = new Registry();
    const errors: unknown[] = [];
    const dir = await policyDir();
    const authz = await createAuthorizer({
      policies: dir,
      metrics: registry,
      onError: (e) => errors.push(e),
    });
    assert.equal((await scrape(registry)).get('rbac_stale_units{vendor="zoom"}'), 0);
    await writeFile(join(dir, 'sync-state.json'), '{ not json');
    authz.enforce('alice', 'doc', 'read');
    const s = await scrape(registry);
    assert.equal(s.get('rbac_stale_units{vendor="zoom"}'), 0, 'the last value');
    assert.equal(s.get('rbac_decisions_total{result="allow",reason="allowed"}'), 1, 'the rest is there');
    assert.ok(errors.length >= 1 && errors.every(isPolicyError), String(errors));
  });

  test('an authorizer without metrics registers nothing', async () => {
    const before = globalRegistry.getMetricsAsArray().length;
    const authz = await createAuthorizer({ policies: await policyDir() });
    authz.enforce('alice', 'doc', 'read');
    assert.equal(globalRegistry.getMetricsAsArray().length, before);
    assert.equal(globalRegistry.getSingleMetric('rbac_decisions_total'), undefined);
  });

  test('one authorizer per registry: a second is refused naming `metrics`; close() frees the registry', async () => {
    const registry = new Registry();
    const dir = await policyDir();
    const first = await createAuthorizer({ policies: dir, metrics: registry });
    assert.deepEqual(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
      [...METRIC_NAMES].sort(),
    );
    await assert.rejects(
      createAuthorizer({ policies: dir, metrics: registry }),
      (e: unknown) =>
        isConfigError(e) && e.key === 'metrics' && /already has rbac_decisions_total/.test(e.message),
    );
    await first.close();
    assert.equal(registry.getMetricsAsArray().length, 0);
    const second = await createAuthorizer({ policies: dir, metrics: registry });
    second.enforce('alice', 'doc', 'read');
    assert.equal(
      (await scrape(registry)).get('rbac_decisions_total{result="allow",reason="allowed"}'),
      1,
      'the new one counts from zero',
    );
  });

  test('refuses what is not a Registry, and leaves the registry empty when the authorizer fails to start', async () => {
    for (const bad of [{}, 'registry', null, { registerMetric() {} }])
      await assert.rejects(
        createAuthorizer({ policies: await policyDir(), metrics: bad as unknown as Registry }),
        (e: unknown) => isConfigError(e) && e.key === 'metrics',
      );
    const registry = new Registry();
    await assert.rejects(
      createAuthorizer({ policies: join(await policyDir(), 'missing'), metrics: registry }),
      isPolicyError,
    );
    assert.equal(registry.getMetricsAsArray().length, 0);
  });

  test('an OpenMetrics registry gets the same metrics', async () => {
    const registry = new Registry<OpenMetricsContentType>();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const authz = await createAuthorizer({ policies: await policyDir(), metrics: registry });
    authz.enforce('alice', 'doc', 'read');
    const text = await registry.metrics();
    assert.match(text, /^rbac_decisions_total\{result="allow",reason="allowed"\} 1$/m);
    assert.match(text, /^rbac_decision_duration_seconds_count [01]$/m);
    assert.match(text, /# EOF\n$/);
    await authz.close();
    assert.equal(registry.getMetricsAsArray().length, 0, 'close() finds them after the scrape renamed them');
  });
});

async function health(): Promise<Health> {
  return {
    ready: true,
    policy: { version: 0, loadedAt: null, rules: 0, links: 0 },
    lastHeardAt: null,
    lastSyncAt: null,
    vendors: [],
    staleUnits: 0,
    cache: { cached: 0, hits: 0, misses: 0, evictions: 0 },
  };
}
