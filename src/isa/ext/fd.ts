/**
 * RV64F and RV64D: single- and double-precision floating point. One generator per instruction
 * shape, instantiated for both formats; the arithmetic is src/isa/softfloat.ts.
 *
 * Every op first checks that the hart has the extension (features.f / features.d) and that
 * mstatus.FS is not Off (else illegal instruction), then, for ops with a rounding-mode field,
 * that the mode is valid (5 and 6 reserved; 7 = frm, itself 0..4). Writing an f register or raising
 * a flag makes FS Dirty. Singles live NaN-boxed in the 64-bit registers: an operand whose upper
 * 32 bits are not all ones reads as the canonical NaN.
 *
 * In the JIT, loads and stores are wasm (the f registers in the hart block), and so are the RNE
 * binary64 add/sub/mul/div/sqrt, fmadd family and sign injection (the fast paths of softfloat.ts,
 * with the same guards); every other op, and any operand those guards refuse, calls out to its own
 * interpreter semantics here (Emitter.fpCall). FS and frm are checked once per wasm call through
 * the Emitter's fpOn/fpRne locals; fpDirty/fpNx let an op skip setting Dirty and computing its
 * inexactness once those bits are known set (docs/ARCHITECTURE.md, "Floating point").
 */
import { Cause, Slot } from '../../cpu/csr-numbers.js';
import type { Hart } from '../../cpu/hart.js';
import { Insn, Op } from '../ir.js';
import { W } from '../../jit/wasm-emitter.js';
import { Simd } from '../../jit/host-fma.js';
import { HartBlock } from '../../shm/layout.js';
import { EmitFn, Emitter, Encoding, Ext, Fmt, Interp, NEXT, OpClass, OpDef } from '../op-def.js';
import {
  F32, F64, FAST, FloatFormat, Rm, classify, compare, convert, divSlow, fastF32, fastF64, fastFma64, fmaSlow, fpFlags,
  fromInt, fromNumber, minMax, mulSlow, sqrtSlow, toInt, toNumber, addSlow,
} from '../softfloat.js';
import { F3_MASK, R_MASK, asI, asU, enc, row, trap, wr } from './common.js';

/** funct7 + opcode (the rounding-mode field free). */
const RM_MASK = 0xfe00007f;
/** funct7 + rs2 + opcode (unary ops with a rounding mode). */
const RS2_RM_MASK = 0xfff0007f;
/** funct7 + rs2 + funct3 + opcode. */
const RS2_F3_MASK = 0xfff0707f;
/** The R4 ops: opcode and the format field (bits 26:25). */
const R4_MASK = 0x0600007f;
const OP_FP = 0x53;

const BOX = -0x100000000n; // upper 32 bits all ones

/** The format-specific parts: which extension, how registers hold the values. */
interface Prec {
  ext: Ext;
  f: FloatFormat;
  /** The funct7 format field (0 single, 1 double). */
  fmt: number;
  read(h: Hart, r: number): bigint;
  /** An unsigned value of the format's width into f[r]. */
  write(h: Hart, r: number, v: bigint): void;
  fast: (op: number, a: number, b: number) => number | null;
}

const S: Prec = {
  ext: 'F', f: F32, fmt: 0,
  read: (h, r) => { const v = h.f[r]; return (v & BOX) === BOX ? v & 0xffffffffn : F32.canonicalNaN; },
  write: (h, r, v) => { h.f[r] = v | BOX; },
  fast: fastF32,
};

const D: Prec = {
  ext: 'D', f: F64, fmt: 1,
  read: (h, r) => asU(64, h.f[r]),
  write: (h, r, v) => { h.f[r] = asI(64, v); },
  fast: fastF64,
};

// --- the checks every op starts with ---------------------------------------------------------

// mstatus.FS and fcsr live in the low words of their CSR slots: read and set without BigInt.
const MSTATUS_WORD = 2 * Slot.mstatus;
const FCSR_WORD = 2 * Slot.fcsr;
const FS_BITS = 3 << 13;

function available(h: Hart, p: Prec): boolean {
  return (p === D ? h.features.d : h.features.f) && (h.csrWords[MSTATUS_WORD] & FS_BITS) !== 0;
}

const illegal = (e: Interp, ins: Insn, i: number): number => trap(e, i, Cause.IllegalInsn, BigInt(ins.raw >>> 0));

/** The effective rounding mode of an op with an rm field, or -1 when it is reserved. */
function roundingMode(h: Hart, ins: Insn): number {
  let rm = (ins.raw >>> 12) & 7;
  if (rm === 7) rm = (h.csrWords[FCSR_WORD] >> 5) & 7;
  return rm > 4 ? -1 : rm;
}

/** Writes f[rd] and marks the FP state Dirty. */
function setF(h: Hart, p: Prec, rd: number, v: bigint): void {
  p.write(h, rd, v);
  h.csrWords[MSTATUS_WORD] |= FS_BITS;
}

