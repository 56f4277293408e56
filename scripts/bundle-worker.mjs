#!/usr/bin/env node
// Bundles the hart worker and its two plug-ins (recording, replay) into one CommonJS file in
// dist/bundle/ with esbuild, beside the loader that compiles it with V8's code cache, and the CLI's
// main thread into dist/bundle/cli/ (see the end of this file), as the last step of `npm run build`:
// the worker thread then loads one file, mostly already compiled, instead of ~60 modules, which is
// where most of its start-up went (src/host/worker-pool.ts picks the bundle while it is not older
// than the compiled modules; src/host/hart-worker-loader.ts). Not minified: stack traces of
// emulator bugs stay readable.
// Without esbuild the build goes on and hindsight runs the compiled modules, only slower to start.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = `${dist}bundle`;
rmSync(outdir, { recursive: true, force: true });

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  process.stderr.write('bundle-worker: esbuild is not installed; hart workers load the compiled modules (slower start-up)\n');
  process.exit(0);
}
// The hart worker: one CommonJS file with both plug-ins (dist/bundle/hart-worker.cjs, entry
// cli/hart-worker-bundled.ts), which its loader (dist/bundle/hart-worker-loader.cjs,
// host/hart-worker-loader.ts) compiles with V8's code cache: Node 20 has no compile cache for ES
// modules. `import.meta.url` becomes the file's own URL (the banner): the bundled modules use it only
// to find packages, which resolve the same from dist/bundle/.
const COMMONJS_IMPORT_META = {
  format: 'cjs',
  define: { 'import.meta.url': '__hindsightModuleUrl' },
  banner: { js: 'const __hindsightModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
};
for (const [entry, name] of [['src/cli/hart-worker-bundled.js', 'hart-worker.cjs'], ['src/host/hart-worker-loader.js', 'hart-worker-loader.cjs']]) {
  const outfile = `${outdir}/${name}`;
  await esbuild.build({
    entryPoints: [`${dist}${entry}`],
    outfile,
    bundle: true,
    platform: 'node',
    packages: 'external', // node_modules (better-sqlite3, protobufjs) load as they do unbundled
    target: 'node20',
    logLevel: 'warning',
    ...COMMONJS_IMPORT_META,
  });
  // ASCII only: esbuild escapes strings but keeps comments as written, and one em dash made the
  // whole source a two-byte string, which each worker keeps for its life (~1 MB instead of ~0.5;
  // `run hello.elf` took the same time either way). An escape is the same character in a string,
  // a template or a regular expression, and text in a comment.
  writeFileSync(outfile, readFileSync(outfile, 'utf8').replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

// The build's id: what compiled page modules kept between runs are named by (src/jit/page-module-cache.ts),
// so a cache made by another build of the code generator is never read.
{
  const { createHash } = await import('node:crypto');
  const { readdirSync, writeFileSync } = await import('node:fs');
  const hash = createHash('sha1');
  for (const f of readdirSync(outdir, { recursive: true }).map(String).filter((f) => /\.c?js$/.test(f)).sort()) hash.update(f).update(readFileSync(`${outdir}/${f}`));
  writeFileSync(`${outdir}/build-id.txt`, `${hash.digest('hex')}\n`);
}

// The CLI (src/cli/cli.ts, loaded by the launcher src/cli/main.ts) into dist/bundle/cli/: its main
// thread loaded ~80 modules, ~40 ms of a Linux boot's start-up on the 2-core hosts
// (docs/BENCHMARKS.md). Split into chunks, so that the code behind the CLI's dynamic imports
// (program.ts, each command's modules) still loads only when asked for, after the entry has started
// the hart workers. Every file lands in that one directory, so each module's `import.meta.url` can
// be made its compiled file's URL again: the modules find files beside them (the hart worker, the
// native module, protobufjs) as they do unbundled. Not part of the build id (the workers' code).
// Two packages are bundled in too: commander, which every command loads (15 -> 8 ms of the main
// thread), and better-sqlite3's JavaScript, which every trace command loads (8 -> 2.5 ms; its
// addon is still loaded from node_modules by path, traces/sqlite.ts). Their CommonJS `require`s of
// Node's modules need a `require` in each chunk (the banner). protobufjs stays outside: it is
// loaded only when a batch is not in our canonical encoding (traces/proto-types.ts), as is
// `bindings`, better-sqlite3's fallback addon lookup.
const BUNDLED_PACKAGES = new Set(['commander', 'better-sqlite3']);
await esbuild.build({
  entryPoints: [`${dist}src/cli/cli.js`],
  outdir: `${outdir}/cli`,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
  banner: { js: "import { createRequire as __hindsightCreateRequire } from 'node:module';\nconst require = __hindsightCreateRequire(import.meta.url);" },
  plugins: [{
    name: 'bundle-only-some-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = args.path.startsWith('@') ? args.path.split('/').slice(0, 2).join('/') : args.path.split('/')[0];
        return BUNDLED_PACKAGES.has(name) ? undefined : { path: args.path, external: true };
      });
    },
  }, {
    name: 'compiled-import-meta-url',
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const own = relative(`${outdir}/cli`, args.path);
        return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(own)}, import.meta.url).href`), loader: 'js' };
      });
    },
  }],
});
