/**
 * Hot pages remembered from earlier runs of the same images (the JIT's profile): for each guest
 * page that was compiled, keyed by a hash of the page's 4 KiB at compile time, the block offsets
 * its module ran. A page whose content hashes to a known key is compiled the first time it runs,
 * with those entries, instead of warming up for `hotness` block executions on the reference
 * executor and recompiling as it misses entries. On a 1-hart Linux boot ~1.7M of the ~2.4M
 * instructions the reference executor ran were on pages that were compiled later
 * (docs/ARCHITECTURE.md, the JIT's profile).
 *
 * Only speed depends on it, never execution: compiled code is exact whatever blocks a module
 * holds, and the offsets are compiled from the page's current bytes. A stale or colliding entry
 * costs a compile, nothing else. The main thread loads and saves the profile (hot-page-store.ts);
 * workers get it in their init and hand back what they compiled when their harts finish.
 */

/** [page key, block offsets] pairs: the form profiles travel in between threads and files. */
export type HotPageList = [key: number, offsets: number[]][];

let view: Int32Array | null = null;

/**
 * A 52-bit key of the 4 KiB at byte `at` of `u8` (two 32-bit multiplicative hashes of its words;
 * ~1-2 us). Collisions only cost a compile (above).
 */
export function pageKey(u8: Uint8Array, at: number): number {
  if (view === null || view.buffer !== u8.buffer) view = new Int32Array(u8.buffer);
  const first = (u8.byteOffset + at) >> 2;
  let a = 0x811c9dc5 | 0, b = 0x3c6ef372 | 0;
  for (let i = first, end = first + 1024; i < end; i++) {
    const w = view[i];
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b ^ (w >>> 7 | w << 25), 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + (b >>> 12);
}

/** One worker thread's view of the profile: what earlier runs compiled, and what this run adds. */
export class HotPages {
  private readonly known = new Map<number, readonly number[]>();
  private readonly learned = new Map<number, Set<number>>();

  constructor(list: HotPageList) {
    for (const [key, offsets] of list) this.known.set(key, offsets);
  }

  get size(): number {
    return this.known.size;
  }

  /** The block offsets an earlier run compiled for a page with this key. */
  offsetsFor(key: number): readonly number[] | undefined {
    return this.known.get(key);
  }

  /** Notes a page this run compiled (or compiled again with more entries). */
  learn(key: number, offsets: Iterable<number>): void {
    let set = this.learned.get(key);
    if (!set) this.learned.set(key, set = new Set());
    for (const off of offsets) set.add(off);
  }

  /** What this thread learned since the last call, for the main thread to save. */
  takeLearned(): HotPageList {
    const out: HotPageList = [...this.learned].map(([key, set]) => [key, [...set].sort((x, y) => x - y)]);
    this.learned.clear();
    return out;
  }
}
