/**
 * The target description GDB reads with qXfer:features:read:target.xml: rv64 integer registers
 * and pc, the target's CSRs (regnum = FIRST_CSR_REGNUM + CSR number) and the 1-byte `priv`.
 * With F and D, the fpu feature: f0-f31 as the ieee_single/ieee_double union GDB's 64bit-fpu.xml
 * declares, fflags, frm, fcsr (GDB refuses an lp64d ELF on a target without it).
 */
import { describeRegisters, RegisterFeature, RegisterInfo } from './registers.js';
import type { DebugTarget } from './target.js';

const FEATURES: ReadonlyArray<RegisterFeature> = ['org.gnu.gdb.riscv.cpu', 'org.gnu.gdb.riscv.fpu', 'org.gnu.gdb.riscv.csr', 'org.gnu.gdb.riscv.virtual'];

/** Types a feature declares before its registers. */
const FEATURE_TYPES: Partial<Record<RegisterFeature, string[]>> = {
  'org.gnu.gdb.riscv.fpu': [
    '    <union id="riscv_double">',
    '      <field name="float" type="ieee_single"/>',
    '      <field name="double" type="ieee_double"/>',
    '    </union>',
  ],
};

function regElement(reg: RegisterInfo): string {
  const attrs = [`name="${escapeXml(reg.name)}"`, `bitsize="${reg.bytes * 8}"`, `regnum="${reg.regnum}"`];
  if (reg.type !== undefined) attrs.push(`type="${reg.type}"`);
  if (reg.group !== undefined) attrs.push(`group="${reg.group}"`);
  return `    <reg ${attrs.join(' ')}/>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function targetXml(target: Pick<DebugTarget, 'csrs' | 'fpu'>): string {
  const regs = describeRegisters(target);
  const lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', '<target version="1.0">', '  <architecture>riscv:rv64</architecture>'];
  for (const feature of FEATURES) {
    const members = regs.filter((r) => r.feature === feature);
    if (members.length === 0) continue;
    lines.push(`  <feature name="${feature}">`, ...(FEATURE_TYPES[feature] ?? []), ...members.map(regElement), '  </feature>');
  }
  lines.push('</target>', '');
  return lines.join('\n');
}
