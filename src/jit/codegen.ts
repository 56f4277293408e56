/**
 * IR -> WebAssembly for one guest page: every known block entry of a (virtual page, physical page,
 * code generation) triple becomes one case of a `br_table` dispatcher inside a single exported
 * function `run`, so control moves between the page's blocks without leaving wasm (v86's page
 * compilation). Each instruction's code comes from its op's wasm emitter in the instruction table
 * (src/isa/ext/); this module is the driver around them: block dispatch, budget and invalidation
 * checks, register locals, the memory fast path (TLB mirror) and exits. Transfers out of the page,
 * ops whose table row says the JIT bails (CSR and system ops, traps) and anything the memory fast
 * path cannot do leave the function with the pc stored in the hart block and a reason; the JS side
 * (jit-executor.ts) then runs the reference executor, which owns those semantics.
 *
 * Checks (the role of QEMU's icount_decr): at every block entry, remaining budget >= the block's length;
 * after a store of this call that hit a code page, the page's code generation (leaving right after
 * that instruction if it changed); at a backward or indirect transfer inside the page, once at
 * least ASYNC_CHECK_INSNS were retired since the last look, also no exit request, no kick (wake
 * word), no device-line change since the call started and no code change by anyone (a forward
 * chain inside one page is bounded, so these are seen within a bounded number of instructions).
 *
 * Guest registers stay in the hart block (wasm memory): each read is a load and each write a store
 * at a constant address. In wasm locals (loaded at entry, stored by the exit tail, as before) they
 * cost more than they saved: Liftoff's compile time grows with the function's local count (its
 * register-cache state is copied and merged over every local at each if/else/br), and 69 locals
 * compiled the 1-hart Linux boot's modules at about half the speed of 14 (docs/ARCHITECTURE.md);
 * at run time a local that is not cached in a host register is a stack-slot load anyway.
 */
import { type CpuFeatures, DEFAULT_CPU_FEATURES } from '../cpu/features.js';
import { CODE_FLAG_BASE, CODE_GEN_BASE, HartBlock as HL, JIT_TLB_ENTRIES, RAM_OFFSET } from '../shm/layout.js';
import { Block, Spin } from '../exec/translate.js';
import { Insn } from '../isa/ir.js';
import { Emitter, JitMode, OpClass, OpDef } from '../isa/op-def.js';
import { OP_DEFS, jitInline, opClass } from '../isa/table.js';
import { emitFpStateEntry } from '../isa/ext/fd.js';
import { hostFusedMadd } from './host-fma.js';
import { RAM_BASE } from '../machine/memmap.js';
import { A, Code, ValType, W, encodeModule } from './wasm-emitter.js';

/** Why `run` returned (low 2 bits of its result; the retired count is the rest). */
export const enum JitExit {
  /** pc is the next instruction; the page's code may continue next call. */
  Normal = 0,
  /** The next block is longer than the remaining budget; pc is its start. */
  Budget = 1,
  /** pc is an instruction the reference executor must run (or a failed fast-path access). */
  Bail = 2,
  /** The entry offset is not a block of this module (nothing ran). */
  Miss = 3,
}

/**
 * `fill(va, kind, budget)`: kind = access (1 load, 2 store) | size << 2 | i << 6, where i is the
 * accessing instruction's index in its block; budget is run's budget local then (the JS side knows
 * what run started with, so it works out the instructions retired before the access: fewer bytes
 * at each site than passing that count). Returns a memory index or -1.
 */
export const FILL_IMPORT = 'fill';
/**
 * `fp(raw, xrs1)`: runs a floating-point op's interpreter semantics (the exact software arithmetic)
 * and returns what it writes to x[rd]; stores 1 in HartBlock.FP_STATUS instead when it must trap.
 */
export const FP_IMPORT = 'fp';

export interface PageBlock { off: number; block: Block }

export interface PageSpec {
  /** The hart's extensions (default: DEFAULT_CPU_FEATURES). */
  features?: Readonly<CpuFeatures>;
  /** Use the host's fused multiply-add (default: hostFusedMadd(), what this host offers). */
  hostFma?: boolean;
  /** Virtual address of the page (its low 12 bits zero). */
  vbase: bigint;
  /** RAM page index (physical page - RAM_BASE) / 4096. */
  ramPage: number;
  gen: number;
  /** Sorted by offset, unique, each non-empty. */
  blocks: PageBlock[];
  /**
   * Keep the guest registers the page uses in wasm locals: loaded when `run` starts, the written
   * ones stored by the exit tail (the hot tier, for pages where a hart spends long stretches).
   */
  regsInLocals?: boolean;
}

const asI = BigInt.asIntN;

// The code-page check addresses codeFlag and codeGen by memory index >> 12 (PageCompiler.noteWrite).
if (RAM_OFFSET % 4096 !== 0 || CODE_FLAG_BASE < RAM_OFFSET / 4096 || CODE_GEN_BASE < 4 * (RAM_OFFSET / 4096)) throw new Error('jit: RAM_OFFSET must be page-aligned, below the code tables');

