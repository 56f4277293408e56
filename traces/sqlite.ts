/**
 * Opens SQLite files with better-sqlite3, handing it its compiled addon: by path when it is where
 * node-gyp and prebuild-install put it (its default lookup, the `bindings` package, loads one more
 * module and probes a dozen candidate paths, ~1 ms of every trace command's start: new
 * Database(':memory:') 2.0 -> 1.1 ms), else loaded through `bindings` from better-sqlite3's own
 * directory. That second way has to name the directory: the CLI's bundle includes better-sqlite3's
 * JavaScript (scripts/bundle-worker.mjs), and `bindings` would search from the bundle's directory.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

type Addon = string | object;
let addon: Addon | undefined | null = null;

/** The addon of the better-sqlite3 package in `packageDir`: its path, else the module `bindings` loads (undefined when neither works). */
export function betterSqliteAddon(packageDir: string): Addon | undefined {
  const candidate = join(packageDir, 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(candidate)) return candidate;
  try {
    const bindings = createRequire(join(packageDir, 'package.json'))('bindings') as (opts: object) => object;
    return bindings({ bindings: 'better_sqlite3.node', module_root: packageDir });
  } catch {
    return undefined;
  }
}

function addonOnce(): Addon | undefined {
  if (addon === null) {
    try {
      addon = betterSqliteAddon(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')));
    } catch {
      addon = undefined;
    }
  }
  return addon;
}

/** `new Database(file, options)`, with the addon found once per process. */
export function openDatabase(file: string | Buffer, options: Database.Options = {}): Database.Database {
  const nativeBinding = addonOnce();
  // better-sqlite3 takes a loaded addon too (its types say only a path).
  return new Database(file, nativeBinding === undefined ? options : { ...options, nativeBinding: nativeBinding as string });
}
