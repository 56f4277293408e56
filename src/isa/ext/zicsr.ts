/**
 * Zicsr: CSR access. Always run by the reference executor (the JIT bails): what a CSR access
 * means depends on privilege and may change translation or interrupt state, which compiled code
 * is not keyed on; so each one also ends its block.
 */
import { Insn, Op } from '../ir.js';
import { ExecFn, Fmt, Interp, OpClass, OpDef } from '../op-def.js';
import { F3_MASK, asI, enc, row } from './common.js';

const enum Kind { Write, Set, Clear }

function csr(e: Interp, ins: Insn, i: number, kind: Kind, immForm: boolean): number {
  const h = e.hart;
  const operand = immForm ? BigInt(ins.rs1) : h.x[ins.rs1];
  const writes = kind === Kind.Write || ins.rs1 !== 0;
  const def = h.csrLookup(Number(ins.imm), writes, ins.raw);
  if (!def) return e.fault(i);
  const old = def.read(h);
  if (writes) {
    const base = kind === Kind.Write ? 0n : def.rmwBase ? def.rmwBase(h) : old;
    def.write!(h, kind === Kind.Write ? operand : kind === Kind.Set ? base | operand : base & ~operand);
    h.refreshInterruptMirrors();
  }
  if (ins.rd) h.x[ins.rd] = asI(64, old);
  return e.endAfter(i);
}

const csrRow = (op: Op, name: string, f3: number, exec: ExecFn) =>
  row(op, name, 'Zicsr', enc((f3 << 12) | 0x73, F3_MASK, f3 >= 5 ? Fmt.CsrImm : Fmt.Csr), { cls: OpClass.Csr, endsBlock: true }, exec);

export const ZICSR: readonly OpDef[] = [
  csrRow(Op.CSRRW, 'csrrw', 1, (e, a, i) => csr(e, a, i, Kind.Write, false)),
  csrRow(Op.CSRRS, 'csrrs', 2, (e, a, i) => csr(e, a, i, Kind.Set, false)),
  csrRow(Op.CSRRC, 'csrrc', 3, (e, a, i) => csr(e, a, i, Kind.Clear, false)),
  csrRow(Op.CSRRWI, 'csrrwi', 5, (e, a, i) => csr(e, a, i, Kind.Write, true)),
  csrRow(Op.CSRRSI, 'csrrsi', 6, (e, a, i) => csr(e, a, i, Kind.Set, true)),
  csrRow(Op.CSRRCI, 'csrrci', 7, (e, a, i) => csr(e, a, i, Kind.Clear, true)),
];
