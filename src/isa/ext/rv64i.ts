/**
 * RV64I: the base integer instructions, plus ILLEGAL (what matches no encoding). Each row: the
 * encoding, the table columns, the interpreter semantics and the wasm emitter side by side.
 */
import { Cause, Priv } from '../../cpu/csr-numbers.js';
import { W } from '../../jit/wasm-emitter.js';
import { Insn, Op } from '../ir.js';
import { EmitFn, Emitter, Encoding, ExecFn, Fmt, Interp, NEXT, OpClass, OpDef } from '../op-def.js';
import { F3_MASK, FULL_MASK, R_MASK, SH6_MASK, a32, a64, alu, asI, asU, b32, b64, enc, row, sx, trap, wr } from './common.js';

const I = (match: number) => enc(match, F3_MASK, Fmt.I);
const R = (match: number) => enc(match, R_MASK, Fmt.R);
const aluI = (op: Op, name: string, encoding: Encoding, exec: ExecFn, emit: (g: Emitter, ins: Insn) => void) =>
  alu(op, name, 'I', encoding, exec, emit);

// --- control transfer -------------------------------------------------------------------------
/** Ends the block with a conditional branch of instruction i. */
function br(e: Interp, ins: Insn, i: number, taken: boolean): number {
  const pc = e.pcAt(i);
  return e.jumpTo(asI(64, taken ? pc + ins.imm : pc + BigInt(ins.len)));
}

function branch(op: Op, name: string, f3: number, exec: ExecFn, cmp: W): OpDef {
  const emit: EmitFn = (g, ins, _i, pc, n) => {
    g.readReg(ins.rs1);
    g.readReg(ins.rs2);
    g.c.op(cmp);
    g.transferIf(n, asI(64, pc + ins.imm), asI(64, pc + BigInt(ins.len)));
    return true;
  };
  return row(op, name, 'I', enc((f3 << 12) | 0x63, F3_MASK, Fmt.B), { cls: OpClass.Branch, endsBlock: true, emit }, exec);
}

// --- memory -----------------------------------------------------------------------------------
/** Interpreter semantics of the loads; called with constants by each load's own function, so they fold. */
function loadInsn(e: Interp, ins: Insn, i: number, size: number, signed: boolean): number {
  const v = e.load(asI(64, e.x[ins.rs1] + ins.imm), size, signed);
  if (e.hart.trapCause >= 0) return e.fault(i);
  return wr(e, ins, v);
}

function storeInsn(e: Interp, ins: Insn, i: number, size: number): number {
  e.store(asI(64, e.x[ins.rs1] + ins.imm), size, e.x[ins.rs2]);
  if (e.hart.trapCause >= 0) return e.fault(i);
  return NEXT;
}

function load(op: Op, name: string, f3: number, size: 1 | 2 | 4 | 8, signed: boolean, wasmOp: W, exec: ExecFn): OpDef {
  return row(op, name, 'I', I((f3 << 12) | 0x03), {
    cls: OpClass.Load, memSize: size, memSigned: signed,
    emit: (g, ins, i, pc) => { g.load(ins, i, pc, size, wasmOp); return false; },
  }, exec);
}

function store(op: Op, name: string, f3: number, size: 1 | 2 | 4 | 8, wasmOp: W, exec: ExecFn): OpDef {
  return row(op, name, 'I', enc((f3 << 12) | 0x23, F3_MASK, Fmt.S), {
    cls: OpClass.Store, memSize: size,
    emit: (g, ins, i, pc) => { g.store(ins, i, pc, size, wasmOp); return false; },
  }, exec);
}

