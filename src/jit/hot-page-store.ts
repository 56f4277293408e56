/**
 * Where the JIT's profile of hot pages (hot-pages.ts) lives between runs: one small JSON file per
 * set of boot images under `${HINDSIGHT_CACHE:-${XDG_CACHE_HOME:-~/.cache}/hindsight}/jit-profiles/`,
 * read by the main thread before the harts start and rewritten (to a temporary file, then renamed)
 * when a run compiled pages the file did not list or used other compiled modules. It is a cache: a missing, unreadable or
 * damaged file is an empty profile, a failed write is dropped silently, and a run never depends
 * on it for anything but speed. `HINDSIGHT_JIT_PROFILE=0` turns it off.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HotPageList } from './hot-pages.js';
import { MAX_PAGE_BLOCKS } from './page-limits.js';
import { hindsightCacheDir, pruneOldest } from '../cache-dir.js';

const FORMAT = 'hindsight-jit-profile-1';
/**
 * Pages kept per file (a Linux boot compiles ~100) and files kept (the oldest go first). A profile
 * is one per (images, hart count, command) and mostly under 2 KB (a Linux boot's ~100 KB); an `npm
 * test` and an `npm run bench` wrote ~60 into the same cache within 20 minutes, and with 64 kept the
 * kernel's profile was gone: its next boot ran as a first boot (1-hart Linux ~1.4 s, not ~1.0 s).
 */
const MAX_PAGES = 4096;
const MAX_FILES = 256;
/** Compiled page modules kept (~40-80 KB each; a Linux boot writes ~100). */
const MAX_MODULES = 2000;
/** Module files a profile lists for the main thread to compile ahead (a 4-hart Linux boot uses ~130). */
const MAX_LISTED_MODULES = 512;
/**
 * A listed module stays listed until this many runs in a row did not use it. Each module the main
 * thread compiles ahead costs it ~1.6 ms, and on the 2-core host it competes with the harts for a
 * core. Listed for good (as before), a much-used 4-hart Linux profile listed 300 modules of which
 * a boot used 131 (1 hart: 164 and 82): user pages land on other frames each run (other keys), and
 * rarer paths' modules pile up. The last three runs' keep the variants a boot keeps coming back to.
 */
const MODULE_IDLE_RUNS = 3;
/**
 * Block offsets kept per page: the executor compiles at most this many blocks of a page
 * (JitOptions.maxBlocksPerPage), so a page listing more is already compiled short of some of the
 * blocks it runs. Offsets only ever accumulate (a union over runs), and entries that are not block
 * starts of the code's usual flow (where some run resumed inside straight-line code) each bring a
 * misaligned chain of blocks with them: on a cache used by many runs (tests, recordings, replays,
 * debugger sessions of one Linux image) pages reached 728 and 892 offsets, the blake2s page of a
 * 4-hart boot missed three entries in every round of its loop (hart 0: 69,000 misses, 1.57M
 * reference-executor instructions, against ~5,000-13,000 and ~0.1-0.5M from a fresh cache), and
 * the boot ran 1,249 ms (median of 7) against 1,153 ms on a fresh, warmed cache. Such a page is
 * dropped and learned again from its next compile.
 */
const MAX_OFFSETS_PER_PAGE = MAX_PAGE_BLOCKS;

export function hotPagesEnabled(): boolean {
  return process.env.HINDSIGHT_JIT_PROFILE !== '0';
}

function profileDir(): string {
  return path.join(hindsightCacheDir(), 'jit-profiles');
}

/** Where compiled page modules are kept (page-module-cache.ts). */
export function pageModuleDir(): string {
  return path.join(hindsightCacheDir(), 'jit-pages');
}

/**
 * The profile file of a machine booted from these images (disks excluded: their contents change)
 * and run in one `shape` (host/jit-cache.ts `profileShape`: hart count and command). Named by a
 * digest of the shape and each image's role, length and a sample of its bytes (16 bytes of every
 * 4 KiB: well under a millisecond for a Linux kernel); two image sets that collide share a file,
 * which costs compiles, nothing else. The shape is in the name because what a run learns depends
 * on it (docs/BENCHMARKS.md): alternating 1- and 4-hart boots of the test kernel shared one
 * profile, and each 1-hart boot then primed ~20 pages with the 4-hart boot's entry sets (compile
 * time 30 -> 195 ms, boot 699 -> 829 ms); a replay's kernel puts user pages on the frames of its
 * recording, so after a replay a plain run compiled ahead both runs' modules (4 harts: 213 of
 * which it used 110, ~1,220 ms against ~1,090).
 */
