/** Zifencei: FENCE.I empties this thread's translation cache (stores to code pages already bump their generation). */
import { Op } from '../ir.js';
import { Fmt, OpClass, OpDef } from '../op-def.js';
import { F3_MASK, enc, row } from './common.js';

export const ZIFENCEI: readonly OpDef[] = [
  // The JIT bails: dropping compiled pages is the executor's business, between wasm calls.
  row(Op.FENCE_I, 'fence.i', 'Zifencei', enc(0x100f, F3_MASK, Fmt.None), { cls: OpClass.Fence, endsBlock: true }, (e, _a, i) => {
    e.flushTranslations();
    return e.endAfter(i);
  }),
];