export const RV64I: readonly OpDef[] = [
  row(Op.ILLEGAL, 'illegal', 'I', null, { cls: OpClass.Illegal, endsBlock: true },
    (e, ins, i) => trap(e, i, Cause.IllegalInsn, BigInt(ins.raw >>> 0))),

  aluI(Op.LUI, 'lui', enc(0x37, 0x7f, Fmt.U), (e, a) => wr(e, a, a.imm), (g, a) => { g.c.i64(a.imm); }),
  row(Op.AUIPC, 'auipc', 'I', enc(0x17, 0x7f, Fmt.U), {
    cls: OpClass.Alu,
    emit: (g, a, _i, pc) => { if (a.rd) { g.c.i64(asI(64, pc + a.imm)); g.writeReg(a.rd); } return false; },
  }, (e, a, i) => wr(e, a, asI(64, e.pcAt(i) + a.imm))),

  row(Op.JAL, 'jal', 'I', enc(0x6f, 0x7f, Fmt.J), {
    cls: OpClass.Jump, endsBlock: true,
    emit: (g, a, _i, pc, n) => {
      if (a.rd) { g.c.i64(asI(64, pc + BigInt(a.len))); g.writeReg(a.rd); }
      g.transfer(n, pc + a.imm);
      return true;
    },
  }, (e, a, i) => {
    const pc = e.pcAt(i);
    if (a.rd) e.x[a.rd] = asI(64, pc + BigInt(a.len));
    return e.jumpTo(asI(64, pc + a.imm));
  }),
  row(Op.JALR, 'jalr', 'I', I(0x67), {
    cls: OpClass.JumpReg, endsBlock: true,
    emit: (g, a, _i, pc, n) => {
      g.readReg(a.rs1);
      g.c.i64(a.imm).op(W.i64_add).i64(-2n).op(W.i64_and).set(g.T);
      if (a.rd) { g.c.i64(asI(64, pc + BigInt(a.len))); g.writeReg(a.rd); }
      g.transferIndirect(n);
      return true;
    },
  }, (e, a, i) => {
    const target = asI(64, (e.x[a.rs1] + a.imm) & ~1n);
    if (a.rd) e.x[a.rd] = asI(64, e.pcAt(i) + BigInt(a.len));
    return e.jumpTo(target);
  }),

  branch(Op.BEQ, 'beq', 0, (e, a, i) => br(e, a, i, e.x[a.rs1] === e.x[a.rs2]), W.i64_eq),
  branch(Op.BNE, 'bne', 1, (e, a, i) => br(e, a, i, e.x[a.rs1] !== e.x[a.rs2]), W.i64_ne),
  branch(Op.BLT, 'blt', 4, (e, a, i) => br(e, a, i, e.x[a.rs1] < e.x[a.rs2]), W.i64_lt_s),
  branch(Op.BGE, 'bge', 5, (e, a, i) => br(e, a, i, e.x[a.rs1] >= e.x[a.rs2]), W.i64_ge_s),
  branch(Op.BLTU, 'bltu', 6, (e, a, i) => br(e, a, i, asU(64, e.x[a.rs1]) < asU(64, e.x[a.rs2])), W.i64_lt_u),
  branch(Op.BGEU, 'bgeu', 7, (e, a, i) => br(e, a, i, asU(64, e.x[a.rs1]) >= asU(64, e.x[a.rs2])), W.i64_ge_u),

  // The size and signedness are said twice (columns and semantics) so each op's function is its
  // own, with constants V8 folds; the table check compares nothing here, the lockstep test does.
  load(Op.LB, 'lb', 0, 1, true, W.i64_load8_s, (e, a, i) => loadInsn(e, a, i, 1, true)),
  load(Op.LH, 'lh', 1, 2, true, W.i64_load16_s, (e, a, i) => loadInsn(e, a, i, 2, true)),
  load(Op.LW, 'lw', 2, 4, true, W.i64_load32_s, (e, a, i) => loadInsn(e, a, i, 4, true)),
  load(Op.LD, 'ld', 3, 8, true, W.i64_load, (e, a, i) => loadInsn(e, a, i, 8, true)),
  load(Op.LBU, 'lbu', 4, 1, false, W.i64_load8_u, (e, a, i) => loadInsn(e, a, i, 1, false)),
  load(Op.LHU, 'lhu', 5, 2, false, W.i64_load16_u, (e, a, i) => loadInsn(e, a, i, 2, false)),
  load(Op.LWU, 'lwu', 6, 4, false, W.i64_load32_u, (e, a, i) => loadInsn(e, a, i, 4, false)),
  store(Op.SB, 'sb', 0, 1, W.i64_store8, (e, a, i) => storeInsn(e, a, i, 1)),
  store(Op.SH, 'sh', 1, 2, W.i64_store16, (e, a, i) => storeInsn(e, a, i, 2)),
  store(Op.SW, 'sw', 2, 4, W.i64_store32, (e, a, i) => storeInsn(e, a, i, 4)),
  store(Op.SD, 'sd', 3, 8, W.i64_store, (e, a, i) => storeInsn(e, a, i, 8)),

  aluI(Op.ADDI, 'addi', I(0x0013), (e, a) => wr(e, a, asI(64, e.x[a.rs1] + a.imm)), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_add); }),
  aluI(Op.SLTI, 'slti', I(0x2013), (e, a) => wr(e, a, e.x[a.rs1] < a.imm ? 1n : 0n), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_lt_s).op(W.i64_extend_i32_u); }),
  aluI(Op.SLTIU, 'sltiu', I(0x3013), (e, a) => wr(e, a, asU(64, e.x[a.rs1]) < asU(64, a.imm) ? 1n : 0n), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_lt_u).op(W.i64_extend_i32_u); }),
  aluI(Op.XORI, 'xori', I(0x4013), (e, a) => wr(e, a, e.x[a.rs1] ^ a.imm), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_xor); }),
  aluI(Op.ORI, 'ori', I(0x6013), (e, a) => wr(e, a, e.x[a.rs1] | a.imm), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_or); }),
  aluI(Op.ANDI, 'andi', I(0x7013), (e, a) => wr(e, a, e.x[a.rs1] & a.imm), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_and); }),
  aluI(Op.SLLI, 'slli', enc(0x1013, SH6_MASK, Fmt.Shift6), (e, a) => wr(e, a, asI(64, e.x[a.rs1] << a.imm)), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_shl); }),
  aluI(Op.SRLI, 'srli', enc(0x5013, SH6_MASK, Fmt.Shift6), (e, a) => wr(e, a, asI(64, asU(64, e.x[a.rs1]) >> a.imm)), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_shr_u); }),
  aluI(Op.SRAI, 'srai', enc(0x40005013, SH6_MASK, Fmt.Shift6), (e, a) => wr(e, a, e.x[a.rs1] >> a.imm), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_shr_s); }),
  aluI(Op.ADD, 'add', R(0x0033), (e, a) => wr(e, a, asI(64, e.x[a.rs1] + e.x[a.rs2])), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_add); }),
  aluI(Op.SUB, 'sub', R(0x40000033), (e, a) => wr(e, a, asI(64, e.x[a.rs1] - e.x[a.rs2])), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_sub); }),
  aluI(Op.SLL, 'sll', R(0x1033), (e, a) => wr(e, a, asI(64, e.x[a.rs1] << (e.x[a.rs2] & 63n))), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_shl); }),
  aluI(Op.SLT, 'slt', R(0x2033), (e, a) => wr(e, a, e.x[a.rs1] < e.x[a.rs2] ? 1n : 0n), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_lt_s).op(W.i64_extend_i32_u); }),
  aluI(Op.SLTU, 'sltu', R(0x3033), (e, a) => wr(e, a, asU(64, e.x[a.rs1]) < asU(64, e.x[a.rs2]) ? 1n : 0n), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_lt_u).op(W.i64_extend_i32_u); }),
  aluI(Op.XOR, 'xor', R(0x4033), (e, a) => wr(e, a, e.x[a.rs1] ^ e.x[a.rs2]), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_xor); }),
  aluI(Op.SRL, 'srl', R(0x5033), (e, a) => wr(e, a, asI(64, asU(64, e.x[a.rs1]) >> (e.x[a.rs2] & 63n))), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_shr_u); }),
  aluI(Op.SRA, 'sra', R(0x40005033), (e, a) => wr(e, a, e.x[a.rs1] >> (e.x[a.rs2] & 63n)), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_shr_s); }),
  aluI(Op.OR, 'or', R(0x6033), (e, a) => wr(e, a, e.x[a.rs1] | e.x[a.rs2]), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_or); }),
  aluI(Op.AND, 'and', R(0x7033), (e, a) => wr(e, a, e.x[a.rs1] & e.x[a.rs2]), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_and); }),
  aluI(Op.ADDIW, 'addiw', I(0x001b), (e, a) => wr(e, a, asI(32, e.x[a.rs1] + a.imm)), (g, a) => { a32(g, a); g.c.i32(Number(a.imm)).op(W.i32_add); sx(g); }),
  aluI(Op.SLLIW, 'slliw', enc(0x101b, R_MASK, Fmt.Shift5), (e, a) => wr(e, a, asI(32, e.x[a.rs1] << a.imm)), (g, a) => { a32(g, a); g.c.i32(Number(a.imm)).op(W.i32_shl); sx(g); }),
  aluI(Op.SRLIW, 'srliw', enc(0x501b, R_MASK, Fmt.Shift5), (e, a) => wr(e, a, asI(32, asU(32, e.x[a.rs1]) >> a.imm)), (g, a) => { a32(g, a); g.c.i32(Number(a.imm)).op(W.i32_shr_u); sx(g); }),
  aluI(Op.SRAIW, 'sraiw', enc(0x4000501b, R_MASK, Fmt.Shift5), (e, a) => wr(e, a, asI(32, e.x[a.rs1]) >> a.imm), (g, a) => { a32(g, a); g.c.i32(Number(a.imm)).op(W.i32_shr_s); sx(g); }),
  aluI(Op.ADDW, 'addw', R(0x003b), (e, a) => wr(e, a, asI(32, e.x[a.rs1] + e.x[a.rs2])), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_add); sx(g); }),
  aluI(Op.SUBW, 'subw', R(0x4000003b), (e, a) => wr(e, a, asI(32, e.x[a.rs1] - e.x[a.rs2])), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_sub); sx(g); }),
  aluI(Op.SLLW, 'sllw', R(0x103b), (e, a) => wr(e, a, asI(32, e.x[a.rs1] << (e.x[a.rs2] & 31n))), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_shl); sx(g); }),
  aluI(Op.SRLW, 'srlw', R(0x503b), (e, a) => wr(e, a, asI(32, asU(32, e.x[a.rs1]) >> (e.x[a.rs2] & 31n))), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_shr_u); sx(g); }),
  aluI(Op.SRAW, 'sraw', R(0x4000503b), (e, a) => wr(e, a, asI(32, e.x[a.rs1]) >> (e.x[a.rs2] & 31n)), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_shr_s); sx(g); }),

  row(Op.FENCE, 'fence', 'I', enc(0x000f, F3_MASK, Fmt.None), {
    cls: OpClass.Fence,
    emit: (g) => { g.c.fence(); return false; },
  }, (e) => { Atomics.add(e.i32, 0, 0); return NEXT; }), // a seq-cst RMW is a full host fence
  row(Op.ECALL, 'ecall', 'I', enc(0x00000073, FULL_MASK, Fmt.None), { cls: OpClass.System, endsBlock: true }, (e, _a, i) => {
    const p = e.hart.priv;
    return trap(e, i, p === Priv.M ? Cause.EcallM : p === Priv.S ? Cause.EcallS : Cause.EcallU, 0n);
  }),
  row(Op.EBREAK, 'ebreak', 'I', enc(0x00100073, FULL_MASK, Fmt.None), { cls: OpClass.System, endsBlock: true },
    (e, _a, i) => trap(e, i, Cause.Breakpoint, 0n)), // mtval = 0, as QEMU
];
