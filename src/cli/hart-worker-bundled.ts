/**
 * The entry of the hart worker's bundle (scripts/bundle-worker.mjs: one CommonJS file with the
 * plug-ins, dist/bundle/hart-worker.cjs), which host/hart-worker-loader.ts compiles with V8's code
 * cache. The plug-ins are in the same file, each evaluated at its first import (esbuild turns these
 * imports into lazy initialisers), so no module of the worker is ever loaded twice.
 */
import { runHartWorker } from '../host/hart-worker-run.js';

/** Every hart-worker plug-in (WorkerMode.module), by its path from the build's root. */
export const BUNDLED_PLUGINS: Readonly<Record<string, () => Promise<unknown>>> = {
  'recorder/worker-plugin.js': () => import('../../recorder/worker-plugin.js'),
  'replayer/worker-plugin.js': () => import('../../replayer/worker-plugin.js'),
};

/** Runs this worker's machine; `beforeClosed` as in HartWorkerHooks. */
export function startHartWorker(beforeClosed: () => void): Promise<void> {
  return runHartWorker({
    importPlugin: (path) => BUNDLED_PLUGINS[path]?.() ?? Promise.reject(new Error(`no hart-worker plug-in ${path} in this bundle`)),
    beforeClosed,
  });
}
