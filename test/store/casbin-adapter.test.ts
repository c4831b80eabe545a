import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Enforcer } from 'casbin';
import { StoreError } from '../../src/errors.js';
import { casbin } from '../../src/policy/casbin.js';
import { MODEL_TEXT } from '../../src/policy/model.js';
import { createCasbinAdapter, type PostgresCasbinAdapter } from '../../src/store/casbin/adapter.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();
const UNTIL = '2030-01-01T00:00:00.000Z';
const FROM = '2025-01-01T00:00:00.000Z';

describe('the casbin adapter with a plain casbin enforcer', { skip }, () => {
  const schema = uniqueName('rbac_test');
  let store: PostgresStore;

  before(async () => {
    store = createPostgresStore({ url: PG_URL, schema });
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    await dropSchema(schema);
  });

  const enforcer = async (): Promise<{ e: Enforcer; adapter: PostgresCasbinAdapter }> => {
    const adapter = createCasbinAdapter({ store });
    const c = casbin();
    return { e: await c.newEnforcer(c.newModelFromString(MODEL_TEXT), adapter), adapter };
  };
  const stored = (sub: string) =>
    sql<{
      sub: string;
      obj: string;
      act: string;
      eft: string;
      valid_from: string | null;
      valid_until: string | null;
    }>(
      `SELECT sub, obj, act, eft, valid_from, valid_until FROM "${schema}".rules WHERE sub = $1
       ORDER BY obj, act, eft, valid_from NULLS FIRST, valid_until NULLS FIRST`,
      [sub],
    );

  test('empty fields keep their slot: an empty from with a set until stays in its own columns', async () => {
    const { e } = await enforcer();
    await e.addPolicy('amy', 'data1', 'read', 'allow', '', UNTIL);
    await e.addPolicy('amy', 'data2', 'read', 'allow', FROM, '');
    assert.deepEqual(await stored('amy'), [
      {
        sub: 'amy',
        obj: 'data1',
        act: 'read',
        eft: 'allow',
        valid_from: null,
        valid_until: String(Date.parse(UNTIL)),
      },
      {
        sub: 'amy',
        obj: 'data2',
        act: 'read',
        eft: 'allow',
        valid_from: String(Date.parse(FROM)),
        valid_until: null,
      },
    ]);
    const { e: fresh } = await enforcer();
    const rows = (await fresh.getPolicy()).filter((r) => r[0] === 'amy');
    assert.deepEqual(rows.sort(), [
      ['amy', 'data1', 'read', 'allow', '', UNTIL],
      ['amy', 'data2', 'read', 'allow', FROM, ''],
    ]);
    assert.equal(await fresh.enforce('amy', 'data1', 'read', '2029-12-31T23:59:59.999Z'), true);
    assert.equal(
      await fresh.enforce('amy', 'data1', 'read', UNTIL),
      false,
      'until is exclusive, and still until',
    );
    assert.equal(await fresh.enforce('amy', 'data2', 'read', '2024-12-31T00:00:00.000Z'), false);
  });

  test('removePolicy removes exactly that rule, not every rule that shares its first fields', async () => {
    const { e } = await enforcer();
    const family = [
      ['ben', 'data1', 'read', 'allow', '', ''],
      ['ben', 'data1', 'read', 'allow', '', UNTIL],
      ['ben', 'data1', 'read', 'deny', '', ''],
      ['ben', 'data1', 'read', 'allow', FROM, ''],
    ];
    await e.addPolicies(family);
    assert.equal(await e.removePolicy(...family[0]!), true);
    const left = await stored('ben');
    assert.equal(left.length, 3);
    assert.ok(!left.some((r) => r.eft === 'allow' && r.valid_from === null && r.valid_until === null));
    const { e: fresh } = await enforcer();
    assert.equal((await fresh.getFilteredPolicy(0, 'ben')).length, 3);
  });

  test('removeFilteredPolicy removes the rules matching the given fields, and only those', async () => {
    const { e } = await enforcer();
    await e.addPolicies([
      ['cat', 'data1', 'read', 'allow', '', ''],
      ['cat', 'data1', 'write', 'allow', '', ''],
      ['cat', 'data2', 'read', 'allow', '', ''],
      ['dan', 'data1', 'read', 'allow', '', ''],
    ]);
    await e.removeFilteredPolicy(0, 'cat', 'data1');
    assert.deepEqual(
      (await stored('cat')).map((r) => r.obj),
      ['data2'],
    );
    assert.equal((await stored('dan')).length, 1);
  });

  test('a batch is one transaction: when one row fails, none is stored and the enforcer is unchanged', async () => {
    const { e } = await enforcer();
    await sql(`CREATE FUNCTION "${schema}".boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.sub = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$`);
    await sql(
      `CREATE TRIGGER boom BEFORE INSERT ON "${schema}".rules FOR EACH ROW EXECUTE FUNCTION "${schema}".boom()`,
    );
    try {
      const v = await store.version();
      await assert.rejects(
        e.addPolicies([
          ['eve', 'data1', 'read', 'allow', '', ''],
          ['boom', 'data1', 'read', 'allow', '', ''],
          ['eve', 'data2', 'read', 'allow', '', ''],
        ]),
        (err: unknown) => err instanceof StoreError && /boom refused/.test(err.message),
      );
      assert.deepEqual(await stored('eve'), []);
      assert.equal(await store.version(), v);
      assert.equal(await e.hasPolicy('eve', 'data1', 'read', 'allow', '', ''), false);
    } finally {
      await sql(`DROP TRIGGER boom ON "${schema}".rules`);
    }
    await assert.rejects(
      e.addPolicies([
        ['fay', 'data1', 'read', 'allow', '', ''],
        ['fay', 'data1', 'read', 'maybe', '', ''],
      ]),
      (err: unknown) => err instanceof StoreError && err.failure === 'invalid',
    );
    assert.deepEqual(await stored('fay'), []);
  });

  test('updatePolicy replaces one rule in one commit; savePolicy makes the tables equal the model', async () => {
    const { e } = await enforcer();
    await e.addPolicy('gus', 'data1', 'read', 'allow', '', '');
    const v = await store.version();
    await e.updatePolicy(
      ['gus', 'data1', 'read', 'allow', '', ''],
      ['gus', 'data1', 'read', 'allow', '', UNTIL],
    );
    assert.equal(await store.version(), v + 1);
    assert.deepEqual(
      (await stored('gus')).map((r) => r.valid_until),
      [String(Date.parse(UNTIL))],
    );

    e.enableAutoSave(false);
    await e.addPolicy('hal', 'data1', 'read', 'allow', '', '');
    await e.removePolicy('gus', 'data1', 'read', 'allow', '', UNTIL);
    await e.addGroupingPolicy('hal', 'admins');
    assert.deepEqual(await stored('hal'), [], 'not saved yet');
    await e.savePolicy();
    assert.equal((await stored('hal')).length, 1);
    assert.deepEqual(await stored('gus'), []);
    const { e: fresh } = await enforcer();
    assert.deepEqual((await fresh.getPolicy()).sort(), (await e.getPolicy()).sort());
    assert.deepEqual(await fresh.getGroupingPolicy(), [['hal', 'admins']]);
  });

  test('loadFilteredPolicy loads only the rules the filter selects, and reports itself filtered', async () => {
    const { e, adapter } = await enforcer();
    await e.addPolicies([
      ['ida', 'data1', 'read', 'allow', '', ''],
      ['ida', 'data2', 'read', 'allow', '', ''],
      ['jon', 'data1', 'read', 'allow', '', ''],
    ]);
    await e.loadFilteredPolicy({ p: ['ida', '', 'read'], g: ['nobody'] });
    assert.ok(adapter.isFiltered());
    assert.deepEqual((await e.getPolicy()).map((r) => r.slice(0, 2)).sort(), [
      ['ida', 'data1'],
      ['ida', 'data2'],
    ]);
    assert.deepEqual(await e.getGroupingPolicy(), []);
  });

  test('only p rules and g links are stored; other types are refused by name', async () => {
    const { e } = await enforcer();
    await assert.rejects(e.addNamedGroupingPolicy('g2', 'a', 'b'), (err: unknown) => err instanceof Error);
    const adapter = createCasbinAdapter({ store });
    await assert.rejects(
      adapter.addPolicy('p', 'p2', ['a']),
      (err: unknown) => err instanceof StoreError && /p2/.test(err.message),
    );
  });
});
