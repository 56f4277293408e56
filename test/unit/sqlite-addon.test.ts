import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { betterSqliteAddon } from '../../traces/sqlite.js';

const realPackage = dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json'));
// Under the project's node_modules, so that `bindings` resolves from the fake package as from the real one.
const projectModules = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules');
const made: string[] = [];
afterAll(() => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

describe('better-sqlite3 addon lookup (traces/sqlite.ts)', () => {
  it('uses the path under build/Release when the addon is there', () => {
    expect(betterSqliteAddon(realPackage)).toBe(join(realPackage, 'build', 'Release', 'better_sqlite3.node'));
  });

  it('elsewhere (build/Debug here), loads it through bindings from the package directory, and the addon opens databases', () => {
    const fake = mkdtempSync(join(projectModules, '.hindsight-test-sqlite-'));
    made.push(fake);
    mkdirSync(join(fake, 'build', 'Debug'), { recursive: true });
    copyFileSync(join(realPackage, 'build', 'Release', 'better_sqlite3.node'), join(fake, 'build', 'Debug', 'better_sqlite3.node'));
    const addon = betterSqliteAddon(fake);
    expect(typeof addon).toBe('object');
    const db = new Database(':memory:', { nativeBinding: addon as string });
    expect(db.prepare('SELECT 40 + 2 AS n').get()).toEqual({ n: 42 });
    db.close();
  });

  it('answers undefined for a directory without the addon', () => {
    const empty = mkdtempSync(join(projectModules, '.hindsight-test-sqlite-'));
    made.push(empty);
    expect(betterSqliteAddon(empty)).toBeUndefined();
  });
});