// Function indices: the imported fill and fp, then run, lookup, mulhu, and the out-of-line parts
// of two checks that rarely go further than their first test (codeWriteBody, asyncBody).
const F_FILL = 0, F_FP = 1, F_RUN = 2, F_LOOKUP = 3, F_MULHU = 4, F_CODE_WRITE = 5, F_ASYNC = 6;
// Locals of run: 6 i32 params, then these. P_HB is the hart block's address: every hart-state
// access is relative to it, so a page compiles to the same bytes on every hart and V8 compiles
// those bytes once per process (its native module cache; docs/ARCHITECTURE.md, "one compile per page").
const P_OFF = 0, P_BUDGET = 1, P_MIP = 2, P_EPOCH = 3, P_WAKE = 4, P_HB = 5;
const L_BUDGET0 = 6, L_IDX = 7, L_M = 8, L_E = 9, L_C = 10, L_C2 = 11, L_RET = 12, L_NEXT_CHECK = 13;
const L_VA = 14, L_T = 15, L_T2 = 16, L_PC = 17, L_EXPECT = 18, L_W = 19;
/**
 * i32 facts about the FP state, read once at entry of a page that has FP ops (Emitter.fpOn etc.).
 * Nothing the compiled code does inline can turn FS Off, change frm, clear fflags or make FS
 * clean again (only CSR writes and traps can, and those leave wasm), so "FS on" and "frm = RNE"
 * hold for the whole call, and "FS Dirty" / "NX set" once true stay true.
 */
const L_FP_ON = 20, L_FP_RNE = 21, L_FP_DIRTY = 22, L_FP_NX = 23;
/** f64 scratch locals for the floating-point emitters (Emitter.F). The FP locals are declared only on pages with FP ops. */
const L_F0 = 24, F_LOCALS = 16;
const BASE_LOCALS: ValType[] = [...Array<ValType>(8).fill(ValType.I32), ...Array<ValType>(6).fill(ValType.I64)];
const FP_LOCALS: ValType[] = [...BASE_LOCALS, ...Array<ValType>(4).fill(ValType.I32), ...Array<ValType>(F_LOCALS).fill(ValType.F64)];

class PageCompiler implements Emitter {
  readonly c = new Code();
  readonly T = L_T;
  readonly T2 = L_T2;
  readonly C = L_C;
  readonly C2 = L_C2;
  readonly M = L_M;
  readonly F: readonly number[] = Array.from({ length: F_LOCALS }, (_, k) => L_F0 + k);
  readonly fpOn = L_FP_ON;
  readonly fpRne = L_FP_RNE;
  readonly fpDirty = L_FP_DIRTY;
  readonly fpNx = L_FP_NX;
  readonly resAddr = HL.RES_ADDR;
  readonly resValue = HL.RES_VALUE;
  readonly resValid = HL.RES_VALID;
  readonly features: Readonly<CpuFeatures>;
  readonly hostFma: boolean;
  private readonly vpn: bigint;
  private readonly index = new Map<number, number>();
  /** Index of the block being generated. */
  private k = 0;
  /** Labels open around the current block's code, outermost first (the ones inside it count in depth). */
  private readonly labels: Label[] = [];
  /** Labels open inside the current block's code. */
  private depth = 0;
  /** Blocks that start a loop region (entering one goes through its dispatch, which reads L_IDX). */
  private readonly regionStarts = new Set<number>();
  /** The hot tier's translation caches are handed out per scope: a top-level loop region, or else a self-loop block. */
  private inCacheScope = false;
  /** depth value right after the block's self-loop label was opened (0: none). */
  private selfAt = 0;
  /** The block's code ended by falling through into the next block's code (no branch needed). */
  private fellThrough = false;
  /** regsInLocals: the local of each guest register used so far (-1: none yet), and which are written. */
  private readonly regLocal = new Int32Array(32).fill(-1);
  private readonly regWritten = new Uint8Array(32);
  private regLocals = 0;
  /** The first translation cache's tag local (i64; its add local, i32, follows). */
  private siteBase = 0;
  /** The first local index after the fixed ones (set by compile once it knows whether the page has FP ops). */
  private regLocalBase = 0;
  /** The block being generated loops to itself and the page is in the hot tier: its memory ops get translation caches. */
  private cachingSites = false;
  /** Translation caches handed out in the block being generated, of blockSiteCount from blockSiteBase. */
  private blockSites = 0;
  private blockSiteBase = 0;
  private blockSiteCount = 0;
  /** The base register of the memory access being generated, and the cache each (kind, base) of the block uses (a store's key is -1 - base). */
  private addressBase = 0;
  private readonly siteOfBase = new Map<number, number>();
  /** Caches the current cache scope has handed out to its blocks so far. */
  private scopeSitesUsed = 0;
  /** Translation-cache locals of the page: SITES_PER_SCOPE pairs in the hot tier, else none. */
  private sites = 0;

  constructor(private readonly spec: PageSpec) {
    this.features = spec.features ?? DEFAULT_CPU_FEATURES;
    this.hostFma = spec.hostFma ?? hostFusedMadd();
    this.vpn = spec.vbase >> 12n;
    spec.blocks.forEach((b, i) => this.index.set(b.off, i));
  }

