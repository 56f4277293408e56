/**
 * IR -> WebAssembly for one guest page: every known block entry of a (virtual page, physical page,
 * code generation) triple becomes one case of a `br_table` dispatcher inside a single exported
 * function `run`, so control moves between the page's blocks without leaving wasm (v86's page
 * compilation). Transfers out of the page, instructions without custom code generation (CSR and
 * system ops, traps, anything the memory fast path cannot do) leave the function with the pc stored
 * in the hart block and a reason; the JS side (jit-executor.ts) then runs the reference executor,
 * which owns those semantics.
 *
 * Checks (the design's icount_decr): at every block entry, remaining budget >= the block's length
 * and, after this call's own store hit a code page, the page's code generation; at every backward
 * or indirect transfer inside the page also no exit request, no kick (wake word), no device-line
 * change since the call started and no code change by anyone (a forward chain inside one page is
 * bounded, so these are seen within a bounded number of blocks).
 *
 * Guest registers live in wasm locals for the whole call: the ones the page uses are loaded at
 * entry, the ones it writes are stored by the common exit tail.
 */
import { CODE_FLAG_BASE, CODE_GEN_BASE, HartBlock as HL, RAM_OFFSET } from '../shm/layout.js';
import { Block } from '../exec/translate.js';
import { Insn, Op } from '../isa/ir.js';
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

/** `fill(va, kind, retired)`: kind = access (1 load, 2 store) | size << 2. Returns a memory index or -1. */
export const FILL_IMPORT = 'fill';

export interface PageBlock { off: number; block: Block }

export interface PageSpec {
  hartBase: number;
  /** Virtual address of the page (its low 12 bits zero). */
  vbase: bigint;
  /** RAM page index (physical page - RAM_BASE) / 4096. */
  ramPage: number;
  gen: number;
  /** Sorted by offset, unique, each non-empty. */
  blocks: PageBlock[];
}

const asI = BigInt.asIntN;

// Function indices: the imported fill, then run, lookup, mulhu.
const F_FILL = 0, F_RUN = 1, F_LOOKUP = 2, F_MULHU = 3;
// Locals of run: 5 i32 params, then these.
const P_OFF = 0, P_BUDGET = 1, P_MIP = 2, P_EPOCH = 3, P_WAKE = 4;
const L_RETIRED = 5, L_IDX = 6, L_M = 7, L_E = 8, L_C = 9, L_C2 = 10, L_RET = 11, L_FLAG = 12;
const L_VA = 13, L_T = 14, L_T2 = 15, L_PC = 16, L_EXPECT = 17, L_X1 = 18;
const RUN_LOCALS: ValType[] = [
  ...Array<ValType>(8).fill(ValType.I32),
  ...Array<ValType>(5 + 31).fill(ValType.I64),
];

/** Whether the JIT has custom code for an op (everything else is run by the reference executor). */
export function hasCodegen(op: Op): boolean {
  switch (op) {
    case Op.ILLEGAL: case Op.FENCE_I: case Op.ECALL: case Op.EBREAK: case Op.MRET: case Op.SRET:
    case Op.WFI: case Op.SFENCE_VMA:
    case Op.CSRRW: case Op.CSRRS: case Op.CSRRC: case Op.CSRRWI: case Op.CSRRSI: case Op.CSRRCI:
      return false;
    default:
      return true;
  }
}

class PageCompiler {
  private readonly c = new Code();
  private readonly hb: number;
  private readonly vpn: bigint;
  private readonly index = new Map<number, number>();
  private readonly n: number;
  /** Index of the block being generated. */
  private k = 0;
  /** Labels open inside the current block's code. */
  private depth = 0;
  /** depth value right after the block's self-loop label was opened (0: none). */
  private selfAt = 0;
  /** The block's code ended by falling through into the next block's code (no branch needed). */
  private fellThrough = false;

  constructor(private readonly spec: PageSpec) {
    this.hb = spec.hartBase;
    this.vpn = spec.vbase >> 12n;
    this.n = spec.blocks.length;
    spec.blocks.forEach((b, i) => this.index.set(b.off, i));
  }

