#!/usr/bin/env node
// Installed entry point: runs the compiled CLI (built by `npm run build`, which `npm install` runs via `prepare`).
import { setFlagsFromString } from 'node:v8';
import { main } from '../dist/cli/main.js';

// A sync waits on the vendors' rate limits, not on the CPU: V8 is asked to favour memory over
// speed, which keeps its heap near what is live (on a machine with much memory it otherwise lets
// the heap grow to about 4x that before collecting). See "Performance" in the README.
if (process.argv[2] === 'sync') setFlagsFromString('--optimize-for-size');

process.exitCode = await main(process.argv.slice(2));