/** ORs the operation's flags into fflags (and makes FS Dirty when there were any). */
function accrue(h: Hart): void {
  const flags = fpFlags.value;
  if (flags) {
    h.csrWords[FCSR_WORD] |= flags;
    h.csrWords[MSTATUS_WORD] |= FS_BITS;
  }
}

// --- wasm emitters ------------------------------------------------------------------------------

/** An op computed by the call-out: its result goes to x[rd] or is dropped (the op wrote f[rd]). */
const callOut = (writesX: boolean): EmitFn => (g, ins, i, pc) => {
  g.fpCall(ins, i, pc);
  if (writesX) g.writeReg(ins.rd); else g.c.op(W.drop);
  return false;
};
const F_TO_F = callOut(false);
const TO_X = callOut(true);

const MSTATUS_AT = HartBlock.CSRS + 8 * Slot.mstatus;
const FCSR_AT = HartBlock.CSRS + 8 * Slot.fcsr;

/** Pushes i32: |local v| < hi (false for NaN), and > lo when lo is given. */
function emitInRange(g: Emitter, v: number, lo: number | null, hi: number): void {
  const { c } = g;
  c.get(v).op(W.f64_abs).f64(hi).op(W.f64_lt);
  if (lo !== null) c.get(v).op(W.f64_abs).f64(lo).op(W.f64_gt).op(W.i32_and);
}

/** Pushes Dekker's error of the product p = x * y (locals; t, xh, xl, yh, yl scratch): 0 iff exact. */
function emitProductError(g: Emitter, x: number, y: number, p: number, t: number, xh: number, xl: number, yh: number, yl: number): void {
  const { c } = g;
  for (const [v, h, l] of [[x, xh, xl], [y, yh, yl]]) {
    c.f64(FAST.SPLITTER).get(v).op(W.f64_mul).set(t);
    c.get(t).get(t).get(v).op(W.f64_sub).op(W.f64_sub).set(h);
    c.get(v).get(h).op(W.f64_sub).set(l);
  }
  c.get(xh).get(yh).op(W.f64_mul).get(p).op(W.f64_sub);
  c.get(xh).get(yl).op(W.f64_mul).op(W.f64_add);
  c.get(xl).get(yh).op(W.f64_mul).op(W.f64_add);
  c.get(xl).get(yl).op(W.f64_mul).op(W.f64_add);
}

/**
 * The hot path of an RNE binary64 op once NX is known set (g.fpNx): `result` leaves the host's
 * IEEE result in local R (wasm's f64 ops, and the host FMA, round to nearest even exactly as
 * RISC-V does). If R is finite, nonzero and well inside the normal range (SAFE_LO < |R| < SAFE_HI),
 * the op raised nothing but NX, whatever its operands: invalid operations, NaN and infinite operands
 * give a NaN or an infinity, division by zero an infinity, overflow a huge value and underflow a
 * tiny one, all of which fail the test. So R is the answer, with no operand checks and no error
 * term: store it and make FS Dirty (an unconditional OR: the baseline compiler spills its register
 * cache at every merge, so a branch on fpDirty costs more). Otherwise `slow` (the full fast path
 * with its NX computation, or the call-out), which sees the same operands.
 */
function emitWhenNxSet(g: Emitter, ins: Insn, rmField: number, R: number, result: () => void, slow: () => void): void {
  const { c } = g;
  result();
  emitFsAndRne(g, rmField);
  c.get(g.fpNx).op(W.i32_and);
  emitInRange(g, R, FAST.SAFE_LO, FAST.SAFE_HI); c.op(W.i32_and);
  g.openIf();
  g.hb().get(R).mem(W.f64_store, 3, fAt(ins.rd));
  g.hb(); g.hb().mem(W.i32_load, 2, MSTATUS_AT).i32(FS_BITS).op(W.i32_or).mem(W.i32_store, 2, MSTATUS_AT);
  g.elseBranch();
  slow();
  g.closeIf();
}

/**
 * fadd/fsub/fmul/fdiv/fsqrt.d in wasm: the same fast path as softfloat.ts fastF64 (RNE, safe
 * operands and results, NX from an exact error term), guarded by FS and the rounding mode; anything
 * else (other modes, NaNs, infinities, tiny or huge values, FS Off) takes the call-out. The error
 * term only decides NX, so once NX is known set (g.fpNx) the op is one wasm op and a range check.
 */
