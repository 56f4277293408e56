/**
 * The WebAssembly JIT tier. Same surface as the reference executor (it *is* one: cold code, the
 * instructions the JIT has no code for, exact budget tails and every fault run on `super.runBlock`),
 * plus compiled guest pages for hot code.
 *
 * Keying (like QEMU's TB flags and v86's cached state flags): a compiled page is valid for one (physical RAM page, virtual page,
 * code generation) triple. The code inside assumes nothing else: privilege, satp, MPRV/SUM/MXR
 * and recording rights only matter to memory accesses and fetch, which go through the MMU (fetch
 * at every entry from JS; loads/stores through the TLB mirror, whose entries carry the MMU flush
 * epoch, and through `fill`, which is Mmu.translate). Instructions whose meaning depends on that
 * state (CSR access, xRET, ECALL, WFI, SFENCE.VMA) are always run by the reference executor.
 * Invalidation: page generation counters (stores to code pages by any hart, DMA) checked at every
 * block entry; FENCE.I drops everything (flushTranslations); the cache holds at most
 * `maxPages` compiled pages and evicts the oldest.
 *
 * Both tiers advance the same counter: wasm returns its retired count, added to hart.icount here;
 * `checkIcount` (tests, HINDSIGHT_JIT_CHECK=1) verifies icount moved by exactly the sum returned.
 */