  compile(): Uint8Array<ArrayBuffer> {
    const blocks = this.spec.blocks;
    const c = this.c;
    let hasFp = false;
    for (const { block } of blocks) {
      for (const ins of block.insns) {
        if (!jitInline(ins.op)) break;
        const ext = OP_DEFS[ins.op].ext;
        if (ext === 'F' || ext === 'D') hasFp = true;
      }
    }
    this.sites = this.spec.regsInLocals ? SITES_PER_SCOPE : 0;
    this.siteBase = 6 + (hasFp ? FP_LOCALS : BASE_LOCALS).length;
    this.regLocalBase = this.siteBase + 2 * this.sites;
    c.get(P_BUDGET).set(L_BUDGET0);
    c.get(P_BUDGET).i32(ASYNC_CHECK_INSNS).op(W.i32_sub).set(L_NEXT_CHECK);
    c.get(P_OFF).call(F_LOOKUP).tee(L_IDX).i32(0).op(W.i32_lt_s).if_().i32(JitExit.Miss).ret().end();
    c.get(P_WAKE).op(W.i64_extend_i32_u).i64(32n).op(W.i64_shl).set(L_EXPECT);
    if (hasFp) emitFpStateEntry(this);
    const root = loopRegions(blocks, this.spec.vbase, this.index);
    c.loop().block().block(ValType.I32); // $dispatch, $exit, $compact (which its branches bring their exit code to)
    this.labels.push({ kind: 'loop', region: root }, { kind: 'exit' }, { kind: 'compact' });
    const noteStarts = (r: Region): void => r.children.forEach((x) => { this.regionStarts.add(x.first); noteStarts(x); });
    noteStarts(root);
    this.genRegion(root, true);
    this.labels.length = 0;
    // $compact: L_RET = reason | page offset of the pc << 2 | extra retired << 15 (compactExit).
    c.op(W.unreachable).end().set(L_RET);
    c.get(L_RET).i32(2).op(W.i32_shr_u).i32(0x1fff).op(W.i32_and).op(W.i64_extend_i32_u).i64(asI(64, this.spec.vbase)).op(W.i64_add).set(L_PC);
    this.retired();
    c.get(L_RET).i32(15).op(W.i32_shr_u).op(W.i32_add).i32(2).op(W.i32_shl).get(L_RET).i32(3).op(W.i32_and).op(W.i32_or).set(L_RET);
    c.end(); // $exit: the common tail
    for (let r = 1; r < 32; r++) if (this.regWritten[r]) c.get(P_HB).get(this.regLocal[r]).mem(W.i64_store, 3, HL.X + 8 * r);
    c.get(P_HB).get(L_PC).mem(W.i64_store, 3, HL.PC);
    c.get(L_RET).ret();
    c.end(); // loop
    c.op(W.unreachable);
    return encodeModule({
      types: [
        { params: [ValType.I64, ValType.I32, ValType.I32], results: [ValType.I32] },
        { params: Array<ValType>(6).fill(ValType.I32), results: [ValType.I32] },
        { params: [ValType.I32], results: [ValType.I32] },
        { params: [ValType.I64, ValType.I64], results: [ValType.I64] },
        { params: [ValType.I32, ValType.I64], results: [ValType.I64] },
        { params: [ValType.I32, ValType.I64, ValType.I32], results: [ValType.I32] },
      ],
      funcImports: [{ module: 'env', name: FILL_IMPORT, type: 0 }, { module: 'env', name: FP_IMPORT, type: 4 }],
      memory: { module: 'env', name: 'mem', min: 0, max: 65536, shared: true },
      funcs: [
        { type: 1, locals: [...hasFp ? FP_LOCALS : BASE_LOCALS, ...siteLocals(this.sites), ...Array<ValType>(this.regLocals).fill(ValType.I64)], body: this.withRegisterLoads(c) },
        { type: 2, locals: [], body: this.lookupBody() },
        { type: 3, locals: Array<ValType>(7).fill(ValType.I64), body: mulhuBody() },
        { type: 2, locals: [], body: this.codeWriteBody() },
        { type: 5, locals: [], body: this.asyncBody() },
      ],
      exports: [{ name: 'run', func: F_RUN }],
    });
  }

  /** Offset -> block index by binary search over the sorted entry offsets (-1 if absent). */
  private lookupBody(): Code {
    const c = new Code();
    const offs = this.spec.blocks.map((b) => b.off);
    const emit = (lo: number, hi: number): void => {
      if (hi - lo <= 4) {
        for (let i = lo; i < hi; i++) c.get(0).i32(offs[i]).op(W.i32_eq).if_().i32(i).ret().end();
        c.i32(-1).ret();
        return;
      }
      const mid = (lo + hi) >> 1;
      c.get(0).i32(offs[mid]).op(W.i32_lt_u).if_();
      emit(lo, mid);
      c.end();
      emit(mid, hi);
    };
    emit(0, offs.length);
    c.i32(-1);
    return c;
  }

  /**
   * $codeWrite(m >> 12): a store at memory index m hit a code page (its codeFlag is set): bumps its code generation
   * (Bus.noteRamWrite) and returns whether this page's code changed since it was compiled. Out of
   * line: stores test the flag inline, but few hit code, and the rest of the check was ~25 of the
   * ~60 bytes each store site took (module size is what Liftoff's compile time follows).
   */
  private codeWriteBody(): Code {
    const c = new Code();
    c.get(0).i32(2).op(W.i32_shl).i32(1).atomic(A.i32_rmw_add, 2, CODE_GEN_BASE - 4 * (RAM_OFFSET / 4096)).op(W.drop);
    this.genChangedInto(c);
    return c;
  }

  /**
   * $async(hb, expect, mip): whether to leave for the runner: an exit request or kick (the wake
   * word differs from `expect`), a device-line change (MIP differs from `mip`, its value when the
   * call started) or a code change of this page. Out of line, since it runs once per
   * ASYNC_CHECK_INSNS retired at most.
   */
  private asyncBody(): Code {
    const c = new Code();
    c.get(0).mem(W.i64_load, 3, HL.EXIT_REQ).get(1).op(W.i64_ne);
    c.get(0).mem(W.i32_load, 2, HL.MIP).get(2).op(W.i32_ne).op(W.i32_or);
    this.genChangedInto(c);
    c.op(W.i32_or);
    return c;
  }