function emitFastD(kind: number): EmitFn {
  return (g, ins, i, pc) => {
    const rmField = (ins.raw >>> 12) & 7;
    if (!g.features.d || (rmField !== Rm.RNE && rmField !== 7)) return F_TO_F(g, ins, i, pc, 0);
    const { c } = g;
    const [A, B, R, T, XH, XL, YH, YL, P] = g.F;
    g.hb().mem(W.f64_load, 3, fAt(ins.rs1)).set(A);
    if (kind !== 4) g.hb().mem(W.f64_load, 3, fAt(ins.rs2)).set(B);
    if (kind === 1) c.get(B).op(W.f64_neg).set(B);
    // the operands' and the result's ranges, as the full path below checks them
    const operandsOk = (): void => {
      if (kind <= 1) {
        emitInRange(g, A, null, FAST.SAFE_HI);
        emitInRange(g, B, null, FAST.SAFE_HI); c.op(W.i32_and);
      } else if (kind === 4) {
        c.get(A).f64(FAST.SAFE_LO).op(W.f64_gt).get(A).f64(FAST.SAFE_HI).op(W.f64_lt).op(W.i32_and);
      } else {
        emitInRange(g, A, FAST.SAFE_LO, FAST.SAFE_HI);
        emitInRange(g, B, FAST.SAFE_LO, FAST.SAFE_HI); c.op(W.i32_and);
      }
    };
    const resultOk = (): void => {
      if (kind <= 1) emitInRange(g, R, FAST.ADD_MIN, FAST.SAFE_HI);
      else if (kind === 3) emitInRange(g, R, FAST.SAFE_LO, FAST.SAFE_HI);
      else c.i32(1); // mul, sqrt: safe operands give a safe result
    };
    const compute = (): void => {
      c.get(A);
      if (kind !== 4) c.get(B);
      c.op([W.f64_add, W.f64_add, W.f64_mul, W.f64_div, W.f64_sqrt][kind]).set(R);
    };
    const full = (): void => {
      // ok: FS on, rounding mode RNE, and the operands are in the fast path's range
      emitFsAndRne(g, rmField);
      operandsOk(); c.op(W.i32_and);
      if (kind <= 1 || kind === 3) { compute(); resultOk(); c.op(W.i32_and); }
      g.openIf();
      if (kind === 2 || kind === 4) compute();
      g.hb().get(R).mem(W.f64_store, 3, fAt(ins.rd));
      emitDirty(g);
      emitNx(g, () => {
        switch (kind) {
          case 0: case 1: // TwoSum
            c.get(R).get(A).op(W.f64_sub).set(T);
            c.get(A).get(R).get(T).op(W.f64_sub).op(W.f64_sub).get(B).get(T).op(W.f64_sub).op(W.f64_add);
            c.f64(0).op(W.f64_ne);
            break;
          case 2:
            emitProductError(g, A, B, R, T, XH, XL, YH, YL);
            c.f64(0).op(W.f64_ne);
            break;
          case 3: // inexact iff r*b != a exactly
            c.get(R).get(B).op(W.f64_mul).set(P);
            emitProductError(g, R, B, P, T, XH, XL, YH, YL);
            c.f64(0).op(W.f64_ne).get(P).get(A).op(W.f64_ne).op(W.i32_or);
            break;
          default:
            c.get(R).get(R).op(W.f64_mul).set(P);
            emitProductError(g, R, R, P, T, XH, XL, YH, YL);
            c.f64(0).op(W.f64_ne).get(P).get(A).op(W.f64_ne).op(W.i32_or);
        }
      });
      g.elseBranch();
      F_TO_F(g, ins, i, pc, 0);
      g.closeIf();
    };
    emitWhenNxSet(g, ins, rmField, R, compute, full);
    return false;
  };
}
const fAt = (r: number): number => HartBlock.F + 8 * r;

/** Leaves wasm before instruction i when the hart lacks the extension (always) or FS is Off (checked). */
function emitAvailable(g: Emitter, p: Prec, i: number, pc: bigint): void {
  if (!(p === D ? g.features.d : g.features.f)) g.c.i32(1);
  else g.c.get(g.fpOn).op(W.i32_eqz);
  g.bailIf(i, pc);
}

/** Makes FS Dirty unless it is known to be Dirty already. */
function emitDirty(g: Emitter): void {
  const { c } = g;
  c.get(g.fpDirty).op(W.i32_eqz);
  g.openIf();
  g.hb(); g.hb().mem(W.i32_load, 2, MSTATUS_AT).i32(FS_BITS).op(W.i32_or).mem(W.i32_store, 2, MSTATUS_AT);
  c.i32(1).set(g.fpDirty);
  g.closeIf();
}

/**
 * Sets NX when `inexact` (which pushes an i32) says so; skipped, inexact and all, while NX is
 * known to be set already (the flags are sticky: setting it again changes nothing).
 */
function emitNx(g: Emitter, inexact: () => void): void {
  const { c } = g;
  c.get(g.fpNx).op(W.i32_eqz);
  g.openIf();
  inexact();
  g.openIf();
  g.hb(); g.hb().mem(W.i32_load, 2, FCSR_AT).i32(1).op(W.i32_or).mem(W.i32_store, 2, FCSR_AT);
  c.i32(1).set(g.fpNx);
  g.closeIf();
  g.closeIf();
}

