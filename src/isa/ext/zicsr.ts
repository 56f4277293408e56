/**
 * Zicsr: CSR access. Run by the reference executor (the JIT bails): what a CSR access means
 * depends on privilege and may change translation or interrupt state, which compiled code is not
 * keyed on; so each one also ends its block. Exceptions are compiled (OpDef.some): sstatus
 * accesses that change at most SIE, which kernels make around every lock (xv6's push_off/pop_off,
 * Linux's local_irq_save/restore): the compiled code checks the privilege, leaves to the reference
 * executor any access that would change anything else, and leaves wasm after one that sets SIE
 * while an interrupt is pending; and the trap handlers' plain CSRs (COMPILED_STORED).
 */
import { Insn, Op } from '../ir.js';
import { Csr, FS_DIRTY, MSTATUS, Priv, SSTATUS_VISIBLE, SSTATUS_WRITABLE, Slot } from '../../cpu/csr-numbers.js';
import { W } from '../../jit/wasm-emitter.js';
import { CSR_TABLE } from '../../cpu/csr.js';
import { HartBlock } from '../../shm/layout.js';
import { Emitter, Fmt, Interp, OpClass, OpDef } from '../op-def.js';
import { F3_MASK, asI, enc, row } from './common.js';

const enum Kind { Write, Set, Clear }

/** CSRRS/CSRRC (and their immediate forms) with x0 (0) only read. */
const writes = (ins: Insn, kind: Kind): boolean => kind === Kind.Write || ins.rs1 !== 0;

function csr(e: Interp, ins: Insn, i: number, kind: Kind, immForm: boolean): number {
  const h = e.hart;
  const operand = immForm ? BigInt(ins.rs1) : h.x[ins.rs1];
  const def = h.csrLookup(Number(ins.imm), writes(ins, kind), ins.raw);
  if (!def) return e.fault(i);
  const old = def.read(h);
  if (writes(ins, kind)) {
    const base = kind === Kind.Write ? 0n : def.rmwBase ? def.rmwBase(h) : old;
    def.write!(h, kind === Kind.Write ? operand : kind === Kind.Set ? base | operand : base & ~operand);
    h.refreshInterruptMirrors();
  }
  if (ins.rd) h.x[ins.rd] = asI(64, old);
  return e.endAfter(i);
}

const MSTATUS_AT = HartBlock.CSRS + 8 * Slot.mstatus;

/** Compiled code's start of a CSR access: bails below `minPriv`, else T = the slot at `at`. */
function loadChecked(g: Emitter, i: number, pc: bigint, minPriv: number, at: number): void {
  g.hb().mem(W.i32_load, 2, HartBlock.PRIV).i32(minPriv).op(W.i32_lt_u);
  g.bailIf(i, pc);
  g.hb().mem(W.i64_load, 3, at).set(g.T);
}

/** T2 = what a write of `kind` makes of T with only the `mask` bits writable (writeMasked in cpu/csr.ts). */
function maskedWrite(g: Emitter, ins: Insn, kind: Kind, immForm: boolean, mask: bigint): void {
  const c = g.c;
  if (immForm) c.i64(BigInt(ins.rs1)); else g.readReg(ins.rs1);
  if (mask !== -1n) c.i64(mask).op(W.i64_and);
  if (kind === Kind.Write) {
    if (mask !== -1n) c.get(g.T).i64(~mask).op(W.i64_and).op(W.i64_or);
  } else if (kind === Kind.Set) {
    c.get(g.T).op(W.i64_or);
  } else {
    c.i64(-1n).op(W.i64_xor).get(g.T).op(W.i64_and);
  }
  c.set(g.T2);
}

/**
 * Compiled sstatus access (see the header): bails below S, or when the write would change a bit
 * other than SIE; else writes mstatus and x[rd] as `csr` does (sstatus reads as mstatus with SD
 * summarising FS, masked to SSTATUS_VISIBLE; it writes SSTATUS_WRITABLE and FS), and leaves wasm
 * right after a write that set SIE while an interrupt is pending (Emitter.leaveIf: JitExecutor
 * returns to the runner when one is takeable). No MMU regime or interrupt mirror changes with
 * SIE alone (Mmu.regimeChanged, Hart.refreshInterruptMirrors).
 */
