/**
 * The instruction table: one row per op (op-def.ts), assembled from the per-extension modules in
 * ext/. Each row carries the encoding (for the decoder), the execution-relevant columns (class,
 * memory access size and signedness, ends-block, JIT mode) and the op's semantics for both tiers
 * (interpreter function and wasm emitter, side by side). The decoder, the names shown in
 * diagnostics, the block former, the reference executor's dispatch, the JIT's code generator and
 * its region finder all derive from it; src/isa/check.ts validates it at load time and
 * test/unit/op-coverage.test.ts proves every op is implemented by both tiers.
 */
import { checkOpTable } from './check.js';
import { RV64A } from './ext/a.js';
import { RV64D, RV64F } from './ext/fd.js';
import { RV64M } from './ext/m.js';
import { PRIV } from './ext/priv.js';
import { RV64I } from './ext/rv64i.js';
import { ZICSR } from './ext/zicsr.js';
import { ZBA, ZBB, ZBS } from './ext/zb.js';
import { ZIFENCEI } from './ext/zifencei.js';
import { Insn, Op } from './ir.js';
import { Ext, Fmt, JitMode, OpClass, OpDef } from './op-def.js';

/** Every op once, grouped by extension. */
export const OP_TABLE: readonly OpDef[] = [...RV64I, ...RV64M, ...RV64A, ...RV64F, ...RV64D, ...ZICSR, ...ZIFENCEI, ...PRIV, ...ZBA, ...ZBB, ...ZBS];

{
  const problems = checkOpTable(OP_TABLE);
  if (problems.length) throw new Error(`instruction table: ${problems.join('; ')}`);
}

/** The rows indexed by op (dense: the check above proved every op has exactly one). */
export const OP_DEFS: readonly OpDef[] = (() => {
  const defs: OpDef[] = [];
  for (const d of OP_TABLE) defs[d.op] = d;
  return defs;
})();

/** A 32-bit encoding as the decoder sees it. */
export interface InsnSpec {
  name: string;
  match: number;
  mask: number;
  fmt: Fmt;
  op: Op;
  ext: Ext;
}

/** The encodings of the table (every op but ILLEGAL), for the decoder and the overlap check. */
export function encodingsOf(table: readonly OpDef[]): InsnSpec[] {
  const out: InsnSpec[] = [];
  for (const d of table) if (d.encoding) out.push({ name: d.name, ...d.encoding, op: d.op, ext: d.ext });
  return out;
}

export const INSN_TABLE: readonly InsnSpec[] = encodingsOf(OP_TABLE);

/** Names by op, for disassembly and diagnostics. */
export const OP_NAMES: ReadonlyMap<Op, string> = new Map(OP_TABLE.map((d) => [d.op, d.name]));

// Derived facts, as dense arrays (asked on translation and compile paths).
const ENDS_BLOCK = Uint8Array.from(OP_DEFS, (d) => (d.endsBlock ? 1 : 0));
const JIT_INLINE = Uint8Array.from(OP_DEFS, (d) => (d.jit === JitMode.Inline ? 1 : 0));
const CLASS = Uint8Array.from(OP_DEFS, (d) => d.cls);

/** A translation block ends after this op. */
export function endsBlock(op: Op): boolean {
  return ENDS_BLOCK[op] === 1;
}

/** The JIT emits this op inline (otherwise it bails to the reference executor before it). */
export function jitInline(op: Op): boolean {
  return JIT_INLINE[op] === 1;
}

/** Whether compiled code runs this instruction (an inline op, or an instance a bailing op compiles: OpDef.some). */
export function jitCompiles(ins: Insn): boolean {
  return JIT_INLINE[ins.op] === 1 || (OP_DEFS[ins.op].some?.compiles(ins) ?? false);
}

export function opClass(op: Op): OpClass {
  return CLASS[op] as OpClass;
}