/** Fills the Emitter's fpOn/fpRne/fpDirty/fpNx locals from mstatus and fcsr (once per wasm call). */
export function emitFpStateEntry(g: Emitter): void {
  const { c } = g;
  g.hb().mem(W.i32_load, 2, MSTATUS_AT).i32(FS_BITS).op(W.i32_and).tee(g.C);
  c.i32(0).op(W.i32_ne).set(g.fpOn);
  c.get(g.C).i32(FS_BITS).op(W.i32_eq).set(g.fpDirty);
  g.hb().mem(W.i32_load, 2, FCSR_AT).tee(g.C).i32(1).op(W.i32_and).set(g.fpNx);
  c.get(g.C).i32(0xe0).op(W.i32_and).op(W.i32_eqz).get(g.fpOn).op(W.i32_and).set(g.fpRne);
}

/** Pushes i32: FS is not Off (the op may run), and for rm = dyn also frm = RNE. */
function emitFsAndRne(g: Emitter, rmField: number): void {
  g.c.get(rmField === 7 ? g.fpRne : g.fpOn);
}

/**
 * The fmadd.d family in wasm: softfloat.ts fastFma64 step for step (Dekker product, TwoSum,
 * round-to-odd of the low parts, one final RNE addition), with the same guards; anything it
 * would refuse goes to the call-out. Where the host has a fused multiply-add (g.hostFma) and NX is
 * known set, that one op replaces the emulation.
 */
function emitFmaD(negateProduct: boolean, negateAddend: boolean): EmitFn {
  return (g, ins, i, pc) => {
    const rmField = (ins.raw >>> 12) & 7;
    if (!g.features.d || (rmField !== Rm.RNE && rmField !== 7)) return F_TO_F(g, ins, i, pc, 0);
    const { c } = g;
    const [A, B, C, UH, UL, TH, TL, V, VE, R, T, XH, XL, YH, YL, BV] = g.F;
    g.hb().mem(W.f64_load, 3, fAt(ins.rs1)).set(A);
    if (negateProduct) c.get(A).op(W.f64_neg).set(A);
    g.hb().mem(W.f64_load, 3, fAt(ins.rs2)).set(B);
    g.hb().mem(W.f64_load, 3, fAt(ins.raw >>> 27)).set(C);
    if (negateAddend) c.get(C).op(W.f64_neg).set(C);
    const operandsOk = (): void => {
      emitInRange(g, A, FAST.SAFE_LO, FAST.SAFE_HI);
      emitInRange(g, B, FAST.SAFE_LO, FAST.SAFE_HI); c.op(W.i32_and);
      c.get(C).f64(0).op(W.f64_eq);
      emitInRange(g, C, FAST.SAFE_LO, FAST.SAFE_HI);
      c.op(W.i32_or).op(W.i32_and);
    };
    const emulated = (): void => {
      emitFsAndRne(g, rmField);
      operandsOk(); c.op(W.i32_and);
      g.openIf();
      c.get(A).get(B).op(W.f64_mul).set(UH);
      emitProductError(g, A, B, UH, T, XH, XL, YH, YL);
      c.set(UL);
      // th + tl = c + uh
      c.get(C).get(UH).op(W.f64_add).set(TH);
      c.get(TH).get(C).op(W.f64_sub).set(BV);
      c.get(C).get(TH).get(BV).op(W.f64_sub).op(W.f64_sub).get(UH).get(BV).op(W.f64_sub).op(W.f64_add).set(TL);
      // v = tl + ul, error ve
      c.get(TL).get(UL).op(W.f64_add).set(V);
      c.get(V).get(TL).op(W.f64_sub).set(BV);
      c.get(TL).get(V).get(BV).op(W.f64_sub).op(W.f64_sub).get(UL).get(BV).op(W.f64_sub).op(W.f64_add).set(VE);
      // bad (local C, i32): |v| < SAFE_LO while v or its error is nonzero
      c.get(V).op(W.f64_abs).f64(FAST.SAFE_LO).op(W.f64_lt);
      c.get(V).f64(0).op(W.f64_ne).get(VE).f64(0).op(W.f64_ne).op(W.i32_or).op(W.i32_and).set(g.C);
      // round v to odd: an inexact v with an even last bit moves one step (away from or towards
      // zero, whichever is towards the exact value; the sign is not in the low 63 bits)
      c.get(V).op(W.i64_reinterpret_f64).set(g.T);
      c.get(g.T);
      c.i64(1n).i64(-1n).get(VE).f64(0).op(W.f64_gt).get(V).f64(0).op(W.f64_gt).op(W.i32_eq).op(W.select);
      c.op(W.i64_add).op(W.f64_reinterpret_i64);
      c.get(V);
      c.get(VE).f64(0).op(W.f64_ne).get(g.T).i64(1n).op(W.i64_and).op(W.i64_eqz).op(W.i32_and);
      c.op(W.select).set(V);
      // r = RN(th + v) and the result's range
      c.get(TH).get(V).op(W.f64_add).set(R);
      c.get(g.C);
      emitInRange(g, R, FAST.SAFE_LO, FAST.SAFE_HI);
      c.op(W.i32_eqz).op(W.i32_or).op(W.i32_eqz);
      g.openIf();
      g.hb().get(R).mem(W.f64_store, 3, fAt(ins.rd));
      emitDirty(g);
      emitNx(g, () => { // inexact: v was, or r = RN(th + v) is (r's error by TwoSum)
        c.get(R).get(TH).op(W.f64_sub).set(BV);
        c.get(TH).get(R).get(BV).op(W.f64_sub).op(W.f64_sub).get(V).get(BV).op(W.f64_sub).op(W.f64_add);
        c.f64(0).op(W.f64_ne).get(VE).f64(0).op(W.f64_ne).op(W.i32_or);
      });
      g.elseBranch();
      F_TO_F(g, ins, i, pc, 0);
      g.closeIf();
      g.elseBranch();
      F_TO_F(g, ins, i, pc, 0);
      g.closeIf();
    };
    if (!g.hostFma) {
      emulated();
      return false;
    }
    // the host's fused multiply-add is the exact RNE result (jit/host-fma.ts)
    emitWhenNxSet(g, ins, rmField, R, () => {
      c.get(A).simd(Simd.f64x2_splat).get(B).simd(Simd.f64x2_splat).get(C).simd(Simd.f64x2_splat);
      c.simd(Simd.f64x2_relaxed_madd).simd(Simd.f64x2_extract_lane, 0).set(R);
    }, emulated);
    return false;
  };
}

