import { Cause } from '../cpu/csr-numbers.js';
import { Hart } from '../cpu/hart.js';
import { Access, ACCESS_FAULT, NEEDS_OWNERSHIP } from '../cpu/mmu.js';
import { decoder32For } from '../isa/decode.js';
import { Insn } from '../isa/ir.js';
import { ExecFn, NEXT } from '../isa/op-def.js';
import { OP_DEFS } from '../isa/table.js';
import { Bus, PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';
import { Block, Spin, readHalf, straddlingInsnBlock, translateBlock } from './translate.js';
import { FAST_OPS, FastInterp, effectiveAddress } from './fast-ops.js';

const asI = BigInt.asIntN;

/**
 * Runs instructions [0, n) of a block: `n` when none ended it, else ~(instructions retired).
 * One call site for every op (`EXEC[op](...)`): V8 inlines none of them, but the loop compiles
 * once. A `switch (ins.op)` with a call site per op (which V8 inlined into the loop) was
 * recompiled by TurboFan every time an op ran for the first time after the last optimisation
 * ("insufficient type feedback for call"): on a Linux boot 15 times, 0.77 s of compile per
 * thread, 3 s of the 4-hart boot's CPU; this loop compiles once (2 ms). bench_compute on the
 * reference tier ran at the same speed either way (docs/ARCHITECTURE.md, Execution).
 */
type InsnLoop = (e: Executor, h: Hart, insns: readonly Insn[], n: number, exec: readonly ExecFn[]) => number;
const TABLE_EXEC: readonly ExecFn[] = OP_DEFS.map((d) => d.exec);
const FAST_EXEC: readonly ExecFn[] = OP_DEFS.map((d) => FAST_OPS[d.op] ?? d.exec);
const runInsns: InsnLoop = (e, h, insns, n, exec) => {
  for (let i = 0; i < n; i++) {
    const ins = insns[i];
    const r = exec[ins.op](e, ins, i);
    if (r !== NEXT) return ~(i + r);
    h.icount++;
  }
  return n;
};

/** Physical page numbers watched for loads and for stores (see Executor.watchedPages). */
export interface WatchedPages {
  load: ReadonlySet<number>;
  store: ReadonlySet<number>;
}

/**
 * How runBlock's block ended, when the runner should know: in a WFI, short of an ownership right,
 * or spinning (a block of translate.ts's Spin kinds ran and the guest goes on waiting).
 */
export const enum BlockExit { Normal, Wfi, NeedsOwnership, Spin }

/** Pseudo exception cause: the instruction needs an ownership right first; it is retried, not trapped. */
const OWNERSHIP_RETRY = 1000;

/** Executor.plainRamOffset's answers other than an offset. */
const TABLE_PATH = -1;
const FAULTED = -2;

/** Slots of Executor.front (a power of two): 64 KiB of code without aliasing. */
const FRONT_SLOTS = 32768;

const EMPTY_BLOCK: Block = { insns: [], offsets: [], bytes: 0n, pa: -1, page: -1, gen: 0, spin: Spin.No, plain: false, csrEnd: false };

/**
 * The reference executor: runs translation blocks of IR records with the plain TypeScript
 * semantics of the instruction table (src/isa/ext/). Simple and exact; it is the oracle for
 * faster tiers and the tier that can stop after exactly N instructions. Memory accesses go
 * through the hart's MMU; faults are values (hart.trapCause), never exceptions.
 */
export class Executor implements FastInterp {
  /**
   * Translated blocks by physical address, below 2^32 XOR 2^31: RAM addresses (>= 2^31) become small
   * integers, which V8 keeps as Smis; raw ones are heap numbers, and a Map lookup with them measured
   * ~2x slower (this lookup runs ~500k times on a Linux boot).
   */
  private readonly cache = new Map<number, Block>();
  /**
   * A direct-mapped front for `cache` (by pa / 2, tag = Block.pa): an array read instead of a
   * hash lookup on every block (Map.get was ~5% of a reference-tier Linux boot). Misses fall back
   * to the Map, so aliasing costs a lookup, never a translation.
   */
  private readonly front: (Block | undefined)[] = new Array<Block | undefined>(FRONT_SLOTS).fill(undefined);
  private readonly fastOut = new Uint8Array(1);
  private readonly h: Hart;
  readonly x: BigInt64Array;
  readonly x32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly i8: Int8Array;
  private readonly i16: Int16Array;
  private readonly u16: Uint16Array;
  readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  readonly i64: BigInt64Array;
  readonly ramDelta: number;
  /** The ops' semantics this executor runs: the table's, or with the fast ops (useFastOps). */
  private ops: readonly ExecFn[] = TABLE_EXEC;

  /**
   * Runs the BigInt-free ops (exec/fast-ops.ts) from now on: the JIT tier's cold path does; the
   * reference tier keeps the table's semantics, the oracle.
   */
  useFastOps(): void {
    this.ops = FAST_EXEC;
  }

  /** The block being run (the last one run, after runBlock) and its virtual start (for pcAt). */
  protected block: Block = EMPTY_BLOCK;
  private blockStart = 0n;
  /** Set when the last block ended in a WFI that should sleep until an interrupt. */
  lastExit = BlockExit.Normal;
  /** True when the last runBlock stopped only because its budget ran out, with instructions of the block left. */
  cutByBudget = false;
  /**
   * With cutByBudget: the executor itself cut the budget it was given (short of a breakpoint, or
   * one instruction for an exact watch). The runner treats that like a cut by the debugger's
   * probe: no safe point there, since the recorded run had no block boundary there.
   */
  cutShort = false;
  /**
   * Debugger watchpoints: when set, every load/store/AMO skips the RAM fast path and reports its
   * virtual and physical address here before the access happens (h.icount is then the accessing
   * instruction's). `pa` is the first byte's: an access that crosses a page goes on elsewhere.
   */
  accessHook: ((va: bigint, pa: number, size: number, write: boolean, read: boolean) => void) | null = null;
  /**
   * The physical pages (pa / 4096) the watchpoints cover, by the kind of access they watch
   * (every watched page in `store`, which AMOs use too; read and access watchpoints' pages also
   * in `load`), while `accessHook` is set. The reference path reports every access anyway; a faster
   * tier must leave those accesses to it.
   */
  watchedPages: WatchedPages | null = null;
  /**
   * The debugger's breakpoints by virtual page (va >> 12): no run may go through one (a run may
   * start at one). The reference executor runs one straight-line block per call and cuts its
   * budget short of them; a faster tier (the JIT, which chains a page's blocks) must leave before
   * reaching one on its own.
   */
  breakpointPages: ReadonlyMap<number, readonly bigint[]> | null = null;
  /** The hart's 32-bit decoder: its disabled extensions decode as ILLEGAL. */
  protected readonly decodeWord: (raw: number) => Insn;

  constructor(readonly hart: Hart, readonly bus: Bus) {
    this.h = hart;
    this.decodeWord = decoder32For(hart.features);
    this.x = hart.x;
    this.x32 = new Int32Array(hart.x.buffer, hart.x.byteOffset, 64);
    const m = bus.memory;
    this.u8 = new Uint8Array(m);
    this.i8 = new Int8Array(m);
    this.i16 = new Int16Array(m);
    this.u16 = new Uint16Array(m);
    this.i32 = new Int32Array(m);
    this.u32 = new Uint32Array(m);
    this.i64 = new BigInt64Array(m);
    this.ramDelta = bus.ramOffset(0);
  }

  /** One instruction per reference-path run while watching (see watch). */
  private watchExactly = false;

  /**
   * Sets (or, with null, clears) the debugger's access hook and the pages it watches. `exactly`:
   * the reference path runs one instruction per call, so a hit stops right after the accessing
   * instruction (a faster tier never accesses a watched page itself, so it may run on).
   */
  watch(hook: Executor['accessHook'], pages: WatchedPages | null, exactly: boolean): void {
    this.accessHook = hook;
    this.watchedPages = hook ? pages : null;
    this.watchExactly = hook !== null && exactly;
  }

  /** Forgets all translations (FENCE.I, or a debugger write into code). */
  flushTranslations(): void {
    this.cache.clear();
    this.front.fill(undefined);
  }

  /** Raises the exception for a failed translation (or marks the instruction for retry). */
  private translationFailed(pa: number, va: bigint): void {
    if (pa === NEEDS_OWNERSHIP) this.h.raise(OWNERSHIP_RETRY as Cause, 0n);
    else this.h.raise(this.h.mmu.faultCause, va);
  }

  /** A fetch translation a subclass made for this pc just before runBlock (prefetched). */
  private prefetchValid = false;
  private prefetchPc = 0n;
  private prefetchPa = -1;

  /** The fetch translation of `pc` is `pa` (the JIT made it, deciding which tier runs the block): fetchBlock need not repeat it. */
  protected prefetched(pc: bigint, pa: number): void {
    this.prefetchValid = true;
    this.prefetchPc = pc;
    this.prefetchPa = pa;
  }

  /** Looks up or translates the block at the hart's pc. Null after raising a fetch fault. */
  private fetchBlock(): Block | null {
    const h = this.h;
    let pa: number;
    const prefetched = this.prefetchValid;
    this.prefetchValid = false;
    if (prefetched && this.prefetchPc === h.pc) pa = this.prefetchPa;
    else pa = h.mmu.translate(h.pc, Access.Fetch);
    if (pa < 0) {
      this.translationFailed(pa, h.pc);
      return null;
    }
    if (!this.bus.isExecutable(pa)) {
      h.raise(Cause.InsnAccessFault, h.pc);
      return null;
    }
    const slot = (pa >>> 1) & (FRONT_SLOTS - 1);
    let cached = this.front[slot];
    const key = pa < 0x100000000 ? (pa ^ 0x80000000) | 0 : pa;
    if (cached === undefined || cached.pa !== pa) {
      cached = this.cache.get(key);
      if (cached) this.front[slot] = cached;
    }
    // A plain read of the generation (Atomics.load is a builtin call here): another thread's store
    // to this code is seen at a later block at the latest, as it would be a moment later anyway.
    if (cached && (cached.page < 0 || this.bus.codeGen[cached.page] === cached.gen)) return cached;
    // A 32-bit instruction in the page's last two bytes: no block to translate here.
    if ((pa & (PAGE_SIZE - 1)) === PAGE_SIZE - 2 && (readHalf(this.bus, pa) & 3) === 3) return this.fetchStraddling(pa);
    const block = translateBlock(this.bus, pa, this.decodeWord);
    if (block.insns.length > 0) {
      this.cache.set(key, block);
      this.front[slot] = block;
      return block;
    }
    return this.fetchStraddling(pa);
  }

  /** The cached translation of the block at RAM address `pa` if its code is unchanged since, else a new one (not cached). */
  protected translationAt(pa: number): Block {
    const key = pa < 0x100000000 ? (pa ^ 0x80000000) | 0 : pa;
    const cached = this.front[(pa >>> 1) & (FRONT_SLOTS - 1)];
    const hit = cached !== undefined && cached.pa === pa ? cached : this.cache.get(key);
    if (hit && hit.page >= 0 && Atomics.load(this.bus.codeGen, hit.page) === hit.gen) return hit;
    return translateBlock(this.bus, pa, this.decodeWord);
  }

  /**
   * Straddling instructions decoded, by the physical address of their lower half: the word they
   * were decoded from and their block. A Linux boot runs ~4,000 of them; decoding each afresh was a
   * block's worth of allocation every time.
   */
  private readonly straddles = new Map<number, { raw: number; block: Block }>();

  /** A 32-bit instruction whose upper half lies on the next (virtual) page. */
  private fetchStraddling(pa: number): Block | null {
    const h = this.h;
    const lo = readHalf(this.bus, pa);
    if (lo < 0) { h.raise(Cause.InsnAccessFault, h.pc); return null; }
    const nextVa = asI(64, h.pc + 2n);
    const pa2 = h.mmu.translate(nextVa, Access.Fetch);
    if (pa2 < 0) { this.translationFailed(pa2, nextVa); return null; }
    const hi = readHalf(this.bus, pa2); // -1 where not executable too
    if (hi < 0) { h.raise(Cause.InsnAccessFault, nextVa); return null; }
    // Both halves read now: a kept block is exact for these bytes whatever wrote them since.
    const raw = ((hi << 16) | lo) >>> 0;
    const kept = this.straddles.get(pa);
    if (kept !== undefined && kept.raw === raw) return kept.block;
    const block = straddlingInsnBlock(lo, hi, this.decodeWord);
    this.straddles.set(pa, { raw, block });
    return block;
  }

  /**
   * Executes at most `budget` instructions from the hart's pc, stopping at the end of a block.
   * Returns the number of instructions retired. Takes traps raised on the way.
   *
   * A generic driver: each instruction is one call of its op's interpreter semantics (the
   * instruction table's `exec`, dispatched by `runInsns`), which either goes on with the block or
   * ends it (control transfer, trap, system instruction) and says what retired.
   */
  runBlock(budget: number): number {
    const h = this.h;
    this.lastExit = BlockExit.Normal;
    this.cutByBudget = false;
    this.cutShort = false;
    const block = this.fetchBlock();
    if (!block) {
      if (h.trapCause === OWNERSHIP_RETRY) {
        h.trapCause = -1;
        this.lastExit = BlockExit.NeedsOwnership;
      } else {
        h.takeTrap(h.pc);
      }
      return 0;
    }
    const start = h.pc;
    this.block = block;
    this.blockStart = start;
    const insns = block.insns;
    const given = budget;
    if (this.breakpointPages) budget = shortOfBreakpoints(this.breakpointPages, start, budget);
    if (this.watchExactly) budget = 1;
    const n = insns.length < budget ? insns.length : budget;
    const ran = runInsns(this, h, insns, n, this.ops);
    if (ran < 0) {
      // A poll loop that branched back to itself: still waiting.
      if (block.spin === Spin.PollLoop && h.pc === start && this.lastExit === BlockExit.Normal) this.lastExit = BlockExit.Spin;
      return ~ran;
    }
    if (n === insns.length) {
      h.pc = asI(64, start + block.bytes);
      if (block.spin === Spin.Pause) this.lastExit = BlockExit.Spin;
    } else {
      h.pc = asI(64, start + block.offsets[n]);
      this.cutByBudget = true;
      this.cutShort = n < given;
    }
    return n;
  }

  // --- the Interp contract (op semantics in src/isa/ext/ call these) ----------------------------
  pcAt(i: number): bigint {
    return this.blockStart + this.block.offsets[i];
  }

  jumpTo(target: bigint): number {
    this.h.pc = target;
    this.h.icount++;
    return 1;
  }

  endAfter(i: number): number {
    return this.jumpTo(asI(64, this.pcAt(i) + BigInt(this.block.insns[i].len)));
  }

  /** Takes the exception raised by instruction i (which does not retire). */
  fault(i: number): number {
    const pc = asI(64, this.pcAt(i));
    if (this.h.trapCause === OWNERSHIP_RETRY) {
      // Nothing of the instruction happened: stop before it; the runner retries it later.
      this.h.trapCause = -1;
      this.h.pc = pc;
      this.lastExit = BlockExit.NeedsOwnership;
      return 0;
    }
    this.h.takeTrap(pc);
    return 0;
  }

  requestSleep(): void {
    this.lastExit = BlockExit.Wfi;
  }

  // --- memory -----------------------------------------------------------------------------------
  /**
   * Where the fast ops' access of instruction i (at rs1 + imm) lands in the memory views, or
   * TABLE_PATH (beyond 2^53, watched, not plain RAM, misaligned: the table's semantics take it,
   * translating again from the TLB) or FAULTED (its translation fault is raised).
   */
  private plainRamOffset(ins: Insn, access: Access, size: number): number {
    const va = effectiveAddress(this.x32, ins);
    if (va !== va || this.accessHook) return TABLE_PATH; // NaN: beyond 2^53
    const pa = this.h.mmu.translateNumber(va, access, this.fastOut);
    if (pa < 0) {
      this.translationFailed(pa, BigInt(va));
      return FAULTED;
    }
    if (!this.fastOut[0] || (pa & (size - 1)) !== 0) return TABLE_PATH;
    return pa + this.ramDelta;
  }

  loadN(ins: Insn, i: number, size: 1 | 2 | 4 | 8, signed: boolean): number {
    const off = this.plainRamOffset(ins, Access.Load, size);
    if (off < 0) return off === FAULTED ? this.fault(i) : OP_DEFS[ins.op].exec(this, ins, i);
    const rd = ins.rd;
    if (rd === 0) return NEXT;
    // A doubleword is one 64-bit access (single-copy atomic, as RISC-V requires: another hart
    // must never see half of it), which only the BigInt view offers.
    if (size === 8) { this.x[rd] = this.i64[off >> 3]; return NEXT; }
    let lo: number;
    switch (size) {
      case 1: lo = signed ? this.i8[off] : this.u8[off]; break;
      case 2: lo = signed ? this.i16[off >> 1] : this.u16[off >> 1]; break;
      default: lo = this.i32[off >> 2]; break;
    }
    this.x32[2 * rd] = lo;
    this.x32[2 * rd + 1] = signed ? lo >> 31 : 0;
    return NEXT;
  }

  storeN(ins: Insn, i: number, size: 1 | 2 | 4 | 8): number {
    const off = this.plainRamOffset(ins, Access.Store, size);
    if (off < 0) return off === FAULTED ? this.fault(i) : OP_DEFS[ins.op].exec(this, ins, i);
    switch (size) {
      case 1: this.u8[off] = this.x32[2 * ins.rs2]; break;
      case 2: this.u16[off >> 1] = this.x32[2 * ins.rs2]; break;
      case 4: this.i32[off >> 2] = this.x32[2 * ins.rs2]; break;
      default: this.i64[off >> 3] = this.x[ins.rs2]; break; // one 64-bit store (see loadN)
    }
    const page = (off - this.ramDelta - RAM_BASE) >>> 12;
    if (this.bus.codeFlag[page]) Atomics.add(this.bus.codeGen, page, 1);
    return NEXT;
  }

  load(addr: bigint, size: number, signed: boolean): bigint {
    const h = this.h;
    const pa = h.mmu.translate(addr, Access.Load, this.fastOut);
    if (pa < 0) { this.translationFailed(pa, addr); return 0n; }
    if (this.accessHook) this.accessHook(addr, pa, size, false, true);
    else if (this.fastOut[0] && (pa & (size - 1)) === 0) {
      const off = pa + this.ramDelta;
      switch (size) {
        case 1: return signed ? BigInt(this.i8[off]) : BigInt(this.u8[off]);
        case 2: return signed ? BigInt(this.i16[off >> 1]) : BigInt(this.u16[off >> 1]);
        case 4: return signed ? BigInt(this.i32[off >> 2]) : BigInt(this.u32[off >> 2]);
        default: return this.i64[off >> 3];
      }
    }
    let value: bigint | null;
    if ((pa & (PAGE_SIZE - 1)) + size > PAGE_SIZE) value = this.loadCrossing(addr, size);
    else if (!h.mmu.permitRam(pa, size, false)) { this.translationFailed(NEEDS_OWNERSHIP, addr); return 0n; }
    else value = this.bus.read(pa, size, h.id);
    if (value === null) {
      if (h.trapCause < 0) h.raise(Cause.LoadAccessFault, addr);
      return 0n;
    }
    return signed ? asI(size * 8, value) : value;
  }

  /** A misaligned load whose bytes span two pages: each byte translated on its own. */
  private loadCrossing(addr: bigint, size: number): bigint | null {
    let value = 0n;
    for (let k = size - 1; k >= 0; k--) {
      const va = asI(64, addr + BigInt(k));
      const pa = this.h.mmu.translate(va, Access.Load);
      if (pa < 0) { this.translationFailed(pa, va); return null; }
      if (!this.h.mmu.permitRam(pa, 1, false)) { this.translationFailed(NEEDS_OWNERSHIP, va); return null; }
      const b = this.bus.read(pa, 1, this.h.id);
      if (b === null) { this.h.raise(Cause.LoadAccessFault, va); return null; }
      value = (value << 8n) | b;
    }
    return value;
  }

  store(addr: bigint, size: number, value: bigint): void {
    const h = this.h;
    const pa = h.mmu.translate(addr, Access.Store, this.fastOut);
    if (pa < 0) { this.translationFailed(pa, addr); return; }
    if (this.accessHook) this.accessHook(addr, pa, size, true, false);
    else if (this.fastOut[0] && (pa & (size - 1)) === 0) {
      const off = pa + this.ramDelta;
      switch (size) {
        case 1: this.u8[off] = Number(value & 0xffn); break;
        case 2: this.u16[off >> 1] = Number(value & 0xffffn); break;
        case 4: this.i32[off >> 2] = Number(asI(32, value)); break;
        default: this.i64[off >> 3] = value; break;
      }
      const page = (pa - RAM_BASE) >>> 12;
      if (this.bus.codeFlag[page]) Atomics.add(this.bus.codeGen, page, 1);
      return;
    }
    if ((pa & (PAGE_SIZE - 1)) + size > PAGE_SIZE) { this.storeCrossing(addr, size, value); return; }
    if (this.bus.isRam(pa) ? !h.mmu.permitRam(pa, size, true) : !h.mmu.permitDma(pa, size, value)) { this.translationFailed(NEEDS_OWNERSHIP, addr); return; }
    if (!this.bus.write(pa, size, value, h.id)) h.raise(Cause.StoreAccessFault, addr);
  }

  private storeCrossing(addr: bigint, size: number, value: bigint): void {
    const pas: number[] = [];
    for (let k = 0; k < size; k++) { // translate every byte first: a fault must leave memory untouched
      const va = asI(64, addr + BigInt(k));
      const pa = this.h.mmu.translate(va, Access.Store);
      if (pa < 0) { this.translationFailed(pa, va); return; }
      if (!this.h.mmu.permitRam(pa, 1, true)) { this.translationFailed(NEEDS_OWNERSHIP, va); return; }
      pas.push(pa);
    }
    for (let k = 0; k < size; k++) {
      if (!this.bus.write(pas[k], 1, (value >> BigInt(8 * k)) & 0xffn, this.h.id)) {
        this.h.raise(Cause.StoreAccessFault, asI(64, addr + BigInt(k)));
        return;
      }
    }
  }

  atomicTarget(addr: bigint, size: number, isLr: boolean, reportAccess: boolean): number {
    const h = this.h;
    if (Number(addr & BigInt(size - 1)) !== 0) {
      h.raise(isLr ? Cause.LoadMisaligned : Cause.StoreMisaligned, addr);
      return -1;
    }
    const access = isLr ? Access.Load : Access.Store;
    const pa = h.mmu.translate(addr, access);
    if (pa < 0) { this.translationFailed(pa, addr); return -1; }
    if (!this.bus.isRam(pa)) { h.raise(ACCESS_FAULT[access], addr); return -1; }
    // An SC that will fail writes nothing, but asks for the line all the same, as for a page.
    if (!h.mmu.permitRam(pa, size, !isLr)) { this.translationFailed(NEEDS_OWNERSHIP, addr); return -1; }
    if (reportAccess) this.accessHook?.(addr, pa, size, !isLr, true);
    return pa;
  }

  noteAtomicWrite(addr: bigint, pa: number, size: number): void {
    this.accessHook?.(addr, pa, size, true, false);
  }
}

/**
 * `budget`, cut so that a block starting at `pc` cannot reach a breakpoint ahead of it on its
 * page: a block is straight-line code, its k-th instruction starts at most 4(k-1) bytes on (one
 * behind needs a jump, which ends the block).
 */
export function shortOfBreakpoints(pages: ReadonlyMap<number, readonly bigint[]>, pc: bigint, budget: number): number {
  const onPage = pages.get(virtualPage(pc));
  if (!onPage) return budget;
  for (const bp of onPage) {
    if (bp > pc) {
      const reach = Number((bp - pc + 3n) / 4n);
      if (reach < budget) budget = reach;
    }
  }
  return budget;
}

/** The key of Executor.breakpointPages: the virtual page number of a (sign-extended) address. */
export function virtualPage(va: bigint): number {
  return Number(BigInt.asIntN(64, va) >> 12n);
}
