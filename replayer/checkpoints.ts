import { PAGE_SIZE } from '../src/machine/bus.js';
import { loadPage, storePage, storedEquals } from './page-codec.js';

/** A byte range of the shared memory that checkpoints copy whole (hart blocks, control, devices). */
export interface Region {
  offset: number;
  length: number;
}

/**
 * One saved machine state on the replay timeline. RAM is stored as a delta: the pages that may
 * differ from the previous checkpoint (the first checkpoint holds every non-zero page).
 */
export interface Checkpoint<S> {
  readonly step: number;
  /** What the timeline keeps outside the shared memory (scheduler, event positions, ...). */
  readonly state: S;
  /** The regions, page by page; pages equal to the previous checkpoint's share its array. */
  regionPages: Uint8Array[];
  /** RAM pages in their stored form (page-codec.ts: zero runs dropped where that pays). */
  readonly ramDelta: Map<number, Uint8Array>;
}

interface PageVersions {
  steps: number[];
  data: Uint8Array[];
}

/** Checkpoints kept at each spacing when the past is thinned (see CheckpointStore.thin). */
const DENSE_CHECKPOINTS = 8;

/**
 * Checkpoints of the single-threaded replay machine, with a memory bound. Which RAM pages changed
 * is known from the bus's dirty marks (set when a hart caches a store translation or a device
 * writes RAM), relative to `base`, the checkpoint last captured or restored. Every page keeps its
 * versions in step order, so restoring writes back exactly the pages that may differ.
 */
export class CheckpointStore<S> {
  private readonly list: Checkpoint<S>[] = [];
  private readonly versions = new Map<number, PageVersions>();
  private base: Checkpoint<S> | null = null;
  private readonly ram: Uint8Array;
  private readonly mem: Uint8Array;
  private readonly regionBytes: number;
  /** Bytes held by page copies (RAM versions and region pages). */
  bytes = 0;

  constructor(memory: SharedArrayBuffer, ramOffset: number, ramBytes: number, private readonly regions: Region[],
    private readonly dirty: Uint8Array, readonly budgetBytes: number,
    /** Called for every RAM page a restore rewrites (invalidates translated code on it). */
    private readonly pageRewritten: (page: number) => void,
    /**
     * Per RAM page, non-zero once it may have been written (Bus.ramWritten): the first capture
     * reads only those. Reading all of a 128 MiB RAM made the host fault in every page the guest
     * never touched (~11 us a page on these VMs): ~0.4 s of every debugger session's start.
     */
    private readonly mayBeWritten: Uint8Array | null = null) {
    this.ram = new Uint8Array(memory, ramOffset, ramBytes);
    this.mem = new Uint8Array(memory);
    this.regionBytes = regions.reduce((n, r) => n + r.length, 0);
  }

  get count(): number {
    return this.list.length;
  }

  get all(): ReadonlyArray<Checkpoint<S>> {
    return this.list;
  }

