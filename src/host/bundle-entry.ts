/**
 * Which copy of an entry module to load: the bundle `npm run build` makes (scripts/bundle-worker.mjs),
 * when it is at least as new as the compiled module it was made from (tsc rewrites every file, so a
 * build without the bundling step leaves it older and unused), else the compiled modules themselves.
 * HINDSIGHT_UNBUNDLED=1 takes the modules (stack traces then name the source files). Kept free of
 * other imports: the CLI's launcher (cli/main.ts) loads it before anything else.
 */
import { statSync } from 'node:fs';

export function bundleEntry(modules: URL, bundle: URL, env = process.env): URL {
  if (env.HINDSIGHT_UNBUNDLED === '1') return modules;
  try {
    return statSync(bundle).mtimeMs >= statSync(modules).mtimeMs ? bundle : modules;
  } catch {
    return modules; // no bundle (esbuild missing at build time), or running from sources
  }
}
