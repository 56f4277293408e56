/**
 * The register layout GDB sees: one table that feeds both the target description (target-xml.ts)
 * and the register packets (`g`/`G`/`p`/`P`), so the two cannot disagree.
 */
import { DebugTarget, FIRST_CSR_REGNUM, FIRST_FREG, REG_PC, REG_PRIV } from './target.js';

export type RegisterFeature = 'org.gnu.gdb.riscv.cpu' | 'org.gnu.gdb.riscv.fpu' | 'org.gnu.gdb.riscv.csr' | 'org.gnu.gdb.riscv.virtual';

export interface RegisterInfo {
  name: string;
  regnum: number;
  bytes: number;
  feature: RegisterFeature;
  /** riscv_double: the union of ieee_single and ieee_double declared by the fpu feature (as GDB's 64bit-fpu.xml). */
  type?: 'int' | 'code_ptr' | 'data_ptr' | 'riscv_double';
  group?: 'csr';
}

/** ABI names of x0..x31 as GDB's riscv 64bit-cpu.xml spells them (s0 is `fp`). */
const XREG_NAMES = [
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2', 'fp', 's1',
  'a0', 'a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7',
  's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11',
  't3', 't4', 't5', 't6',
];

function xregType(name: string): RegisterInfo['type'] {
  if (name === 'ra') return 'code_ptr';
  if (name === 'sp' || name === 'gp' || name === 'tp' || name === 'fp') return 'data_ptr';
  return 'int';
}

/** ABI names of f0..f31 as GDB's riscv 64bit-fpu.xml spells them (GDB also accepts f0..f31). */
const FREG_NAMES = [
  'ft0', 'ft1', 'ft2', 'ft3', 'ft4', 'ft5', 'ft6', 'ft7', 'fs0', 'fs1',
  'fa0', 'fa1', 'fa2', 'fa3', 'fa4', 'fa5', 'fa6', 'fa7',
  'fs2', 'fs3', 'fs4', 'fs5', 'fs6', 'fs7', 'fs8', 'fs9', 'fs10', 'fs11',
  'ft8', 'ft9', 'ft10', 'ft11',
];
/** The FP CSRs, described in the fpu feature (32 bits, as GDB's 64bit-fpu.xml) rather than the csr one. */
const FP_CSRS = new Map([[1, 'fflags'], [2, 'frm'], [3, 'fcsr']]);

/** The registers of the `g` packet, in order: x0..x31 then pc. */
export const G_PACKET_REGNUMS: ReadonlyArray<number> = Array.from({ length: REG_PC + 1 }, (_, i) => i);

export function describeRegisters(target: Pick<DebugTarget, 'csrs' | 'fpu'>): RegisterInfo[] {
  const cpu: RegisterInfo[] = XREG_NAMES.map((name, regnum) => ({ name, regnum, bytes: 8, feature: 'org.gnu.gdb.riscv.cpu', type: xregType(name) }));
  cpu.push({ name: 'pc', regnum: REG_PC, bytes: 8, feature: 'org.gnu.gdb.riscv.cpu', type: 'code_ptr' });
  const fpu: RegisterInfo[] = [];
  if (target.fpu) {
    FREG_NAMES.forEach((name, i) => fpu.push({ name, regnum: FIRST_FREG + i, bytes: 8, feature: 'org.gnu.gdb.riscv.fpu', type: 'riscv_double' }));
    for (const [num, name] of FP_CSRS) fpu.push({ name, regnum: FIRST_CSR_REGNUM + num, bytes: 4, feature: 'org.gnu.gdb.riscv.fpu', type: 'int' });
  }
  const csrs: RegisterInfo[] = target.csrs.filter(({ num }) => !FP_CSRS.has(num)).map(({ num, name }) => ({
    name, regnum: FIRST_CSR_REGNUM + num, bytes: 8, feature: 'org.gnu.gdb.riscv.csr', group: 'csr',
  }));
  const priv: RegisterInfo = { name: 'priv', regnum: REG_PRIV, bytes: 1, feature: 'org.gnu.gdb.riscv.virtual' };
  return [...cpu, ...fpu, ...csrs, priv];
}
