import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { bundleEntry } from '../../src/host/bundle-entry.js';
import { WORKER_PLUGIN_OF_COMMAND } from '../../src/cli/worker-plugins.js';
import { BUNDLED_PLUGINS } from '../../src/cli/hart-worker-bundled.js';
import { recordWorkerMode } from '../../recorder/worker-mode.js';
import { replayWorkerMode } from '../../replayer/worker-mode.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bundle = join(root, 'dist/bundle');
const cli = join(root, 'dist/src/cli/main.js');

describe('the bundled hart worker (scripts/bundle-worker.mjs, host/worker-pool.ts)', () => {
  test('the build made it, one CommonJS file with both plug-ins, and it loads nothing of ours from outside the bundle', () => {
    for (const file of ['hart-worker.cjs', 'hart-worker-loader.cjs', 'build-id.txt']) expect(existsSync(join(bundle, file)), file).toBe(true);
    const worker = readFileSync(join(bundle, 'hart-worker.cjs'), 'utf8');
    // Its own modules are all inside; a require of a relative path would load a second copy, and
    // an import() would fail in vm.Script (hart-worker-loader.ts gives it no module loader).
    expect(worker).not.toMatch(/\brequire\(\s*["']\./);
    expect(worker).not.toMatch(/\bimport\(/);
    expect(/[^\x00-\x7f]/.test(worker), 'one non-ASCII character makes the whole source a two-byte string').toBe(false);
    for (const plugin of Object.values(WORKER_PLUGIN_OF_COMMAND)) expect(Object.keys(BUNDLED_PLUGINS)).toContain(plugin);
    // npm run build made it after tsc: the CLI's workers use it.
    expect(statSync(join(bundle, 'hart-worker-loader.cjs')).mtimeMs).toBeGreaterThanOrEqual(statSync(join(root, 'dist/src/host/hart-worker.js')).mtimeMs);
  });

  test("the worker's code cache is written once per plug-in, used, and rewritten when V8 rejects it", () => {
    const cache = mkdtempSync(join(tmpdir(), 'hindsight-code-cache-'));
    const env = { ...process.env, HINDSIGHT_CACHE: cache };
    const run = (...args: string[]): string => execFileSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
    const files = (): string[] => (existsSync(join(cache, 'worker-code')) ? readdirSync(join(cache, 'worker-code')).filter((f) => f.endsWith('.bin')).sort() : []);
    const hello = join(root, 'test/guests/bin/hello.elf');
    expect(run('run', hello)).toContain('hello from hart 0');
    const buildId = readFileSync(join(bundle, 'build-id.txt'), 'utf8').trim();
    expect(files()).toHaveLength(1);
    const [runCache] = files();
    expect(runCache).toMatch(new RegExp(`^${buildId}-\\d+-run-\\d+\\.bin$`));
    const file = join(cache, 'worker-code', runCache);
    const made = readFileSync(file);
    expect(made.length).toBeGreaterThan(100_000); // bytecode of the functions the run compiled, not just the top level
    // A second run takes it and leaves it alone.
    utimesSync(file, 1000, 1000);
    expect(run('run', hello)).toContain('hello from hart 0');
    expect(statSync(file).mtimeMs).toBe(1000 * 1000);
    // Garbage where the cache was: V8 rejects it, the run is unharmed and writes a good one.
    writeFileSync(file, Buffer.alloc(made.length, 0x5a));
    expect(run('run', hello)).toContain('hello from hart 0');
    expect(readFileSync(file).equals(Buffer.alloc(made.length, 0x5a))).toBe(false);
    expect(readFileSync(file).length).toBeGreaterThan(100_000);
    // Recording and replaying keep their own.
    const trace = join(cache, 't.trace');
    run('record', '-o', trace, join(root, 'test/guests/bin/smp_racy_counter.elf'));
    run('replay', trace);
    // (The names in the message: a build id, V8's cachedDataVersionTag, the plug-in, the bundle's mtime.)
    expect(files().map((f) => f.split('-')[2]), files().join(' ')).toEqual(['recorder', 'replayer', 'run']);
  });

  test('the CLI runs from its bundle (dist/bundle/cli/), and from the modules with HINDSIGHT_UNBUNDLED=1', () => {
    expect(statSync(join(bundle, 'cli/cli.js')).mtimeMs).toBeGreaterThanOrEqual(statSync(join(root, 'dist/src/cli/cli.js')).mtimeMs);
    // Node 20's ESM loader names each module it loads under NODE_DEBUG=esm ("Storing file:///...").
    const loaded = (unbundled: string): string[] => {
      const r = spawnSync(process.execPath, [cli, 'run', join(root, 'test/guests/bin/hello.elf')], { env: { ...process.env, HINDSIGHT_UNBUNDLED: unbundled, NODE_DEBUG: 'esm' }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('hello from hart 0');
      return [...new Set([...r.stderr.matchAll(/Storing (file:\/\/\S+)/g)].map((m) => relative(join(root, 'dist'), fileURLToPath(m[1]))))];
    };
    const bundled = loaded('0');
    // Of our compiled modules only the launcher's (the rest is bundles, and node_modules).
    expect(bundled.filter((f) => !f.startsWith('bundle/') && !f.startsWith('../')).sort()).toEqual(['src/cli/main.js', 'src/host/bundle-entry.js']);
    expect(bundled).toContain('bundle/cli/cli.js');
    const modules = loaded('1');
    expect(modules).toContain('src/cli/program.js');
    expect(modules.some((f) => f.startsWith('bundle/'))).toBe(false);
  });

  test('the main thread of run, record and replay loads neither the executors nor the instruction tables (static imports)', () => {
    // docs/ARCHITECTURE.md, start-up: only hart workers, the debugger's timeline and the live debug
    // target load them (the debug command imports them dynamically). A constant imported from the
    // wrong module once pulled the tables and softfloat into every command's main thread.
    const dist = join(root, 'dist');
    const reachable = (entry: string): Set<string> => {
      const seen = new Set([entry]);
      for (const f of seen) {
        for (const m of readFileSync(join(dist, f), 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gm)) {
          const target = relative(dist, resolve(dirname(join(dist, f)), m[1]));
          if (existsSync(join(dist, target))) seen.add(target);
        }
      }
      return seen;
    };
    for (const entry of ['src/cli/program.js', 'recorder/record-session.js', 'replayer/replay-session.js']) {
      const loaded = reachable(entry);
      expect(loaded.size, entry).toBeGreaterThan(10);
      for (const heavy of ['src/isa/table.js', 'src/isa/softfloat.js', 'src/exec/executor.js', 'src/jit/jit-executor.js', 'src/engine/schedule-hart.js']) expect(loaded.has(heavy), `${entry} reaches ${heavy}`).toBe(false);
    }
  });

  test('the CLI preloads the plug-ins that recording and replay name', () => {
    expect(WORKER_PLUGIN_OF_COMMAND.record).toBe(recordWorkerMode({} as never).module);
    expect(WORKER_PLUGIN_OF_COMMAND.replay).toBe(replayWorkerMode({} as never).module);
  });

  test('the bundle is taken only while it is not older than the modules, and never with HINDSIGHT_UNBUNDLED=1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hindsight-bundle-'));
    const modules = pathToFileURL(join(dir, 'modules.js'));
    const bundled = pathToFileURL(join(dir, 'bundle.js'));
    writeFileSync(modules, '');
    expect(bundleEntry(modules, bundled, {})).toEqual(modules); // no bundle
    writeFileSync(bundled, '');
    utimesSync(modules, 1000, 1000);
    utimesSync(bundled, 2000, 2000);
    expect(bundleEntry(modules, bundled, {})).toEqual(bundled);
    expect(bundleEntry(modules, bundled, { HINDSIGHT_UNBUNDLED: '1' })).toEqual(modules);
    utimesSync(modules, 3000, 3000); // tsc ran again without bundling
    expect(bundleEntry(modules, bundled, {})).toEqual(modules);
  });

  test('a recording and its replay give the same results from the bundle and from the modules', () => {
    const guest = join(root, 'test/guests/bin/smp_racy_counter.elf');
    const dir = mkdtempSync(join(tmpdir(), 'hindsight-bundle-'));
    const outputs = ['0', '1'].map((unbundled) => {
      const env = { ...process.env, HINDSIGHT_UNBUNDLED: unbundled };
      const trace = join(dir, `t${unbundled}.trace`);
      // One hart: the same instructions on both, so the two recordings print the same.
      const recorded = execFileSync(process.execPath, [cli, 'record', '-o', trace, guest], { env, encoding: 'utf8' });
      // Each trace replayed by the other build.
      const other = { ...process.env, HINDSIGHT_UNBUNDLED: unbundled === '1' ? '0' : '1' };
      const replayed = execFileSync(process.execPath, [cli, 'replay', '--sched', 'parallel', trace], { env: other, encoding: 'utf8' });
      expect(replayed).toBe(recorded);
      return recorded;
    });
    expect(outputs[0]).toContain('smp_racy_counter');
    expect(outputs[1]).toBe(outputs[0]);
  });
});
