/**
 * Opens SQLite files with better-sqlite3, handing it its compiled addon by path: its default
 * lookup (the `bindings` package) loads one more module and probes a dozen candidate paths, ~1 ms
 * of every trace command's start (new Database(':memory:') 2.0 -> 1.1 ms). An install that puts
 * the addon elsewhere falls back to that lookup.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

let addon: string | undefined | null = null;

function addonPath(): string | undefined {
  if (addon === null) {
    try {
      const candidate = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
      addon = existsSync(candidate) ? candidate : undefined;
    } catch {
      addon = undefined;
    }
  }
  return addon;
}

/** `new Database(file, options)`, with the addon found once per process. */
export function openDatabase(file: string | Buffer, options: Database.Options = {}): Database.Database {
  const nativeBinding = addonPath();
  return new Database(file, nativeBinding === undefined ? options : { ...options, nativeBinding });
}