// --- row generators --------------------------------------------------------------------------

const rOp = (funct7: number, p: Prec) => (funct7 | p.fmt) << 25 | OP_FP;

/**
 * A binary64 fast path on the registers as numbers, for round-to-nearest-even (softfloat.ts
 * fastF64/fastFma64): the result, or null for the exact path. It may raise only NX.
 */
type FastD = (f: Float64Array, ins: Insn) => number | null;

/** An op reading f registers and writing f[rd] with a rounding mode. */
function arith(op: Op, name: string, p: Prec, encoding: Encoding, compute: (h: Hart, ins: Insn, rm: Rm, e: Interp) => bigint, fast?: FastD, emit: EmitFn = F_TO_F): OpDef {
  return row(op, name, p.ext, encoding, { cls: OpClass.Alu, emit }, (e, ins, i) => {
    const h = e.hart;
    if (!available(h, p)) return illegal(e, ins, i);
    const rm = roundingMode(h, ins);
    if (rm < 0) return illegal(e, ins, i);
    fpFlags.value = 0;
    if (fast && rm === Rm.RNE) {
      const r = fast(h.fNum, ins);
      if (r !== null) {
        h.fNum[ins.rd] = r; // a number, never NaN here: its bits are stored exactly
        h.csrWords[MSTATUS_WORD] |= FS_BITS;
        accrue(h);
        return NEXT;
      }
    }
    setF(h, p, ins.rd, compute(h, ins, rm, e));
    accrue(h);
    return NEXT;
  });
}

/** add (0), sub (1), mul (2), div (3), sqrt (4): the JS-number fast path for RNE, else the exact one. */
function basic(op: Op, name: string, p: Prec, kind: number, funct7: number): OpDef {
  const { f } = p;
  const slow = (a: bigint, b: bigint, rm: Rm): bigint => {
    switch (kind) {
      case 0: return addSlow(a, b, false, f, rm);
      case 1: return addSlow(a, b, true, f, rm);
      case 2: return mulSlow(a, b, f, rm);
      case 3: return divSlow(a, b, f, rm);
      default: return sqrtSlow(a, f, rm);
    }
  };
  const encoding = kind === 4 ? enc(rOp(funct7, p), RS2_RM_MASK, Fmt.R) : enc(rOp(funct7, p), RM_MASK, Fmt.R);
  const fast: FastD | undefined = p === D ? (fr, ins) => fastF64(kind, fr[ins.rs1], fr[ins.rs2]) : undefined;
  return arith(op, name, p, encoding, (h, ins, rm) => {
    const a = p.read(h, ins.rs1);
    const b = kind === 4 ? 0n : p.read(h, ins.rs2);
    if (rm === Rm.RNE) {
      const r = p.fast(kind, toNumber(a, f), toNumber(b, f));
      if (r !== null) return fromNumber(r, f);
    }
    return slow(a, b, rm);
  }, fast, p === D ? emitFastD(kind) : F_TO_F);
}

