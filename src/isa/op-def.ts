/**
 * The shape of one row of the instruction table and the two contracts its semantics are written
 * against: `Interp` (what an op's interpreter semantics may use; the reference executor
 * implements it) and `Emitter` (what an op's wasm emitter may use; the JIT's page compiler
 * implements it). The per-extension modules in ext/ fill the rows; table.ts assembles them.
 * This module imports types only, so the extensions, the table and both drivers depend on it
 * without import cycles.
 */
import type { CpuFeatures } from '../cpu/features.js';
import type { Hart } from '../cpu/hart.js';
import type { Code, W } from '../jit/wasm-emitter.js';
import type { Bus } from '../machine/bus.js';
import type { Insn, Op } from './ir.js';

/** Operand layout of a 32-bit encoding: tells the decoder which fields and immediate to extract. */
export const enum Fmt { R, I, S, B, U, J, Shift6, Shift5, Csr, CsrImm, Amo, None }

/**
 * What kind of operation an op is. Every "is this a load / AMO / branch ...?" question in the
 * drivers, the decoder's block former and the JIT's region finder is asked of this column.
 */
export const enum OpClass {
  /** Register (or immediate) in, register out; no memory, no control flow. */
  Alu,
  /** Conditional pc-relative branch. */
  Branch,
  /** JAL: pc-relative jump (with link). */
  Jump,
  /** JALR: register-indirect jump (with link). */
  JumpReg,
  Load,
  Store,
  /** Atomic read-modify-write. */
  Amo,
  /** Load-reserved. */
  Lr,
  /** Store-conditional. */
  Sc,
  Csr,
  /** Traps, returns from traps, WFI, SFENCE.VMA: depend on or change privileged state. */
  System,
  Fence,
  /** What fails to decode. */
  Illegal,
}

/** How the JIT runs an op: wasm emitted inline, or an explicit bail to the reference executor. */
export const enum JitMode { Inline, Bail }

export type Ext = 'I' | 'M' | 'A' | 'F' | 'D' | 'Zicsr' | 'Zifencei' | 'Priv' | 'Zba' | 'Zbb' | 'Zbs';

/** The 32-bit encoding of an op (match/mask as in the ISA manual's opcode map). */
export interface Encoding {
  match: number;
  mask: number;
  fmt: Fmt;
}

/**
 * An op's interpreter semantics. Returns NEXT to go on with the block's next instruction, or,
 * when the op ended the block, the number of instructions it retired (1, or 0 when it trapped).
 */
export type ExecFn = (e: Interp, ins: Insn, i: number) => number;
export const NEXT = -1;

/**
 * An op's wasm emitter for instruction `i` (at `pc`) of a block of `n` instructions. Returns true
 * when the emitted code ended the block (a control transfer).
 */
export type EmitFn = (g: Emitter, ins: Insn, i: number, pc: bigint, n: number) => boolean;

/** One row of the instruction table: everything the decoder and both execution tiers know of an op. */
export interface OpDef {
  op: Op;
  name: string;
  ext: Ext;
  /** Null only for ILLEGAL (what matches no encoding). */
  encoding: Encoding | null;
  cls: OpClass;
  /** Bytes accessed in memory (0: no memory access) and whether a load sign-extends. */
  memSize: 0 | 1 | 2 | 4 | 8;
  memSigned: boolean;
  /** A translation block ends after this op (control transfers, anything changing translation or interrupt state). */
  endsBlock: boolean;
  jit: JitMode;
  exec: ExecFn;
  /** Present exactly when jit is Inline. */
  emit: EmitFn | null;
  /**
   * Bail ops only: the instances compiled anyway (`compiles`, decided from the instruction alone,
   * e.g. its CSR number) and their emitter, whose code may still bail at run time (privilege, a
   * write the compiled code must not make). Null: every instance bails.
   */
  some: { compiles(ins: Insn): boolean; emit: EmitFn } | null;
}

/** What interpreter semantics may use: the reference executor, in the middle of running a block. */
export interface Interp {
  readonly hart: Hart;
  readonly bus: Bus;
  /** The hart's integer registers. */
  readonly x: BigInt64Array;
  /** Word and doubleword views of the whole shared memory (for atomics). */
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  /** Physical RAM address + ramDelta = index into the memory views (in bytes). */
  readonly ramDelta: number;
  /** Virtual pc of instruction i of the current block. */
  pcAt(i: number): bigint;
  /** Ends the block: the instruction retired and control continues at `target`. */
  jumpTo(target: bigint): number;
  /** Ends the block: instruction i retired; continue after it. */
  endAfter(i: number): number;
  /** Ends the block: instruction i raised hart.trapCause and does not retire. */
  fault(i: number): number;
  /** Loads through the MMU; on failure hart.trapCause is set (the value is then meaningless). */
  load(addr: bigint, size: number, signed: boolean): bigint;
  store(addr: bigint, size: number, value: bigint): void;
  /**
   * Checks and translates an LR/SC/AMO address (alignment, MMU, plain RAM) and reports it to a
   * watchpoint hook; returns the physical address, or -1 after raising the exception.
   */
  atomicTarget(addr: bigint, size: number, isLr: boolean, reportAccess: boolean): number;
  /** Reports a completed atomic write to watchpoints (SC reports only on success). */
  noteAtomicWrite(addr: bigint, pa: number, size: number): void;
  /** Forgets all translations (FENCE.I). */
  flushTranslations(): void;
  /** The block ended in a WFI that may sleep until an interrupt. */
  requestSleep(): void;
}

