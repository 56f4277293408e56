import { decode16, decode32 } from '../isa/decode.js';
import { Insn } from '../isa/ir.js';
import { endsBlock } from '../isa/table.js';
import { Bus, PAGE_SHIFT, PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';

/** A translation block: decoded instructions from one physical page, ending after the first op whose table row says it ends a block. */
export interface Block {
  insns: Insn[];
  /** Byte offsets as bigint (pc-relative arithmetic without conversions on the hot path). */
  offsets: bigint[];
  /** Total byte length. */
  bytes: bigint;
  /** RAM page index whose generation this block was translated under, or -1 (boot ROM). */
  page: number;
  gen: number;
}

export const MAX_BLOCK_INSNS = 64;

/**
 * Decodes a block starting at physical address `pa`. Reads halfwords with `readHalf`, which
 * returns -1 past the readable range. Stops before an instruction that straddles the page end
 * (the caller executes that one on its own, since its halves may map to different pages).
 * `decodeWord` is the hart's 32-bit decoder (decoder32For its features).
 */
export function translateBlock(bus: Bus, pa: number, decodeWord: (raw: number) => Insn = decode32): Block {
  const isRam = bus.isRam(pa);
  let page = -1;
  let gen = 0;
  if (isRam) {
    page = (pa - RAM_BASE) >>> PAGE_SHIFT;
    // Flag first, then read the generation, then the bytes: a concurrent writer either sees the
    // flag (and bumps the generation) or wrote before we read.
    if (!bus.codeFlag[page]) Atomics.store(bus.codeFlag, page, 1);
    gen = Atomics.load(bus.codeGen, page);
  }
  const insns: Insn[] = [];
  const offsets: bigint[] = [];
  const pageEnd = (Math.floor(pa / PAGE_SIZE) + 1) * PAGE_SIZE;
  let off = 0;
  while (insns.length < MAX_BLOCK_INSNS) {
    const at = pa + off;
    if (at + 2 > pageEnd) break;
    const lo = readHalf(bus, at);
    if (lo < 0) break;
    let insn: Insn;
    if ((lo & 3) === 3) {
      if (at + 4 > pageEnd) break;
      const hi = readHalf(bus, at + 2);
      if (hi < 0) break;
      insn = decodeWord(((hi << 16) | lo) >>> 0);
    } else {
      insn = decode16(lo);
    }
    insn.off = off;
    insns.push(insn);
    offsets.push(BigInt(off));
    off += insn.len;
    if (endsBlock(insn.op)) break;
  }
  return { insns, offsets, bytes: BigInt(off), page, gen };
}

/** Decodes a single instruction from its two halves (used for instructions straddling a page). */
export function straddlingInsnBlock(lo: number, hi: number, decodeWord: (raw: number) => Insn = decode32): Block {
  const insn = decodeWord((((hi & 0xffff) << 16) | (lo & 0xffff)) >>> 0);
  insn.off = 0;
  return { insns: [insn], offsets: [0n], bytes: 4n, page: -1, gen: 0 };
}

function readHalf(bus: Bus, pa: number): number {
  if (bus.isRam(pa)) return bus.u8[bus.ramOffset(pa)] | (bus.u8[bus.ramOffset(pa) + 1] << 8);
  if (!bus.isExecutable(pa)) return -1;
  const v = bus.read(pa, 2, -1);
  return v === null ? -1 : Number(v);
}