  // --- labels -----------------------------------------------------------------------------------
  private open(kind: 'if' | 'loop'): void {
    if (kind === 'if') this.c.if_(); else this.c.loop();
    this.depth++;
  }

  private close(): void {
    this.c.end();
    this.depth--;
  }

  // Labels around the current block's code (this.labels), innermost first: the case labels of the
  // items after it in its region, that region's loop, and so on out to the root region's case
  // labels, $compact, $exit and the root loop ($dispatch).
  private depthOf(at: number): number { return this.labels.length - 1 - at + this.depth; }
  private depthOfKind(kind: 'exit' | 'compact'): number {
    return this.depthOf(this.labels.findIndex((l) => l.kind === kind));
  }
  private get compactDepth(): number { return this.depthOfKind('compact'); }
  private get exitDepth(): number { return this.depthOfKind('exit'); }
  private get dispatchDepth(): number { return this.depthOf(0); }

  /**
   * A loop region's code: `loop { block* { dispatch } item 0 } item 1 ... }`. Its dispatch goes
   * straight to item 0 when L_IDX is the region's first block (every back edge to the loop head),
   * else by br_table to the item holding block L_IDX; an item is a block or a nested region. The
   * root region is the whole page, its loop $dispatch opened by compile.
   */
  private genRegion(r: Region, isRoot = false): void {
    const c = this.c;
    // The outermost loops whose memory ops all fit in the translation caches are cache scopes.
    let scope = false;
    if (!isRoot && this.sites > 0 && !this.inCacheScope) {
      const ops = memOpsIn(this.spec.blocks, r.first, r.last);
      scope = ops > 0 && ops <= this.sites;
    }
    if (scope) { this.inCacheScope = true; this.scopeSitesUsed = 0; this.resetSites(c); }
    if (!isRoot) { c.loop(); this.labels.push({ kind: 'loop', region: r }); }
    const items = regionItems(r);
    for (let i = items.length - 1; i >= 0; i--) { c.block(); this.labels.push({ kind: 'case', item: items[i] }); }
    if (!isRoot) c.get(L_IDX).i32(r.first).op(W.i32_eq).brIf(0).get(L_IDX).i32(r.first).op(W.i32_sub);
    else c.get(L_IDX);
    const depths: number[] = [];
    items.forEach((it, i) => { for (let b = it.first; b <= it.last; b++) depths.push(i); });
    c.brTable(depths, 0);
    for (const it of items) {
      c.end();
      this.labels.pop();
      if (it.children) { this.genRegion(it); continue; }
      const k = it.first;
      this.k = k;
      this.fellThrough = false;
      this.genBlock(this.spec.blocks[k]);
      if (!this.fellThrough) c.op(W.unreachable);
      if (this.selfAt) this.close(); // the block's self-loop
      if (this.depth !== 0) throw new Error(`jit: unbalanced labels in block ${k}`);
    }
    if (!isRoot) { c.end(); this.labels.pop(); }
    if (scope) this.inCacheScope = false;
  }

  // --- registers --------------------------------------------------------------------------------
  hb(): Code {
    return this.c.get(P_HB);
  }

  readReg(r: number): void {
    if (r === 0) this.c.i64(0n);
    else if (this.spec.regsInLocals) this.c.get(this.localOf(r));
    else this.c.get(P_HB).mem(W.i64_load, 3, HL.X + 8 * r);
  }

  writeRegWith(r: number, value: () => void): void {
    if (r === 0 || this.spec.regsInLocals) { value(); this.writeReg(r); return; }
    this.c.get(P_HB);
    value();
    this.forgetSitesOfBase(r);
    this.c.mem(W.i64_store, 3, HL.X + 8 * r);
  }

  /** Consumes the i64 on the stack. */
  writeReg(r: number): void {
    this.forgetSitesOfBase(r);
    if (r === 0) this.c.op(W.drop);
    else if (this.spec.regsInLocals) { this.c.set(this.localOf(r)); this.regWritten[r] = 1; }
    else this.c.set(L_W).get(P_HB).get(L_W).mem(W.i64_store, 3, HL.X + 8 * r);
  }

  /** x[r] changes: the block's translation caches keyed by it as a base (load and store) no longer apply. */
  private forgetSitesOfBase(r: number): void {
    this.siteOfBase.delete(r);
    this.siteOfBase.delete(-1 - r);
  }

  private localOf(r: number): number {
    if (this.regLocal[r] < 0) this.regLocal[r] = this.regLocalBase + this.regLocals++;
    return this.regLocal[r];
  }

  /**
   * `run`'s body with the registers it keeps in locals loaded first (every one it uses: a register
   * it only writes on some paths is stored back by the exit tail on all of them).
   */
  private withRegisterLoads(body: Code): Code {
    if (this.regLocals === 0) return body;
    const c = new Code();
    for (let r = 1; r < 32; r++) if (this.regLocal[r] >= 0) c.get(P_HB).mem(W.i64_load, 3, HL.X + 8 * r).set(this.regLocal[r]);
    c.bytes.append(body.bytes);
    return c;
  }

