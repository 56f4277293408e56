/**
 * RV64A: LR/SC and AMOs on host atomics over the shared memory (min/max by compare-exchange
 * loops). LR remembers address and value; SC is a compare-exchange against that value (QEMU's
 * scheme, ABA accepted).
 */
import { A, W } from '../../jit/wasm-emitter.js';
import { Insn, Op } from '../ir.js';
import { EmitFn, Emitter, ExecFn, Fmt, Interp, NEXT, OpClass, OpDef } from '../op-def.js';
import { asI, asU, enc, row, wr } from './common.js';

const AMO_MASK = 0xf800707f;
const LR_MASK = 0xf9f0707f;
const amoEnc = (funct5: number, size: 4 | 8, mask = AMO_MASK) => enc((funct5 << 27) | (size === 4 ? 0x202f : 0x302f), mask, Fmt.Amo);

// --- interpreter ------------------------------------------------------------------------------
function lr(e: Interp, ins: Insn, i: number, size: 4 | 8): number {
  const pa = e.atomicTarget(e.x[ins.rs1], size, true, true);
  if (pa < 0) return e.fault(i);
  const idx = pa + e.ramDelta;
  const old = size === 4 ? BigInt(Atomics.load(e.i32, idx >> 2)) : Atomics.load(e.i64, idx >> 3);
  e.hart.setReservation(pa, old);
  return wr(e, ins, old);
}

function sc(e: Interp, ins: Insn, i: number, size: 4 | 8): number {
  const addr = e.x[ins.rs1];
  const src = e.x[ins.rs2];
  const pa = e.atomicTarget(addr, size, false, false);
  if (pa < 0) return e.fault(i);
  const idx = pa + e.ramDelta;
  const seen = e.hart.takeReservation(pa);
  let ok = false;
  if (seen !== null) {
    ok = size === 4
      ? Atomics.compareExchange(e.i32, idx >> 2, Number(seen), Number(asI(32, src))) === Number(seen)
      : Atomics.compareExchange(e.i64, idx >> 3, seen, src) === seen;
  }
  wr(e, ins, ok ? 0n : 1n);
  if (ok) { e.bus.noteRamWrite(pa, size); e.noteAtomicWrite(addr, pa, size); }
  return NEXT;
}

function amoW(e: Interp, ins: Insn, i: number, rmw: (m: Int32Array, k: number, s: number) => number): number {
  const src = e.x[ins.rs2];
  const pa = e.atomicTarget(e.x[ins.rs1], 4, false, true);
  if (pa < 0) return e.fault(i);
  const old = rmw(e.i32, (pa + e.ramDelta) >> 2, Number(asI(32, src)));
  e.bus.noteRamWrite(pa, 4);
  return wr(e, ins, BigInt(old));
}

function amoD(e: Interp, ins: Insn, i: number, rmw: (m: BigInt64Array, k: number, s: bigint) => bigint): number {
  const src = e.x[ins.rs2];
  const pa = e.atomicTarget(e.x[ins.rs1], 8, false, true);
  if (pa < 0) return e.fault(i);
  const old = rmw(e.i64, (pa + e.ramDelta) >> 3, src);
  e.bus.noteRamWrite(pa, 8);
  return wr(e, ins, old);
}

function cas32(m: Int32Array, k: number, s: number, pick: (cur: number, s: number) => number): number {
  for (;;) {
    const cur = Atomics.load(m, k);
    if (Atomics.compareExchange(m, k, cur, pick(cur, s)) === cur) return cur;
  }
}

function cas64(m: BigInt64Array, k: number, s: bigint, pick: (cur: bigint, s: bigint) => bigint): bigint {
  for (;;) {
    const cur = Atomics.load(m, k);
    if (Atomics.compareExchange(m, k, cur, pick(cur, s)) === cur) return cur;
  }
}

// --- wasm -------------------------------------------------------------------------------------
function emitLr(size: 4 | 8): EmitFn {
  return (g, ins, i, pc) => {
    const c = g.c;
    g.atomicTarget(ins, i, pc, size, true);
    c.get(g.M);
    if (size === 4) c.atomic(A.i32_load, 2, 0).op(W.i64_extend_i32_s);
    else c.atomic(A.i64_load, 3, 0);
    c.set(g.T);
    g.hb(); g.physOfM(); c.mem(W.i64_store, 3, g.resAddr);
    g.hb().get(g.T).mem(W.i64_store, 3, g.resValue);
    g.hb().i32(1).mem(W.i32_store, 2, g.resValid);
    c.get(g.T);
    g.writeReg(ins.rd);
    return false;
  };
}

