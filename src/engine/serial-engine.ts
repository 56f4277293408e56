import { WatchedPages, virtualPage } from '../exec/executor.js';
import { Hart } from '../cpu/hart.js';
import { Access } from '../cpu/mmu.js';
import { HartRunner, RunProbe } from './hart-runner.js';
import { SerialScheduler } from './serial-scheduler.js';

/** A position on the canonical timeline: instructions retired by all harts together. */
export type Step = number;

export type WatchAccess = 'write' | 'read' | 'access';

/** A breakpoint or watchpoint hit found while running. */
export type Hit =
  /** `hart` is about to execute the instruction at a breakpoint, at `step`. */
  | { kind: 'breakpoint'; hart: number; step: Step }
  /** `hart` accessed a watched range; `step` is the position right after that instruction. */
  | { kind: 'watch'; hart: number; step: Step; access: WatchAccess; addr: bigint };

/** Why a run stopped. */
export type RunEnd =
  | { kind: 'target' }
  | { kind: 'step' }
  | { kind: 'hit'; hit: Hit }
  | { kind: 'end' }
  | { kind: 'interrupted' };

export interface RunSpec {
  target: Step;
  /** Pause when this hart's icount reaches this value. */
  stepHart?: { hart: number; icount: number };
  /** Look for breakpoint and watchpoint hits. */
  detect: boolean;
  /** Breakpoint hits exactly here do not count (the position a forward run starts from). */
  ignoreBreakpointsAt: Step;
  /** Called for every hit; true stops the run. */
  onHit?(hit: Hit): boolean;
  /**
   * With watchpoints, stop right after the accessing instruction (a live machine cannot go back;
   * the replay timeline re-seeks instead): see Executor.watch.
   */
  exactWatch?: boolean;
}

export interface RunHooks {
  /** Every hart is idle (see SerialSchedulerOptions.stalled): resolves when it is worth looking again. */
  whenStalled?(): Promise<void>;
  /** Where the slice starting at `pos` must end at the latest (e.g. the next checkpoint). */
  sliceEnd?(pos: Step): Step;
  /** Between slices (checkpoints, console input). */
  between?(): void;
  /** Shown for long runs. */
  progress?: { update(done: number, total: number): void; end(): void };
}

/** Instructions run between two looks at the event loop (Ctrl-C, progress). */
const SLICE_STEPS = 1_000_000;
/** Operations shorter than this show no progress. */
const PROGRESS_AFTER_MS = 500;

/**
 * All harts on one thread in the serial scheduler's round robin (src/engine/serial-scheduler.ts),
 * able to pause before any instruction of any hart and to find breakpoint and watchpoint hits on
 * the way. Pausing never perturbs execution: HartRunner resumes a paused block without adding a
 * safe point. Both debug targets run on it: the replay timeline and a live machine.
 */
export class SerialEngine extends SerialScheduler {
  readonly breakpoints = new Set<bigint>();
  /** Breakpoints pinned to a physical address (see addBreakpoint). */
  private readonly breakpointSpaces = new Map<bigint, number>();
  readonly watchpoints: Watchpoint[] = [];
  private spec: RunSpec | null = null;
  private sliceEnd: Step = 0;
  private ended: RunEnd | null = null;
  private wasStalled = false;
  /** Breakpoints by virtual page number (the executors stop short of them, see Executor.breakpointPages). */
  private breakpointPages = new Map<number, bigint[]>();

  /** Instructions retired by all harts together. */
  get step(): Step {
    let sum = 0;
    for (const h of this.harts) sum += h.icount;
    return sum;
  }

  runnerOf(hart: number): HartRunner {
    return this.slots[hart].runner;
  }

  // --- breakpoints and watchpoints ---------------------------------------------------------------
  /**
   * A breakpoint on the virtual pc. When some hart pages, it is also pinned to the physical
   * address `hart` (else the first other paging hart) maps the pc to now, and only harts that
   * map it there stop (a breakpoint in one program does not stop another program at the same
   * virtual address; a kernel address maps alike everywhere). Unmapped now: any hart at the pc.
   */
  addBreakpoint(pc: bigint, hart = 0): void {
    pc = BigInt.asIntN(64, pc);
    this.breakpoints.add(pc);
    const pieces = this.resolve(pc, 1, hart);
    if (typeof pieces === 'string' || pieces === null) this.breakpointSpaces.delete(pc);
    else this.breakpointSpaces.set(pc, pieces[0].pa);
    this.refreshBreakpointPages();
  }

  removeBreakpoint(pc: bigint): void {
    pc = BigInt.asIntN(64, pc);
    this.breakpoints.delete(pc);
    this.breakpointSpaces.delete(pc);
    this.refreshBreakpointPages();
  }

