import { execFileSync } from 'node:child_process';

/** The Express/Koa files a fresh process has loaded after importing `module` (a path from the repo root). */
export function frameworksLoadedBy(module: string): string[] {
  const out = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       await import(${JSON.stringify(module)});
       const loaded = Object.keys(createRequire(import.meta.url).cache);
       console.log(JSON.stringify(loaded.filter((f) => /node_modules[\\\\/](koa|express)[\\\\/]/.test(f))));`,
    ],
    { encoding: 'utf8' },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '[]');
}