function emitSc(size: 4 | 8): EmitFn {
  return (g, ins, i, pc) => {
    const { c, T, T2, C, C2 } = g;
    g.readReg(ins.rs2); c.set(T2);
    g.atomicTarget(ins, i, pc, size, false);
    g.hb().mem(W.i32_load, 2, g.resValid).i32(1).op(W.i32_eq);
    g.hb().mem(W.i64_load, 3, g.resAddr);
    g.physOfM();
    c.op(W.i64_eq).op(W.i32_and).set(C2);
    g.hb().i32(0).mem(W.i32_store, 2, g.resValid);
    c.get(C2).if_();
    if (size === 4) {
      c.get(g.M); g.hb().mem(W.i64_load, 3, g.resValue).op(W.i32_wrap_i64).tee(C)
        .get(T2).op(W.i32_wrap_i64).atomic(A.i32_rmw_cmpxchg, 2, 0).get(C).op(W.i32_eq).set(C2);
    } else {
      c.get(g.M); g.hb().mem(W.i64_load, 3, g.resValue).tee(T)
        .get(T2).atomic(A.i64_rmw_cmpxchg, 3, 0).get(T).op(W.i64_eq).set(C2);
    }
    c.end();
    c.get(C2).op(W.i32_eqz).op(W.i64_extend_i32_u);
    g.writeReg(ins.rd);
    c.get(C2).if_();
    g.noteWrite(ins, i, pc);
    c.end();
    return false;
  };
}

/** The common tail of an AMO: the old value is in T; the write is noted, the old value goes to rd. */
function amoEmit(size: 4 | 8, body: (g: Emitter) => void): EmitFn {
  return (g, ins, i, pc) => {
    g.readReg(ins.rs2); g.c.set(g.T2);
    g.atomicTarget(ins, i, pc, size, false);
    body(g);
    g.c.get(g.T);
    g.writeReg(ins.rd);
    g.noteWrite(ins, i, pc);
    return false;
  };
}

/** A wasm atomic read-modify-write with T2 as the operand. */
const rmw = (size: 4 | 8, op32: A, op64: A) => amoEmit(size, (g) => {
  g.c.get(g.M).get(g.T2);
  if (size === 4) g.c.op(W.i32_wrap_i64).atomic(op32, 2, 0).op(W.i64_extend_i32_s);
  else g.c.atomic(op64, 3, 0);
  g.c.set(g.T);
});

/** min/max: a compare-exchange loop keeping the old value when `keepOld` holds for (old, operand). */
const minMax = (size: 4 | 8, keepOld: W) => amoEmit(size, (g) => {
  const { c, M, T, T2, C, C2 } = g;
  if (size === 4) {
    c.get(T2).op(W.i32_wrap_i64).set(C2);
    c.loop();
    c.get(M).get(M).atomic(A.i32_load, 2, 0).tee(C);
    c.get(C).get(C2).get(C).get(C2).op(keepOld).op(W.select);
    c.atomic(A.i32_rmw_cmpxchg, 2, 0).get(C).op(W.i32_ne).brIf(0);
    c.end();
    c.get(C).op(W.i64_extend_i32_s).set(T);
  } else {
    c.loop();
    c.get(M).get(M).atomic(A.i64_load, 3, 0).tee(T);
    c.get(T).get(T2).get(T).get(T2).op(keepOld).op(W.select);
    c.atomic(A.i64_rmw_cmpxchg, 3, 0).get(T).op(W.i64_ne).brIf(0);
    c.end();
  }
});

// --- rows -------------------------------------------------------------------------------------
const lrRow = (op: Op, name: string, size: 4 | 8, exec: ExecFn) =>
  row(op, name, 'A', amoEnc(0b00010, size, LR_MASK), { cls: OpClass.Lr, memSize: size, emit: emitLr(size) }, exec);
const scRow = (op: Op, name: string, size: 4 | 8, exec: ExecFn) =>
  row(op, name, 'A', amoEnc(0b00011, size), { cls: OpClass.Sc, memSize: size, emit: emitSc(size) }, exec);
const amoRow = (op: Op, name: string, funct5: number, size: 4 | 8, exec: ExecFn, emit: EmitFn) =>
  row(op, name, 'A', amoEnc(funct5, size), { cls: OpClass.Amo, memSize: size, emit }, exec);


