/**
 * The privileged instructions: trap returns, WFI, SFENCE.VMA. All depend on or change privileged
 * state, so they end their block and the JIT bails to the reference executor for them.
 */
import { Cause } from '../../cpu/csr-numbers.js';
import { Op } from '../ir.js';
import { Fmt, OpClass, OpDef } from '../op-def.js';
import { FULL_MASK, enc, row, trap } from './common.js';

const system = { cls: OpClass.System, endsBlock: true };

export const PRIV: readonly OpDef[] = [
  row(Op.MRET, 'mret', 'Priv', enc(0x30200073, FULL_MASK, Fmt.None), system, (e, a, i) =>
    e.hart.xret(true, a.raw) ? e.jumpTo(e.hart.pc) : e.fault(i)),
  row(Op.SRET, 'sret', 'Priv', enc(0x10200073, FULL_MASK, Fmt.None), system, (e, a, i) =>
    e.hart.xret(false, a.raw) ? e.jumpTo(e.hart.pc) : e.fault(i)),
  row(Op.WFI, 'wfi', 'Priv', enc(0x10500073, FULL_MASK, Fmt.None), system, (e, a, i) => {
    if (e.hart.wfiTraps()) return trap(e, i, Cause.IllegalInsn, BigInt(a.raw >>> 0));
    e.requestSleep();
    return e.endAfter(i);
  }),
  row(Op.SFENCE_VMA, 'sfence.vma', 'Priv', enc(0x12000073, 0xfe007fff, Fmt.R), system, (e, a, i) => {
    if (e.hart.sfenceTraps()) return trap(e, i, Cause.IllegalInsn, BigInt(a.raw >>> 0));
    if (a.rs1 !== 0 && e.hart.features.sfenceByAddress !== false) e.hart.mmu.flushAddress(e.x[a.rs1]);
    else e.hart.mmu.flush();
    return e.endAfter(i);
  }),
];
