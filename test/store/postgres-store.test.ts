import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'pg';
import { StoreError } from '../../src/errors.js';
import type { Provenance } from '../../src/grants.js';
import type { SyncState } from '../../src/policy/sync-state.js';
import { linkKey, type PolicyRule, type RoleLink, ruleKey } from '../../src/policy/types.js';
import { postgresPolicyStore } from '../../src/store/postgres/policy-store.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { HOSTILE_VALUES } from '../helpers/hostile.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();
const OPEN_FROM = Number.NEGATIVE_INFINITY;
const OPEN_UNTIL = Number.POSITIVE_INFINITY;
const T1 = Date.parse('2026-01-01T00:00:00.000Z');
const T2 = Date.parse('2026-06-30T12:34:56.789Z');

const rule = (sub: string, over: Partial<PolicyRule> = {}): PolicyRule => ({
  sub,
  obj: 'zoom:recording',
  act: 'read',
  eft: 'allow',
  from: OPEN_FROM,
  until: OPEN_UNTIL,
  ...over,
});

const sortRules = (rs: readonly PolicyRule[]) => [...rs].sort((a, b) => ruleKey(a).localeCompare(ruleKey(b)));
const sortLinks = (ls: readonly RoleLink[]) => [...ls].sort((a, b) => linkKey(a).localeCompare(linkKey(b)));