/**
 * What wasm emitters may use: the page compiler, in the middle of one block. Guest registers are
 * wasm locals; memory access, control transfer and the exits are the compiler's shared generators.
 */
export interface Emitter {
  readonly c: Code;
  /** Scratch locals: two i64 (T, T2) and two i32 (C, C2), free between instructions. */
  readonly T: number;
  readonly T2: number;
  readonly C: number;
  readonly C2: number;
  /** Pushes x[r] (i64; 0 for x0). */
  readReg(r: number): void;
  /** Pops an i64 into x[r] (dropped for x0). */
  writeReg(r: number): void;
  /**
   * Stores into x[r] the i64 that `value` pushes (dropped for x0): the same as `value(); writeReg(r)`
   * in fewer bytes, since the store's address goes on the stack before the value, not after it.
   */
  writeRegWith(r: number, value: () => void): void;
  /** Pushes the high 64 bits of the unsigned product of the two i64 on the stack. */
  mulhu(): void;
  /** The whole block retired: continue at the constant `target` (linked inside the page when possible). */
  transfer(n: number, target: bigint): void;
  /** The whole block retired: continue at the pc in local T (an indirect jump). */
  transferIndirect(n: number): void;
  /**
   * Pops an i32 condition: when true, leaves wasm with `retired` instructions of this block retired
   * and the pc at `pc`, for the runner's safe point (JitExecutor returns at once when an interrupt
   * is takeable, else the reference executor goes on from `pc`).
   */
  leaveIf(retired: number, pc: bigint): void;
  /** Pops an i32 condition: the block retired and continues at `taken` when true, else at `next`. */
  transferIf(n: number, taken: bigint, next: bigint): void;
  /** A load of `size` bytes at x[rs1] + imm into rd with the wasm load `op` (sign/zero extension). */
  load(ins: Insn, i: number, pc: bigint, size: number, op: W): void;
  /** A store of the low `size` bytes of x[rs2] at x[rs1] + imm with the wasm store `op`. */
  store(ins: Insn, i: number, pc: bigint, size: number, op: W): void;
  /**
   * Checks and translates the LR/SC/AMO address x[rs1] (a misaligned or slow-path address leaves
   * wasm before instruction i for the reference executor) and leaves its memory index in local M.
   */
  atomicTarget(ins: Insn, i: number, pc: bigint, size: number, isLr: boolean): void;
  /** Local holding the memory index left by atomicTarget. */
  readonly M: number;
  /** Pushes the physical address of memory index M (i64). */
  physOfM(): void;
  /**
   * Bumps the code generation of M's page when it holds translated code, and leaves after
   * instruction i (at pc) when that changed the code being run: the last code of a writing
   * instruction (ins: it, for its length).
   */
  noteWrite(ins: Insn, i: number, pc: bigint): void;
  /** The extensions of the hart the code is compiled for. */
  readonly features: Readonly<CpuFeatures>;
  /**
   * Pushes the memory address of the hart's state block (f registers, CSR slots: shm/layout.ts
   * HartBlock), a parameter of the compiled code, and returns the code: a hart-block access is
   * `g.hb().mem(op, align, HartBlock.FIELD)`. Never an absolute address: compiled pages are the same
   * bytes on every hart.
   */
  hb(): Code;
  /**
   * Pushes the i64 of a `size`-byte load at x[rs1] + imm with the wasm load `op` (the same fast
   * path as `load`, leaving the value instead of writing a register).
   */
  loadValue(ins: Insn, i: number, pc: bigint, size: number, op: W): void;
  /** Stores the i64 that `value` pushes as `size` bytes at x[rs1] + imm with the wasm store `op`. */
  storeValue(ins: Insn, i: number, pc: bigint, size: number, op: W, value: () => void): void;
  /**
   * f64x2.relaxed_madd is available and fused on this host (jit/host-fma.ts): an exact RNE
   * fused multiply-add in one wasm op.
   */
  readonly hostFma: boolean;
  /** f64 scratch locals (16), free between instructions. */
  readonly F: readonly number[];
  /**
   * i32 locals read once when wasm is entered (valid for the whole call, since CSR writes and
   * traps leave wasm): fpOn = mstatus.FS is not Off; fpRne = fpOn and frm is RNE. And two caches an
   * FP emitter may read and must set when it sets the bit in the hart block: fpDirty = FS is
   * Dirty; fpNx = fflags.NX is set (0 only means "not known to be set").
   */
  readonly fpOn: number;
  readonly fpRne: number;
  readonly fpDirty: number;
  readonly fpNx: number;
  /** Structured if/else on the i32 popped (the compiler tracks the label depth its exits need). */
  openIf(): void;
  elseBranch(): void;
  closeIf(): void;
  /** Leaves wasm before instruction i (at pc) when the i32 on the stack is nonzero. */
  bailIf(i: number, pc: bigint): void;
  /**
   * Runs instruction i through the floating-point call-out (its interpreter semantics in JS, with
   * x[rs1] passed in) and pushes the i64 it would write to x[rd]; leaves wasm before instruction i,
   * state untouched, when the op must trap (the reference executor then raises it).
   */
  fpCall(ins: Insn, i: number, pc: bigint): void;
  /** Offsets in the hart block (see hb) of the LR reservation words (address, value, valid). */
  readonly resAddr: number;
  readonly resValue: number;
  readonly resValid: number;
}