export const RV64A: readonly OpDef[] = [
  lrRow(Op.LR_W, 'lr.w', 4, (e, a, i) => lr(e, a, i, 4)),
  scRow(Op.SC_W, 'sc.w', 4, (e, a, i) => sc(e, a, i, 4)),
  amoRow(Op.AMOSWAP_W, 'amoswap.w', 0b00001, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => Atomics.exchange(m, k, s)), rmw(4, A.i32_rmw_xchg, A.i64_rmw_xchg)),
  amoRow(Op.AMOADD_W, 'amoadd.w', 0b00000, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => Atomics.add(m, k, s)), rmw(4, A.i32_rmw_add, A.i64_rmw_add)),
  amoRow(Op.AMOXOR_W, 'amoxor.w', 0b00100, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => Atomics.xor(m, k, s)), rmw(4, A.i32_rmw_xor, A.i64_rmw_xor)),
  amoRow(Op.AMOAND_W, 'amoand.w', 0b01100, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => Atomics.and(m, k, s)), rmw(4, A.i32_rmw_and, A.i64_rmw_and)),
  amoRow(Op.AMOOR_W, 'amoor.w', 0b01000, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => Atomics.or(m, k, s)), rmw(4, A.i32_rmw_or, A.i64_rmw_or)),
  amoRow(Op.AMOMIN_W, 'amomin.w', 0b10000, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => cas32(m, k, s, (c, v) => Math.min(c, v))), minMax(4, W.i32_lt_s)),
  amoRow(Op.AMOMAX_W, 'amomax.w', 0b10100, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => cas32(m, k, s, (c, v) => Math.max(c, v))), minMax(4, W.i32_gt_s)),
  amoRow(Op.AMOMINU_W, 'amominu.w', 0b11000, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => cas32(m, k, s, (c, v) => ((c >>> 0) < (v >>> 0) ? c : v))), minMax(4, W.i32_lt_u)),
  amoRow(Op.AMOMAXU_W, 'amomaxu.w', 0b11100, 4, (e, a, i) => amoW(e, a, i, (m, k, s) => cas32(m, k, s, (c, v) => ((c >>> 0) > (v >>> 0) ? c : v))), minMax(4, W.i32_gt_u)),
  lrRow(Op.LR_D, 'lr.d', 8, (e, a, i) => lr(e, a, i, 8)),
  scRow(Op.SC_D, 'sc.d', 8, (e, a, i) => sc(e, a, i, 8)),
  amoRow(Op.AMOSWAP_D, 'amoswap.d', 0b00001, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => Atomics.exchange(m, k, s)), rmw(8, A.i32_rmw_xchg, A.i64_rmw_xchg)),
  amoRow(Op.AMOADD_D, 'amoadd.d', 0b00000, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => Atomics.add(m, k, s)), rmw(8, A.i32_rmw_add, A.i64_rmw_add)),
  amoRow(Op.AMOXOR_D, 'amoxor.d', 0b00100, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => Atomics.xor(m, k, s)), rmw(8, A.i32_rmw_xor, A.i64_rmw_xor)),
  amoRow(Op.AMOAND_D, 'amoand.d', 0b01100, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => Atomics.and(m, k, s)), rmw(8, A.i32_rmw_and, A.i64_rmw_and)),
  amoRow(Op.AMOOR_D, 'amoor.d', 0b01000, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => Atomics.or(m, k, s)), rmw(8, A.i32_rmw_or, A.i64_rmw_or)),
  amoRow(Op.AMOMIN_D, 'amomin.d', 0b10000, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => cas64(m, k, s, (c, v) => (c < v ? c : v))), minMax(8, W.i64_lt_s)),
  amoRow(Op.AMOMAX_D, 'amomax.d', 0b10100, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => cas64(m, k, s, (c, v) => (c > v ? c : v))), minMax(8, W.i64_gt_s)),
  amoRow(Op.AMOMINU_D, 'amominu.d', 0b11000, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => cas64(m, k, s, (c, v) => (asU(64, c) < asU(64, v) ? c : v))), minMax(8, W.i64_lt_u)),
  amoRow(Op.AMOMAXU_D, 'amomaxu.d', 0b11100, 8, (e, a, i) => amoD(e, a, i, (m, k, s) => cas64(m, k, s, (c, v) => (asU(64, c) > asU(64, v) ? c : v))), minMax(8, W.i64_gt_u)),
];
