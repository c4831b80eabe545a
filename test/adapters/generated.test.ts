import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { documents, generate } from '../../scripts/generate-openapi.js';

test('the generated OpenAPI types match their documents (run npm run generate when this fails)', async () => {
  const names = await documents();
  assert.deepEqual(names, ['tuya', 'vonage', 'zoom']);
  for (const name of names) {
    const committed = await readFile(`src/adapters/generated/${name}.ts`, 'utf8');
    assert.equal(committed, await generate(name), `src/adapters/generated/${name}.ts is stale`);
  }
});
