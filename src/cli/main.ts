#!/usr/bin/env node
/**
 * The `hindsight` command's launcher: loads the CLI (cli.ts) from the bundle `npm run build` makes
 * (scripts/bundle-worker.mjs, a few files instead of ~80 modules), else from the compiled modules.
 * The bundle reaches a Linux guest's first instruction ~40 ms sooner on the 2-core hosts
 * (docs/BENCHMARKS.md, start-up).
 */
import { bundleEntry } from '../host/bundle-entry.js';

await import(bundleEntry(new URL('./cli.js', import.meta.url), new URL('../../bundle/cli/cli.js', import.meta.url)).href);