  /** A breakpoint at h.pc applies to `h`: unpinned, or h maps the pc where it was pinned. */
  private breakpointApplies(h: Hart): boolean {
    const pa = this.breakpointSpaces.get(h.pc);
    return pa === undefined || (h.mmu.dataIsPaged() && h.mmu.peek(h.pc, Access.Load) === pa);
  }

  private refreshBreakpointPages(): void {
    this.breakpointPages = new Map();
    for (const pc of this.breakpoints) {
      const list = this.breakpointPages.get(virtualPage(pc)) ?? [];
      list.push(pc);
      this.breakpointPages.set(virtualPage(pc), list);
    }
    for (const s of this.slots) s.runner.executor.breakpointPages = this.breakpointPages.size > 0 ? this.breakpointPages : null;
  }

  /**
   * Watches `length` bytes at virtual address `addr` as `hart` translates them now (else as the
   * first other hart that can). The watch is on the physical bytes: a user variable is watched in
   * the harts running its address space only, a kernel variable in all. Returns why not, if not:
   * some hart translates addresses but none can translate these.
   */
  addWatchpoint(access: WatchAccess, addr: bigint, length: number, hart = 0): string | null {
    addr = BigInt.asIntN(64, addr);
    if (this.watchpoints.some((w) => w.access === access && w.addr === addr && w.length === length)) return null;
    const pieces = this.resolve(addr, length, hart);
    if (typeof pieces === 'string') return `cannot watch 0x${BigInt.asUintN(64, addr).toString(16)} (${length} bytes): ${pieces}`;
    this.watchpoints.push({ access, addr, length, pieces: pieces ?? identityPieces(addr, length) });
    return null;
  }

  /**
   * Physical pieces of a virtual range as `hart` maps it now, else as the first other paging hart
   * does; null when no hart pages (addresses are physical); why not, when harts page but none
   * maps the whole range.
   */
  private resolve(addr: bigint, length: number, hart: number): Watchpoint['pieces'] | null | string {
    const harts = this.slots.map((s) => s.hart);
    const paged = harts.filter((h) => h.mmu.dataIsPaged());
    if (paged.length === 0) return null;
    for (const h of [...paged.filter((h) => h.id === hart), ...paged.filter((h) => h.id !== hart)]) {
      const pieces = physicalPieces(h, addr, length);
      if (pieces) return pieces;
    }
    const which = paged.length === 1 ? `hart ${paged[0].id}` : `harts ${paged.map((h) => h.id).join(', ')}`;
    return `no hart can translate it (${which} ${paged.length === 1 ? 'uses' : 'use'} paging and ${paged.length === 1 ? 'has' : 'have'} no mapping for it now)`;
  }

  removeWatchpoint(access: WatchAccess, addr: bigint, length: number): void {
    const i = this.watchpoints.findIndex((w) => w.access === access && w.addr === addr && w.length === length);
    if (i >= 0) this.watchpoints.splice(i, 1);
  }

