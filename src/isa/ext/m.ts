/** RV64M: multiply and divide (division by zero and overflow give the ISA's fixed results, never a trap). */
import { ValType, W } from '../../jit/wasm-emitter.js';
import { Insn, Op } from '../ir.js';
import { Emitter, ExecFn, Fmt, OpDef } from '../op-def.js';
import { R_MASK, a32, a64, alu, asI, asU, b32, b64, enc, sx, wr } from './common.js';

const aluM = (op: Op, name: string, match: number, exec: ExecFn, emit: (g: Emitter, ins: Insn) => void) =>
  alu(op, name, 'M', enc(match, R_MASK, Fmt.R), exec, emit);

function div(a: bigint, b: bigint, bits: number): bigint {
  a = asI(bits, a); b = asI(bits, b);
  if (b === 0n) return -1n;
  if (b === -1n) return asI(bits, -a); // INT_MIN / -1 overflows back to INT_MIN
  return asI(bits, a / b);
}

function divu(a: bigint, b: bigint, bits: number): bigint {
  a = asU(bits, a); b = asU(bits, b);
  if (b === 0n) return -1n;
  return asI(bits, a / b);
}

function rem(a: bigint, b: bigint, bits: number): bigint {
  a = asI(bits, a); b = asI(bits, b);
  if (b === 0n) return asI(bits, a);
  if (b === -1n) return 0n;
  return asI(bits, a % b);
}

function remu(a: bigint, b: bigint, bits: number): bigint {
  a = asU(bits, a); b = asU(bits, b);
  if (b === 0n) return asI(bits, a);
  return asI(bits, a % b);
}

/** Both operands into the i64 scratch locals T (rs1) and T2 (rs2). */
function operands64(g: Emitter, ins: Insn): void {
  a64(g, ins); g.c.set(g.T); b64(g, ins); g.c.set(g.T2);
}

/** Both operands' low words into the i32 scratch locals C (rs1) and C2 (rs2). */
function operands32(g: Emitter, ins: Insn): void {
  a32(g, ins); g.c.set(g.C); b32(g, ins); g.c.set(g.C2);
}

/** High half of a signed (MULH) or signed x unsigned (MULHSU) product from the unsigned one. */
function mulhSigned(g: Emitter, ins: Insn, bSigned: boolean): void {
  operands64(g, ins);
  g.c.get(g.T).get(g.T2);
  g.mulhu();
  // signed a: subtract b when a < 0; signed b (MULH only): subtract a when b < 0
  g.c.get(g.T2).get(g.T).i64(63n).op(W.i64_shr_s).op(W.i64_and).op(W.i64_sub);
  if (bSigned) g.c.get(g.T).get(g.T2).i64(63n).op(W.i64_shr_s).op(W.i64_and).op(W.i64_sub);
}

