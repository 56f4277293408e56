/**
 * BigInt-free versions of the integer ops cold guest code runs most, for the reference executor.
 *
 * The instruction table's semantics (src/isa/ext/) compute with BigInt: every register read from
 * the BigInt64Array makes a heap BigInt, and so does every result. On a 1-hart Linux boot the JIT
 * leaves ~2.5M instructions (cold pages) to the reference executor, and they cost about a third of
 * the hart thread. These ops do the same on the registers' 32-bit halves (Executor.x32: lo at 2r,
 * hi at 2r+1) and, for loads and stores, on the address as an exact double (canonical addresses
 * are below 2^53 in magnitude); anything else (an address that is not, MMIO, a misaligned or
 * watched access) goes to the table's own semantics. The table stays the oracle: the unit test
 * test/unit/fast-ops.test.ts compares every op here with it on random operands.
 *
 * Chosen by the op mix of the boot's reference instructions (addi 13%, ld 12%, sd 11%, add 10%,
 * addiw 4%, addw 3%, or, slliw, lw, xor, srliw, lbu, slli, andi, sw, srli, lui ...: 98% of them
 * are integer ALU ops, loads, stores, jumps and branches). Branches compare here and compute their
 * target as the table does (the pc is a BigInt); jumps stay on the table's semantics.
 */
import type { Insn } from '../isa/ir.js';
import { NEXT, type ExecFn, type Interp } from '../isa/op-def.js';
import { Op, OP_COUNT } from '../isa/ir.js';

/** What the fast ops need of the reference executor (exec/executor.ts implements it). */
export interface FastInterp extends Interp {
  /** The integer registers as 32-bit halves: x[r] = x32[2r] (low, as unsigned) + 2^32 * x32[2r + 1]. */
  readonly x32: Int32Array;
  /** Runs a load (rd, rs1 + imm) on the number path; falls back to the table's semantics. */
  loadN(ins: Insn, i: number, size: 1 | 2 | 4 | 8, signed: boolean): number;
  /** Runs a store (rs2 to rs1 + imm) on the number path; falls back to the table's semantics. */
  storeN(ins: Insn, i: number, size: 1 | 2 | 4 | 8): number;
}

type Fast = (e: FastInterp, ins: Insn, i: number) => number;

function set(x: Int32Array, rd: number, lo: number, hi: number): number {
  if (rd !== 0) {
    x[2 * rd] = lo;
    x[2 * rd + 1] = hi;
  }
  return NEXT;
}

/** rd = rs1 + (lo, hi), 64-bit. */
function add64(x: Int32Array, rd: number, rs1: number, lo: number, hi: number): number {
  const a = 2 * rs1;
  const s = (x[a] >>> 0) + (lo >>> 0);
  return set(x, rd, s | 0, (x[a + 1] + hi + (s > 0xffffffff ? 1 : 0)) | 0);
}

/** rd = rs1 << sh (sh in 0..63). */
function shl64(x: Int32Array, rd: number, rs1: number, sh: number): number {
  const lo = x[2 * rs1], hi = x[2 * rs1 + 1];
  if (sh === 0) return set(x, rd, lo, hi);
  if (sh < 32) return set(x, rd, lo << sh, (hi << sh) | (lo >>> (32 - sh)));
  return set(x, rd, 0, lo << (sh - 32));
}

/** rd = rs1 >> sh, logical (sh in 0..63). */
function shr64(x: Int32Array, rd: number, rs1: number, sh: number): number {
  const lo = x[2 * rs1], hi = x[2 * rs1 + 1];
  if (sh === 0) return set(x, rd, lo, hi);
  if (sh < 32) return set(x, rd, (lo >>> sh) | (hi << (32 - sh)), hi >>> sh);
  return set(x, rd, hi >>> (sh - 32), 0);
}

/** rd = rs1 >> sh, arithmetic (sh in 0..63). */
function sra64(x: Int32Array, rd: number, rs1: number, sh: number): number {
  const lo = x[2 * rs1], hi = x[2 * rs1 + 1];
  if (sh === 0) return set(x, rd, lo, hi);
  if (sh < 32) return set(x, rd, (lo >>> sh) | (hi << (32 - sh)), hi >> sh);
  return set(x, rd, hi >> (sh - 32), hi >> 31);
}

/** A 32-bit result, sign-extended (the *W ops). */
function setW(x: Int32Array, rd: number, v: number): number {
  return set(x, rd, v, v >> 31);
}