  // --- exits ------------------------------------------------------------------------------------
  /**
   * Leaves through the common tail: pc (a constant, or L_T when null), retired + extra, reason.
   * A pc within two pages of the page's start (bails, budget exits, fall-through to the next page)
   * goes as one i32 through $compact, which decodes it: ~8 bytes at the site instead of ~23 (code
   * size is what V8 and our generator spend their time on).
   */
  private exit(pc: bigint | null, extraRetired: number, reason: JitExit): void {
    const c = this.c;
    const code = pc === null ? -1 : this.compactExit(pc, extraRetired, reason);
    if (code >= 0) {
      c.i32(code).br(this.compactDepth);
      return;
    }
    if (pc === null) c.get(L_T); else c.i64(asI(64, pc));
    c.set(L_PC);
    this.retired();
    if (extraRetired) c.i32(extraRetired).op(W.i32_add);
    c.i32(2).op(W.i32_shl);
    if (reason) c.i32(reason).op(W.i32_or);
    c.set(L_RET);
    c.br(this.exitDepth);
  }

  /** The $compact code of an exit, or -1 when the pc is too far from the page. */
  private compactExit(pc: bigint, extraRetired: number, reason: JitExit): number {
    const off = asI(64, pc) - asI(64, this.spec.vbase);
    if (off < 0n || off > 0x1fffn || extraRetired > 0x7f) return -1;
    return reason | (Number(off) << 2) | (extraRetired << 15);
  }

  /** Leaves before instruction i (at pc) for the reference executor. */
  private bail(i: number, pc: bigint): void {
    this.exit(pc, i, JitExit.Bail);
  }

  /** Exit request, kick, device lines or this page's code changed since the call started: leave (at pc). */
  private asyncCheck(pc: bigint | null): void {
    const c = this.c;
    // At most once per ASYNC_CHECK_INSNS retired: a tight loop pays a compare of two locals.
    c.get(P_BUDGET).get(L_NEXT_CHECK).op(W.i32_lt_s);
    this.open('if');
    c.get(P_BUDGET).i32(ASYNC_CHECK_INSNS).op(W.i32_sub).set(L_NEXT_CHECK);
    c.get(P_HB).get(L_EXPECT).get(P_MIP).call(F_ASYNC);
    this.open('if');
    this.exit(pc, 0, JitExit.Normal);
    this.close();
    this.close();
  }

  private genChangedInto(c: Code): void {
    c.i32(0).mem(W.i32_load, 2, CODE_GEN_BASE + 4 * this.spec.ramPage).i32(this.spec.gen).op(W.i32_ne);
  }

  /** After retired/budget were advanced: continue at `target`. */
  private goto(target: bigint): void {
    const c = this.c;
    target = asI(64, target);
    const t = (target >> 12n) === this.vpn ? this.index.get(Number(target & 0xfffn)) : undefined;
    if (t === undefined) { this.exit(target, 0, JitExit.Normal); return; }
    if (t === this.k && this.selfAt) { this.asyncCheck(target); c.br(this.depth - this.selfAt); return; }
    if (t === this.k + 1 && this.depth === (this.selfAt ? 1 : 0)) { // its code (or its region's loop) comes next
      if (this.regionStarts.has(t)) c.i32(t).set(L_IDX);
      this.fellThrough = true;
      return;
    }
    // The innermost label that leads to block t: forward, the case label of the item holding it
    // (its code starts where the label ends); backward, the loop of the innermost region holding it.
    for (let at = this.labels.length - 1; at >= 0; at--) {
      const l = this.labels[at];
      if (l.kind === 'case' && t >= l.item.first && t <= l.item.last) {
        if (l.item.children) c.i32(t).set(L_IDX);
        c.br(this.depthOf(at));
        return;
      }
      if (l.kind === 'loop' && t >= l.region.first && t <= l.region.last) {
        this.asyncCheck(target); // backward: a loop
        c.i32(t).set(L_IDX).br(this.depthOf(at));
        return;
      }
    }
    throw new Error(`jit: no label leads to block ${t}`);
  }

  /** Whether `target` starts the block whose code follows the current one's. */
  private isNextBlock(target: bigint): boolean {
    return (target >> 12n) === this.vpn && this.index.get(Number(target & 0xfffn)) === this.k + 1;
  }

  /** Pushes the instructions this call retired so far: only the budget is counted down as blocks run. */
  private retired(): void {
    this.c.get(L_BUDGET0).get(P_BUDGET).op(W.i32_sub);
  }

  private advance(n: number): void {
    this.c.get(P_BUDGET).i32(n).op(W.i32_sub).set(P_BUDGET);
  }