function fma(op: Op, name: string, p: Prec, opcode: number, negateProduct: boolean, negateAddend: boolean): OpDef {
  const fast: FastD | undefined = p === D ? (fr, ins) => {
    const a = fr[ins.rs1];
    const c = fr[ins.raw >>> 27];
    return fastFma64(negateProduct ? -a : a, fr[ins.rs2], negateAddend ? -c : c);
  } : undefined;
  return arith(op, name, p, enc((p.fmt << 25) | opcode, R4_MASK, Fmt.R), (h, ins, rm) =>
    fmaSlow(p.read(h, ins.rs1), p.read(h, ins.rs2), p.read(h, ins.raw >>> 27), negateProduct, negateAddend, p.f, rm),
  fast, p === D ? emitFmaD(negateProduct, negateAddend) : F_TO_F);
}

/** An op without a rounding mode writing f[rd] (sign injection, min/max). */
function noRm(op: Op, name: string, p: Prec, funct7: number, f3: number, emit: EmitFn, compute: (a: bigint, b: bigint) => bigint): OpDef {
  return row(op, name, p.ext, enc(rOp(funct7, p) | (f3 << 12), R_MASK, Fmt.R), { cls: OpClass.Alu, emit }, (e, ins, i) => {
    const h = e.hart;
    if (!available(h, p)) return illegal(e, ins, i);
    fpFlags.value = 0;
    setF(h, p, ins.rd, compute(p.read(h, ins.rs1), p.read(h, ins.rs2)));
    accrue(h);
    return NEXT;
  });
}

/** fsgnj/fsgnjn/fsgnjx.d in wasm: bit operations on the registers (FS Off goes to the call-out, which traps). */
function emitSgnjD(f3: number): EmitFn {
  return (g, ins, i, pc) => {
    if (!g.features.d) return F_TO_F(g, ins, i, pc, 0);
    const { c } = g;
    const SIGN = -0x8000000000000000n;
    emitFsAndRne(g, 0);
    g.openIf();
    g.hb();
    g.hb().mem(W.i64_load, 3, fAt(ins.rs1)).i64(~SIGN).op(W.i64_and);
    g.hb().mem(W.i64_load, 3, fAt(ins.rs2));
    if (f3 === 1) c.i64(-1n).op(W.i64_xor);
    if (f3 === 2) g.hb().mem(W.i64_load, 3, fAt(ins.rs1)).op(W.i64_xor);
    c.i64(SIGN).op(W.i64_and).op(W.i64_or).mem(W.i64_store, 3, fAt(ins.rd));
    emitDirty(g);
    g.elseBranch();
    F_TO_F(g, ins, i, pc, 0);
    g.closeIf();
    return false;
  };
}

function sgnj(op: Op, name: string, p: Prec, f3: number): OpDef {
  const { signBit } = p.f;
  return noRm(op, name, p, 0x10, f3, p === D ? emitSgnjD(f3) : F_TO_F, (a, b) => {
    const sign = f3 === 0 ? b & signBit : f3 === 1 ? ~b & signBit : (a ^ b) & signBit;
    return (a & ~signBit) | sign;
  });
}

/** An op reading f registers and writing x[rd] (compares, fclass, conversions to integers, moves). */
function toX(op: Op, name: string, p: Prec, encoding: Encoding, hasRm: boolean, compute: (h: Hart, ins: Insn, rm: Rm) => bigint): OpDef {
  return row(op, name, p.ext, encoding, { cls: OpClass.Alu, emit: TO_X }, (e, ins, i) => {
    const h = e.hart;
    if (!available(h, p)) return illegal(e, ins, i);
    let rm = Rm.RNE;
    if (hasRm) {
      rm = roundingMode(h, ins);
      if (rm < 0) return illegal(e, ins, i);
    }
    fpFlags.value = 0;
    const v = compute(h, ins, rm);
    accrue(h);
    return wr(e, ins, v);
  });
}

function cmp(op: Op, name: string, p: Prec, f3: number, kind: 'eq' | 'lt' | 'le'): OpDef {
  return toX(op, name, p, enc(rOp(0x50, p) | (f3 << 12), R_MASK, Fmt.R), false,
    (h, ins) => compare(p.read(h, ins.rs1), p.read(h, ins.rs2), p.f, kind));
}

/** fcvt.{w,wu,l,lu}.{s,d}: the 32-bit results are sign-extended, the unsigned ones too. */
function cvtToInt(op: Op, name: string, p: Prec, rs2: number, bits: 32 | 64, isSigned: boolean): OpDef {
  return toX(op, name, p, enc(rOp(0x60, p) | (rs2 << 20), RS2_RM_MASK, Fmt.R), true,
    (h, ins, rm) => asI(bits, toInt(p.read(h, ins.rs1), p.f, bits, isSigned, rm)));
}

function cvtFromInt(op: Op, name: string, p: Prec, rs2: number, bits: 32 | 64, isSigned: boolean): OpDef {
  return arith(op, name, p, enc(rOp(0x68, p) | (rs2 << 20), RS2_RM_MASK, Fmt.R), (_h, ins, rm, e) => {
    const x = e.x[ins.rs1];
    return fromInt(isSigned ? asI(bits, x) : asU(bits, x), p.f, rm);
  });
}