function emitSstatus(g: Emitter, ins: Insn, i: number, pc: bigint, n: number, kind: Kind, immForm: boolean): boolean {
  const c = g.c;
  loadChecked(g, i, pc, Priv.S, MSTATUS_AT); // T = mstatus before
  if (writes(ins, kind)) {
    // SD, outside the writable bits, is all a read adds to mstatus's: mstatus itself is the base.
    maskedWrite(g, ins, kind, immForm, SSTATUS_WRITABLE | (g.features.f ? MSTATUS.FS : 0n)); // T2 = mstatus after
    // Leave it to the reference unless only SIE changes.
    c.get(g.T2).get(g.T).op(W.i64_xor).i64(~MSTATUS.SIE).op(W.i64_and).op(W.i64_eqz).op(W.i32_eqz);
    g.bailIf(i, pc);
    g.hb().get(g.T2).mem(W.i64_store, 3, MSTATUS_AT);
  }
  if (ins.rd) {
    c.get(g.T).i64(~MSTATUS.SD).op(W.i64_and);
    c.get(g.T).i64(MSTATUS.FS).op(W.i64_and).i64(FS_DIRTY).op(W.i64_eq).op(W.i64_extend_i32_u).i64(63n).op(W.i64_shl).op(W.i64_or);
    c.i64(SSTATUS_VISIBLE).op(W.i64_and);
    g.writeReg(ins.rd);
  }
  if (kind !== Kind.Clear && writes(ins, kind)) {
    // SIE set by this write while an interrupt is pending and enabled in mie (observed device lines
    // or software bits: a superset of what is takeable, and the same in a recording and its
    // replay): leave for the runner's safe point.
    c.get(g.T2).get(g.T).i64(-1n).op(W.i64_xor).op(W.i64_and).i64(MSTATUS.SIE).op(W.i64_and).op(W.i64_eqz).op(W.i32_eqz);
    g.hb().mem(W.i32_load, 2, HartBlock.OBSERVED_LINES);
    g.hb().mem(W.i32_load, 2, HartBlock.CSRS + 8 * Slot.mipSoftware).op(W.i32_or);
    g.hb().mem(W.i32_load, 2, HartBlock.CSRS + 8 * Slot.mie).op(W.i32_and);
    c.i32(0).op(W.i32_ne).op(W.i32_and);
    g.leaveIf(n, pc + BigInt(ins.len));
  }
  return false;
}

/**
 * Compiled besides sstatus: the trap handlers' scratch, epc, cause and tval, plain slots that
 * nothing caches (no translation, interrupt or FP state depends on them). A trap's entry and exit
 * read and write them ~10 times (xv6's uservec/usertrap/usertrapret, Linux's handle_exception).
 */
const COMPILED_STORED = new Set<number>([Csr.sscratch, Csr.sepc, Csr.scause, Csr.stval, Csr.mscratch, Csr.mepc, Csr.mcause, Csr.mtval]);

/** Compiled access to a COMPILED_STORED CSR: bails below its privilege, else exactly `csr` (a masked write, the old value to rd). */
function emitStored(g: Emitter, ins: Insn, i: number, pc: bigint, num: number, kind: Kind, immForm: boolean): boolean {
  const { slot, mask } = CSR_TABLE.get(num)!.stored!;
  const at = HartBlock.CSRS + 8 * slot;
  loadChecked(g, i, pc, (num >> 8) & 3, at); // T = the old value
  if (writes(ins, kind)) {
    maskedWrite(g, ins, kind, immForm, mask);
    g.hb().get(g.T2).mem(W.i64_store, 3, at);
  }
  if (ins.rd) {
    g.c.get(g.T);
    g.writeReg(ins.rd);
  }
  return false;
}

const compiledCsr = (ins: Insn): boolean => Number(ins.imm) === Csr.sstatus || COMPILED_STORED.has(Number(ins.imm));

const csrRow = (op: Op, name: string, f3: number, kind: Kind, immForm: boolean) =>
  row(op, name, 'Zicsr', enc((f3 << 12) | 0x73, F3_MASK, f3 >= 5 ? Fmt.CsrImm : Fmt.Csr), {
    cls: OpClass.Csr,
    endsBlock: true,
    some: {
      compiles: compiledCsr,
      emit: (g, ins, i, pc, n) => (Number(ins.imm) === Csr.sstatus ? emitSstatus(g, ins, i, pc, n, kind, immForm) : emitStored(g, ins, i, pc, Number(ins.imm), kind, immForm)),
    },
  }, (e, a, i) => csr(e, a, i, kind, immForm));

export const ZICSR: readonly OpDef[] = [
  csrRow(Op.CSRRW, 'csrrw', 1, Kind.Write, false),
  csrRow(Op.CSRRS, 'csrrs', 2, Kind.Set, false),
  csrRow(Op.CSRRC, 'csrrc', 3, Kind.Clear, false),
  csrRow(Op.CSRRWI, 'csrrwi', 5, Kind.Write, true),
  csrRow(Op.CSRRSI, 'csrrsi', 6, Kind.Set, true),
  csrRow(Op.CSRRCI, 'csrrci', 7, Kind.Clear, true),
];
