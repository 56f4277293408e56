/**
 * Hart worker threads started before they are needed. A worker spends most of its start-up
 * (~100-150 ms on the 2-core hosts) loading Node's internals and our modules; the CLI starts one
 * as its very first step (src/cli/cli.ts), so that loading overlaps the main thread's own module
 * loading, option parsing and machine set-up, and hands it its machine when the coordinator asks
 * for a worker. A started worker waits (unref'd: it never keeps the process alive) for one message,
 * its HartWorkerInit; without a started one, the coordinator gets a fresh worker as before.
 * Kept free of other imports (but bundle-entry.ts) so that the CLI entry can load it before anything else.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { bundleEntry } from './bundle-entry.js';

/**
 * The hart worker's entry: the bundle's loader while the bundle is current (host/bundle-entry.ts,
 * host/hart-worker-loader.ts): one file, compiled with V8's code cache, instead of ~60 modules.
 */
const BUNDLED_WORKER = new URL('../../bundle/hart-worker-loader.cjs', import.meta.url);
const HART_WORKER = bundleEntry(new URL('./hart-worker.js', import.meta.url), BUNDLED_WORKER);

/**
 * The id of the build the hart workers run (dist/bundle/build-id.txt, scripts/bundle-worker.mjs),
 * which names the compiled page modules kept between runs (jit/page-module-cache.ts); null when
 * they run the compiled modules, which have none.
 */
export function hartWorkerBuildId(): string | null {
  if (HART_WORKER !== BUNDLED_WORKER) return null;
  try {
    return readFileSync(new URL('./build-id.txt', BUNDLED_WORKER), 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * What a started worker is told in workerData: wait for the init message; meanwhile load the
 * plug-in the command will use (`preload`, a WorkerMode.module path), if it said which.
 */
export interface AwaitInit { awaitInit: true; preload?: string }

/**
 * Each hart worker's young generation: 24 MB (semi-spaces of 8 MB) instead of V8's 48. A short run
 * mostly paid for the large one in fresh pages as V8 grew it (a host page fault costs ~10 us here).
 * Measured (2-core host, alternating runs, medians): Linux boot -> power-off on 1 hart 1,260 ->
 * 1,050 ms (CPU 1,890 -> 1,660 ms, 9 runs), on 4 harts 1,560 -> 1,450 ms (7 runs); xv6's
 * `usertests -q` on 1 hart unchanged (105.1 against 105.5 s, 126.1 against 112.5 s). 6 MB (~6,500
 * of a Linux boot's ~32,000 faults fewer) was faster still on Linux but slowed usertests 96-99 ->
 * 117-124 s: a long-running OS guest keeps more young objects alive, and a small young generation
 * copied and promoted them over and over.
 */
const HART_WORKER_LIMITS = { maxYoungGenerationSizeMb: 24 };

interface Started { worker: Worker; failed: boolean }
const started: Started[] = [];

/** Starts `count` hart workers now, to be handed their machines later (hartWorker); they load `preload` (a plug-in) while they wait. */
export function startHartWorkers(count: number, preload?: string): void {
  const workerData: AwaitInit = { awaitInit: true, preload };
  for (let i = 0; i < count; i++) {
    const entry: Started = { worker: new Worker(HART_WORKER, { workerData, resourceLimits: HART_WORKER_LIMITS }), failed: false };
    entry.worker.unref();
    // A worker that failed to load or exited while waiting is not handed out (the error is
    // reported by the fresh worker that replaces it, which fails the same way).
    entry.worker.once('error', () => { entry.failed = true; });
    entry.worker.once('exit', () => { entry.failed = true; });
    started.push(entry);
  }
}

/** A hart worker running `init`: a started one when there is one, else a new one. */
export function hartWorker(init: unknown): Worker {
  for (let entry = started.shift(); entry; entry = started.shift()) {
    if (entry.failed) continue;
    entry.worker.ref();
    entry.worker.postMessage(init);
    return entry.worker;
  }
  return new Worker(HART_WORKER, { workerData: init, resourceLimits: HART_WORKER_LIMITS });
}