/** fmv.x.w / fmv.x.d: the raw bits (sign-extended from 32 for singles; no NaN-box check). */
function mvToX(op: Op, name: string, p: Prec): OpDef {
  return toX(op, name, p, enc(rOp(0x70, p), RS2_F3_MASK, Fmt.R), false,
    (h, ins) => (p === S ? asI(32, h.f[ins.rs1]) : h.f[ins.rs1]));
}

function mvFromX(op: Op, name: string, p: Prec): OpDef {
  return row(op, name, p.ext, enc(rOp(0x78, p), RS2_F3_MASK, Fmt.R), { cls: OpClass.Alu, emit: F_TO_F }, (e, ins, i) => {
    const h = e.hart;
    if (!available(h, p)) return illegal(e, ins, i);
    setF(h, p, ins.rd, asU(p.f.width, e.x[ins.rs1]));
    return NEXT;
  });
}

function fload(op: Op, name: string, p: Prec, f3: number, size: 4 | 8): OpDef {
  const emit: EmitFn = (g, ins, i, pc) => {
    emitAvailable(g, p, i, pc);
    g.loadValue(ins, i, pc, size, size === 8 ? W.i64_load : W.i64_load32_u);
    if (size === 4) g.c.i64(BOX).op(W.i64_or);
    g.c.set(g.T); g.hb().get(g.T).mem(W.i64_store, 3, fAt(ins.rd));
    emitDirty(g);
    return false;
  };
  return row(op, name, p.ext, enc((f3 << 12) | 0x07, F3_MASK, Fmt.I), { cls: OpClass.Load, memSize: size, emit }, (e, ins, i) => {
    const h = e.hart;
    if (!available(h, p)) return illegal(e, ins, i);
    const v = e.load(asI(64, e.x[ins.rs1] + ins.imm), size, false);
    if (h.trapCause >= 0) return e.fault(i);
    setF(h, p, ins.rd, asU(size * 8, v));
    return NEXT;
  });
}

function fstore(op: Op, name: string, p: Prec, f3: number, size: 4 | 8): OpDef {
  const emit: EmitFn = (g, ins, i, pc) => {
    emitAvailable(g, p, i, pc);
    g.storeValue(ins, i, pc, size, size === 8 ? W.i64_store : W.i64_store32, () => { g.hb().mem(W.i64_load, 3, fAt(ins.rs2)); });
    return false;
  };
  return row(op, name, p.ext, enc((f3 << 12) | 0x27, F3_MASK, Fmt.S), { cls: OpClass.Store, memSize: size, emit }, (e, ins, i) => {
    const h = e.hart;
    if (!available(h, p)) return illegal(e, ins, i);
    e.store(asI(64, e.x[ins.rs1] + ins.imm), size, h.f[ins.rs2]);
    if (h.trapCause >= 0) return e.fault(i);
    return NEXT;
  });
}

function rows(p: Prec, ops: Record<string, Op>, n: string): OpDef[] {
  const x = (k: string) => ops[k];
  return [
    p === S ? fload(x('FL'), 'flw', p, 2, 4) : fload(x('FL'), 'fld', p, 3, 8),
    p === S ? fstore(x('FS'), 'fsw', p, 2, 4) : fstore(x('FS'), 'fsd', p, 3, 8),
    fma(x('FMADD'), `fmadd.${n}`, p, 0x43, false, false),
    fma(x('FMSUB'), `fmsub.${n}`, p, 0x47, false, true),
    fma(x('FNMSUB'), `fnmsub.${n}`, p, 0x4b, true, false),
    fma(x('FNMADD'), `fnmadd.${n}`, p, 0x4f, true, true),
    basic(x('FADD'), `fadd.${n}`, p, 0, 0x00),
    basic(x('FSUB'), `fsub.${n}`, p, 1, 0x04),
    basic(x('FMUL'), `fmul.${n}`, p, 2, 0x08),
    basic(x('FDIV'), `fdiv.${n}`, p, 3, 0x0c),
    basic(x('FSQRT'), `fsqrt.${n}`, p, 4, 0x2c),
    sgnj(x('FSGNJ'), `fsgnj.${n}`, p, 0),
    sgnj(x('FSGNJN'), `fsgnjn.${n}`, p, 1),
    sgnj(x('FSGNJX'), `fsgnjx.${n}`, p, 2),
    noRm(x('FMIN'), `fmin.${n}`, p, 0x14, 0, F_TO_F, (a, b) => minMax(a, b, p.f, false)),
    noRm(x('FMAX'), `fmax.${n}`, p, 0x14, 1, F_TO_F, (a, b) => minMax(a, b, p.f, true)),
    cvtToInt(x('FCVT_W'), `fcvt.w.${n}`, p, 0, 32, true),
    cvtToInt(x('FCVT_WU'), `fcvt.wu.${n}`, p, 1, 32, false),
    cvtToInt(x('FCVT_L'), `fcvt.l.${n}`, p, 2, 64, true),
    cvtToInt(x('FCVT_LU'), `fcvt.lu.${n}`, p, 3, 64, false),
    mvToX(x('FMV_X'), p === S ? 'fmv.x.w' : 'fmv.x.d', p),
    cmp(x('FEQ'), `feq.${n}`, p, 2, 'eq'),
    cmp(x('FLT'), `flt.${n}`, p, 1, 'lt'),
    cmp(x('FLE'), `fle.${n}`, p, 0, 'le'),
    toX(x('FCLASS'), `fclass.${n}`, p, enc(rOp(0x70, p) | (1 << 12), RS2_F3_MASK, Fmt.R), false,
      (h, ins) => classify(p.read(h, ins.rs1), p.f)),
    cvtFromInt(x('FCVT_FROM_W'), `fcvt.${n}.w`, p, 0, 32, true),
    cvtFromInt(x('FCVT_FROM_WU'), `fcvt.${n}.wu`, p, 1, 32, false),
    cvtFromInt(x('FCVT_FROM_L'), `fcvt.${n}.l`, p, 2, 64, true),
    cvtFromInt(x('FCVT_FROM_LU'), `fcvt.${n}.lu`, p, 3, 64, false),
    mvFromX(x('FMV_FROM_X'), p === S ? 'fmv.w.x' : 'fmv.d.x', p),
  ];
}

