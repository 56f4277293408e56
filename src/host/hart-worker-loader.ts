/**
 * The bundled hart worker's first module (dist/bundle/hart-worker-loader.cjs): compiles the worker's
 * bundle (dist/bundle/hart-worker.cjs, cli/hart-worker-bundled.ts) with V8's code cache and runs it.
 *
 * Why: a hart worker is on the critical path of every command that runs a machine. Without a cache
 * each worker parses and compiles the ~490 KB bundle and then compiles each function the first
 * time it runs (~37 ms on a Linux boot's hart thread). The cache holds the bytecode of every
 * function the run that wrote it had compiled, so later workers skip most of both. And the
 * worker's entry is CommonJS, so its thread never sets up Node's ES module loader. Node 20 has no
 * compile cache for ES modules, which is why the bundle is CommonJS. Measured against the ES module
 * bundle (2-core host, alternating runs, medians): `run hello.elf` 273 -> 248 ms (`node -e 0`
 * 106 ms; the CommonJS bundle without its cache 265 ms), Linux boot -> power-off 970 -> 910 ms on
 * 1 hart and 1,460 -> 1,340 ms on 4 (docs/BENCHMARKS.md). A cache written by hello.elf (330 KB)
 * and one written by a Linux boot (440 KB) boot Linux equally fast (1,020 against 1,000 ms), so
 * the first run after a build writes it and later ones leave it.
 *
 * The cache file is `<cache>/worker-code/<build id>-<V8 tag>-<plug-in>-<mtime>.bin` (cache-dir.ts):
 * the build id is a digest of the bundle's files (build-id.txt) and the bundle's mtime is there
 * too, since V8 checks only the source's length; the tag (v8.cachedDataVersionTag) covers V8's
 * version, flags and CPU features, which V8 also checks; running, recording and replaying each
 * compile their own functions. A worker that found no cache, or one V8 rejected, writes it when its work is done, just before its
 * last message; a run whose V8 flags changed meanwhile writes none (it would never match at load).
 * Best effort: a failed read is a compile as before, a failed write nothing. HINDSIGHT_CODE_CACHE=0
 * turns it off.
 */
// Node's modules the worker uses are loaded before the V8 flags change (v8-tuning.ts, after
// them): once the flags differ from Node's defaults, V8 rejects Node's own code cache for every
// built-in module loaded later. `crypto` and `os` are the bundle's (exported below: esbuild drops
// a bare or an unused import of a built-in module).
import * as crypto from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedDataVersionTag } from 'node:v8';
import { Script } from 'node:vm';
import { threadId, workerData } from 'node:worker_threads';
// The flags the worker's code runs with, set before it is compiled: a cache is only used under the
// flags it was made with.
import '../jit/v8-tuning.js';
import { hindsightCacheDir, pruneOldest } from '../cache-dir.js';
import type { HartWorkerInit } from './hart-worker-run.js';
import type { AwaitInit } from './worker-pool.js';

export const PRELOADED_BUILTINS = [crypto, os];

/** What the bundle (cli/hart-worker-bundled.ts) exports. */
interface WorkerBundle { startHartWorker(beforeClosed: () => void): Promise<void> }

/** Code caches kept: a few builds (checkouts side by side, an upgrade), three plug-ins each. */
const KEPT_CACHES = 12;

const bundleFile = fileURLToPath(new URL('./hart-worker.cjs', import.meta.url));

function buildId(): string | null {
  try {
    return readFileSync(path.join(path.dirname(bundleFile), 'build-id.txt'), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * The plug-in this worker will run (a worker started ahead names it in `preload`, host/worker-pool.ts;
 * a fresh one has its machine's WorkerMode): each has its own cache, holding its functions.
 */
function pluginName(): string {
  const data = workerData as AwaitInit | HartWorkerInit | null;
  const plugin = data === null ? null : 'awaitInit' in data ? data.preload : data.mode.module;
  return plugin ? path.basename(path.dirname(plugin)) : 'run';
}

/** The bundle's modification time, in the name too: a bundle edited by hand keeps its build id. */
function cacheFile(build: string, tag: number): string {
  const modified = Math.trunc(statSync(bundleFile).mtimeMs);
  return path.join(hindsightCacheDir(), 'worker-code', `${build}-${tag}-${pluginName()}-${modified}.bin`);
}

function readCache(file: string | null): Buffer | undefined {
  if (file === null) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function writeCache(script: Script, file: string): void {
  const partial = `${file}.${process.pid}-${threadId}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, file); // whole or not at all, for workers of other runs reading it
    pruneOldest(path.dirname(file), '.bin', KEPT_CACHES);
  } catch {
    // A read-only or full cache: the next run compiles, as this one did.
    try { unlinkSync(partial); } catch { /* never written */ }
  }
}

const build = process.env.HINDSIGHT_CODE_CACHE === '0' ? null : buildId();
const tag = cachedDataVersionTag();
const file = build === null ? null : cacheFile(build, tag);
const cachedData = readCache(file);
// The CommonJS wrapper, as Node's own loader would apply it; the bundle's line numbers stay the file's.
// The bundle is ASCII (scripts/bundle-worker.mjs): read as Latin-1, it skips UTF-8 decoding (~1 ms).
const script = new Script(`(function (exports, require, module, __filename, __dirname) {${readFileSync(bundleFile, 'latin1')}\n})`, { filename: bundleFile, cachedData });
const stale = cachedData === undefined || script.cachedDataRejected === true;
const module = { exports: {} as WorkerBundle };
(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundleFile), module, bundleFile, path.dirname(bundleFile));
module.exports.startHartWorker(() => {
  if (file !== null && stale && cachedDataVersionTag() === tag) writeCache(script, file);
}).catch((err: unknown) => {
  process.nextTick(() => { throw err; }); // as an uncaught error in the worker's module: the coordinator's 'error'
});
