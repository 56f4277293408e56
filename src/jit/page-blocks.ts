/**
 * Which blocks a page module covers: the entries seen executing, then (breadth first) their static
 * in-page successors, v86-style, each ending where another one starts (no instruction compiled twice).
 */
import { Block, Spin } from '../exec/translate.js';
import { OpClass } from '../isa/op-def.js';
import { jitCompiles, opClass } from '../isa/table.js';
import { PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';

export { MAX_PAGE_BLOCKS } from './page-limits.js';

export interface PageRegion {
  ramPage: number;
  vbase: bigint;
  gen: number;
  /** Offsets that start no compiled block; those found here are added. */
  rejected: Set<number>;
  /** Breakpoint offsets: no block starts at one, blocks end short of one. */
  stopOffsets: ReadonlySet<number>;
}

/**
 * The blocks to compile for `region`, by page offset: `translationAt(pa)` gives the block at a
 * physical address. Offsets whose block is empty, from another code generation or spinning are
 * added to `region.rejected`.
 */
export function collectPageBlocks(region: PageRegion, entries: Iterable<number>, maxBlocks: number, translationAt: (pa: number) => Block): Map<number, Block> {
  const pageBase = RAM_BASE + region.ramPage * PAGE_SIZE;
  const { vbase, rejected, stopOffsets } = region;
  const found = new Map<number, Block>();
  const work = [...entries];
  for (let w = 0; w < work.length && found.size < maxBlocks; w++) {
    const off = work[w];
    if (found.has(off) || rejected.has(off) || stopOffsets.has(off)) continue;
    const whole = translationAt(pageBase + off);
    if (whole.insns.length === 0 || whole.gen !== region.gen || whole.spin !== Spin.No) {
      rejected.add(off);
      continue;
    }
    const block = stopOffsets.size > 0 ? shortOf(whole, off, stopOffsets) : whole;
    found.set(off, block);
    for (const next of staticSuccessors(block, vbase + BigInt(off))) {
      const noff = Number(next - vbase);
      if (next >> 12n === vbase >> 12n && !found.has(noff)) work.push(noff);
    }
  }
  // An entry inside another block's code (a computed jump into unrolled stores, a loop head right
  // after its setup, a function's second entry) used to compile the instructions from there to the
  // block's end once more for every such entry: one page of a Linux boot (memset's run of `sd`s)
  // made a 697 KB module, ~90 ms of V8's compile. Now a block ends where the next one starts and
  // its code falls through into that block's (codegen: a block ended without a control transfer).
  const starts = new Set(found.keys());
  for (const [off, block] of found) found.set(off, shortOf(block, off, starts));
  return found;
}

/** The block cut short of the first of `stopOffsets` after its start (block at page offset `off`). */
function shortOf(block: Block, off: number, stopOffsets: ReadonlySet<number>): Block {
  const i = block.offsets.findIndex((o, k) => k > 0 && stopOffsets.has(off + Number(o)));
  if (i < 0) return block;
  return { ...block, insns: block.insns.slice(0, i), offsets: block.offsets.slice(0, i), bytes: block.offsets[i] };
}

/** In-page control-flow successors that are known statically (for compiling a page's region). */
function staticSuccessors(block: Block, start: bigint): bigint[] {
  const last = block.insns[block.insns.length - 1];
  const pc = start + block.offsets[block.insns.length - 1];
  const next = start + block.bytes;
  if (!jitCompiles(last)) return [];
  switch (opClass(last.op)) {
    // A call's return point is where the callee's JALR comes back to.
    case OpClass.Jump: return last.rd ? [BigInt.asIntN(64, pc + last.imm), next] : [BigInt.asIntN(64, pc + last.imm)];
    case OpClass.JumpReg: return last.rd ? [next] : [];
    case OpClass.Branch: return [BigInt.asIntN(64, pc + last.imm), next];
    default: return [next];
  }
}

/**
 * Where compiled blocks can be resumed mid-way: for every instruction of a block but its first, by
 * page offset, the instructions left to the block's end. Execution that stops inside a compiled
 * block (a bail, a budget cut) goes on on the reference executor only that far, so it comes back
 * to a compiled block start. Otherwise, in straight-line code longer than a block (which ends
 * after MAX_BLOCK_INSNS wherever it starts), it would end at new offsets, each a miss and a new
 * entry: on a 4-hart Linux boot one page of unrolled code (blake2s) was compiled 13 times, growing
 * to 512 overlapping blocks and 0.86 MB of wasm, a third of all the code generated.
 */
export function blockTails(blocks: Iterable<[number, Block]>): Map<number, number> {
  const tails = new Map<number, number>();
  for (const [off, block] of blocks) {
    const n = block.insns.length;
    for (let k = 1; k < n; k++) {
      const at = off + Number(block.offsets[k]);
      if (!tails.has(at)) tails.set(at, n - k);
    }
  }
  return tails;
}
