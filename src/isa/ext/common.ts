/**
 * Row builders shared by the extension modules: encodings, the table columns each op class
 * implies, and the register-write choke point of interpreter semantics.
 */
import type { Cause } from '../../cpu/csr-numbers.js';
import { W } from '../../jit/wasm-emitter.js';
import type { Insn, Op } from '../ir.js';
import { EmitFn, Emitter, Encoding, ExecFn, Ext, Fmt, Interp, JitMode, NEXT, OpClass, OpDef } from '../op-def.js';

export const R_MASK = 0xfe00707f;
export const F3_MASK = 0x0000707f;
export const SH6_MASK = 0xfc00707f;
export const FULL_MASK = 0xffffffff;

export const asI = BigInt.asIntN;
export const asU = BigInt.asUintN;

export function enc(match: number, mask: number, fmt: Fmt): Encoding {
  return { match: match >>> 0, mask: mask >>> 0, fmt };
}

export interface Columns {
  cls: OpClass;
  memSize?: OpDef['memSize'];
  memSigned?: boolean;
  endsBlock?: boolean;
  /** Inline when `emit` is given, else Bail. */
  emit?: EmitFn;
  /** A Bail op's instances compiled anyway (OpDef.some). */
  some?: OpDef['some'];
}

export function row(op: Op, name: string, ext: Ext, encoding: Encoding | null, cols: Columns, exec: ExecFn): OpDef {
  return {
    op, name, ext, encoding,
    cls: cols.cls,
    memSize: cols.memSize ?? 0,
    memSigned: cols.memSigned ?? false,
    endsBlock: cols.endsBlock ?? false,
    jit: cols.emit ? JitMode.Inline : JitMode.Bail,
    exec,
    emit: cols.emit ?? null,
    some: cols.some ?? null,
  };
}

/** The one place interpreter semantics write rd: x0 stays zero. */
export function wr(e: Interp, ins: Insn, value: bigint): number {
  if (ins.rd) e.x[ins.rd] = value;
  return NEXT;
}

/** Raises `cause` for instruction i (which does not retire) and ends the block. */
export function trap(e: Interp, i: number, cause: Cause, tval: bigint): number {
  e.hart.raise(cause, tval);
  return e.fault(i);
}

/**
 * A register-to-register op (rs1 and rs2 or the immediate in, rd out). `exec` is written per op
 * (one specialised function each: the executor's dispatch is a single indirect call); `emit`
 * pushes the result, which the builder stores into rd — or emits nothing when rd is x0.
 */
export function alu(op: Op, name: string, ext: Ext, encoding: Encoding, exec: ExecFn, emit: (g: Emitter, ins: Insn) => void): OpDef {
  return row(op, name, ext, encoding, {
    cls: OpClass.Alu,
    emit: (g, ins) => {
      if (ins.rd === 0) return false; // nothing architecturally visible happens
      g.writeRegWith(ins.rd, () => emit(g, ins));
      return false;
    },
  }, exec);
}

// Emitter shorthands: operands as i64, or as their low 32 bits.
export const a64 = (g: Emitter, ins: Insn): void => g.readReg(ins.rs1);
export const b64 = (g: Emitter, ins: Insn): void => g.readReg(ins.rs2);
export const a32 = (g: Emitter, ins: Insn): void => { g.readReg(ins.rs1); g.c.op(W.i32_wrap_i64); };
export const b32 = (g: Emitter, ins: Insn): void => { g.readReg(ins.rs2); g.c.op(W.i32_wrap_i64); };
/** Sign-extends the i32 on the stack to i64 (the *W ops' result). */
export const sx = (g: Emitter): void => { g.c.op(W.i64_extend_i32_s); };
