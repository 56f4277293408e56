/**
 * The target description GDB reads with qXfer:features:read:target.xml: rv64 integer registers
 * and pc, the target's CSRs (regnum = FIRST_CSR_REGNUM + CSR number) and the 1-byte `priv`.
 * No fpu feature: the harts have no F/D extension.
 */
import { describeRegisters, RegisterFeature, RegisterInfo } from './registers.js';
import type { DebugTarget } from './target.js';

const FEATURES: ReadonlyArray<RegisterFeature> = ['org.gnu.gdb.riscv.cpu', 'org.gnu.gdb.riscv.csr', 'org.gnu.gdb.riscv.virtual'];

function regElement(reg: RegisterInfo): string {
  const attrs = [`name="${escapeXml(reg.name)}"`, `bitsize="${reg.bytes * 8}"`, `regnum="${reg.regnum}"`];
  if (reg.type !== undefined) attrs.push(`type="${reg.type}"`);
  if (reg.group !== undefined) attrs.push(`group="${reg.group}"`);
  return `    <reg ${attrs.join(' ')}/>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function targetXml(target: Pick<DebugTarget, 'csrs'>): string {
  const regs = describeRegisters(target);
  const lines = ['<?xml version="1.0"?>', '<!DOCTYPE target SYSTEM "gdb-target.dtd">', '<target version="1.0">', '  <architecture>riscv:rv64</architecture>'];
  for (const feature of FEATURES) {
    const members = regs.filter((r) => r.feature === feature);
    if (members.length === 0) continue;
    lines.push(`  <feature name="${feature}">`, ...members.map(regElement), '  </feature>');
  }
  lines.push('</target>', '');
  return lines.join('\n');
}
