#!/usr/bin/env node
// Installed entry point: runs the compiled CLI in dist/ (shipped in the package; `npm pack` and
// `npm publish` build it through `prepack`). In a clone where `npm run build` has not run, it runs
// the sources through tsx (a dev dependency), so `npx rbac-normalizer` works right after
// `npm install` or `npm ci` without an install script.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// A sync waits on the vendors' rate limits, not on the CPU: V8 is asked to favour memory over
// speed, which keeps its heap near what is live (on a machine with much memory it otherwise lets
// the heap grow to about 4x that before collecting). See "Performance" in the README.
if (process.argv[2] === 'sync') setFlagsFromString('--optimize-for-size');

const compiled = new URL('../dist/cli/main.js', import.meta.url);
const source = new URL('../src/cli/main.ts', import.meta.url);
let entry = compiled;
if (!existsSync(compiled) && existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = source;
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