export const RV64F: readonly OpDef[] = rows(S, {
  FL: Op.FLW, FS: Op.FSW, FMADD: Op.FMADD_S, FMSUB: Op.FMSUB_S, FNMSUB: Op.FNMSUB_S, FNMADD: Op.FNMADD_S,
  FADD: Op.FADD_S, FSUB: Op.FSUB_S, FMUL: Op.FMUL_S, FDIV: Op.FDIV_S, FSQRT: Op.FSQRT_S,
  FSGNJ: Op.FSGNJ_S, FSGNJN: Op.FSGNJN_S, FSGNJX: Op.FSGNJX_S, FMIN: Op.FMIN_S, FMAX: Op.FMAX_S,
  FCVT_W: Op.FCVT_W_S, FCVT_WU: Op.FCVT_WU_S, FCVT_L: Op.FCVT_L_S, FCVT_LU: Op.FCVT_LU_S, FMV_X: Op.FMV_X_W,
  FEQ: Op.FEQ_S, FLT: Op.FLT_S, FLE: Op.FLE_S, FCLASS: Op.FCLASS_S,
  FCVT_FROM_W: Op.FCVT_S_W, FCVT_FROM_WU: Op.FCVT_S_WU, FCVT_FROM_L: Op.FCVT_S_L, FCVT_FROM_LU: Op.FCVT_S_LU, FMV_FROM_X: Op.FMV_W_X,
}, 's');

export const RV64D: readonly OpDef[] = [
  ...rows(D, {
    FL: Op.FLD, FS: Op.FSD, FMADD: Op.FMADD_D, FMSUB: Op.FMSUB_D, FNMSUB: Op.FNMSUB_D, FNMADD: Op.FNMADD_D,
    FADD: Op.FADD_D, FSUB: Op.FSUB_D, FMUL: Op.FMUL_D, FDIV: Op.FDIV_D, FSQRT: Op.FSQRT_D,
    FSGNJ: Op.FSGNJ_D, FSGNJN: Op.FSGNJN_D, FSGNJX: Op.FSGNJX_D, FMIN: Op.FMIN_D, FMAX: Op.FMAX_D,
    FCVT_W: Op.FCVT_W_D, FCVT_WU: Op.FCVT_WU_D, FCVT_L: Op.FCVT_L_D, FCVT_LU: Op.FCVT_LU_D, FMV_X: Op.FMV_X_D,
    FEQ: Op.FEQ_D, FLT: Op.FLT_D, FLE: Op.FLE_D, FCLASS: Op.FCLASS_D,
    FCVT_FROM_W: Op.FCVT_D_W, FCVT_FROM_WU: Op.FCVT_D_WU, FCVT_FROM_L: Op.FCVT_D_L, FCVT_FROM_LU: Op.FCVT_D_LU, FMV_FROM_X: Op.FMV_D_X,
  }, 'd'),
  // Between the formats (D's rows): fcvt.s.d rounds, fcvt.d.s is exact.
  arith(Op.FCVT_S_D, 'fcvt.s.d', D, enc((0x20 << 25) | (1 << 20) | OP_FP, RS2_RM_MASK, Fmt.R), (h, ins, rm) =>
    convert(D.read(h, ins.rs1), F64, F32, rm) | BOX),
  arith(Op.FCVT_D_S, 'fcvt.d.s', D, enc((0x21 << 25) | OP_FP, RS2_RM_MASK, Fmt.R), (h, ins, rm) =>
    convert(S.read(h, ins.rs1), F32, F64, rm)),
];