  // --- blocks -----------------------------------------------------------------------------------
  private genBlock(pb: PageBlock): void {
    const c = this.c;
    const { block } = pb;
    const insns = block.insns;
    const n = insns.length;
    const start = this.spec.vbase + BigInt(pb.off);
    this.depth = 0;
    this.selfAt = 0;
    const selfLoop = directTarget(pb, this.spec.vbase, this.index) === this.k;
    // A self-loop outside any loop region is a cache scope of its own: its translation caches hold
    // only what this block's loop saw, emptied on the way in.
    this.cachingSites = this.inCacheScope || (selfLoop && this.spec.regsInLocals === true);
    this.blockSites = 0;
    this.siteOfBase.clear();
    if (this.inCacheScope) {
      this.blockSiteBase = this.scopeSitesUsed;
      this.blockSiteCount = memOpsIn(this.spec.blocks, this.k, this.k);
      this.scopeSitesUsed += this.blockSiteCount;
    } else if (this.cachingSites) { this.blockSiteBase = 0; this.blockSiteCount = this.sites; this.resetSites(c); }
    if (selfLoop) { this.open('loop'); this.selfAt = this.depth; }
    const budgetExit = this.compactExit(start, 0, JitExit.Budget);
    if (budgetExit >= 0) {
      // The exit code goes on the stack first: br_if takes it to $compact, else it is dropped.
      c.i32(budgetExit).get(P_BUDGET).i32(n).op(W.i32_lt_s).brIf(this.compactDepth).op(W.drop);
    } else {
      c.get(P_BUDGET).i32(n).op(W.i32_lt_s);
      this.open('if');
      this.exit(start, 0, JitExit.Budget);
      this.close();
    }
    for (let i = 0; i < n; i++) {
      const ins = insns[i];
      const pc = start + block.offsets[i];
      const def = OP_DEFS[ins.op];
      if (def.jit !== JitMode.Inline) {
        if (!def.some?.compiles(ins)) { this.bail(i, pc); return; }
        if (def.some.emit(this, ins, i, pc, n)) return;
        continue;
      }
      if (def.emit!(this, ins, i, pc, n)) return;
    }
    // Ended without a control transfer (size limit or page end).
    this.advance(n);
    this.goto(start + block.bytes);
  }

  // --- control transfer (shared generators of the ops' emitters) -----------------------------
  transfer(n: number, target: bigint): void {
    this.advance(n);
    this.goto(target);
  }

  transferIndirect(n: number): void {
    const c = this.c;
    this.advance(n);
    this.asyncCheck(null);
    c.get(L_T).i64(12n).op(W.i64_shr_s).i64(this.vpn).op(W.i64_eq);
    this.open('if');
    c.get(L_T).op(W.i32_wrap_i64).i32(0xfff).op(W.i32_and).call(F_LOOKUP).tee(L_C).i32(0).op(W.i32_ge_s);
    this.open('if');
    c.get(L_C).set(L_IDX).br(this.dispatchDepth);
    this.close();
    this.close();
    this.exit(null, 0, JitExit.Normal);
  }

  leaveIf(retired: number, pc: bigint): void {
    this.open('if');
    this.exit(pc, retired, JitExit.Bail); // the chain dispatcher goes on after a normal exit
    this.close();
  }

  transferIf(n: number, taken: bigint, next: bigint): void {
    const c = this.c;
    c.set(L_C);
    this.advance(n);
    c.get(L_C);
    if (this.isNextBlock(taken) && !this.isNextBlock(next)) {
      c.op(W.i32_eqz);
      this.open('if');
      this.goto(next);
      this.close();
      this.goto(taken);
    } else {
      this.open('if');
      this.goto(taken);
      this.close();
      this.goto(next);
    }
  }

  mulhu(): void {
    this.c.call(F_MULHU);
  }

  // --- memory -----------------------------------------------------------------------------------
  /**
   * Leaves the memory index of L_VA's translation in L_M: TLB-mirror hit (tag, epoch and, for
   * size > 1, natural alignment), else the JS fill helper; bails before instruction i when that fails.
   */
  private translate(i: number, pc: bigint, store: boolean, size: number, checkAlign: boolean): void {
    const c = this.c;
    const tlb = store ? HL.JIT_TLB_STORE : HL.JIT_TLB_LOAD;
    // A translation cache (the memory ops of a hot-tier self-loop): this site's last mirror hit, in
    // two locals. It is good while the mirror still holds that entry, which during a call only a
    // fill can change (the MMU clears mirror slots as it refills them): a fill in the loop empties
    // the loop's caches, and entering the block does (other blocks' fills, other blocks' use of the locals).
    // Accesses of one kind off the same base register (unchanged in between) in a block share a
    // cache: list walks load a node's fields, one page, through one translation.
    const baseKey = store ? -1 - this.addressBase : this.addressBase;
    let site = this.cachingSites ? this.siteOfBase.get(baseKey) ?? -1 : -1;
    if (site < 0 && this.cachingSites && this.blockSites < this.blockSiteCount) {
      site = this.siteBase + 2 * (this.blockSiteBase + this.blockSites++);
      this.siteOfBase.set(baseKey, site);
    }
    if (site >= 0) {
      const mask = BigInt.asIntN(64, ~0xfffn | BigInt(checkAlign && size > 1 ? size - 1 : 0));
      c.get(L_VA).i64(mask).op(W.i64_and).get(site).op(W.i64_eq);
      c.if_(ValType.I32);
      this.depth++;
      c.get(site + 1).get(L_VA).op(W.i32_wrap_i64).op(W.i32_add);
      c.else_();
    }
    // The entry's offset, ((va >> 12) mod entries) * 16, from the low 32 bits of va: fewer bytes than on the i64.
    c.get(L_VA).op(W.i32_wrap_i64).i32(8).op(W.i32_shr_u).i32((JIT_TLB_ENTRIES - 1) << 4).op(W.i32_and).get(P_HB).op(W.i32_add).tee(L_E);
    c.mem(W.i64_load, 3, tlb).get(L_VA).i64(12n).op(W.i64_shr_s).op(W.i64_eq);
    c.get(L_E).mem(W.i32_load, 2, tlb + 8).get(P_EPOCH).op(W.i32_eq).op(W.i32_and);
    if (checkAlign && size > 1) c.get(L_VA).op(W.i32_wrap_i64).i32(size - 1).op(W.i32_and).op(W.i32_eqz).op(W.i32_and);
    c.if_(ValType.I32);
    this.depth++;
    c.get(L_E).mem(W.i32_load, 2, tlb + 12);
    if (site >= 0) c.tee(site + 1).get(L_VA).i64(~0xfffn).op(W.i64_and).set(site);
    c.get(L_VA).op(W.i32_wrap_i64).op(W.i32_add);
    c.else_();
    c.get(L_VA).i32((store ? 2 : 1) | (size << 2) | (i << 6)).get(P_BUDGET).call(F_FILL).tee(L_M);
    if (this.cachingSites) this.resetSites(c);
    c.i32(0).op(W.i32_lt_s);
    this.open('if');
    this.bail(i, pc);
    this.close();
    c.get(L_M);
    this.close();
    if (site >= 0) this.close();
    c.set(L_M);
  }