  /**
   * Runs forward under `spec` in slices that let the event loop breathe (Ctrl-C, sockets).
   * `hooks.sliceEnd` bounds each slice (e.g. the next checkpoint) and `hooks.between` runs
   * between slices.
   */
  async run(spec: RunSpec, interrupt: AbortSignal | undefined, hooks: RunHooks = {}): Promise<RunEnd> {
    const started = Date.now();
    const from = this.step;
    let shown = false;
    try {
      for (;;) {
        const pos = this.step;
        this.wasStalled = false;
        const end = this.runSlice(spec, Math.min(spec.target, pos + SLICE_STEPS, hooks.sliceEnd?.(pos) ?? Number.POSITIVE_INFINITY));
        if (end) return end;
        hooks.between?.();
        if (interrupt?.aborted) return { kind: 'interrupted' };
        if (this.wasStalled) {
          await hooks.whenStalled?.();
          continue;
        }
        if (hooks.progress && Date.now() - started > PROGRESS_AFTER_MS) {
          shown = true;
          hooks.progress.update(this.step - from, Math.max(1, spec.target - from));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      if (shown) hooks.progress?.end();
    }
  }

  /** Runs until the spec is satisfied (returns why) or the slice ends (returns null). */
  private runSlice(spec: RunSpec, sliceEnd: Step): RunEnd | null {
    this.spec = spec;
    this.sliceEnd = sliceEnd;
    this.ended = null;
    const watching = spec.detect && this.watchpoints.length > 0;
    const pages = watching ? watchedPages(this.watchpoints) : null;
    for (const s of this.slots) s.runner.executor.watch(watching ? this.accessHookFor(s.hart) : null, pages, spec.exactWatch ?? false);
    try {
      return this.schedule();
    } finally {
      for (const s of this.slots) s.runner.executor.watch(null, null, false);
      this.spec = null;
    }
  }

  /** Runs the scheduler's turns until the probe ends the slice, the harts stall, or all are done. */
  private schedule(): RunEnd | null {
    for (;;) {
      if (this.ended) return this.endOfSlice();
      const end = this.runTurns(this.probe);
      if (end === 'end') return { kind: 'end' };
      if (end === 'stalled') {
        this.wasStalled = true;
        return null;
      }
    }
  }

  private endOfSlice(): RunEnd | null {
    const e = this.ended!;
    this.ended = null;
    return e.kind === 'target' && this.step < this.spec!.target ? null : e;
  }

  private readonly probe: RunProbe = {
    limit: (h: Hart): number => {
      const spec = this.spec!;
      const pos = this.step;
      if (pos >= this.sliceEnd) {
        this.ended = { kind: 'target' };
        return 0;
      }
      let limit = this.sliceEnd - pos;
      if (spec.stepHart && spec.stepHart.hart === h.id) {
        const left = spec.stepHart.icount - h.icount;
        if (left <= 0) {
          this.ended = { kind: 'step' };
          return 0;
        }
        if (left < limit) limit = left;
      }
      if (spec.detect && this.breakpoints.has(h.pc) && pos !== spec.ignoreBreakpointsAt && this.breakpointApplies(h)) {
        const hit: Hit = { kind: 'breakpoint', hart: h.id, step: pos };
        if (spec.onHit?.(hit)) {
          this.ended = { kind: 'hit', hit };
          return 0;
        }
      }
      return limit;
    },
    afterBlock: (): boolean => this.ended !== null,
  };

  private accessHookFor(h: Hart): (va: bigint, pa: number, size: number, write: boolean, read: boolean) => void {
    return (va, pa, size, write, read) => {
      if (this.ended) return;
      const inPage = Math.min(size, PAGE_BYTES - (pa % PAGE_BYTES));
      // An access crossing a page: its second part is wherever the next virtual page maps.
      const rest = inPage < size ? h.mmu.peek(BigInt.asIntN(64, va + BigInt(inPage)), write ? Access.Store : Access.Load) : -1;
      for (const w of this.watchpoints) {
        const kindMatches = w.access === 'access' ? true : w.access === 'write' ? write : read;
        if (!kindMatches) continue;
        const at = overlap(w, pa, inPage) ?? (rest >= 0 ? overlap(w, rest, size - inPage) : null);
        if (at === null) continue;
        const hit: Hit = { kind: 'watch', hart: h.id, step: this.step + 1, access: w.access, addr: at };
        if (this.spec?.onHit?.(hit)) this.ended = { kind: 'hit', hit };
        return;
      }
    };
  }

}

const PAGE_BYTES = 4096;

/** A debugger watchpoint: the virtual range GDB asked for and the physical bytes it covers. */
export interface Watchpoint {
  access: WatchAccess;
  addr: bigint;
  length: number;
  /** Physically contiguous pieces, each with the virtual address of its first byte. */
  pieces: { pa: number; length: number; va: bigint }[];
}

/** The physical pieces of a virtual range as `h` translates it now, or null if some byte does not translate. */
function physicalPieces(h: Hart, addr: bigint, length: number): Watchpoint['pieces'] | null {
  const pieces: Watchpoint['pieces'] = [];
  let done = 0;
  while (done < length) {
    const va = BigInt.asIntN(64, addr + BigInt(done));
    const pa = h.mmu.peek(va, Access.Load);
    if (pa < 0) return null;
    const n = Math.min(length - done, PAGE_BYTES - (pa % PAGE_BYTES));
    const last = pieces[pieces.length - 1];
    if (last && last.pa + last.length === pa) last.length += n;
    else pieces.push({ pa, length: n, va });
    done += n;
  }
  return pieces;
}

/** Without paging anywhere, addresses are physical (up to the bus's physical address width). */
function identityPieces(addr: bigint, length: number): Watchpoint['pieces'] {
  return [{ pa: Number(BigInt.asUintN(56, addr)), length, va: addr }];
}

/** The physical page numbers (pa / 4096) the watchpoints' bytes lie on, by the kind of access watched. */
function watchedPages(watchpoints: Watchpoint[]): WatchedPages {
  const load = new Set<number>();
  const store = new Set<number>();
  for (const w of watchpoints) {
    for (const p of w.pieces) {
      for (let page = Math.floor(p.pa / PAGE_BYTES); page * PAGE_BYTES < p.pa + p.length; page++) {
        if (w.access !== 'write') load.add(page);
        store.add(page); // any kind: compiled AMOs, which also read, go through the store mirror
      }
    }
  }
  return { load, store };
}

/** The virtual address of the first watched byte among `size` bytes at physical `pa`, or null. */
function overlap(w: Watchpoint, pa: number, size: number): bigint | null {
  for (const p of w.pieces) {
    if (pa + size <= p.pa || pa >= p.pa + p.length) continue;
    return p.va + BigInt(Math.max(pa, p.pa) - p.pa);
  }
  return null;
}