export const RV64M: readonly OpDef[] = [
  aluM(Op.MUL, 'mul', 0x02000033, (e, a) => wr(e, a, asI(64, e.x[a.rs1] * e.x[a.rs2])), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_mul); }),
  aluM(Op.MULH, 'mulh', 0x02001033, (e, a) => wr(e, a, asI(64, (e.x[a.rs1] * e.x[a.rs2]) >> 64n)), (g, a) => mulhSigned(g, a, true)),
  aluM(Op.MULHSU, 'mulhsu', 0x02002033, (e, a) => wr(e, a, asI(64, (e.x[a.rs1] * asU(64, e.x[a.rs2])) >> 64n)), (g, a) => mulhSigned(g, a, false)),
  aluM(Op.MULHU, 'mulhu', 0x02003033, (e, a) => wr(e, a, asI(64, (asU(64, e.x[a.rs1]) * asU(64, e.x[a.rs2])) >> 64n)), (g, a) => { a64(g, a); b64(g, a); g.mulhu(); }),
  aluM(Op.DIV, 'div', 0x02004033, (e, a) => wr(e, a, div(e.x[a.rs1], e.x[a.rs2], 64)), (g, a) => {
    const { c, T, T2 } = g;
    operands64(g, a);
    c.get(T2).op(W.i64_eqz).if_(ValType.I64).i64(-1n).else_()
      .get(T2).i64(-1n).op(W.i64_eq).if_(ValType.I64).i64(0n).get(T).op(W.i64_sub)
      .else_().get(T).get(T2).op(W.i64_div_s).end().end();
  }),
  aluM(Op.DIVU, 'divu', 0x02005033, (e, a) => wr(e, a, divu(e.x[a.rs1], e.x[a.rs2], 64)), (g, a) => {
    const { c, T, T2 } = g;
    operands64(g, a);
    c.get(T2).op(W.i64_eqz).if_(ValType.I64).i64(-1n).else_().get(T).get(T2).op(W.i64_div_u).end();
  }),
  aluM(Op.REM, 'rem', 0x02006033, (e, a) => wr(e, a, rem(e.x[a.rs1], e.x[a.rs2], 64)), (g, a) => {
    const { c, T, T2 } = g;
    operands64(g, a);
    c.get(T2).op(W.i64_eqz).if_(ValType.I64).get(T).else_()
      .get(T2).i64(-1n).op(W.i64_eq).if_(ValType.I64).i64(0n)
      .else_().get(T).get(T2).op(W.i64_rem_s).end().end();
  }),
  aluM(Op.REMU, 'remu', 0x02007033, (e, a) => wr(e, a, remu(e.x[a.rs1], e.x[a.rs2], 64)), (g, a) => {
    const { c, T, T2 } = g;
    operands64(g, a);
    c.get(T2).op(W.i64_eqz).if_(ValType.I64).get(T).else_().get(T).get(T2).op(W.i64_rem_u).end();
  }),
  aluM(Op.MULW, 'mulw', 0x0200003b, (e, a) => wr(e, a, asI(32, e.x[a.rs1] * e.x[a.rs2])), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_mul); sx(g); }),
  aluM(Op.DIVW, 'divw', 0x0200403b, (e, a) => wr(e, a, div(e.x[a.rs1], e.x[a.rs2], 32)), (g, a) => {
    const { c, C, C2 } = g;
    operands32(g, a);
    c.get(C2).op(W.i32_eqz).if_(ValType.I64).i64(-1n).else_()
      .get(C2).i32(-1).op(W.i32_eq).if_(ValType.I64).i32(0).get(C).op(W.i32_sub).op(W.i64_extend_i32_s)
      .else_().get(C).get(C2).op(W.i32_div_s).op(W.i64_extend_i32_s).end().end();
  }),
  aluM(Op.DIVUW, 'divuw', 0x0200503b, (e, a) => wr(e, a, divu(e.x[a.rs1], e.x[a.rs2], 32)), (g, a) => {
    const { c, C, C2 } = g;
    operands32(g, a);
    c.get(C2).op(W.i32_eqz).if_(ValType.I64).i64(-1n).else_()
      .get(C).get(C2).op(W.i32_div_u).op(W.i64_extend_i32_s).end();
  }),
  aluM(Op.REMW, 'remw', 0x0200603b, (e, a) => wr(e, a, rem(e.x[a.rs1], e.x[a.rs2], 32)), (g, a) => {
    const { c, C, C2 } = g;
    operands32(g, a);
    c.get(C2).op(W.i32_eqz).if_(ValType.I64).get(C).op(W.i64_extend_i32_s).else_()
      .get(C2).i32(-1).op(W.i32_eq).if_(ValType.I64).i64(0n)
      .else_().get(C).get(C2).op(W.i32_rem_s).op(W.i64_extend_i32_s).end().end();
  }),
  aluM(Op.REMUW, 'remuw', 0x0200703b, (e, a) => wr(e, a, remu(e.x[a.rs1], e.x[a.rs2], 32)), (g, a) => {
    const { c, C, C2 } = g;
    operands32(g, a);
    c.get(C2).op(W.i32_eqz).if_(ValType.I64).get(C).op(W.i64_extend_i32_s).else_()
      .get(C).get(C2).op(W.i32_rem_u).op(W.i64_extend_i32_s).end();
  }),
];