  /** Empties the translation caches (a tag of -1 matches no masked address). */
  private resetSites(c: Code): void {
    for (let k = 0; k < this.sites; k++) c.i64(-1n).set(this.siteBase + 2 * k);
  }

  private address(ins: Insn): void {
    this.addressBase = ins.rs1;
    this.readReg(ins.rs1);
    if (ins.imm !== 0n) this.c.i64(ins.imm).op(W.i64_add);
    this.c.set(L_VA);
  }

  load(ins: Insn, i: number, pc: bigint, size: number, op: W): void {
    this.writeRegWith(ins.rd, () => this.loadValue(ins, i, pc, size, op));
  }

  loadValue(ins: Insn, i: number, pc: bigint, size: number, op: W): void {
    this.address(ins);
    this.translate(i, pc, false, size, true);
    this.c.get(L_M).mem(op, 0, 0);
  }

  store(ins: Insn, i: number, pc: bigint, size: number, op: W): void {
    this.storeValue(ins, i, pc, size, op, () => this.readReg(ins.rs2));
  }

  storeValue(ins: Insn, i: number, pc: bigint, size: number, op: W, value: () => void): void {
    this.address(ins);
    this.translate(i, pc, true, size, true);
    this.c.get(L_M);
    value();
    this.c.mem(op, 0, 0);
    this.noteWrite(ins, i, pc);
  }

  openIf(): void { this.open('if'); }
  elseBranch(): void { this.c.else_(); }
  closeIf(): void { this.close(); }

  bailIf(i: number, pc: bigint): void {
    this.open('if');
    this.bail(i, pc);
    this.close();
  }

  fpCall(ins: Insn, i: number, pc: bigint): void {
    const c = this.c;
    c.i32(ins.raw | 0);
    this.readReg(ins.rs1);
    c.call(F_FP).set(L_T);
    c.get(P_HB).mem(W.i32_load, 2, HL.FP_STATUS);
    this.bailIf(i, pc);
    c.get(L_T);
  }

  /**
   * Bumps the code generation of the page at L_M when it holds translated code (Bus.noteRamWrite)
   * and then, if this page's code changed (a store into itself), leaves after the instruction.
   * Only a code-page store pays for the check (it used to be a flag tested at every block entry).
   */
  noteWrite(ins: Insn, i: number, pc: bigint): void {
    const c = this.c;
    // L_C = M >> 12: the flag's address is CODE_FLAG_BASE + (M - RAM_OFFSET) / 4096 (RAM_OFFSET is page-aligned).
    c.get(L_M).i32(12).op(W.i32_shr_u).tee(L_C).mem(W.i32_load8_u, 0, CODE_FLAG_BASE - RAM_OFFSET / 4096);
    this.open('if');
    c.get(L_C).call(F_CODE_WRITE);
    this.open('if');
    this.exit(pc + BigInt(ins.len), i + 1, JitExit.Normal);
    this.close();
    this.close();
  }

  /** Physical address of L_M as an i64 (for the reservation). */
  physOfM(): void {
    this.c.get(L_M).i32(RAM_OFFSET).op(W.i32_sub).op(W.i64_extend_i32_u).i64(BigInt(RAM_BASE)).op(W.i64_add);
  }

  atomicTarget(ins: Insn, i: number, pc: bigint, size: number, isLr: boolean): void {
    const c = this.c;
    this.addressBase = ins.rs1;
    this.readReg(ins.rs1);
    c.set(L_VA);
    // Misaligned: the reference raises the exception.
    c.get(L_VA).op(W.i32_wrap_i64).i32(size - 1).op(W.i32_and);
    this.open('if');
    this.bail(i, pc);
    this.close();
    this.translate(i, pc, !isLr, size, false);
  }
}

/** High 64 bits of the unsigned 128-bit product (params a, b; locals alo, ahi, blo, bhi, p1, p2, mid). */
function mulhuBody(): Code {
  const c = new Code();
  const M = 0xffffffffn;
  c.get(0).i64(M).op(W.i64_and).set(2);
  c.get(0).i64(32n).op(W.i64_shr_u).set(3);
  c.get(1).i64(M).op(W.i64_and).set(4);
  c.get(1).i64(32n).op(W.i64_shr_u).set(5);
  c.get(2).get(5).op(W.i64_mul).set(6);
  c.get(3).get(4).op(W.i64_mul).set(7);
  c.get(2).get(4).op(W.i64_mul).i64(32n).op(W.i64_shr_u)
    .get(6).i64(M).op(W.i64_and).op(W.i64_add)
    .get(7).i64(M).op(W.i64_and).op(W.i64_add).set(8);
  c.get(3).get(5).op(W.i64_mul)
    .get(6).i64(32n).op(W.i64_shr_u).op(W.i64_add)
    .get(7).i64(32n).op(W.i64_shr_u).op(W.i64_add)
    .get(8).i64(32n).op(W.i64_shr_u).op(W.i64_add);
  return c;
}