import { Hart } from '../cpu/hart.js';
import { Access, NEEDS_OWNERSHIP, TLB_ENTRIES } from '../cpu/mmu.js';
import { BlockExit, Executor, WatchedPages, virtualPage } from '../exec/executor.js';
import { decode32 } from '../isa/decode.js';
import { Insn } from '../isa/ir.js';
import { Interp, NEXT } from '../isa/op-def.js';
import { OP_DEFS } from '../isa/table.js';
import { HartBlock as HL, JIT_CHAIN_SLOTS, JIT_TLB_ENTRIES, JitChain, hartBase, jitChainBase } from '../shm/layout.js';
import { Bus, PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';
import { CHAIN_TABLE_IMPORT, compileChainModule } from './chain.js';
import { JitExit, PageBlock, compilePageModule } from './codegen.js';
import { hostFusedMadd } from './host-fma.js';
import { RemoteCompiler, TicketState } from './remote-compile.js';
import { JitShare } from './jit-share.js';
import { HotPages, pageKey } from './hot-pages.js';
import { PageModuleCache } from './page-module-cache.js';
import { blockTails, collectPageBlocks, MAX_PAGE_BLOCKS } from './page-blocks.js';
import './v8-tuning.js';
import { appendFileSync, writeSync } from 'node:fs';

/**
 * HINDSIGHT_JIT_DUMP=FILE: every page compile appends a line (vbase, RAM page, its 4 KiB of code,
 * the block offsets compiled) for scripts/jit-compile-cost.mjs, which replays those compiles in
 * one process: the JIT's compile path measured without a guest or a noisy host in the way.
 */
const JIT_DUMP = process.env.HINDSIGHT_JIT_DUMP ?? '';

function dumpPage(file: string, bus: Bus, vbase: bigint, ramPage: number, offsets: number[]): void {
  const at = bus.ramOffset(RAM_BASE + ramPage * PAGE_SIZE);
  const code = Buffer.from(bus.u8.subarray(at, at + PAGE_SIZE)).toString('base64');
  appendFileSync(file, `${JSON.stringify({ vbase: vbase.toString(), ramPage, offsets, code })}\n`);
}


if (JIT_TLB_ENTRIES !== TLB_ENTRIES) throw new Error('jit: the TLB mirror must have the MMU TLB\'s slots (Mmu.attachMirror)');

export interface JitOptions {
  /** Block executions on a page (on the reference executor) before it is compiled. */
  hotness?: number;
  /** Most compiled pages kept per hart. */
  maxPages?: number;
  /** Most guest instructions one wasm call may retire (bounds interrupt and timer latency). */
  sliceInsns?: number;
  /** Most blocks compiled into one page module. */
  maxBlocksPerPage?: number;
  /** Throw on a code generation / wasm compile error instead of leaving the page to the reference tier. */
  strict?: boolean;
  /** Compile fmadd.d and friends to the host's fused multiply-add (default: when this host has one, jit/host-fma.ts). */
  hostFma?: boolean;
  /** The machine's other harts: publish compiled pages to them and adopt theirs (jit-share.ts). */
  share?: JitShare | null;
  /** Pages compiled in earlier runs of these images (hot-pages.ts): compiled the first time they run. */
  hotPages?: HotPages | null;
  /** Compiled page modules of earlier runs (page-module-cache.ts). */
  pageCache?: PageModuleCache | null;
  /** Another thread that compiles page modules for this one (remote-compile.ts); null: compile here. */
  compiler?: RemoteCompiler | null;
  /**
   * Whole wasm slices (sliceInsns) a page's calls run before its module is made again with the
   * guest registers in wasm locals (codegen.ts regsInLocals; 0: every page from its first compile).
   */
  hotTierSlices?: number;
  /**
   * Runs of blocks per call (runBlock): the supervisor needs no safe point between plain blocks
   * (plain runs, parallel recordings and their replays; under an access guard only while it has
   * no hand-off pending).
   */
  runsOfBlocks?: boolean;
}

export interface JitStats {
  /** runBlock calls (the hart runner's safe-point round trips). */
  runs: number;
  compiles: number;
  compileMicros: number;
  compiledInsns: number;
  evictions: number;
  invalidations: number;
  wasmCalls: number;
  fills: number;
  wasmInsns: number;
  referenceInsns: number;
  /** Compiles answered by the page-module cache (no translation or code generation). */
  cachedCompiles: number;
  misses: number;
  /** Pages taken from other harts' compiles (jit-share.ts) instead of compiling them here. */
  adopted: number;
  /** Page calls the chain dispatcher made without returning to JS (chain.ts); not in wasmCalls. */
  chained: number;
  /** Compiles whose module another thread compiled (remote-compile.ts); in `compiles` too. */
  compiledElsewhere: number;
  /** Cached compiles that took the module the main thread compiled ahead, file not read (jit-share.ts ListedModule). */
  fromMainThread: number;
  /** Pages made again in the hot tier (registers in wasm locals, JitOptions.hotTierSlices). */
  hotTier: number;
}

/**
 * Whether a module made from `made.entries` serves `page` now: it covers every entry wanted (those
 * it started from without a block are covered too) and starts no block where this hart found one
 * must not start.
 */
function fits(page: PageState, made: { entries: readonly number[]; offsets: readonly number[] }): boolean {
  const covered = new Set([...made.entries, ...made.offsets]);
  for (const e of page.entries) if (!covered.has(e) && !page.rejected.has(e)) return false;
  for (const o of made.offsets) if (page.rejected.has(o)) return false;
  return true;
}

type RunFn = (off: number, budget: number, mip: number, epoch: number, wake: number, hartBlock: number) => number;
type ChainFn = (off: number, budget: number, mip: number, epoch: number, wake: number, hartBlock: number, slot: number, chainBase: number) => number;

interface PageState {
  vbase: bigint;
  /** vbase / 4096 as a number (exact: canonical addresses are within 2^53), what pageFor compares. */
  vpn: number;
  /** vbase >> 12 as the chain table's Int64 tag, and the chain entry index (vpn mod 256). */
  tag: bigint;
  chainEntry: number;
  ramPage: number;
  gen: number;
  /** Block start offsets seen (or reachable): what the next compile covers. */
  entries: Set<number>;
  /**
   * By offset / 2 (instructions start on even offsets): 1 once the offset is in `entries`. Every
   * reference block run on an uncompiled page notes its entry; Set.add and Set.has there were ~2%
   * of a 1-hart Linux boot's hart thread (`perf record`).
   */
  seen: Uint8Array;
  /** Offsets that cannot start a compiled block (empty: straddling instruction; a spin block, which the reference executor reports). */
  rejected: Set<number>;
  heat: number;
  run: RunFn | null;
  /** By offset / 2: 1 where the compiled module has a block (its dispatcher's entries). */
  compiled: Uint8Array;
  recompiles: number;
  failed: boolean;
  /** An earlier run compiled this page's content (hot-pages.ts): `entries` holds its offsets, compile at once. */
  primed: boolean;
  /** The profile key of its content (hot-pages.ts pageKey), -1 until needed. */
  key: number;
  /** The breakpoints the compiled code stops short of, and their page offsets (no block starts or runs through one). */
  stops: readonly bigint[] | undefined;
  stopOffsets: Set<number>;
  /** JitShare.version when this page last looked for another hart's module (-1: never). */
  sharedVersion: number;
  /** The module `run` is an instance of (what adoption compares). */
  module: WebAssembly.Module | null;
  /** `run`'s index in the chain table (-1: none; chain.ts). */
  slot: number;
  /** Instructions left to the end of the compiled block, by mid-block offset (page-blocks.ts blockTails). */
  tails: Map<number, number>;
  /** Times the hart entered the compiled page inside a block, by offset (MID_BLOCK_ENTRIES_BEFORE_ENTRY). */
  midEntries: Map<number, number>;
  /** Instructions retired by calls entered here that ran out of slice or budget (the hot tier's trigger), and whether the page is in that tier. */
  budgetInsns: number;
  hotTier: boolean;
  /** A module another thread is compiling for this page (remote-compile.ts), installed once done. */
  pending: PendingModule | null;
}

/** A compile handed to another thread: what installing it takes. */
interface PendingModule {
  ticket: number;
  bytes: Uint8Array<ArrayBuffer>;
  offsets: number[];
  tails: Map<number, number>;
  /** From the page-module cache (counted as a cached compile), else made here. */
  cached: boolean;
  compiledInsns: number;
}

interface Instantiated { module: WebAssembly.Module; instance: WebAssembly.Instance }

/** The page's next module is made without breakpoints (a kept one, another thread's or another hart's). */
function forgetStops(page: PageState): void {
  page.stops = undefined;
  page.stopOffsets = new Set();
}

const DEFAULTS: Required<JitOptions> = {
  // HINDSIGHT_JIT_HOTNESS: a tuning aid for benchmarks (docs/ARCHITECTURE.md, the JIT's hotness).
  hotness: Number(process.env.HINDSIGHT_JIT_HOTNESS) > 0 ? Number(process.env.HINDSIGHT_JIT_HOTNESS) : 3000,
  maxPages: 256,
  sliceInsns: 8192,
  maxBlocksPerPage: MAX_PAGE_BLOCKS,
  strict: false,
  hostFma: hostFusedMadd(),
  share: null,
  hotPages: null,
  pageCache: null,
  compiler: null,
  // HINDSIGHT_JIT_HOT_TIER: a tuning aid for benchmarks (docs/ARCHITECTURE.md, the hot tier).
  hotTierSlices: process.env.HINDSIGHT_JIT_HOT_TIER !== undefined && Number(process.env.HINDSIGHT_JIT_HOT_TIER) >= 0 ? Number(process.env.HINDSIGHT_JIT_HOT_TIER) : 64,
  runsOfBlocks: false,
};
const MAX_RECOMPILES = 32;
/**
 * Entering a compiled page inside one of its blocks (where a reference-executor block that began
 * off the usual block starts ended, or a trap returned) runs that block's rest on the reference
 * executor (blockTails), which comes back to a block start, instead of making the offset an entry;
 * only an offset entered so this many times becomes one. As entries, they were compiled as new
 * blocks each with its own misaligned chain through straight-line code, and went into the profile
 * (a 4-hart Linux boot added 10-20 a run on a warm cache; docs/ARCHITECTURE.md).
 */
const MID_BLOCK_ENTRIES_BEFORE_ENTRY = 64;
const FAILED = -1;

export class JitExecutor extends Executor {
  private readonly opts: Required<JitOptions>;
  private readonly pages = new Map<number, PageState>();
  /** The same records by RAM page: an array read on every entry instead of a Map lookup (~0.5% of a Linux boot's hart thread). */
  private readonly pageIndex: (PageState | undefined)[];
  private compiledCount = 0;
  private readonly longs: BigInt64Array;
  private readonly words: Int32Array;
  private readonly hb: number;
  private readonly fillOut = new Uint8Array(1);
  private readonly imports: WebAssembly.Imports;
  /** icount when the current wasm call started (fill sets hart.icount from it for the recorder). */
  private entryIcount = 0;
  /** The budget the current wasm call started with (fill works out positions from it). */
  private slice = 0;
  private ownershipExit = false;
  private readonly statsOut: JitStats = { runs: 0, compiles: 0, compileMicros: 0, compiledInsns: 0, evictions: 0, invalidations: 0, wasmCalls: 0, fills: 0, wasmInsns: 0, referenceInsns: 0, cachedCompiles: 0, misses: 0, adopted: 0, chained: 0, compiledElsewhere: 0, fromMainThread: 0, hotTier: 0 };
  /** The chain dispatcher and its table of page `run` functions (chain.ts). */
  private readonly chainRun: ChainFn;
  private readonly chainTable: WebAssembly.Table;
  private readonly freeSlots: number[] = [];
  /** Byte address of this hart's chain block (layout.ts JitChain). */
  private readonly cb: number;
  get stats(): JitStats {
    this.statsOut.chained = this.words[(this.cb + JitChain.CHAINED) >> 2];
    return this.statsOut;
  }

  /** Verify after every wasm call that icount moved by exactly the retired count (tests). */
  checkIcount = process.env.HINDSIGHT_JIT_CHECK === '1';

  /** `memory` is the machine's shared WebAssembly.Memory (the one `sys.memory` is the buffer of). */
  constructor(hart: Hart, private readonly sys: Bus, memory: WebAssembly.Memory, opts: JitOptions = {}) {
    super(hart, sys);
    if ((memory.buffer as unknown) !== sys.memory) throw new Error('jit: the wasm memory is not the bus memory');
    this.opts = { ...DEFAULTS, ...opts };
    this.pageIndex = new Array<PageState | undefined>(sys.codeGen.length).fill(undefined);
    this.hb = hartBase(hart.id);
    this.cb = jitChainBase(hart.id);
    this.longs = new BigInt64Array(sys.memory);
    this.words = new Int32Array(sys.memory);
    // The mirrors' slots are the MMU's (all index by vpn mod 256): keep each a subset of the MMU's TLB.
    hart.mmu.attachMirror(this.words, (this.cb + JitChain.ENTRIES + 8) >> 2, (this.hb + HL.JIT_TLB_LOAD + 8) >> 2, (this.hb + HL.JIT_TLB_STORE + 8) >> 2);
    hart.mmu.clearMirror(Access.Fetch); // an earlier executor of this hart (same memory) may have left entries
    this.chainTable = new WebAssembly.Table({ element: 'anyfunc', initial: JIT_CHAIN_SLOTS });
    for (let slot = JIT_CHAIN_SLOTS - 1; slot >= 0; slot--) this.freeSlots.push(slot);
    const chain = new WebAssembly.Instance(chainModule(), { env: { mem: memory, [CHAIN_TABLE_IMPORT]: this.chainTable } });
    this.chainRun = chain.exports.run as ChainFn;
    // Cold code on the BigInt-free ops (exec/fast-ops.ts); the reference tier keeps the table's.
    this.useFastOps();
    this.fpX = new BigInt64Array(32);
    // The FP ops' semantics touch only the hart (f registers, fcsr, mstatus.FS) and x registers,
    // which in wasm are locals: they run against this stand-in whose x holds the operand passed in.
    this.fpInterp = { hart, x: this.fpX, fault: () => 0 } as unknown as Interp;
    this.imports = {
      env: {
        mem: memory,
        fill: (va: bigint, kind: number, budget: number) => this.fill(va, kind, budget),
        fp: (raw: number, xrs1: bigint) => this.fpCallout(raw, xrs1),
      },
    };
  }

  private readonly fpX: BigInt64Array;
  private readonly fpInterp: Interp;
  private readonly fpInsns = new Map<number, Insn>();

  /**
   * The FP call-out of compiled code (codegen.ts FP_IMPORT): the op's own interpreter semantics on
   * the stand-in. Their checks (extension present, FS not Off, valid rounding mode) come before
   * any state change, so a trapping op leaves nothing behind and is rerun by the reference executor.
   */
  private fpCallout(raw: number, xrs1: bigint): bigint {
    let ins = this.fpInsns.get(raw);
    if (ins === undefined) { ins = decode32(raw); this.fpInsns.set(raw, ins); }
    const x = this.fpX;
    x[ins.rs1] = xrs1;
    x[0] = 0n;
    const r = OP_DEFS[ins.op].exec(this.fpInterp, ins, 0);
    if (r !== NEXT) {
      this.hart.trapCause = -1;
      this.words[(this.hb + HL.FP_STATUS) >> 2] = 1;
      return 0n;
    }
    this.words[(this.hb + HL.FP_STATUS) >> 2] = 0;
    return x[ins.rd];
  }

  /**
   * Watching: forget the TLB mirror (a cache of MMU translations, so nothing guest-visible), or
   * its entries would let wasm touch a watched page without asking fill, which refuses them.
   */
  override watch(hook: Executor['accessHook'], pages: WatchedPages | null, exactly: boolean): void {
    super.watch(hook, pages, exactly);
    if (!hook) return;
    for (const mirror of [HL.JIT_TLB_LOAD, HL.JIT_TLB_STORE]) {
      const base = (this.hb + mirror) >> 2;
      for (let i = 0; i < JIT_TLB_ENTRIES; i++) this.words[base + i * 4 + 2] = 0; // epoch 0 never matches
    }
  }

  override flushTranslations(): void {
    super.flushTranslations();
    for (const page of this.pages.values()) this.releaseSlot(page);
    this.pages.clear();
    this.pageIndex.fill(undefined);
    this.compiledCount = 0;
  }

  /**
   * Puts `page`'s module into the chain table (chain.ts), unless it stops short of breakpoints
   * (chained pages are entered without looking at them) or the table is full.
   */
  private chain(page: PageState): void {
    if (page.stopOffsets.size > 0 || !page.run) { this.releaseSlot(page); return; }
    if (page.slot < 0) {
      const slot = this.freeSlots.pop();
      if (slot === undefined) return;
      page.slot = slot;
    }
    this.chainTable.set(page.slot, page.run);
    const info = (this.cb + JitChain.SLOTS + page.slot * 8) >> 2;
    this.words[info] = page.ramPage;
    this.words[info + 1] = page.gen;
  }

  /** Takes `page`'s module out of the chain table: no chain entry leads to it any more. */
  private releaseSlot(page: PageState): void {
    if (page.slot < 0) return;
    const base = (this.cb + JitChain.ENTRIES) >> 2;
    for (let i = 0; i < JIT_TLB_ENTRIES; i++) if (this.words[base + 4 * i + 3] === page.slot) this.words[base + 4 * i + 2] = 0;
    this.chainTable.set(page.slot, null);
    this.freeSlots.push(page.slot);
    page.slot = -1;
  }

  /** Drops `page`'s module (it will run on the reference executor until compiled again). */
  private dropRun(page: PageState): void {
    if (page.run) this.compiledCount--;
    page.run = null;
    page.module = null;
    this.releaseSlot(page);
  }

  /**
   * Runs at most `budget` instructions: compiled code where there is some, else reference blocks,
   * one after another while nothing happens that the hart runner must see between blocks (as
   * compiled code chains blocks and pages): a normal end (no trap, WFI, spin, ownership wait or
   * budget cut), a plain block (translate.ts Block.plain: no CSR or system op that could enable an
   * interrupt or change translation; or Block.csrEnd, with no interrupt takeable after it), the
   * same device lines, wake word and no exit request, at most one slice. On a 1-hart Linux boot
   * most reference blocks ran one per call, each paying the runner's safe-point round trip
   * (docs/ARCHITECTURE.md). Plain runs, parallel recordings and
   * parallel-trace replays only (JitOptions.runsOfBlocks); in a recording only while no hand-off
   * is pending (AccessGuard.handOffPending: hand-offs happen at safe points), never under
   * `--chaos` (its stalls do too) nor while debugging (breakpoints and watchpoints are checked by
   * the debugger's probe between calls).
   */
  override runBlock(budget: number): number {
    this.statsOut.runs++;
    const h = this.hart;
    // Taken before the first block: one that traps (a plain block whose load faults ends normally
    // otherwise) must end the run there, where the runner skips the safe point after an exception.
    const exceptions = h.exceptionsTaken;
    let retired = this.runOnce(budget);
    if (!this.opts.runsOfBlocks || this.breakpointPages || this.accessHook || !this.plainEnd) return retired;
    // Recording: only while nobody waits for a hand-off, which happens at safe points.
    const guard = h.mmu.guard;
    if (guard && (guard.handOffPending?.() ?? true)) return retired;
    const lines = h.hardwareMip();
    const wake = h.wakeWord();
    const limit = budget < this.opts.sliceInsns ? budget : this.opts.sliceInsns;
    while (retired < limit && this.plainEnd && h.exceptionsTaken === exceptions && h.hardwareMip() === lines && h.wakeWord() === wake && !h.exitRequested
      && !(guard && guard.handOffPending!())) {
      retired += this.runOnce(budget - retired);
    }
    return retired;
  }

  /** The last runOnce ended normally after compiled code or a plain reference block (see runBlock). */
  private plainEnd = false;

  private runOnce(budget: number): number {
    this.plainEnd = false;
    const h = this.hart;
    // Where the last call stopped mid-block (a budget cut), the pc is no block start: not an entry.
    const midBlock = this.cutByBudget;
    const pa = h.mmu.translate(h.pc, Access.Fetch);
    if (pa < 0 || !this.sys.isRam(pa)) {
      if (pa === NEEDS_OWNERSHIP) { // what the reference does for a fetch without the right
        this.lastExit = BlockExit.NeedsOwnership;
        this.cutByBudget = false;
        return 0;
      }
      return this.reference(budget);
    }
    const ramPage = (pa - RAM_BASE) >>> 12;
    const off = pa & (PAGE_SIZE - 1);
    // The pc's virtual page as a number (as the MMU keys its TLB): no BigInt on this path. Beyond
    // 2^53 (not a canonical Sv39/Sv48 address) NaN, which matches nothing: slow, never wrong.
    const n = Number(h.pc);
    const page = this.pageFor(ramPage, n >= -Number.MAX_SAFE_INTEGER && n <= Number.MAX_SAFE_INTEGER ? Math.floor(n / PAGE_SIZE) : NaN, off);
    if (page.pending) this.finishPending(page);
    // Breakpoints on this page: compiled code must leave before each (it was compiled for others).
    const stops = this.breakpointPages?.get(virtualPage(h.pc));
    if (page.run && !sameStops(page.stops, stops)) this.compile(page);
    if (!page.run && this.opts.share && !stops) this.adopt(page, off);
    if (!page.run) {
      if (page.primed) {
        // An earlier run compiled this page's content (hot-pages.ts): no warm-up.
        page.primed = false;
        if (!page.failed) this.compile(page);
      }
      if (!page.run && !page.failed && !midBlock && (page.rejected.size === 0 || !page.rejected.has(off))) {
        noteEntry(page, off);
        // Sharing: the machine's heat (all harts), else this hart's.
        const heat = this.opts.share ? ++this.opts.share.heat[ramPage] : ++page.heat;
        if (heat >= this.opts.hotness) this.compile(page);
      }
      if (!page.run) return this.reference(budget, pa);
    }
    const slice = budget < this.opts.sliceInsns ? budget : this.opts.sliceInsns;
    this.entryIcount = h.icount;
    this.slice = slice;
    this.ownershipExit = false;
    const epoch = h.mmu.flushEpoch;
    // Compiled CSR accesses check the privilege here (traps and xRETs, which change it, leave wasm).
    this.words[(this.hb + HL.PRIV) >> 2] = h.priv;
    let r: number;
    let tail: number | undefined;
    if (page.compiled[off >> 1] === 0) {
      // What the module's dispatcher answers for an offset it has no block for, without the call:
      // in a replay most of them follow an event's cut (~140k of a 4-hart Linux replay's 310k calls).
      r = JitExit.Miss;
    } else if (page.slot >= 0 && !this.breakpointPages) {
      // The MMU's fetch TLB holds this page now (translate above): enter it in the chain table.
      const entry = this.cb + JitChain.ENTRIES + (page.chainEntry << 4);
      this.longs[entry >> 3] = page.tag;
      this.words[(entry + 8) >> 2] = epoch;
      this.words[(entry + 12) >> 2] = page.slot;
      r = this.chainRun(off, slice, h.hardwareMip(), epoch, h.wakeWord(), this.hb, page.slot, this.cb);
    } else {
      r = page.run(off, slice, h.hardwareMip(), epoch, h.wakeWord(), this.hb);
    }
    if (r !== JitExit.Miss) this.statsOut.wasmCalls++;
    const retired = r >>> 2;
    const reason = (r & 3) as JitExit;
    // Calls that ran until their slice or budget ran out: the hart spends long stretches in this
    // page (or in pages it chains to); after hotTierSlices slices' worth of them the page is made
    // again in the hot tier. Budgets count as well as whole slices: the debugger's timeline runs
    // 1,000-instruction turns and a replay's budgets end at its events, so with whole slices only
    // their loops never got there (the timeline's first pass over a billion-instruction trace
    // ran its page code ~1.5x slower than a replay did).
    if (reason === JitExit.Budget && !page.hotTier && (page.budgetInsns += retired) >= this.opts.hotTierSlices * this.opts.sliceInsns && !page.failed && !page.pending) {
      page.hotTier = true;
      this.statsOut.hotTier++;
      this.compile(page);
    }
    if (this.checkIcount && h.icount !== this.entryIcount) throw new Error(`jit: icount moved during a wasm call (${this.entryIcount} -> ${h.icount})`);
    h.icount = this.entryIcount + retired;
    this.statsOut.wasmInsns += retired;
    if (reason !== JitExit.Miss) h.pc = this.longs[(this.hb + HL.PC) >> 3];
    this.lastExit = BlockExit.Normal;
    this.cutByBudget = false;
    this.cutShort = false;
    switch (reason) {
      case JitExit.Normal:
        if (retired > 0) {
          // Left short of a breakpoint (a block compiled cut short), before the budget ran out.
          if (page.stopOffsets.size > 0 && retired < budget && page.stopOffsets.has(Number(BigInt.asIntN(64, h.pc) - BigInt.asIntN(64, page.vbase)))) {
            this.cutByBudget = true;
            this.cutShort = true;
          } else {
            this.plainEnd = true;
          }
          return retired;
        }
        break;
      case JitExit.Budget:
        if (budget > slice && retired > 0) return retired; // the slice ran out, not the caller's budget
        break;
      case JitExit.Bail:
        if (this.ownershipExit) {
          this.lastExit = BlockExit.NeedsOwnership;
          return retired;
        }
        // Left inside a block of this page (of a chained one we know nothing here).
        if (h.pc >> 12n === page.tag) tail = page.tails.get(Number(h.pc & 0xfffn));
        break;
      case JitExit.Miss:
        this.statsOut.misses++;
        if (this.opts.share && !stops && !midBlock && !page.rejected.has(off) && this.adopt(page, off)) break;
        if (midBlock) {
          tail = page.tails.get(off); // where a budget cut left off: no entry
        } else if (page.tails.has(off) && (page.midEntries.get(off) ?? 0) < MID_BLOCK_ENTRIES_BEFORE_ENTRY) {
          page.midEntries.set(off, (page.midEntries.get(off) ?? 0) + 1);
          tail = page.tails.get(off);
        } else if (!page.failed && !page.rejected.has(off) && page.compiled[off >> 1] === 0 && !page.stopOffsets.has(off)) {
          // A new entry of a compiled page: the profile gets it now, a recompile maybe never (hot-pages.ts).
          if (noteEntry(page, off) && this.opts.hotPages) this.opts.hotPages.learn(this.keyOf(page), [off]);
          page.heat++;
          if (page.heat >= this.opts.hotness && page.recompiles < MAX_RECOMPILES) this.compile(page);
        }
        break;
    }
    // Compiled code left with an interrupt takeable (Emitter.leaveIf, after a CSR write that set
    // SIE): the runner's safe point comes first.
    if (retired > 0 && h.pendingInterrupt() >= 0) return retired;
    // The reference executor takes the rest: the next block, exactly within the remaining budget,
    // or inside a compiled block up to that block's end (blockTails).
    const remaining = budget - retired;
    if (remaining <= 0) return retired;
    return retired + this.reference(tail !== undefined && tail < remaining ? tail : remaining);
  }

  private reference(budget: number, fetchPa?: number): number {
    if (fetchPa !== undefined) this.prefetched(this.hart.pc, fetchPa);
    const exceptions = this.hart.exceptionsTaken;
    const n = super.runBlock(budget);
    this.statsOut.referenceInsns += n;
    // A trap (a fetch fault leaves `block` the previous one) is no plain end. A block ending in a
    // CSR access is one while that left no interrupt takeable: the safe point after it would do
    // nothing (translation and timer changes are picked up at the next entry and poll).
    const b = this.block;
    this.plainEnd = this.lastExit === BlockExit.Normal && !this.cutByBudget && this.hart.exceptionsTaken === exceptions
      && (b.plain || (b.csrEnd && this.hart.pendingInterrupt() < 0));
    return n;
  }

  /** The page record for a RAM page seen at a virtual page; stale generations and mappings reset it. */
  private pageFor(ramPage: number, vpn: number, off: number): PageState {
    let page = this.pageIndex[ramPage];
    // A plain read: a store by another thread shows up at a later entry at the latest, as it would
    // a moment later with Atomics.load (1.9% of the hart's time as a builtin call on a Linux boot).
    const gen = this.sys.codeGen[ramPage];
    if (page && page.vpn === vpn && page.gen === gen) return page;
    const vbase = this.hart.pc - BigInt(off);
    if (page) {
      if (page.run) this.statsOut.invalidations++;
      this.dropRun(page);
      this.pages.delete(ramPage);
    }
    page = { vbase, vpn, tag: vbase >> 12n, chainEntry: chainEntryIndex(vbase), ramPage, gen, entries: new Set(), seen: new Uint8Array(PAGE_SIZE / 2), rejected: new Set(), heat: 0, run: null, compiled: NOTHING_COMPILED, recompiles: 0, failed: false, primed: false, key: -1, stops: undefined, stopOffsets: new Set(), sharedVersion: -1, module: null, slot: -1, tails: new Map(), midEntries: new Map(), pending: null, budgetInsns: 0, hotTier: this.opts.hotTierSlices === 0 };
    this.pages.set(ramPage, page);
    this.pageIndex[ramPage] = page;
    const hot = this.opts.hotPages;
    if (hot && hot.size > 0) {
      const offsets = hot.offsetsFor(this.keyOf(page));
      if (offsets) {
        for (const o of offsets) noteEntry(page, o);
        page.primed = true;
      }
    }
    return page;
  }

  /** Translates the page's known entries plus their in-page static successors, and compiles them. */
  private compile(page: PageState): void {
    if (page.pending) return; // another thread is compiling it; installed at an entry (finishPending)
    const t0 = performance.now();
    // Breakpoints: no compiled block starts at one (entering there misses, and the reference runs
    // that block), and blocks end short of one, so compiled code leaves with the pc on it.
    const stops = this.breakpointPages?.get(virtualPage(page.vbase));
    const stopOffsets = new Set((stops ?? []).map((bp) => Number(bp - BigInt.asIntN(64, page.vbase))));
    const cacheKey = this.opts.pageCache && stopOffsets.size === 0 ? this.pageCacheKey(page) : null;
    const cached = cacheKey !== null ? this.compileCached(page, cacheKey, t0) : null;
    if (cached === true) return;
    // A module kept for this page content that misses some of this run's entries (another machine
    // shape's run made it: a 4-hart boot's entry sets are not a 1-hart boot's): compile its entries
    // too, so the file written next serves both. Without, alternating 1- and 4-hart boots rewrote
    // each other's files and each boot compiled those pages again (~4 pages, ~45 ms of the hart).
    if (cached) for (const e of cached) if (!page.rejected.has(e)) noteEntry(page, e);
    const found = collectPageBlocks({ ramPage: page.ramPage, vbase: page.vbase, gen: page.gen, rejected: page.rejected, stopOffsets }, page.entries, this.opts.maxBlocksPerPage, (pa) => this.translationAt(pa));
    if (Atomics.load(this.sys.codeGen, page.ramPage) !== page.gen) return; // changed while we looked: next entry resets the page
    page.stops = stops;
    page.stopOffsets = stopOffsets;
    const blocks: PageBlock[] = [...found.entries()].sort((a, b) => a[0] - b[0]).map(([off, block]) => ({ off, block }));
    if (blocks.length === 0) {
      this.dropRun(page);
      if (stopOffsets.size === 0) page.failed = true;
      return;
    }
    try {
      if (JIT_DUMP) dumpPage(JIT_DUMP, this.sys, page.vbase, page.ramPage, [...found.keys()]);
      const t1 = performance.now();
      const bytes = compilePageModule({ features: this.hart.features, hostFma: this.opts.hostFma, vbase: page.vbase, ramPage: page.ramPage, gen: page.gen, blocks, regsInLocals: page.hotTier });
      const t2 = performance.now();
      const offsets = [...found.keys()];
      const tails = blockTails(found);
      if (cacheKey !== null) this.opts.pageCache!.write(cacheKey, { entries: [...page.entries], offsets, tails, bytes });
      const compiledInsns = blocks.reduce((s, b) => s + b.block.insns.length, 0);
      if (stopOffsets.size === 0 && this.submit(page, { bytes, offsets, tails, cached: false, compiledInsns }, null)) {
        this.statsOut.compileMicros += (performance.now() - t0) * 1000;
        return;
      }
      const { module, instance } = this.instantiate(bytes);
      const t3 = performance.now();
      if (process.env.HINDSIGHT_JIT_TRACE) writeSync(2, `jit: page ${page.vbase.toString(16)} ${blocks.length} blocks: translate ${((t1 - t0) * 1000).toFixed(0)} us, codegen ${((t2 - t1) * 1000).toFixed(0)} us (${bytes.length} B), wasm ${((t3 - t2) * 1000).toFixed(0)} us\n`);
      this.installCompiled(page, module, instance, offsets, tails);
      this.statsOut.compiledInsns += compiledInsns;
    } catch (err) {
      if (this.opts.strict) throw err;
      page.failed = true;
      this.dropRun(page);
    }
    this.keepRecent(page);
    this.statsOut.compileMicros += (performance.now() - t0) * 1000;
  }

  /**
   * Runs a page's new module from now on, whether compiled here or kept from an earlier run; one
   * compiled without breakpoints (page.stopOffsets empty) also goes into the profile and to the
   * other harts.
   */
  private installCompiled(page: PageState, module: WebAssembly.Module, instance: WebAssembly.Instance, offsets: number[], tails: Map<number, number>): void {
    this.install(page, module, instance, offsets, tails);
    page.recompiles++;
    this.statsOut.compiles++;
    if (page.stopOffsets.size > 0) return;
    this.opts.hotPages?.learn(this.keyOf(page), offsets);
    this.opts.share?.publish({ ramPage: page.ramPage, vbase: page.vbase, gen: page.gen, offsets, tails, module });
  }

  /** The page-module cache's name for `page` as it is now: everything but the entries that a module's bytes are made from. */
  private pageCacheKey(page: PageState): string {
    const parts = JSON.stringify([this.hart.features, this.opts.hostFma, page.vbase.toString(16), page.ramPage, page.gen, this.opts.maxBlocksPerPage, page.hotTier]);
    const at = this.ramPageAt(page.ramPage);
    return this.opts.pageCache!.key(parts, this.bus.u8.subarray(at, at + PAGE_SIZE));
  }

  /** Where a RAM page's bytes start in `bus.u8`. */
  private ramPageAt(ramPage: number): number {
    return this.bus.ramOffset(RAM_BASE + ramPage * PAGE_SIZE);
  }

  /** Installs the cached module for `key` if there is one that covers the page's entries (true), as compile would have made it; else the entries of a kept module that does not (compile adds them), or null. */
  private compileCached(page: PageState, key: string, t0: number): true | readonly number[] | null {
    // The main thread compiled this file ahead (jit-share.ts ListedModule): its module, no read.
    const listed = this.opts.share?.listedModule(key);
    if (listed && !fits(page, listed)) return listed.entries; // its file holds the same module: no read
    if (listed) {
      let instance: WebAssembly.Instance;
      try {
        instance = new WebAssembly.Instance(listed.module, this.imports);
      } catch {
        return null;
      }
      if (Atomics.load(this.sys.codeGen, page.ramPage) !== page.gen) return null; // changed meanwhile: compile sees it
      this.opts.pageCache!.noteUsed(key);
      this.statsOut.cachedCompiles++;
      this.statsOut.fromMainThread++;
      this.installMade(page, { module: listed.module, instance }, listed.offsets, listed.tails, t0);
      return true;
    }
    const hit = this.opts.pageCache!.read(key);
    if (!hit) return null;
    if (!fits(page, hit)) return hit.entries;
    if (this.submit(page, { bytes: hit.bytes, offsets: hit.offsets, tails: hit.tails, cached: true, compiledInsns: 0 }, key)) {
      this.statsOut.compileMicros += (performance.now() - t0) * 1000;
      return true;
    }
    const t1 = performance.now();
    let made: Instantiated;
    try {
      made = this.instantiate(hit.bytes);
    } catch {
      return null;
    }
    if (process.env.HINDSIGHT_JIT_TRACE) writeSync(2, `jit: page ${page.vbase.toString(16)} from the cache: read ${((t1 - t0) * 1000).toFixed(0)} us, wasm ${((performance.now() - t1) * 1000).toFixed(0)} us (${hit.bytes.length} B)\n`);
    if (Atomics.load(this.sys.codeGen, page.ramPage) !== page.gen) return null; // changed meanwhile: compile sees it
    this.statsOut.cachedCompiles++;
    this.installMade(page, made, hit.offsets, hit.tails, t0);
    return true;
  }

  /** `bytes` compiled (V8 reuses the code when this process compiled them before) and instantiated for this hart. */
  private instantiate(bytes: Uint8Array<ArrayBuffer>): Instantiated {
    const module = new WebAssembly.Module(bytes);
    return { module, instance: new WebAssembly.Instance(module, this.imports) };
  }

  /**
   * Runs the page from a module made without breakpoints elsewhere than in compile (kept from an
   * earlier run, or compiled by another thread), as compile would have installed it.
   */
  private installMade(page: PageState, made: Instantiated, offsets: number[], tails: Map<number, number>, t0: number): void {
    forgetStops(page);
    this.installCompiled(page, made.module, made.instance, offsets, tails);
    this.keepRecent(page);
    this.statsOut.compileMicros += (performance.now() - t0) * 1000;
  }

  /**
   * Hands the module's bytes to the thread that compiles for this one (remote-compile.ts): the page
   * keeps running what it runs now (its old module, or the reference executor) until the ticket is
   * done. False when there is no such thread, its board is full, or it compiled these bytes ahead
   * (`cacheKey`: the module-cache file they were read from): compile here.
   */
  private submit(page: PageState, pending: Omit<PendingModule, 'ticket'>, cacheKey: string | null): boolean {
    const compiler = this.opts.compiler;
    if (!compiler) return false;
    const ticket = compiler.submit(pending.bytes, cacheKey);
    if (ticket < 0) return false; // Submitted.Ready (compiled ahead: here at once) or HereNow
    page.pending = { ticket, ...pending };
    forgetStops(page);
    return true;
  }

  /** Installs the page's pending module once the other thread compiled it (V8 then has its code: this takes ~0.1 ms). */
  private finishPending(page: PageState): void {
    const pending = page.pending!;
    const state = this.opts.compiler!.state(pending.ticket);
    if (state === TicketState.Pending) return;
    const t0 = performance.now();
    page.pending = null;
    if (Atomics.load(this.sys.codeGen, page.ramPage) !== page.gen) return; // changed meanwhile: the next entry resets the page
    let made: Instantiated;
    try {
      if (state === TicketState.Failed) throw new Error('jit: the page module did not compile on the compiling thread');
      made = this.instantiate(pending.bytes);
    } catch (err) {
      if (this.opts.strict) throw err;
      if (!page.run) page.failed = true;
      return;
    }
    this.statsOut.compiledElsewhere++;
    this.statsOut.compiledInsns += pending.compiledInsns;
    if (pending.cached) this.statsOut.cachedCompiles++;
    this.installMade(page, made, pending.offsets, pending.tails, t0);
  }

  /** The hot-page profile's key of a page's content (hot-pages.ts; unchanged while its generation is). */
  private keyOf(page: PageState): number {
    if (page.key < 0) page.key = pageKey(this.bus.u8, this.ramPageAt(page.ramPage));
    return page.key;
  }

  /** Refreshes the page's LRU position; evicts the oldest compiled pages over the bound. */
  private keepRecent(page: PageState): void {
    this.pages.delete(page.ramPage);
    this.pages.set(page.ramPage, page);
    if (this.compiledCount > this.opts.maxPages) this.evict();
  }

  private install(page: PageState, module: WebAssembly.Module, instance: WebAssembly.Instance, offsets: number[], tails: Map<number, number>): void {
    if (!page.run) this.compiledCount++;
    page.run = instance.exports.run as RunFn;
    page.module = module;
    this.chain(page);
    page.compiled = new Uint8Array(PAGE_SIZE / 2);
    for (const off of offsets) page.compiled[off >> 1] = 1;
    page.tails = tails;
    for (const off of offsets) noteEntry(page, off);
    page.heat = 0;
    if (this.opts.share) this.opts.share.heat[page.ramPage] = 0;
  }

  /**
   * Takes another hart's module for this page (jit-share.ts) when one is published for the same
   * (RAM page, virtual page, generation) and runs `off` where this hart has nothing or misses.
   * True when the page now runs that module.
   */
  private adopt(page: PageState, off: number): boolean {
    const share = this.opts.share!;
    share.refresh();
    if (page.sharedVersion === share.version) return false;
    page.sharedVersion = share.version;
    const shared = share.get(page.ramPage);
    if (!shared || shared.module === page.module || shared.vbase !== page.vbase || shared.gen !== page.gen || !shared.offsets.includes(off)) return false;
    if (Atomics.load(this.sys.codeGen, page.ramPage) !== page.gen) return false;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(shared.module, this.imports);
    } catch (err) {
      if (this.opts.strict) throw err;
      return false;
    }
    forgetStops(page);
    this.install(page, shared.module, instance, shared.offsets, shared.tails);
    this.statsOut.adopted++;
    this.keepRecent(page);
    return true;
  }

  private evict(): void {
    for (const [key, p] of this.pages) {
      if (this.compiledCount <= this.opts.maxPages * 0.75) break;
      if (!p.run) continue;
      this.pages.delete(key);
      this.pageIndex[key] = undefined;
      this.dropRun(p);
      this.statsOut.evictions++;
    }
  }

  /**
   * TLB-mirror miss from wasm: translates through the MMU exactly as the reference would (same
   * guard, same A/D updates), enters plain RAM pages into the mirror, and returns the memory index,
   * or -1 when the access must run on the reference executor (fault, MMIO, watched page, page
   * crossing, missing ownership right).
   */
  private fill(va: bigint, kind: number, budget: number): number {
    const h = this.hart;
    this.statsOut.fills++;
    const access = (kind & 3) as Access;
    const size = (kind >> 2) & 15;
    const saved = h.icount;
    // A recorder logging an acquire needs the exact position: the chain's earlier pages count too.
    // The page's run started with the slice less what those pages retired (chain.ts), and its
    // budget local counts down by whole blocks, so the access's block began at entry + slice - budget
    // (the chain's pages included) and the access is its instruction kind >> 6.
    h.icount = this.entryIcount + this.slice - budget + (kind >> 6);
    let pa = h.mmu.translate(va, access, this.fillOut);
    // A page split into lines while recording never enters the mirror; an access whose lines are
    // held goes ahead once (its rights are taken here, at its exact position).
    const once = pa >= 0 && !this.fillOut[0] && (pa & (PAGE_SIZE - 1)) + size <= PAGE_SIZE && h.mmu.byLines(pa);
    if (once && !h.mmu.permitRam(pa, size, access === Access.Store)) pa = NEEDS_OWNERSHIP;
    h.icount = saved;
    if (pa === NEEDS_OWNERSHIP) { this.ownershipExit = true; return FAILED; }
    if (pa < 0 || (!this.fillOut[0] && !once)) return FAILED;
    const pageOff = pa & (PAGE_SIZE - 1);
    if (pageOff + size > PAGE_SIZE) return FAILED;
    // A watched kind of access to a watched page: the reference runs it and reports it (a write
    // watchpoint leaves loads, e.g. a spin on a flag next to the watched variable, in wasm).
    const watched = this.watchedPages && (access === Access.Store ? this.watchedPages.store : this.watchedPages.load);
    if (watched && watched.has((pa - pageOff) / PAGE_SIZE)) return FAILED;
    const memPage = this.sys.ramOffset(pa - pageOff);
    if (once) return memPage + pageOff;
    const vpn = va >> 12n;
    const slot = Number(vpn & BigInt(JIT_TLB_ENTRIES - 1));
    const entry = this.hb + (access === Access.Store ? HL.JIT_TLB_STORE : HL.JIT_TLB_LOAD) + slot * 16;
    const vlow = Number(BigInt.asUintN(32, va)) - pageOff;
    this.longs[entry >> 3] = vpn;
    this.words[(entry + 8) >> 2] = h.mmu.flushEpoch;
    this.words[(entry + 12) >> 2] = (memPage - vlow) | 0;
    return memPage + pageOff;
  }
}

