/**
 * The instruction table's coverage proof: the table's own consistency rules (src/isa/check.ts)
 * plus, for every op the JIT claims to emit inline, that its emitter really produces code for a
 * decoded instance of it. A function of the table, so the tests can run it on a modified copy.
 */
import { checkOpTable } from '../isa/check.js';
import { decoder32 } from '../isa/decode.js';
import { OP_COUNT } from '../isa/ir.js';
import { JitMode, OpDef } from '../isa/op-def.js';
import { encodingsOf } from '../isa/table.js';
import { emittedBytes } from './codegen.js';

/** rd = 1, rs1 = 2, rs2 = 3, set where an encoding leaves those bits free (in S/B formats they are immediate bits). */
const REGISTER_FIELDS = (1 << 7) | (2 << 15) | (3 << 20);

/**
 * Problems with `table` (empty when sound): every op in [0, opCount) has interpreter semantics and
 * is either emitted inline by the JIT or explicitly bails; an inline op's emitter emits code for
 * the op as the decoder produces it (a store-shaped op decodes with rd = 0, which must not make it
 * a silent no-op).
 */
export function checkOpCoverage(table: readonly OpDef[], opCount: number = OP_COUNT): string[] {
  const problems = checkOpTable(table, opCount);
  const decode = decoder32(encodingsOf(table));
  for (const d of table) {
    if (d.jit !== JitMode.Inline || typeof d.emit !== 'function' || !d.encoding) continue;
    const who = `${d.name} (op ${d.op})`;
    const ins = decode((d.encoding.match | (REGISTER_FIELDS & ~d.encoding.mask)) >>> 0);
    if (ins.op !== d.op) { problems.push(`${who}: a sample of its encoding decodes as op ${ins.op}`); continue; }
    if (emittedBytes(d, ins) === 0) problems.push(`${who}: JIT mode inline but its emitter produces no code (a silent no-op)`);
  }
  return problems;
}
