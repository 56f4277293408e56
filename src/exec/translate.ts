import { decode16, decode32 } from '../isa/decode.js';
import { Insn } from '../isa/ir.js';
import { Fmt, OpClass } from '../isa/op-def.js';
import { OP_DEFS, endsBlock, jitInline, opClass } from '../isa/table.js';
import { Bus, PAGE_SHIFT, PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';

/** A translation block: decoded instructions from one physical page, ending after the first op whose table row says it ends a block. */
export interface Block {
  /** The decoder's shared records (isa/decode.ts): never modified; where each sits is in `offsets`. */
  insns: Insn[];
  /** Byte offsets as bigint (pc-relative arithmetic without conversions on the hot path). */
  offsets: bigint[];
  /** Total byte length. */
  bytes: bigint;
  /** Physical address of the first instruction (-1: not cacheable, a straddling instruction). */
  pa: number;
  /** RAM page index whose generation this block was translated under, or -1 (boot ROM). */
  page: number;
  gen: number;
  /** The guest spins here (see Spin): only the reference executor runs the block, and it says so (BlockExit.Spin). */
  spin: Spin;
  /**
   * Every op is one compiled code runs inline (no CSR, system op, FENCE.I or trap by design) and the
   * block does not spin: running it changes nothing the hart runner looks at between blocks
   * (interrupt enables, privilege, translation) unless it faults, so an executor may go straight
   * on to the next block, as compiled code does (JitExecutor.runBlock).
   */
  plain: boolean;
  /**
   * Plain but for its last op, a CSR access (Linux's local_irq_save/restore, csr reads): an
   * executor may go on after it too while no interrupt is takeable (JitExecutor.reference).
   */
  csrEnd: boolean;
}

export const MAX_BLOCK_INSNS = 64;

/** BigInt(k) for every offset a block can have: its offsets and length share these, no BigInt per instruction. */
const SMALL_BIGINTS: readonly bigint[] = Array.from({ length: PAGE_SIZE + 1 }, (_, k) => BigInt(k));

/**
 * PAUSE (Zihintpause), a FENCE hint that any RV64 hart may execute: the guest says it is spinning.
 * Linux's cpu_relax() emits it in every spin-wait (spinlocks, csd_lock_wait, smp_cond_load_*).
 */
export const PAUSE_RAW = 0x0100000f;

/**
 * Blocks where the guest waits for another hart, which the runner may answer by leaving the host
 * core to the others (engine/hart-runner.ts): a block ending in PAUSE, and a poll loop — a block
 * that branches back to its own start, stores nothing and carries no register value from one
 * iteration to the next, so it spins until some other agent changes memory (OpenSBI's secondary
 * harts waiting for the boot hart, a bare-metal flag wait).
 */
export const enum Spin { No, Pause, PollLoop }

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
    insns.push(insn);
    offsets.push(SMALL_BIGINTS[off]);
    off += insn.len;
    if (endsBlock(insn.op) || insn.raw === PAUSE_RAW) break;
  }
  const spin = spinKind(insns, offsets);
  const plain = spin === Spin.No && insns.every((ins) => jitInline(ins.op));
  const n = insns.length;
  const csrEnd = !plain && spin === Spin.No && n > 0 && opClass(insns[n - 1].op) === OpClass.Csr && insns.every((ins, k) => k === n - 1 || jitInline(ins.op));
  return { insns, offsets, bytes: SMALL_BIGINTS[off], pa, page, gen, spin, plain, csrEnd };
}

/** Whether (and how) a block spins: see Spin. */
function spinKind(insns: readonly Insn[], offsets: readonly bigint[]): Spin {
  const n = insns.length;
  if (n === 0) return Spin.No;
  const last = insns[n - 1];
  if (last.raw === PAUSE_RAW) return Spin.Pause;
  const cls = opClass(last.op);
  if (!((cls === OpClass.Branch || (cls === OpClass.Jump && last.rd === 0)) && last.imm === -offsets[n - 1])) return Spin.No;
  // A poll loop: every register read is either never written in the loop or written earlier in
  // the same iteration, so each iteration depends only on memory; and nothing but integer ALU ops
  // and loads (no stores, atomics, CSRs, FP) runs in it.
  let writtenInLoop = 0;
  for (const ins of insns) writtenInLoop |= writes(ins);
  let writtenSoFar = 0;
  for (let k = 0; k < n; k++) {
    const ins = insns[k];
    const def = OP_DEFS[ins.op];
    const c = opClass(ins.op);
    if (!(c === OpClass.Alu || c === OpClass.Load || c === OpClass.Fence || k === n - 1) || !INTEGER_EXTS.has(def.ext)) return Spin.No;
    if (reads(ins) & writtenInLoop & ~writtenSoFar) return Spin.No;
    writtenSoFar |= writes(ins);
  }
  return Spin.PollLoop;
}

const INTEGER_EXTS = new Set(['I', 'M', 'Zba', 'Zbb', 'Zbs']);

/** Integer registers an op reads, as a bit mask (x0 left out: it never changes). */
function reads(ins: Insn): number {
  const fmt = OP_DEFS[ins.op].encoding?.fmt;
  let m = 0;
  if (fmt === Fmt.R || fmt === Fmt.S || fmt === Fmt.B || fmt === Fmt.Amo) m = (1 << ins.rs1) | (1 << ins.rs2);
  else if (fmt === Fmt.I || fmt === Fmt.Shift5 || fmt === Fmt.Shift6) m = 1 << ins.rs1;
  return m & ~1;
}

/** Integer registers an op writes, as a bit mask. */
function writes(ins: Insn): number {
  const c = opClass(ins.op);
  return c === OpClass.Store || c === OpClass.Branch || c === OpClass.Fence ? 0 : (1 << ins.rd) & ~1;
}

/** Decodes a single instruction from its two halves (used for instructions straddling a page). */
export function straddlingInsnBlock(lo: number, hi: number, decodeWord: (raw: number) => Insn = decode32): Block {
  const insn = decodeWord((((hi & 0xffff) << 16) | (lo & 0xffff)) >>> 0);
  return { insns: [insn], offsets: [0n], bytes: 4n, pa: -1, page: -1, gen: 0, spin: Spin.No, plain: false, csrEnd: false };
}

/** The halfword of code at `pa`, or -1 where nothing executable is (or its read fails). */
export function readHalf(bus: Bus, pa: number): number {
  if (bus.isRam(pa)) return bus.u8[bus.ramOffset(pa)] | (bus.u8[bus.ramOffset(pa) + 1] << 8);
  if (!bus.isExecutable(pa)) return -1;
  const v = bus.read(pa, 2, -1);
  return v === null ? -1 : Number(v);
}
