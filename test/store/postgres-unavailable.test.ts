import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { Pool } from 'pg';
import { ConfigError, StoreError } from '../../src/errors.js';
import { postgresPolicyStore } from '../../src/store/postgres/policy-store.js';
import { createPostgresStore, type PostgresStore } from '../../src/store/postgres/store.js';
import { rule } from '../helpers/follow.js';
import { dropSchema, needPostgres, PG_URL, sql, uniqueName } from '../helpers/services.js';

const skip = await needPostgres();

describe('a store whose server cannot be reached', () => {
  // Port 1 on loopback: nothing listens, the connection is refused at once.
  const secretUrl = 'postgres://admin:s3cr%40t-pw@127.0.0.1:1/rbac';

  test('fails with a typed error that names neither the connection string nor the password', async () => {
    const store = createPostgresStore({ url: secretUrl, schema: 'rbac' });
    try {
      for (const call of [
        () => store.load(),
        () => store.commit({ addRules: [rule('a')] }),
        () => store.lock(),
      ]) {
        await assert.rejects(call(), (e: unknown) => {
          assert.ok(e instanceof StoreError);
          assert.equal(e.code, 'STORE_ERROR');
          assert.equal(e.failure, 'unavailable');
          const shown = `${e.message}\n${inspect(e, { depth: 5 })}\n${JSON.stringify(e)}`;
          for (const secret of ['s3cr', 's3cr@t-pw', secretUrl]) assert.ok(!shown.includes(secret), shown);
          return true;
        });
      }
    } finally {
      await store.close();
    }
  });

  test('through the PolicyStore seam (sync, compile, the CLI), the error names the store, still without secrets', async () => {
    const store = createPostgresStore({ url: secretUrl, schema: 'rbac' });
    const seam = postgresPolicyStore({ store });
    try {
      for (const call of [() => seam.readState(), () => seam.load(), () => seam.lock('sync')]) {
        await assert.rejects(call(), (e: unknown) => {
          assert.ok(e instanceof StoreError);
          assert.equal(e.failure, 'unavailable');
          assert.match(
            e.message,
            /^(load|lock|snapshot): the policy store postgres \(schema rbac\): .*ECONNREFUSED/,
          );
          assert.ok(!e.message.includes('s3cr'), e.message);
          return true;
        });
      }
    } finally {
      await store.close();
    }
  });

  test('options are checked once, at construction, naming the option', () => {
    assert.throws(() => createPostgresStore({ url: '' }), ConfigError);
    assert.throws(
      () => createPostgresStore({ url: PG_URL, changeLogRetention: 0 }),
      (e: unknown) => e instanceof ConfigError && e.key === 'changeLogRetention',
    );
    assert.throws(
      () => createPostgresStore({ url: PG_URL, schema: 'x'.repeat(64) }),
      (e: unknown) => e instanceof ConfigError && e.key === 'schema',
    );
    assert.throws(
      () => createPostgresStore({ url: PG_URL, pool: new Pool() } as never),
      (e: unknown) => e instanceof ConfigError && e.key === 'url',
    );
  });

  test('after close(), calls fail as closed', async () => {
    const store = createPostgresStore({ url: secretUrl });
    await store.close();
    await assert.rejects(store.load(), (e: unknown) => e instanceof StoreError && e.failure === 'closed');
  });
});

describe('a server that goes away in the middle of a commit', { skip }, () => {
  const schema = uniqueName('rbac_test');
  let pool: Pool;
  let store: PostgresStore;

  before(async () => {
    pool = new Pool({ connectionString: PG_URL, max: 2 });
    pool.on('error', () => {});
    store = createPostgresStore({ pool, schema });
    await store.migrate();
    await store.commit({ addRules: [rule('before')] });
  });
  after(async () => {
    await store?.close();
    await pool?.end();
    await dropSchema(schema);
  });

  test('leaves nothing half-written and fails as unavailable; the store works again afterwards', async () => {
    // The backend running the commit kills itself once the rules, links and version are written
    // and the change-log row is about to be: the transaction dies with its connection.
    await sql(`CREATE FUNCTION "${schema}".die() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5); RETURN NEW; END $$`);
    await sql(
      `CREATE TRIGGER die BEFORE INSERT ON "${schema}".change_log FOR EACH ROW EXECUTE FUNCTION "${schema}".die()`,
    );
    const before = await store.load();
    await assert.rejects(
      store.commit({ addRules: [rule('half')], addLinks: [{ member: 'half', role: 'r' }] }),
      (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.equal(e.failure, 'unavailable');
        assert.equal(e.operation, 'commit');
        return true;
      },
    );
    await sql(`DROP TRIGGER die ON "${schema}".change_log`);
    const afterward = await store.load();
    assert.deepEqual(afterward, before, 'no rule, link, version or log entry of the failed commit');
    assert.deepEqual(await sql(`SELECT count(*)::int AS n FROM "${schema}".change_log`), [{ n: 1 }]);

    const next = await store.commit({ addRules: [rule('after')] });
    assert.equal(next.version, before.version + 1);
  });

  test('close() leaves a pool it was given open', async () => {
    const s = createPostgresStore({ pool, schema });
    await s.close();
    assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
  });
});