  /** The latest checkpoint at or before `step` (the first one is at step 0, so there always is one once captured). */
  atOrBefore(step: number, accept: (cp: Checkpoint<S>) => boolean = () => true): Checkpoint<S> | null {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i].step <= step && accept(this.list[i])) return this.list[i];
    return null;
  }

  has(step: number): boolean {
    return this.list.some((c) => c.step === step);
  }

  /** Saves the current machine state as a checkpoint at `step` (anywhere on the timeline). */
  capture(step: number, state: S): Checkpoint<S> {
    const at = this.list.findIndex((c) => c.step >= step);
    if (at >= 0 && this.list[at].step === step) throw new Error(`a checkpoint already exists at step ${step}`);
    const prev = at < 0 ? this.list[this.list.length - 1] ?? null : at > 0 ? this.list[at - 1] : null;
    const next = at < 0 ? null : this.list[at];
    const ramDelta = new Map<number, Uint8Array>();
    const candidates = prev ? this.candidatePages(prev.step) : this.nonZeroPages();
    for (const p of candidates) {
      const now = this.ram.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
      if (prev && samePage(now, this.versionAt(p, prev.step))) continue; // marked (a cached store translation), not changed
      const stored = storePage(now);
      ramDelta.set(p, stored);
      this.bytes += stored.length;
    }
    if (next && prev) {
      // `next` held the pages that differ from `prev`; it now follows us, so it must also hold
      // the pages that differ from us (their value at next is their value at prev).
      for (const p of ramDelta.keys()) {
        if (next.ramDelta.has(p)) continue;
        const old = this.versionAt(p, prev.step) ?? ZERO_PAGE;
        next.ramDelta.set(p, old);
        this.addVersion(p, next.step, old);
      }
    }
    for (const [p, data] of ramDelta) this.addVersion(p, step, data);
    const cp: Checkpoint<S> = { step, state, regionPages: this.copyRegions(prev), ramDelta };
    this.list.splice(at < 0 ? this.list.length : at, 0, cp);
    this.rebase(cp);
    return cp;
  }

  /**
   * Takes over a checkpoint saved by an earlier session (after every existing one, in step order).
   * Its RAM delta is relative to the checkpoint before it, exactly as when it was captured.
   */
  adopt(step: number, state: S, regionPages: Uint8Array[], ramDelta: Map<number, Uint8Array>): void {
    const prev = this.list[this.list.length - 1];
    if (!prev || step <= prev.step) throw new Error(`checkpoint at step ${step} is out of order`);
    for (const [p, data] of ramDelta) {
      const stored = storePage(data);
      ramDelta.set(p, stored);
      this.addVersion(p, step, stored);
      this.bytes += stored.length;
    }
    regionPages.forEach((page, k) => { if (page !== prev.regionPages[k]) this.bytes += page.length; });
    this.list.push({ step, state, regionPages, ramDelta });
  }

  /** Puts the machine's shared memory back as it was at `cp`; the caller restores `cp.state`. */
  restore(cp: Checkpoint<S>): void {
    for (const p of this.candidatePages(cp.step)) {
      const v = this.versionAt(p, cp.step);
      if (v) loadPage(v, this.ram.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
      else this.ram.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
      this.pageRewritten(p);
    }
    let k = 0;
    for (const r of this.regions) {
      for (let off = 0; off < r.length; off += PAGE_SIZE) this.mem.set(cp.regionPages[k++], r.offset + off);
    }
    this.rebase(cp);
  }

  /**
   * Over the memory bound: thins the past logarithmically, as rr does. Walking back from the
   * newest checkpoint, the newest DENSE_CHECKPOINTS stay at least `spacing` apart and every
   * further group of as many at least twice the gap of the group after it, so seeks near the
   * present stay short and memory grows with the log of the trace's length. When that spacing
   * already holds and the bound is still exceeded, every other checkpoint goes ('uniform': the
   * caller then doubles its spacing). Never drops the first or the newest; a dropped RAM delta is
   * folded into its successor.
   */
  thin(spacing: number): 'none' | 'log' | 'uniform' {
    let how: 'none' | 'log' | 'uniform' = 'none';
    while (this.bytes > this.budgetBytes && this.list.length >= 3) {
      if (this.thinLogarithmically(spacing)) {
        how = how === 'none' ? 'log' : how;
        continue;
      }
      for (let i = this.list.length - 2; i >= 1; i -= 2) this.drop(i);
      return 'uniform';
    }
    return how;
  }

  /** One pass of the logarithmic spacing (see thin); true when it dropped any checkpoint. */
  private thinLogarithmically(spacing: number): boolean {
    const drop: number[] = [];
    let gap = spacing;
    let keptAtGap = 0;
    let lastKept = this.list[this.list.length - 1].step;
    for (let i = this.list.length - 2; i >= 1; i--) {
      if (lastKept - this.list[i].step < gap) {
        drop.push(i);
        continue;
      }
      lastKept = this.list[i].step;
      if (++keptAtGap === DENSE_CHECKPOINTS) {
        keptAtGap = 0;
        gap *= 2;
      }
    }
    for (const i of drop) this.drop(i); // newest first: indexes of older ones stay valid
    return drop.length > 0;
  }

  /** Pages that may differ between the current state and the state at `step`. */
  private candidatePages(step: number): Set<number> {
    const pages = new Set<number>();
    const dirty = this.dirty;
    for (let p = 0; p < dirty.length; p++) if (dirty[p]) pages.add(p);
    const baseStep = this.base ? this.base.step : 0;
    const lo = Math.min(baseStep, step);
    const hi = Math.max(baseStep, step);
    for (const c of this.list) {
      if (c.step > lo && c.step <= hi) for (const p of c.ramDelta.keys()) pages.add(p);
    }
    return pages;
  }

  private nonZeroPages(): number[] {
    const words = new Int32Array(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength >> 2);
    const pages: number[] = [];
    const perPage = PAGE_SIZE >> 2;
    const marks = this.mayBeWritten;
    for (let p = 0; p * perPage < words.length; p++) {
      if (marks && !marks[p]) continue;
      for (let i = p * perPage; i < (p + 1) * perPage; i++) {
        if (words[i] !== 0) { pages.push(p); break; }
      }
    }
    return pages;
  }

  private versionAt(page: number, step: number): Uint8Array | null {
    const v = this.versions.get(page);
    if (!v) return null;
    for (let i = v.steps.length - 1; i >= 0; i--) if (v.steps[i] <= step) return v.data[i];
    return null;
  }

  private addVersion(page: number, step: number, data: Uint8Array): void {
    let v = this.versions.get(page);
    if (!v) this.versions.set(page, v = { steps: [], data: [] });
    let i = v.steps.length;
    while (i > 0 && v.steps[i - 1] > step) i--;
    v.steps.splice(i, 0, step);
    v.data.splice(i, 0, data);
  }

  private removeVersion(page: number, step: number): void {
    const v = this.versions.get(page)!;
    const i = v.steps.indexOf(step);
    v.steps.splice(i, 1);
    v.data.splice(i, 1);
  }

  /** Region pages, sharing the previous checkpoint's copy of every unchanged page. */
  private copyRegions(prev: Checkpoint<S> | null): Uint8Array[] {
    const pages: Uint8Array[] = [];
    let k = 0;
    for (const r of this.regions) {
      for (let off = 0; off < r.length; off += PAGE_SIZE, k++) {
        const live = this.mem.subarray(r.offset + off, r.offset + Math.min(off + PAGE_SIZE, r.length));
        const old = prev?.regionPages[k];
        if (old && Buffer.compare(old, live) === 0) pages.push(old);
        else {
          pages.push(live.slice());
          this.bytes += live.length;
        }
      }
    }
    return pages;
  }

  private drop(i: number): void {
    const cp = this.list[i];
    const next = this.list[i + 1] ?? null;
    for (const [p, data] of cp.ramDelta) {
      this.removeVersion(p, cp.step);
      if (next && !next.ramDelta.has(p)) {
        next.ramDelta.set(p, data);
        this.addVersion(p, next.step, data);
      } else {
        this.bytes -= data.length;
      }
    }
    const prev = this.list[i - 1];
    cp.regionPages.forEach((page, k) => {
      if (page !== prev.regionPages[k] && page !== next?.regionPages[k]) this.bytes -= page.length;
    });
    if (this.base === cp) {
      // The dirty marks were relative to cp; relative to prev they also cover what changed up to cp.
      for (const p of cp.ramDelta.keys()) this.dirty[p] = 1;
      this.base = prev;
    }
    this.list.splice(i, 1);
  }

  private rebase(cp: Checkpoint<S>): void {
    this.base = cp;
    this.dirty.fill(0);
  }

  /** Bytes one checkpoint's non-RAM regions take before deduplication (for reports). */
  get regionBytesPerCheckpoint(): number {
    return this.regionBytes;
  }
}

/** The stored form of a zero page (shared: stored pages are never written). */
const ZERO_PAGE = storePage(new Uint8Array(PAGE_SIZE));

/** The live page equals a stored version (a missing version is a zero page). */
function samePage(live: Uint8Array, stored: Uint8Array | null): boolean {
  return storedEquals(stored ?? ZERO_PAGE, live);
}
