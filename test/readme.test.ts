// The README's TypeScript snippets that import the package compile under this repository's strict
// settings, as a user's project would see them: each ```ts block is a module in a new folder whose
// 'rbac-normalizer' imports resolve (through `paths`) to the entry points' sources.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('../', import.meta.url));
const IMPORTS_PACKAGE = /from 'rbac-normalizer(\/[a-z]+)?'/;

/** The ```ts blocks of the README that import the package, with the line each starts on. */
async function snippets(): Promise<{ line: number; code: string }[]> {
  const text = await readFile(join(repo, 'README.md'), 'utf8');
  const out: { line: number; code: string }[] = [];
  for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    const code = m[1] ?? '';
    if (IMPORTS_PACKAGE.test(code)) out.push({ line: text.slice(0, m.index).split('\n').length, code });
  }
  return out;
}

test('finds the README snippets for the library, the middleware, rules, sync and policy tests', async () => {
  const codes = (await snippets()).map((s) => s.code);
  for (const needle of [
    'createAuthorizer',
    'rbac-normalizer/express',
    'PolicyRule',
    'authz.sync',
    'policySuites',
  ])
    assert.ok(
      codes.some((c) => c.includes(needle)),
      `a snippet with ${needle}`,
    );
});

test("the README's TypeScript snippets type-check under strict tsc", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rbac-readme-'));
  try {
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
    await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const list = await snippets();
    const files = await Promise.all(
      list.map(async (s) => {
        const file = join(dir, `readme-line-${s.line}.ts`);
        await writeFile(file, s.code);
        return file;
      }),
    );
    // Each entry point of package.json's exports, mapped from its dist/*.d.ts to its source.
    const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
      exports: Record<string, string | { types: string }>;
    };
    const paths: Record<string, string[]> = {};
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      const source = target.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts');
      paths[join('rbac-normalizer', entry).replace(/\/\.$/, '')] = [join(repo, source)];
    }
    const config = ts.getParsedCommandLineOfConfigFile(
      join(repo, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) =>
          assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
      },
    );
    assert.ok(config);
    const program = ts.createProgram(files, { ...config.options, noEmit: true, paths });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || files.includes(d.file.fileName))
      .map((d) => {
        const where = d.file?.getLineAndCharacterOfPosition(d.start ?? 0);
        const snippet = d.file ? Number(/readme-line-(\d+)/.exec(d.file.fileName)?.[1]) : 0;
        return `README.md:${snippet + (where?.line ?? 0) + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
    assert.deepEqual(problems, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