let chainModuleCache: WebAssembly.Module | null = null;
function chainModule(): WebAssembly.Module {
  chainModuleCache ??= new WebAssembly.Module(compileChainModule());
  return chainModuleCache;
}

/** The chain-table entry (and MMU TLB slot) of a virtual page: vpn mod JIT_TLB_ENTRIES. */
function chainEntryIndex(vbase: bigint): number {
  return Number((vbase >> 12n) & BigInt(JIT_TLB_ENTRIES - 1));
}

/** A page without a module: no offset compiled (never written). */
const NOTHING_COMPILED = new Uint8Array(PAGE_SIZE / 2);

/** Adds a block start to the page's entries (what its next compile covers). */
/** Adds a block entry to the page's next compile; false if it was known. */
function noteEntry(page: PageState, off: number): boolean {
  if (page.seen[off >> 1] !== 0) return false;
  page.seen[off >> 1] = 1;
  page.entries.add(off);
  return true;
}

function sameStops(a: readonly bigint[] | undefined, b: readonly bigint[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((pc, i) => pc === b[i]);
}

/**
 * Memory indexes of the pages the JIT's store mirror of `hart` points at (entries of any epoch:
 * an older regime's entries come back when the hart returns to it). Wasm stores through them
 * without calling translate(), so whoever tracks written pages must count them as written.
 */
export function jitMirrorStorePages(memory: SharedArrayBuffer, hart: number): number[] {
  const base = hartBase(hart) + HL.JIT_TLB_STORE;
  const longs = new BigInt64Array(memory, base, JIT_TLB_ENTRIES * 2);
  const words = new Int32Array(memory, base, JIT_TLB_ENTRIES * 4);
  const pages: number[] = [];
  for (let i = 0; i < JIT_TLB_ENTRIES; i++) {
    if (words[i * 4 + 2] === 0) continue; // never filled (epochs start at 1)
    const vlow = Number(BigInt.asUintN(32, longs[i * 2] << 12n));
    pages.push((words[i * 4 + 3] + vlow) >>> 0);
  }
  return pages;
}