  compile(): Uint8Array<ArrayBuffer> {
    const blocks = this.spec.blocks;
    const n = this.n;
    const c = this.c;
    let used = 0;
    let written = 0;
    for (const { block } of blocks) {
      for (const ins of block.insns) {
        if (!hasCodegen(ins.op)) break;
        used |= (1 << ins.rs1) | (1 << ins.rs2) | (1 << ins.rd);
        written |= 1 << ins.rd;
      }
    }
    used &= ~1;
    written &= ~1;
    c.get(P_OFF).call(F_LOOKUP).tee(L_IDX).i32(0).op(W.i32_lt_s).if_().i32(JitExit.Miss).ret().end();
    c.get(P_WAKE).op(W.i64_extend_i32_u).i64(32n).op(W.i64_shl).set(L_EXPECT);
    for (let r = 1; r < 32; r++) if (used & (1 << r)) c.i32(0).mem(W.i64_load, 3, this.hb + HL.X + 8 * r).set(L_X1 + r - 1);
    c.loop().block();
    for (let k = 0; k < n; k++) c.block();
    c.get(L_IDX).brTable(blocks.map((_, k) => k), n);
    for (let k = 0; k < n; k++) {
      c.end();
      this.k = k;
      this.fellThrough = false;
      this.genBlock(blocks[k]);
      if (!this.fellThrough) c.op(W.unreachable);
      if (this.selfAt) this.close(); // the block's self-loop
      if (this.depth !== 0) throw new Error(`jit: unbalanced labels in block ${k}`);
    }
    c.end(); // $exit: the common tail
    for (let r = 1; r < 32; r++) if (written & (1 << r)) c.i32(0).get(L_X1 + r - 1).mem(W.i64_store, 3, this.hb + HL.X + 8 * r);
    c.i32(0).get(L_PC).mem(W.i64_store, 3, this.hb + HL.PC);
    c.get(L_RET).ret();
    c.end(); // loop
    c.op(W.unreachable);
    return encodeModule({
      types: [
        { params: [ValType.I64, ValType.I32, ValType.I32], results: [ValType.I32] },
        { params: Array<ValType>(5).fill(ValType.I32), results: [ValType.I32] },
        { params: [ValType.I32], results: [ValType.I32] },
        { params: [ValType.I64, ValType.I64], results: [ValType.I64] },
      ],
      funcImports: [{ module: 'env', name: FILL_IMPORT, type: 0 }],
      memory: { module: 'env', name: 'mem', min: 0, max: 65536, shared: true },
      funcs: [
        { type: 1, locals: RUN_LOCALS, body: c },
        { type: 2, locals: [], body: this.lookupBody() },
        { type: 3, locals: Array<ValType>(7).fill(ValType.I64), body: mulhuBody() },
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

  // --- labels -----------------------------------------------------------------------------------
  private open(kind: 'if' | 'loop'): void {
    if (kind === 'if') this.c.if_(); else this.c.loop();
    this.depth++;
  }

  private close(): void {
    this.c.end();
    this.depth--;
  }

  private get exitDepth(): number { return this.n - 1 - this.k + this.depth; }
  private get dispatchDepth(): number { return this.n - this.k + this.depth; }

  // --- registers --------------------------------------------------------------------------------
  private readReg(r: number): void {
    if (r === 0) this.c.i64(0n);
    else this.c.get(L_X1 + r - 1);
  }

  /** Consumes the i64 on the stack. */
  private writeReg(r: number): void {
    if (r === 0) this.c.op(W.drop);
    else this.c.set(L_X1 + r - 1);
  }

  // --- exits ------------------------------------------------------------------------------------
  /** Leaves through the common tail: pc (a constant, or L_T when null), retired + extra, reason. */
  private exit(pc: bigint | null, extraRetired: number, reason: JitExit): void {
    const c = this.c;
    if (pc === null) c.get(L_T); else c.i64(asI(64, pc));
    c.set(L_PC);
    c.get(L_RETIRED);
    if (extraRetired) c.i32(extraRetired).op(W.i32_add);
    c.i32(2).op(W.i32_shl);
    if (reason) c.i32(reason).op(W.i32_or);
    c.set(L_RET);
    c.br(this.exitDepth);
  }

  /** Leaves before instruction i (at pc) for the reference executor. */
  private bail(i: number, pc: bigint): void {
    this.exit(pc, i, JitExit.Bail);
  }

  /** Exit request, kick, device lines or this page's code changed since the call started: leave (at pc). */
  private asyncCheck(pc: bigint | null): void {
    const c = this.c;
    c.i32(0).mem(W.i64_load, 3, this.hb + HL.EXIT_REQ).get(L_EXPECT).op(W.i64_ne);
    c.i32(0).mem(W.i32_load, 2, this.hb + HL.MIP).get(P_MIP).op(W.i32_ne).op(W.i32_or);
    this.genChanged();
    c.op(W.i32_or);
    this.open('if');
    this.exit(pc, 0, JitExit.Normal);
    this.close();
  }

  private genChanged(): void {
    this.c.i32(0).mem(W.i32_load, 2, CODE_GEN_BASE + 4 * this.spec.ramPage).i32(this.spec.gen).op(W.i32_ne);
  }

  /** After retired/budget were advanced: continue at `target`. */
  private goto(target: bigint): void {
    const c = this.c;
    target = asI(64, target);
    const k = (target >> 12n) === this.vpn ? this.index.get(Number(target & 0xfffn)) : undefined;
    if (k === undefined) { this.exit(target, 0, JitExit.Normal); return; }
    if (k <= this.k) this.asyncCheck(target); // backward: a possible loop
    if (k === this.k + 1 && this.depth === (this.selfAt ? 1 : 0)) this.fellThrough = true; // its code comes next
    else if (k === this.k && this.selfAt) c.br(this.depth - this.selfAt);
    else c.i32(k).set(L_IDX).br(this.dispatchDepth);
  }

  /** Whether `target` starts the block whose code follows the current one's. */
  private isNextBlock(target: bigint): boolean {
    return (target >> 12n) === this.vpn && this.index.get(Number(target & 0xfffn)) === this.k + 1;
  }

  private advance(n: number): void {
    this.c.get(L_RETIRED).i32(n).op(W.i32_add).set(L_RETIRED);
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
    const last = insns[n - 1];
    const lastPc = start + BigInt(last.off);
    const selfLoop = (last.op === Op.JAL || (last.op >= Op.BEQ && last.op <= Op.BGEU)) && asI(64, lastPc + last.imm) === start;
    if (selfLoop) { this.open('loop'); this.selfAt = this.depth; }
    c.get(P_BUDGET).i32(n).op(W.i32_lt_s);
    this.open('if');
    this.exit(start, 0, JitExit.Budget);
    this.close();
    // A store of this call hit a code page: is it ours?
    c.get(L_FLAG);
    this.open('if');
    c.i32(0).set(L_FLAG);
    this.genChanged();
    this.open('if');
    this.exit(start, 0, JitExit.Normal);
    this.close();
    this.close();
    for (let i = 0; i < n; i++) {
      const ins = insns[i];
      const pc = start + BigInt(ins.off);
      if (!hasCodegen(ins.op)) { this.bail(i, pc); return; }
      if (this.genInsn(ins, i, pc, n)) return;
    }
    // Ended without a control transfer (size limit or page end).
    this.advance(n);
    this.goto(start + block.bytes);
  }

  /** Emits one instruction; returns true when it ended the block's code (a terminator). */
  private genInsn(ins: Insn, i: number, pc: bigint, n: number): boolean {
    const c = this.c;
    const rd = ins.rd;
    const imm = ins.imm;
    switch (ins.op) {
      case Op.LUI: if (rd) { c.i64(imm); this.writeReg(rd); } return false;
      case Op.AUIPC: if (rd) { c.i64(asI(64, pc + imm)); this.writeReg(rd); } return false;
      case Op.JAL:
        if (rd) { c.i64(asI(64, pc + BigInt(ins.len))); this.writeReg(rd); }
        this.advance(n);
        this.goto(pc + imm);
        return true;
      case Op.JALR: {
        this.readReg(ins.rs1);
        c.i64(imm).op(W.i64_add).i64(-2n).op(W.i64_and).set(L_T);
        if (rd) { c.i64(asI(64, pc + BigInt(ins.len))); this.writeReg(rd); }
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
        return true;
      }
      case Op.BEQ: return this.branch(ins, pc, n, W.i64_eq);
      case Op.BNE: return this.branch(ins, pc, n, W.i64_ne);
      case Op.BLT: return this.branch(ins, pc, n, W.i64_lt_s);
      case Op.BGE: return this.branch(ins, pc, n, W.i64_ge_s);
      case Op.BLTU: return this.branch(ins, pc, n, W.i64_lt_u);
      case Op.BGEU: return this.branch(ins, pc, n, W.i64_ge_u);
      case Op.LB: this.load(ins, i, pc, 1, W.i64_load8_s); return false;
      case Op.LH: this.load(ins, i, pc, 2, W.i64_load16_s); return false;
      case Op.LW: this.load(ins, i, pc, 4, W.i64_load32_s); return false;
      case Op.LD: this.load(ins, i, pc, 8, W.i64_load); return false;
      case Op.LBU: this.load(ins, i, pc, 1, W.i64_load8_u); return false;
      case Op.LHU: this.load(ins, i, pc, 2, W.i64_load16_u); return false;
      case Op.LWU: this.load(ins, i, pc, 4, W.i64_load32_u); return false;
      case Op.SB: this.store(ins, i, pc, 1, W.i64_store8); return false;
      case Op.SH: this.store(ins, i, pc, 2, W.i64_store16); return false;
      case Op.SW: this.store(ins, i, pc, 4, W.i64_store32); return false;
      case Op.SD: this.store(ins, i, pc, 8, W.i64_store); return false;
      case Op.FENCE: c.fence(); return false;
      default: break;
    }
    if (ins.op >= Op.LR_W && ins.op <= Op.AMOMAXU_D) { this.atomic(ins, i, pc); return false; }
    if (rd === 0) return false; // pure register ops without a destination do nothing
    this.alu(ins);
    return false;
  }

  private branch(ins: Insn, pc: bigint, n: number, cmp: W): boolean {
    const c = this.c;
    this.readReg(ins.rs1);
    this.readReg(ins.rs2);
    c.op(cmp).set(L_C);
    this.advance(n);
    const taken = asI(64, pc + ins.imm);
    const next = asI(64, pc + BigInt(ins.len));
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
    return true;
  }

  private alu(ins: Insn): void {
    const c = this.c;
    const imm = ins.imm;
    const a = () => this.readReg(ins.rs1);
    const b = () => this.readReg(ins.rs2);
    const a32 = () => { a(); c.op(W.i32_wrap_i64); };
    const b32 = () => { b(); c.op(W.i32_wrap_i64); };
    const sx = () => c.op(W.i64_extend_i32_s);
    const sh = Number(imm);
    switch (ins.op) {
      case Op.ADDI: a(); c.i64(imm).op(W.i64_add); break;
      case Op.SLTI: a(); c.i64(imm).op(W.i64_lt_s).op(W.i64_extend_i32_u); break;
      case Op.SLTIU: a(); c.i64(imm).op(W.i64_lt_u).op(W.i64_extend_i32_u); break;
      case Op.XORI: a(); c.i64(imm).op(W.i64_xor); break;
      case Op.ORI: a(); c.i64(imm).op(W.i64_or); break;
      case Op.ANDI: a(); c.i64(imm).op(W.i64_and); break;
      case Op.SLLI: a(); c.i64(imm).op(W.i64_shl); break;
      case Op.SRLI: a(); c.i64(imm).op(W.i64_shr_u); break;
      case Op.SRAI: a(); c.i64(imm).op(W.i64_shr_s); break;
      case Op.ADD: a(); b(); c.op(W.i64_add); break;
      case Op.SUB: a(); b(); c.op(W.i64_sub); break;
      case Op.SLL: a(); b(); c.op(W.i64_shl); break;
      case Op.SLT: a(); b(); c.op(W.i64_lt_s).op(W.i64_extend_i32_u); break;
      case Op.SLTU: a(); b(); c.op(W.i64_lt_u).op(W.i64_extend_i32_u); break;
      case Op.XOR: a(); b(); c.op(W.i64_xor); break;
      case Op.SRL: a(); b(); c.op(W.i64_shr_u); break;
      case Op.SRA: a(); b(); c.op(W.i64_shr_s); break;
      case Op.OR: a(); b(); c.op(W.i64_or); break;
      case Op.AND: a(); b(); c.op(W.i64_and); break;
      case Op.ADDIW: a32(); c.i32(sh).op(W.i32_add); sx(); break;
      case Op.SLLIW: a32(); c.i32(sh).op(W.i32_shl); sx(); break;
      case Op.SRLIW: a32(); c.i32(sh).op(W.i32_shr_u); sx(); break;
      case Op.SRAIW: a32(); c.i32(sh).op(W.i32_shr_s); sx(); break;
      case Op.ADDW: a32(); b32(); c.op(W.i32_add); sx(); break;
      case Op.SUBW: a32(); b32(); c.op(W.i32_sub); sx(); break;
      case Op.SLLW: a32(); b32(); c.op(W.i32_shl); sx(); break;
      case Op.SRLW: a32(); b32(); c.op(W.i32_shr_u); sx(); break;
      case Op.SRAW: a32(); b32(); c.op(W.i32_shr_s); sx(); break;
      case Op.MUL: a(); b(); c.op(W.i64_mul); break;
      case Op.MULW: a32(); b32(); c.op(W.i32_mul); sx(); break;
      case Op.MULHU: a(); b(); c.call(F_MULHU); break;
      case Op.MULH:
      case Op.MULHSU:
        a(); c.set(L_T); b(); c.set(L_T2);
        c.get(L_T).get(L_T2).call(F_MULHU);
        // signed a: subtract b when a < 0; signed b (MULH only): subtract a when b < 0
        c.get(L_T2).get(L_T).i64(63n).op(W.i64_shr_s).op(W.i64_and).op(W.i64_sub);
        if (ins.op === Op.MULH) c.get(L_T).get(L_T2).i64(63n).op(W.i64_shr_s).op(W.i64_and).op(W.i64_sub);
        break;
      case Op.DIV:
        a(); c.set(L_T); b(); c.set(L_T2);
        c.get(L_T2).op(W.i64_eqz).if_(ValType.I64).i64(-1n).else_()
          .get(L_T2).i64(-1n).op(W.i64_eq).if_(ValType.I64).i64(0n).get(L_T).op(W.i64_sub)
          .else_().get(L_T).get(L_T2).op(W.i64_div_s).end().end();
        break;
      case Op.DIVU:
        a(); c.set(L_T); b(); c.set(L_T2);
        c.get(L_T2).op(W.i64_eqz).if_(ValType.I64).i64(-1n).else_().get(L_T).get(L_T2).op(W.i64_div_u).end();
        break;
      case Op.REM:
        a(); c.set(L_T); b(); c.set(L_T2);
        c.get(L_T2).op(W.i64_eqz).if_(ValType.I64).get(L_T).else_()
          .get(L_T2).i64(-1n).op(W.i64_eq).if_(ValType.I64).i64(0n)
          .else_().get(L_T).get(L_T2).op(W.i64_rem_s).end().end();
        break;
      case Op.REMU:
        a(); c.set(L_T); b(); c.set(L_T2);
        c.get(L_T2).op(W.i64_eqz).if_(ValType.I64).get(L_T).else_().get(L_T).get(L_T2).op(W.i64_rem_u).end();
        break;
      case Op.DIVW:
        a32(); c.set(L_C); b32(); c.set(L_C2);
        c.get(L_C2).op(W.i32_eqz).if_(ValType.I64).i64(-1n).else_()
          .get(L_C2).i32(-1).op(W.i32_eq).if_(ValType.I64).i32(0).get(L_C).op(W.i32_sub).op(W.i64_extend_i32_s)
          .else_().get(L_C).get(L_C2).op(W.i32_div_s).op(W.i64_extend_i32_s).end().end();
        break;
      case Op.DIVUW:
        a32(); c.set(L_C); b32(); c.set(L_C2);
        c.get(L_C2).op(W.i32_eqz).if_(ValType.I64).i64(-1n).else_()
          .get(L_C).get(L_C2).op(W.i32_div_u).op(W.i64_extend_i32_s).end();
        break;
      case Op.REMW:
        a32(); c.set(L_C); b32(); c.set(L_C2);
        c.get(L_C2).op(W.i32_eqz).if_(ValType.I64).get(L_C).op(W.i64_extend_i32_s).else_()
          .get(L_C2).i32(-1).op(W.i32_eq).if_(ValType.I64).i64(0n)
          .else_().get(L_C).get(L_C2).op(W.i32_rem_s).op(W.i64_extend_i32_s).end().end();
        break;
      case Op.REMUW:
        a32(); c.set(L_C); b32(); c.set(L_C2);
        c.get(L_C2).op(W.i32_eqz).if_(ValType.I64).get(L_C).op(W.i64_extend_i32_s).else_()
          .get(L_C).get(L_C2).op(W.i32_rem_u).op(W.i64_extend_i32_s).end();
        break;
      default:
        throw new Error(`jit: no code generation for op ${ins.op}`);
    }
    this.writeReg(ins.rd);
  }

  // --- memory -----------------------------------------------------------------------------------
  /**
   * Leaves the memory index of L_VA's translation in L_M: TLB-mirror hit (tag, epoch and, for
   * size > 1, natural alignment), else the JS fill helper; bails before instruction i when that fails.
   */
  private translate(i: number, pc: bigint, store: boolean, size: number, checkAlign: boolean): void {
    const c = this.c;
    const tlb = this.hb + (store ? HL.JIT_TLB_STORE : HL.JIT_TLB_LOAD);
    c.get(L_VA).i64(12n).op(W.i64_shr_u).op(W.i32_wrap_i64).i32(255).op(W.i32_and).i32(4).op(W.i32_shl).tee(L_E);
    c.mem(W.i64_load, 3, tlb).get(L_VA).i64(12n).op(W.i64_shr_s).op(W.i64_eq);
    c.get(L_E).mem(W.i32_load, 2, tlb + 8).get(P_EPOCH).op(W.i32_eq).op(W.i32_and);
    if (checkAlign && size > 1) c.get(L_VA).op(W.i32_wrap_i64).i32(size - 1).op(W.i32_and).op(W.i32_eqz).op(W.i32_and);
    c.if_(ValType.I32);
    this.depth++;
    c.get(L_E).mem(W.i32_load, 2, tlb + 12).get(L_VA).op(W.i32_wrap_i64).op(W.i32_add);
    c.else_();
    c.get(L_VA).i32((store ? 2 : 1) | (size << 2)).get(L_RETIRED).i32(i).op(W.i32_add).call(F_FILL).tee(L_M);
    c.i32(0).op(W.i32_lt_s);
    this.open('if');
    this.bail(i, pc);
    this.close();
    c.get(L_M);
    this.close();
    c.set(L_M);
  }

  private address(ins: Insn): void {
    this.readReg(ins.rs1);
    if (ins.imm !== 0n) this.c.i64(ins.imm).op(W.i64_add);
    this.c.set(L_VA);
  }

  private load(ins: Insn, i: number, pc: bigint, size: number, op: W): void {
    this.address(ins);
    this.translate(i, pc, false, size, true);
    this.c.get(L_M).mem(op, 0, 0);
    this.writeReg(ins.rd);
  }

  private store(ins: Insn, i: number, pc: bigint, size: number, op: W): void {
    this.address(ins);
    this.translate(i, pc, true, size, true);
    this.c.get(L_M);
    this.readReg(ins.rs2);
    this.c.mem(op, 0, 0);
    this.noteWrite();
  }

  /** Bumps the code generation of the page at L_M when it holds translated code (Bus.noteRamWrite). */
  private noteWrite(): void {
    const c = this.c;
    c.get(L_M).i32(RAM_OFFSET).op(W.i32_sub).i32(12).op(W.i32_shr_u).tee(L_C).mem(W.i32_load8_u, 0, CODE_FLAG_BASE);
    c.if_().get(L_C).i32(2).op(W.i32_shl).i32(1).atomic(A.i32_rmw_add, 2, CODE_GEN_BASE).op(W.drop).i32(1).set(L_FLAG).end();
  }

  /** Physical address of L_M as an i64 (for the reservation). */
  private physOfM(): void {
    this.c.get(L_M).i32(RAM_OFFSET).op(W.i32_sub).op(W.i64_extend_i32_u).i64(BigInt(RAM_BASE)).op(W.i64_add);
  }

  private atomic(ins: Insn, i: number, pc: bigint): void {
    const c = this.c;
    const op = ins.op;
    const word = op <= Op.AMOMAXU_W;
    const size = word ? 4 : 8;
    const isLr = op === Op.LR_W || op === Op.LR_D;
    const isSc = op === Op.SC_W || op === Op.SC_D;
    this.readReg(ins.rs1);
    c.set(L_VA);
    if (!isLr) { this.readReg(ins.rs2); c.set(L_T2); }
    // Misaligned: the reference raises the exception.
    c.get(L_VA).op(W.i32_wrap_i64).i32(size - 1).op(W.i32_and);
    this.open('if');
    this.bail(i, pc);
    this.close();
    this.translate(i, pc, !isLr, size, false);
    const hb = this.hb;
    if (isLr) {
      c.get(L_M);
      if (word) c.atomic(A.i32_load, 2, 0).op(W.i64_extend_i32_s);
      else c.atomic(A.i64_load, 3, 0);
      c.set(L_T);
      c.i32(0); this.physOfM(); c.mem(W.i64_store, 3, hb + HL.RES_ADDR);
      c.i32(0).get(L_T).mem(W.i64_store, 3, hb + HL.RES_VALUE);
      c.i32(0).i32(1).mem(W.i32_store, 2, hb + HL.RES_VALID);
      c.get(L_T);
      this.writeReg(ins.rd);
      return;
    }
    if (isSc) {
      c.i32(0).mem(W.i32_load, 2, hb + HL.RES_VALID).i32(1).op(W.i32_eq);
      c.i32(0).mem(W.i64_load, 3, hb + HL.RES_ADDR);
      this.physOfM();
      c.op(W.i64_eq).op(W.i32_and).set(L_C2);
      c.i32(0).i32(0).mem(W.i32_store, 2, hb + HL.RES_VALID);
      c.get(L_C2).if_();
      if (word) {
        c.get(L_M).i32(0).mem(W.i64_load, 3, hb + HL.RES_VALUE).op(W.i32_wrap_i64).tee(L_C)
          .get(L_T2).op(W.i32_wrap_i64).atomic(A.i32_rmw_cmpxchg, 2, 0).get(L_C).op(W.i32_eq).set(L_C2);
      } else {
        c.get(L_M).i32(0).mem(W.i64_load, 3, hb + HL.RES_VALUE).tee(L_T)
          .get(L_T2).atomic(A.i64_rmw_cmpxchg, 3, 0).get(L_T).op(W.i64_eq).set(L_C2);
      }
      c.end();
      c.get(L_C2).if_();
      this.noteWrite();
      c.end();
      c.get(L_C2).op(W.i32_eqz).op(W.i64_extend_i32_u);
      this.writeReg(ins.rd);
      return;
    }
    const base = word ? op - Op.AMOSWAP_W : op - Op.AMOSWAP_D; // 0 swap, add, xor, and, or, min, max, minu, maxu
    if (base <= 4) {
      const rmw32 = [A.i32_rmw_xchg, A.i32_rmw_add, A.i32_rmw_xor, A.i32_rmw_and, A.i32_rmw_or][base];
      const rmw64 = [A.i64_rmw_xchg, A.i64_rmw_add, A.i64_rmw_xor, A.i64_rmw_and, A.i64_rmw_or][base];
      c.get(L_M).get(L_T2);
      if (word) c.op(W.i32_wrap_i64).atomic(rmw32, 2, 0).op(W.i64_extend_i32_s);
      else c.atomic(rmw64, 3, 0);
      c.set(L_T);
    } else {
      // min/max: compare-exchange loop
      const cmp = base === 5 ? (word ? W.i32_lt_s : W.i64_lt_s) : base === 6 ? (word ? W.i32_gt_s : W.i64_gt_s)
        : base === 7 ? (word ? W.i32_lt_u : W.i64_lt_u) : (word ? W.i32_gt_u : W.i64_gt_u);
      if (word) {
        c.get(L_T2).op(W.i32_wrap_i64).set(L_C2);
        c.loop();
        c.get(L_M).get(L_M).atomic(A.i32_load, 2, 0).tee(L_C);
        c.get(L_C).get(L_C2).get(L_C).get(L_C2).op(cmp).op(W.select);
        c.atomic(A.i32_rmw_cmpxchg, 2, 0).get(L_C).op(W.i32_ne).brIf(0);
        c.end();
        c.get(L_C).op(W.i64_extend_i32_s).set(L_T);
      } else {
        c.loop();
        c.get(L_M).get(L_M).atomic(A.i64_load, 3, 0).tee(L_T);
        c.get(L_T).get(L_T2).get(L_T).get(L_T2).op(cmp).op(W.select);
        c.atomic(A.i64_rmw_cmpxchg, 3, 0).get(L_T).op(W.i64_ne).brIf(0);
        c.end();
      }
    }
    this.noteWrite();
    c.get(L_T);
    this.writeReg(ins.rd);
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

/** Encodes the wasm module for one guest page. */
export function compilePageModule(spec: PageSpec): Uint8Array<ArrayBuffer> {
  return new PageCompiler(spec).compile();
}
