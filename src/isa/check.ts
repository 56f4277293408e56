/**
 * Consistency rules of the instruction table, as a function of the table so it can be tested on a
 * modified copy. The table checks itself with this at load time; src/jit/op-coverage.ts adds the
 * proof that each inline op really emits code.
 */
import { OP_COUNT, Op } from './ir.js';
import { JitMode, OpClass, OpDef } from './op-def.js';

const MEMORY_CLASSES = new Set([OpClass.Load, OpClass.Store, OpClass.Amo, OpClass.Lr, OpClass.Sc]);
/** Control transfers, and what depends on or changes state compiled code and cached blocks are not keyed on. */
const BLOCK_ENDING_CLASSES = new Set([OpClass.Branch, OpClass.Jump, OpClass.JumpReg, OpClass.Csr, OpClass.System, OpClass.Illegal]);
/** The JIT's keying (jit-executor.ts) assumes these always run on the reference executor. */
const BAILING_CLASSES = new Set([OpClass.Csr, OpClass.System, OpClass.Illegal]);

/**
 * Problems with `table` (empty when sound): every op in [0, opCount) has exactly one row; the
 * reference executor has semantics for each; each is either emitted inline by the JIT (and then
 * has an emitter) or explicitly bails (and has none); the columns agree with the class.
 */
export function checkOpTable(table: readonly OpDef[], opCount: number = OP_COUNT): string[] {
  const problems: string[] = [];
  const seen = new Map<Op, string>();
  for (const d of table) {
    const who = `${d.name} (op ${d.op})`;
    if (!Number.isInteger(d.op) || d.op < 0 || d.op >= opCount) problems.push(`${who}: op outside the Op enum`);
    if (seen.has(d.op)) problems.push(`${who}: op already described by ${seen.get(d.op)}`);
    seen.set(d.op, d.name);
    if (typeof d.exec !== 'function') problems.push(`${who}: no interpreter semantics`);
    if (d.jit === JitMode.Inline && typeof d.emit !== 'function') problems.push(`${who}: JIT mode inline but no wasm emitter`);
    if (d.jit === JitMode.Bail && d.emit !== null) problems.push(`${who}: JIT mode bail but has a wasm emitter`);
    if (d.some && (d.jit !== JitMode.Bail || !d.endsBlock)) problems.push(`${who}: only block-ending bail ops compile some instances`);
    if (d.jit !== JitMode.Inline && d.jit !== JitMode.Bail) problems.push(`${who}: no JIT mode`);
    const memory = MEMORY_CLASSES.has(d.cls);
    if (memory && ![1, 2, 4, 8].includes(d.memSize)) problems.push(`${who}: memory op without an access size`);
    if (!memory && d.memSize !== 0) problems.push(`${who}: access size on an op that does not access memory`);
    if (d.memSigned && d.cls !== OpClass.Load) problems.push(`${who}: signedness on an op that is not a load`);
    if (BLOCK_ENDING_CLASSES.has(d.cls) && !d.endsBlock) problems.push(`${who}: must end its translation block`);
    if (BAILING_CLASSES.has(d.cls) && d.jit !== JitMode.Bail) problems.push(`${who}: must bail to the reference executor`);
    if ((d.encoding === null) !== (d.cls === OpClass.Illegal)) problems.push(`${who}: only ILLEGAL has no encoding`);
  }
  for (let op = 0; op < opCount; op++) if (!seen.has(op as Op)) problems.push(`op ${op}: no row in the instruction table`);
  return problems;
}