export function hotPageFile(images: readonly { role: string; bytes: Uint8Array }[], shape: string): string {
  const h = createHash('sha1');
  h.update(`shape:${shape};`);
  for (const { role, bytes } of images) {
    if (role.startsWith('disk')) continue;
    h.update(`${role}:${bytes.length};`);
    const sample = new Uint8Array(Math.ceil(bytes.length / 4096) * 16);
    for (let at = 0, k = 0; at < bytes.length; at += 4096, k += 16) sample.set(bytes.subarray(at, at + 16), k);
    h.update(sample);
  }
  return path.join(profileDir(), `${h.digest('hex').slice(0, 24)}.json`);
}

/**
 * What a profile file holds: the hot pages, and the compiled-module files (page-module-cache.ts
 * keys) the last runs used, in the order the last run first used them, for the main thread to
 * compile ahead of the harts (host/jit-cache.ts).
 */
export interface JitProfile {
  pages: HotPageList;
  modules: string[];
  /** Per listed module: how many runs in a row since one used it (0: the last run did; absent: all 0). */
  moduleIdle?: number[];
}

/** The profile saved at `file`, or an empty one. */
export function loadProfile(file: string): JitProfile {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; pages?: unknown; modules?: unknown; moduleIdle?: unknown };
    if (data.format !== FORMAT || !Array.isArray(data.pages)) return { pages: [], modules: [], moduleIdle: [] };
    const pages = (data.pages as unknown[]).filter((p): p is [number, number[]] =>
      Array.isArray(p) && p.length === 2 && Number.isSafeInteger(p[0]) && Array.isArray(p[1])
      && p[1].length <= MAX_OFFSETS_PER_PAGE
      && (p[1] as unknown[]).every((o) => Number.isInteger(o) && (o as number) >= 0 && (o as number) < 4096 && ((o as number) & 1) === 0));
    const listed = Array.isArray(data.modules) ? data.modules as unknown[] : [];
    const idle = Array.isArray(data.moduleIdle) && data.moduleIdle.length === listed.length ? data.moduleIdle as unknown[] : listed.map(() => 0);
    const modules: string[] = [];
    const moduleIdle: number[] = [];
    listed.forEach((k, i) => {
      if (typeof k !== 'string' || !/^[0-9a-f]{40}$/.test(k)) return;
      modules.push(k);
      const n = idle[i];
      moduleIdle.push(Number.isSafeInteger(n) && (n as number) >= 0 ? n as number : 0);
    });
    return { pages, modules, moduleIdle };
  } catch {
    return { pages: [], modules: [], moduleIdle: [] };
  }
}

/**
 * Saves `known` plus what a run learned at `file` when that changes anything; best effort. The
 * run's modules come first, in its order, then the ones it did not use (a short run, a debugger
 * session, keeps the longer runs' list behind its own) but for those found `unusable` and those
 * no run used for MODULE_IDLE_RUNS runs.
 */
export function saveProfile(file: string, known: JitProfile, learned: JitProfile, unusable: ReadonlySet<string> = new Set()): void {
  const merged = new Map<number, Set<number>>();
  for (const [key, offsets] of known.pages) merged.set(key, new Set(offsets));
  let changed = false;
  for (const [key, offsets] of learned.pages) {
    let set = merged.get(key);
    if (!set) {
      // Newest last: a full file drops its oldest entries first.
      merged.set(key, set = new Set());
    }
    for (const off of offsets) if (!set.has(off)) { set.add(off); changed = true; }
    // Over the bound (above): this run's offsets alone if they fit, else nothing for this page.
    if (set.size > MAX_OFFSETS_PER_PAGE) {
      const own = new Set(offsets);
      if (own.size <= MAX_OFFSETS_PER_PAGE) merged.set(key, own);
      else merged.delete(key);
    }
  }
  // A run that used no module (the reference tier, a run too short to compile) ages none.
  const idle = new Map<string, number>();
  const aging = learned.modules.length > 0 ? 1 : 0;
  known.modules.forEach((key, i) => {
    const n = (known.moduleIdle?.[i] ?? 0) + aging;
    if (!unusable.has(key) && n < MODULE_IDLE_RUNS) idle.set(key, n);
  });
  for (const key of learned.modules) idle.delete(key);
  const modules = [...new Set([...learned.modules, ...idle.keys()])].slice(0, MAX_LISTED_MODULES);
  const moduleIdle = modules.map((key) => idle.get(key) ?? 0);
  if (modules.length !== known.modules.length || modules.some((k, i) => k !== known.modules[i] || moduleIdle[i] !== (known.moduleIdle?.[i] ?? 0))) changed = true;
  if (!changed) return;
  const pages = [...merged].slice(-MAX_PAGES).map(([key, set]) => [key, [...set].sort((x, y) => x - y)]);
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ format: FORMAT, pages, modules, moduleIdle }));
    renameSync(tmp, file);
    pruneOldest(path.dirname(file), '.json', MAX_FILES);
    pruneOldest(pageModuleDir(), '.bin', MAX_MODULES);
  } catch {
    // A read-only or full cache directory: the next run warms up as if there were no profile.
  }
}