/**
 * Bytes the op's emitter produces for `ins` alone (as instruction 0 of a one-block page): the
 * table check's proof that an inline op is not compiled to nothing.
 */
export function emittedBytes(def: OpDef, ins: Insn): number {
  const block: Block = { insns: [ins], offsets: [0n], bytes: BigInt(ins.len), pa: RAM_BASE, page: 0, gen: 0, spin: Spin.No, plain: false, csrEnd: false };
  const compiler = new PageCompiler({ vbase: 0x80000000n, ramPage: 0, gen: 0, blocks: [{ off: 0, block }] });
  def.emit?.(compiler, ins, 0, 0x80000000n, 1);
  return compiler.c.bytes.length;
}

/** Encodes the wasm module for one guest page. */
export function compilePageModule(spec: PageSpec): Uint8Array<ArrayBuffer> {
  return new PageCompiler(spec).compile();
}

/**
 * Instructions a call may retire between its looks at the exit request, kick, device lines and
 * its page's code generation (at backward and indirect transfers): how late a hart may notice a
 * stop, a page request, an interrupt line or another hart's code change (which the ISA only
 * promises after a FENCE.I of its own anyway). Every backward transfer used to look (three loads
 * and compares): bench_compute 1,205 -> 1,285 MIPS without.
 */
const ASYNC_CHECK_INSNS = 256;

/** Translation caches of a hot-tier cache scope (memory ops beyond them look up the mirror). */
const SITES_PER_SCOPE = 12;

/**
 * A loop region: blocks first..last (indices into the page's sorted blocks) with a back edge to
 * `first`, compiled as a wasm loop so that the back edge is a branch, not a trip through the
 * page's br_table. Regions nest or are disjoint (overlapping back-edge spans are merged).
 */
interface Region { first: number; last: number; children: Region[] }
/** An item of a region: one block (no children) or a nested region. */
type Item = Region | { first: number; last: number; children?: undefined };
type Label =
  | { kind: 'loop'; region: Region }
  | { kind: 'case'; item: Item }
  | { kind: 'exit' | 'compact' };

/** The page's loop regions (its root spans every block): one per backward direct branch or jump inside the page. */
function loopRegions(blocks: PageBlock[], vbase: bigint, index: Map<number, number>): Region {
  let spans: Array<[number, number]> = [];
  blocks.forEach((pb, k) => {
    const t = directTarget(pb, vbase, index);
    if (t !== undefined && t < k) spans.push([t, k]);
  });
  // Merge spans that overlap without nesting (one sweep in start order, a stack of the open
  // ones), so that they form a tree.
  spans.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  const done: Array<[number, number]> = [];
  const open: Array<[number, number]> = [];
  for (const [first, last] of spans) {
    let s = first;
    while (open.length > 0) {
      const top = open[open.length - 1];
      if (top[1] < s) { done.push(open.pop()!); continue; } // ended before: final
      if (top[1] >= last) break; // holds this one
      open.pop(); // crosses it: this one grows to hold it
      s = top[0];
    }
    open.push([s, last]);
  }
  spans = [...new Map([...done, ...open].map((s) => [`${s[0]},${s[1]}`, s])).values()]; // repeats, and spans a merge remade
  // Outer spans first (a span before any it contains), so each one finds its parent already placed.
  spans.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
  const root: Region = { first: 0, last: blocks.length - 1, children: [] };
  for (const [first, last] of spans) {
    let parent = root;
    for (;;) {
      const inner = parent.children.find((r) => r.first <= first && last <= r.last);
      if (!inner) break;
      parent = inner;
    }
    parent.children.push({ first, last, children: [] });
  }
  return root;
}

/** The index of the block a block's final direct branch or jump targets, if inside the page. */
function directTarget({ off, block }: PageBlock, vbase: bigint, index: Map<number, number>): number | undefined {
  const last = block.insns[block.insns.length - 1];
  const cls = opClass(last.op);
  if (cls !== OpClass.Jump && cls !== OpClass.Branch) return undefined;
  const target = asI(64, vbase + BigInt(off) + block.offsets[block.insns.length - 1] + last.imm);
  return (target >> 12n) === (vbase >> 12n) ? index.get(Number(target & 0xfffn)) : undefined;
}

/** Memory ops (translation sites) in blocks first..last. */
function memOpsIn(blocks: PageBlock[], first: number, last: number): number {
  let count = 0;
  for (let b = first; b <= last; b++) {
    for (const ins of blocks[b].block.insns) {
      const cls = opClass(ins.op);
      if (cls === OpClass.Load || cls === OpClass.Store || cls === OpClass.Amo || cls === OpClass.Lr || cls === OpClass.Sc) count++;
    }
  }
  return count;
}

/** A region's items in block order: its nested regions and the blocks outside them. */
function regionItems(r: Region): Item[] {
  const items: Item[] = [];
  for (let b = r.first; b <= r.last;) {
    const child = r.children.find((x) => x.first === b);
    if (child) { items.push(child); b = child.last + 1; } else { items.push({ first: b, last: b }); b++; }
  }
  return items;
}

function siteLocals(n: number): ValType[] {
  const out: ValType[] = [];
  for (let k = 0; k < n; k++) out.push(ValType.I64, ValType.I32);
  return out;
}