describe('PostgreSQL policy store', { skip }, () => {
  const schema = uniqueName('rbac_test');
  let store: PostgresStore;

  before(async () => {
    store = createPostgresStore({ url: PG_URL, schema, changeLogRetention: 3 });
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    await dropSchema(schema);
  });

  test('migrate is idempotent, and concurrent migrations of a new schema apply each step once', async () => {
    assert.deepEqual((await store.migrate()).applied, []);
    const other = uniqueName('rbac_test');
    const stores = [1, 2, 3].map(() => createPostgresStore({ url: PG_URL, schema: other }));
    try {
      const results = await Promise.all(stores.map((s) => s.migrate()));
      assert.deepEqual(results.map((r) => r.applied.length).sort(), [0, 0, 1]);
      const rows = await sql(`SELECT version FROM "${other}".schema_migrations`);
      assert.deepEqual(rows, [{ version: 1 }]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await dropSchema(other);
    }
  });

  test('a load before migrate names the fix', async () => {
    const bare = createPostgresStore({ url: PG_URL, schema: uniqueName('rbac_test') });
    try {
      await assert.rejects(bare.load(), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.failure, 'not-migrated');
        assert.match(e.message, /migrate\(\)/);
        return true;
      });
    } finally {
      await bare.close();
    }
  });

  test('hostile values, open bounds, links, provenance and sync state round-trip exactly', async () => {
    const base = await store.version();
    const rules: PolicyRule[] = [];
    HOSTILE_VALUES.forEach((v, i) => {
      rules.push(rule(v, { obj: `obj ${v}`, act: v, eft: i % 2 ? 'deny' : 'allow' }));
      rules.push(rule(v, { from: T1 + i }));
      rules.push(rule(v, { until: T2 - i }));
      rules.push(rule(v, { from: T1, until: T2 + i }));
    });
    const links = HOSTILE_VALUES.map((v, i) => ({
      member: v,
      role: `role:${HOSTILE_VALUES[(i + 1) % HOSTILE_VALUES.length]}`,
    }));
    const provenance = new Map<string, Provenance[]>(
      rules.map((r, i) => [
        ruleKey(r),
        [{ vendor: 'zoom', kind: 'role', holder: `u${i}`, raw: HOSTILE_VALUES[i % HOSTILE_VALUES.length]! }],
      ]),
    );
    const state: SyncState = {
      updatedAt: '2026-07-01T00:00:00.000Z',
      lastSuccess: { 'zoom:"odd, key"': '2026-07-01T00:00:00.000Z' },
      stale: [{ vendor: 'tuya', holder: 'line\nbreak', lastSuccess: null, error: 'say "hi"' }],
    };
    const result = await store.commit({ addRules: rules, addLinks: links, provenance, state });
    assert.equal(result.version, base + 1);
    assert.equal(result.delta.addRules.length, rules.length);

    const snap = await store.load();
    assert.equal(snap.version, base + 1);
    assert.deepEqual(sortRules(snap.policy.rules), sortRules(rules));
    assert.deepEqual(sortLinks(snap.policy.links), sortLinks(links));
    for (const [k, v] of provenance) assert.deepEqual(snap.provenance.get(k), v, k);
    assert.deepEqual(snap.state, state);

    await store.commit({ removeRules: rules, removeLinks: links });
    const empty = await store.load();
    assert.equal(empty.policy.rules.length, 0);
    assert.equal(empty.policy.links.length, 0);
    assert.equal(empty.provenance.size, 0, 'provenance of removed rules and links goes with them');
  });

  test('an open bound is NULL in its own column and never moves into the other', async () => {
    const onlyUntil = rule('bounds-a', { until: T2 });
    const onlyFrom = rule('bounds-b', { from: T1 });
    await store.commit({ addRules: [onlyUntil, onlyFrom] });
    const rows = await sql<{ sub: string; valid_from: string | null; valid_until: string | null }>(
      `SELECT sub, valid_from, valid_until FROM "${schema}".rules WHERE sub LIKE 'bounds-%' ORDER BY sub`,
    );
    assert.deepEqual(rows, [
      { sub: 'bounds-a', valid_from: null, valid_until: String(T2) },
      { sub: 'bounds-b', valid_from: String(T1), valid_until: null },
    ]);
    await store.commit({ removeRules: [onlyUntil, onlyFrom] });
  });

  test('removing a rule removes exactly it, not rules that share its subject, resource and action', async () => {
    const family = [
      rule('carol'),
      rule('carol', { until: T2 }),
      rule('carol', { eft: 'deny' }),
      rule('carol', { from: T1 }),
    ];
    await store.commit({ addRules: family });
    const r = await store.commit({ removeRules: [family[1]!] });
    assert.deepEqual(r.delta.removeRules, [family[1]]);
    const left = (await store.load()).policy.rules.filter((x) => x.sub === 'carol');
    assert.deepEqual(sortRules(left), sortRules([family[0]!, family[2]!, family[3]!]));
    await store.commit({ removeRules: family });
  });

  test('the delta holds only what changed: re-adding a present rule or removing an absent one is no change', async () => {
    await store.commit({ addRules: [rule('dave')] });
    const r = await store.commit({ addRules: [rule('dave'), rule('dave')], removeRules: [rule('nobody')] });
    assert.deepEqual(r.delta.addRules, []);
    assert.deepEqual(r.delta.removeRules, []);
    assert.deepEqual(r.delta.subjects, []);
    const p = new Map([[ruleKey(rule('dave')), [{ vendor: 'zoom', kind: 'role', holder: 'd', raw: 'x' }]]]);
    const first = await store.commit({ provenance: p as Map<string, Provenance[]> });
    assert.equal(first.delta.provenance.size, 1, 'new provenance is in the delta');
    const again = await store.commit({ provenance: p as Map<string, Provenance[]> });
    assert.equal(again.delta.provenance.size, 0, 'unchanged provenance is not');
    await store.commit({ removeRules: [rule('dave')] });
  });

  test('a commit with a stale baseVersion is refused whole and writes nothing', async () => {
    const v = await store.version();
    await store.commit({ addRules: [rule('erin')] }, { baseVersion: v });
    await assert.rejects(store.commit({ addRules: [rule('mallory')] }, { baseVersion: v }), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.failure, 'conflict');
      assert.equal(e.expectedVersion, v);
      assert.equal(e.actualVersion, v + 1);
      return true;
    });
    assert.equal(await store.version(), v + 1);
    assert.ok(!(await store.load()).policy.rules.some((r) => r.sub === 'mallory'));
    await store.commit({ removeRules: [rule('erin')] });
  });

  test('concurrent commits get consecutive versions, each with its own change-log entry', async () => {
    const v = await store.version();
    const results = await Promise.all(['f1', 'f2', 'f3'].map((s) => store.commit({ addRules: [rule(s)] })));
    assert.deepEqual(results.map((r) => r.version).sort(), [v + 1, v + 2, v + 3]);
    const since = await store.changesSince(v);
    assert.equal(since.kind, 'changes');
    if (since.kind !== 'changes') return;
    assert.deepEqual(
      since.changes.map((c) => c.version),
      [v + 1, v + 2, v + 3],
    );
    for (const c of since.changes) {
      const mine = results.find((r) => r.version === c.version)!;
      assert.deepEqual(c.addRules, mine.delta.addRules);
      assert.deepEqual(c.subjects, mine.delta.subjects);
    }
    await store.commit({ removeRules: ['f1', 'f2', 'f3'].map((s) => rule(s)) });
  });

  test('changesSince says "pruned" once the log no longer reaches back, and when the store is behind', async () => {
    const v = await store.version();
    for (const s of ['g1', 'g2', 'g3', 'g4']) await store.commit({ addRules: [rule(s)] });
    // retention 3: versions v+2..v+4 are kept
    const gone = await store.changesSince(v);
    assert.deepEqual(gone, { kind: 'pruned', head: v + 4, oldest: v + 2 });
    const kept = await store.changesSince(v + 1);
    assert.equal(kept.kind, 'changes');
    assert.deepEqual(kept.kind === 'changes' && kept.changes.map((c) => c.version), [v + 2, v + 3, v + 4]);
    const limited = await store.changesSince(v + 1, { limit: 2 });
    assert.deepEqual(limited.kind === 'changes' && limited.changes.map((c) => c.version), [v + 2, v + 3]);
    assert.equal((await store.changesSince(v + 4)).kind, 'changes');
    assert.equal((await store.changesSince(v + 99)).kind, 'pruned');
    assert.equal(await store.prune(), 0, 'commits already pruned to the retention');
    await store.commit({ removeRules: ['g1', 'g2', 'g3', 'g4'].map((s) => rule(s)) });
  });

  test('a value PostgreSQL cannot hold is refused before anything is written', async () => {
    const v = await store.version();
    for (const bad of [
      rule('nul\u0000byte'),
      rule('lone\uD800surrogate'),
      rule('x', { eft: 'maybe' as 'allow' }),
      rule('x', { from: Number.NaN }),
    ]) {
      await assert.rejects(store.commit({ addRules: [rule('ok'), bad] }), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.failure, 'invalid');
        assert.match(e.message, /addRules\[1\]/);
        return true;
      });
    }
    assert.equal(await store.version(), v);
  });

  test('provenance and sync-state strings jsonb cannot hold are stored in canonical form', async () => {
    const r = rule('henry');
    const p = new Map([
      [ruleKey(r), [{ vendor: 'zoom', kind: 'role', holder: 'h', raw: 'a\u0000b\uD800c' }]],
    ]);
    await store.commit({ addRules: [r], provenance: p as Map<string, Provenance[]> });
    const snap = await store.load();
    assert.equal(snap.provenance.get(ruleKey(r))?.[0]?.raw, 'a\uFFFDb\uFFFDc');
    await store.commit({ removeRules: [r] });
  });

  test("a sync's scan streams every row over several FETCH batches, in the order and with the content a load reads, from the snapshot its readState took", async () => {
    const own = uniqueName('rbac_test');
    // A pool whose connections note the statements they run, to see the FETCH batches.
    const pool = new Pool({ connectionString: PG_URL, max: 3 });
    const fetches: string[] = [];
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...a: unknown[]) => unknown;
      Object.assign(client, {
        query: (...a: unknown[]) => {
          const text = typeof a[0] === 'string' ? a[0] : (a[0] as { text?: string }).text;
          if (text?.startsWith('FETCH')) fetches.push(text);
          return query(...a);
        },
      });
    });
    const small = createPostgresStore({ pool, schema: own, scanBatch: 3 });
    const seam = postgresPolicyStore({ store: small });
    try {
      await small.migrate();
      const rules = Array.from({ length: 10 }, (_, i) => rule(`scan${i}`, i % 2 ? { until: T2 + i } : {}));
      const links = Array.from({ length: 6 }, (_, i) => ({ member: `scan${i}`, role: `role:${i % 2}` }));
      const from = (i: number): Provenance[] => [
        { vendor: 'zoom', kind: 'role', holder: `u${i}`, raw: `R${i}` },
      ];
      const provenance = new Map<string, Provenance[]>([
        ...rules.filter((_, i) => i % 3 !== 0).map((r, i) => [ruleKey(r), from(i)] as const),
        ...links.filter((_, i) => i % 2 === 0).map((l, i) => [linkKey(l), from(100 + i)] as const),
      ]);
      const state: SyncState = { updatedAt: '2026-03-01T00:00:00.000Z', lastSuccess: {}, stale: [] };
      await small.commit({ addRules: rules, addLinks: links, provenance, state });
      const loaded = await small.load();
      const expected = [
        ...loaded.policy.rules.map((r) => ['entry', { rule: r }]),
        ...loaded.policy.links.map((l) => ['entry', { link: l }]),
        ...[...loaded.provenance].map(([k, p]) => ['provenance', k, p]),
      ];
      assert.equal(expected.length, 10 + 6 + provenance.size);

      const writer = await seam.lock('sync');
      try {
        assert.deepEqual(await seam.readState(), state);
        await small.commit({ addRules: [rule('after-the-snapshot')] }); // not this sync's to see
        // Another reader of the same store (a health probe, the metrics) meanwhile.
        assert.deepEqual(await seam.readState(), state);
        const seen: unknown[] = [];
        await seam.scan({
          entry: async (e) => void seen.push(['entry', e]),
          provenance: async (k, p) => void seen.push(['provenance', k, p]),
        });
        assert.deepEqual(seen, expected);
        // 10 rules, 6 links, 6 + 3 provenance entries, 3 rows per FETCH
        assert.equal(fetches.length, 4 + 3 + 3 + 2);
        assert.ok(fetches.every((f) => f === 'FETCH 3 FROM rbac_scan'));
      } finally {
        await writer.release();
      }
      // Outside a lock, a scan opens a snapshot of its own: the later commit is there.
      let count = 0;
      await seam.scan({ entry: async () => void count++, provenance: async () => {} });
      assert.equal(count, 10 + 6 + 1);
      assert.equal(
        (
          await sql(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'idle in transaction' AND query LIKE '%${own}%'`,
          )
        )[0]?.['n'],
        0,
      );
    } finally {
      await small.close();
      await dropSchema(own);
    }
  });

  test('a commit of 100,000 rules and 20,000 links with provenance takes a few seconds', async () => {
    const rules = Array.from({ length: 100_000 }, (_, i) =>
      rule(`user${i}@example.com`, { obj: `zoom:res${i % 50}`, until: i % 3 ? OPEN_UNTIL : T2 }),
    );
    const links = Array.from({ length: 20_000 }, (_, i) => ({
      member: `user${i}@example.com`,
      role: `role:${i % 10}`,
    }));
    const provenance = new Map<string, Provenance[]>(
      rules.map((r, i) => [
        ruleKey(r),
        [{ vendor: 'zoom', kind: 'role', holder: `u${i}`, raw: 'Recording:Read' }],
      ]),
    );
    const t0 = performance.now();
    const r = await store.commit({ addRules: rules, addLinks: links, provenance });
    const commitMs = performance.now() - t0;
    const t1 = performance.now();
    const snap = await store.load();
    const loadMs = performance.now() - t1;
    console.log(`# 100k rules + 20k links: commit ${commitMs.toFixed(0)} ms, load ${loadMs.toFixed(0)} ms`);
    assert.equal(r.delta.addRules.length, 100_000);
    assert.equal(snap.policy.rules.length, 100_000);
    assert.equal(snap.policy.links.length, 20_000);
    assert.ok(commitMs < 30_000, `commit took ${commitMs} ms`);
    const t2 = performance.now();
    await store.commit({ removeRules: rules, removeLinks: links });
    console.log(`# removing them: ${(performance.now() - t2).toFixed(0)} ms`);
    assert.equal((await store.load()).policy.rules.length, 0);
  });
});
