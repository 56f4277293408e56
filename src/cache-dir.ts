/**
 * hindsight's cache directory, `${HINDSIGHT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/hindsight}`: the
 * JIT's profiles and page modules (jit/hot-page-store.ts), the deflated boot images a trace
 * stores (traces/image-cache.ts). Everything in it only saves time; any of it may go missing.
 */
import { readdirSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

export function hindsightCacheDir(): string {
  return process.env.HINDSIGHT_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'hindsight');
}

/**
 * Once more than `keep` files end in `ext` in `dir`, deletes the oldest down to 4/5 of `keep`.
 * The slack matters: a full directory (2,000 page modules) pruned down to exactly `keep` took
 * every later run that wrote one module a stat of every file, ~45 ms at the end of a Linux boot.
 * A directory nobody added a file to since the last look (its mtime, against a marker file
 * touched after each look) is not listed again: listing ~1,700 page modules cost the end of every
 * Linux boot ~5 ms, and a warm boot writes none.
 */
export function pruneOldest(dir: string, ext: string, keep: number): void {
  const marker = path.join(dir, `.pruned${ext.replace(/\./g, '_')}`);
  try {
    if (statSync(dir).mtimeMs <= statSync(marker).mtimeMs) return;
  } catch {
    // No marker yet (or no directory): look.
  }
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith(ext));
  } catch {
    return;
  }
  if (names.length > keep) {
    const files = names.map((f) => {
      const p = path.join(dir, f);
      try { return { p, at: statSync(p).mtimeMs }; } catch { return { p, at: 0 }; }
    });
    files.sort((x, y) => x.at - y.at);
    for (const { p } of files.slice(0, files.length - Math.floor(keep * 0.8))) {
      try { unlinkSync(p); } catch { /* another process pruned it */ }
    }
  }
  try {
    writeFileSync(marker, '');
    const now = new Date();
    utimesSync(marker, now, now);
  } catch {
    // A read-only cache: look again next time.
  }
}