function lessSigned(x: Int32Array, a: number, blo: number, bhi: number): boolean {
  const ahi = x[2 * a + 1];
  return ahi < bhi || (ahi === bhi && (x[2 * a] >>> 0) < (blo >>> 0));
}

function lessUnsigned(x: Int32Array, a: number, blo: number, bhi: number): boolean {
  const ahi = x[2 * a + 1] >>> 0, bh = bhi >>> 0;
  return ahi < bh || (ahi === bh && (x[2 * a] >>> 0) < (blo >>> 0));
}

/** Ends the block with a conditional branch of instruction i (the pc stays a BigInt: Hart.pc is one). */
function branch(e: FastInterp, ins: Insn, i: number, taken: boolean): number {
  const pc = e.pcAt(i);
  return e.jumpTo(BigInt.asIntN(64, taken ? pc + ins.imm : pc + (ins.len === 2 ? 2n : 4n)));
}

const same = (x: Int32Array, a: number, b: number): boolean => x[2 * a] === x[2 * b] && x[2 * a + 1] === x[2 * b + 1];

const lo = (x: Int32Array, r: number): number => x[2 * r];
const hi = (x: Int32Array, r: number): number => x[2 * r + 1];

const FAST: [Op, Fast][] = [
  [Op.LUI, (e, a) => setW(e.x32, a.rd, a.immN)],
  [Op.ADDI, (e, a) => add64(e.x32, a.rd, a.rs1, a.immN, a.immN >> 31)],
  [Op.SLTI, (e, a) => set(e.x32, a.rd, lessSigned(e.x32, a.rs1, a.immN, a.immN >> 31) ? 1 : 0, 0)],
  [Op.SLTIU, (e, a) => set(e.x32, a.rd, lessUnsigned(e.x32, a.rs1, a.immN, a.immN >> 31) ? 1 : 0, 0)],
  [Op.XORI, (e, a) => set(e.x32, a.rd, lo(e.x32, a.rs1) ^ a.immN, hi(e.x32, a.rs1) ^ (a.immN >> 31))],
  [Op.ORI, (e, a) => set(e.x32, a.rd, lo(e.x32, a.rs1) | a.immN, hi(e.x32, a.rs1) | (a.immN >> 31))],
  [Op.ANDI, (e, a) => set(e.x32, a.rd, lo(e.x32, a.rs1) & a.immN, hi(e.x32, a.rs1) & (a.immN >> 31))],
  [Op.SLLI, (e, a) => shl64(e.x32, a.rd, a.rs1, a.immN)],
  [Op.SRLI, (e, a) => shr64(e.x32, a.rd, a.rs1, a.immN)],
  [Op.SRAI, (e, a) => sra64(e.x32, a.rd, a.rs1, a.immN)],
  [Op.ADD, (e, a) => add64(e.x32, a.rd, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2))],
  [Op.SUB, (e, a) => {
    const x = e.x32;
    const d = (lo(x, a.rs1) >>> 0) - (lo(x, a.rs2) >>> 0);
    return set(x, a.rd, d | 0, (hi(x, a.rs1) - hi(x, a.rs2) - (d < 0 ? 1 : 0)) | 0);
  }],
  [Op.SLL, (e, a) => shl64(e.x32, a.rd, a.rs1, lo(e.x32, a.rs2) & 63)],
  [Op.SLT, (e, a) => set(e.x32, a.rd, lessSigned(e.x32, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2)) ? 1 : 0, 0)],
  [Op.SLTU, (e, a) => set(e.x32, a.rd, lessUnsigned(e.x32, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2)) ? 1 : 0, 0)],
  [Op.XOR, (e, a) => set(e.x32, a.rd, lo(e.x32, a.rs1) ^ lo(e.x32, a.rs2), hi(e.x32, a.rs1) ^ hi(e.x32, a.rs2))],
  [Op.SRL, (e, a) => shr64(e.x32, a.rd, a.rs1, lo(e.x32, a.rs2) & 63)],
  [Op.SRA, (e, a) => sra64(e.x32, a.rd, a.rs1, lo(e.x32, a.rs2) & 63)],
  [Op.OR, (e, a) => set(e.x32, a.rd, lo(e.x32, a.rs1) | lo(e.x32, a.rs2), hi(e.x32, a.rs1) | hi(e.x32, a.rs2))],
  [Op.AND, (e, a) => set(e.x32, a.rd, lo(e.x32, a.rs1) & lo(e.x32, a.rs2), hi(e.x32, a.rs1) & hi(e.x32, a.rs2))],
  [Op.ADDIW, (e, a) => setW(e.x32, a.rd, (lo(e.x32, a.rs1) + a.immN) | 0)],
  [Op.SLLIW, (e, a) => setW(e.x32, a.rd, lo(e.x32, a.rs1) << a.immN)],
  [Op.SRLIW, (e, a) => setW(e.x32, a.rd, (lo(e.x32, a.rs1) >>> a.immN) | 0)],
  [Op.SRAIW, (e, a) => setW(e.x32, a.rd, lo(e.x32, a.rs1) >> a.immN)],
  [Op.ADDW, (e, a) => setW(e.x32, a.rd, (lo(e.x32, a.rs1) + lo(e.x32, a.rs2)) | 0)],
  [Op.SUBW, (e, a) => setW(e.x32, a.rd, (lo(e.x32, a.rs1) - lo(e.x32, a.rs2)) | 0)],
  [Op.SLLW, (e, a) => setW(e.x32, a.rd, lo(e.x32, a.rs1) << (lo(e.x32, a.rs2) & 31))],
  [Op.SRLW, (e, a) => setW(e.x32, a.rd, (lo(e.x32, a.rs1) >>> (lo(e.x32, a.rs2) & 31)) | 0)],
  [Op.SRAW, (e, a) => setW(e.x32, a.rd, lo(e.x32, a.rs1) >> (lo(e.x32, a.rs2) & 31))],
  [Op.BEQ, (e, a, i) => branch(e, a, i, same(e.x32, a.rs1, a.rs2))],
  [Op.BNE, (e, a, i) => branch(e, a, i, !same(e.x32, a.rs1, a.rs2))],
  [Op.BLT, (e, a, i) => branch(e, a, i, lessSigned(e.x32, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2)))],
  [Op.BGE, (e, a, i) => branch(e, a, i, !lessSigned(e.x32, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2)))],
  [Op.BLTU, (e, a, i) => branch(e, a, i, lessUnsigned(e.x32, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2)))],
  [Op.BGEU, (e, a, i) => branch(e, a, i, !lessUnsigned(e.x32, a.rs1, lo(e.x32, a.rs2), hi(e.x32, a.rs2)))],
  // One function per size and signedness, with constants V8 folds (as in the table).
  [Op.LB, (e, a, i) => e.loadN(a, i, 1, true)],
  [Op.LH, (e, a, i) => e.loadN(a, i, 2, true)],
  [Op.LW, (e, a, i) => e.loadN(a, i, 4, true)],
  [Op.LD, (e, a, i) => e.loadN(a, i, 8, true)],
  [Op.LBU, (e, a, i) => e.loadN(a, i, 1, false)],
  [Op.LHU, (e, a, i) => e.loadN(a, i, 2, false)],
  [Op.LWU, (e, a, i) => e.loadN(a, i, 4, false)],
  [Op.SB, (e, a, i) => e.storeN(a, i, 1)],
  [Op.SH, (e, a, i) => e.storeN(a, i, 2)],
  [Op.SW, (e, a, i) => e.storeN(a, i, 4)],
  [Op.SD, (e, a, i) => e.storeN(a, i, 8)],
];

/** The fast op of each op that has one (indexed by Op), else undefined. */
export const FAST_OPS: readonly (ExecFn | undefined)[] = (() => {
  const table: (ExecFn | undefined)[] = new Array<ExecFn | undefined>(OP_COUNT).fill(undefined);
  for (const [op, fn] of FAST) table[op] = fn as unknown as ExecFn;
  return table;
})();

/** The address rs1 + imm of a load or store as an exact number, or NaN when it is beyond 2^53 in magnitude. */
export function effectiveAddress(x: Int32Array, ins: Insn): number {
  const a = 2 * ins.rs1;
  const k = ins.immN;
  const s = (x[a] >>> 0) + (k >>> 0);
  const h = (x[a + 1] + (k >> 31) + (s > 0xffffffff ? 1 : 0)) | 0;
  if (h < -0x200000 || h >= 0x200000) return NaN;
  return h * 4294967296 + (s >>> 0);
}

/** Type guard for tests: the interp offers the number path. */
export function isFastInterp(e: Interp): e is FastInterp {
  return (e as Partial<FastInterp>).x32 !== undefined;
}
