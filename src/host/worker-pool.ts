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

/** The hart worker's entry: the bundle while it is current (host/bundle-entry.ts). One module instead of ~60 is ready ~40 ms sooner on the 2-core hosts (docs/BENCHMARKS.md). */
const HART_WORKER = bundleEntry(new URL('./hart-worker.js', import.meta.url), new URL('../../bundle/src/host/hart-worker.js', import.meta.url));

/**
 * The id of the build the hart workers run (dist/bundle/build-id.txt, scripts/bundle-worker.mjs),
 * which names the compiled page modules kept between runs (jit/page-module-cache.ts); null when
 * they run the compiled modules, which have none.
 */
export function hartWorkerBuildId(): string | null {
  try {
    return readFileSync(new URL('../../build-id.txt', HART_WORKER), 'utf8').trim() || null;
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
 * Each hart worker's young generation: 6 MB (semi-spaces of 2 MB) instead of V8's 48. A hart's
 * garbage is short-lived (decoded blocks, closures, numbers between JS and wasm), and the large
 * young generation mostly cost fresh pages: page faults cost ~10 us on these hosts, and a 1-hart
 * Linux boot took ~32,000 of them, ~6,500 fewer this way. Measured (2-core host, alternating runs,
 * medians): Linux boot -> power-off on 1 hart 1,090 -> 990 ms (CPU 1,630 -> 1,520 ms, 11 runs),
 * on 4 harts 1,710 -> 1,490 ms (11 runs; at a quieter moment 1,340 -> 1,380, 9 runs); 3 MB was
 * as good on 1 hart but lost 4% on the reference tier's bench_compute (2.30 -> 2.40 s), 6 MB not.
 */
const HART_WORKER_LIMITS = { maxYoungGenerationSizeMb: 6 };

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
