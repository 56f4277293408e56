/**
 * The hart worker's entry when it runs from the compiled modules (HINDSIGHT_UNBUNDLED=1, or a build
 * without esbuild): plug-ins load as modules beside this one's build root. The bundled worker
 * starts from host/hart-worker-loader.ts instead (host/worker-pool.ts picks).
 */
import { runHartWorker } from './hart-worker-run.js';

await runHartWorker({
  // This file is src/host/hart-worker.js under the build's root (dist/).
  importPlugin: (path) => import(new URL(`../../${path}`, import.meta.url).href),
});
