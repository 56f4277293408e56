import { DEVICE_REGIONS, MAX_HARTS } from '../shm/layout.js';
import { acquire, release } from '../shm/lock.js';
import { Irq, type DeviceEnv, type IrqSink, type MmioDevice } from './device.js';
import { PLIC_BASE, PLIC_NUM_SOURCES, PLIC_SIZE } from './memmap.js';

/**
 * SiFive PLIC as on QEMU's virt board: 2 contexts per hart (2h = M-mode, 2h+1 = S-mode).
 *
 * Gateways as in QEMU's sifive_plic: every raise of a line (a device asserting its interrupt, even
 * if it already was) makes the source pending, also while it is claimed; lowering the line
 * withdraws a pending request; a claim moves the source from pending to claimed; completion only
 * ends the claim. A line that merely stays high is not delivered again after completion: the
 * device has to assert it again, which QEMU's devices do whenever their state changes (a UART on
 * every transmitted byte, a virtio device on every notification). Real PLICs re-arm a still-high
 * level at completion instead; xv6's UART handler, which never reads IIR, relies on QEMU's way
 * (with re-arming, its unacknowledged THR-empty interrupt fires for ever and a lone hart never
 * leaves the handler).
 */
const REG_PENDING = 0x1000;
const REG_ENABLE = 0x2000;
const ENABLE_STRIDE = 0x80;
const REG_CONTEXT = 0x200000;
const CONTEXT_STRIDE = 0x1000;
const PRIORITY_MASK = 7; // 3 priority bits, like QEMU's virt (num_priorities = 7)

/** Bitmap words per context; 4 rather than 3 so a guest that believes in 96+ sources is harmless. */
const BITMAP_WORDS = 4;
const MAX_CONTEXTS = 2 * MAX_HARTS;
/** Int32 word indices in the shared state region (word 0 is the lock). */
const LOCK = 0;
const PRIORITY = 16; // one word per source
const PENDING = PRIORITY + 128;
const CLAIMED = PENDING + BITMAP_WORDS;
const ENABLE = CLAIMED + BITMAP_WORDS; // BITMAP_WORDS per context
const THRESHOLD = ENABLE + BITMAP_WORDS * MAX_CONTEXTS;
/** Last level driven onto each context's interrupt line, so unchanged lines cost nothing. */
const OUTPUT = THRESHOLD + MAX_CONTEXTS;
const STATE_WORDS = OUTPUT + MAX_CONTEXTS;

/** All-ones mask of the implemented sources 1..PLIC_NUM_SOURCES-1 within bitmap word `word`. */
function sourceMask(word: number): number {
  let mask = 0;
  for (let bit = 0; bit < 32; bit++) {
    const source = word * 32 + bit;
    if (source >= 1 && source < PLIC_NUM_SOURCES) mask |= 1 << bit;
  }
  return mask;
}
const SOURCE_MASKS = Array.from({ length: BITMAP_WORDS }, (_, w) => sourceMask(w));

export class Plic implements MmioDevice, IrqSink {
  readonly name = 'plic';
  readonly base = PLIC_BASE;
  readonly size = PLIC_SIZE;
  readonly stateOffset = DEVICE_REGIONS.plic.offset;
  private readonly state: Int32Array;
  private readonly numContexts: number;

  constructor(
    private readonly env: DeviceEnv,
    readonly numHarts: number,
  ) {
    if (numHarts < 1 || numHarts > MAX_HARTS) throw new RangeError(`PLIC: bad hart count ${numHarts}`);
    if (STATE_WORDS * 4 > DEVICE_REGIONS.plic.size) throw new Error('PLIC state does not fit its region');
    this.state = new Int32Array(env.memory, this.stateOffset, STATE_WORDS);
    this.numContexts = 2 * numHarts;
  }

  /**
   * IrqSink: a device drives its line (called from other devices, possibly in another thread, so
   * it takes the lock). Each call with `level` true is an assertion that makes the source pending.
   */
  setIrq(source: number, level: boolean): void {
    if (source < 1 || source >= PLIC_NUM_SOURCES) return;
    acquire(this.state, LOCK);
    try {
      this.setBit(PENDING, source, level);
      this.updateOutputs();
    } finally {
      release(this.state, LOCK);
    }
  }

  read(offset: number, width: number, _hart: number): bigint {
    if (width === 8) {
      return BigInt(this.read32(offset)) | (BigInt(this.read32(offset + 4)) << 32n);
    }
    const word = this.read32(offset & ~3);
    const shifted = word >>> ((offset & 3) * 8);
    return BigInt(width === 4 ? shifted : shifted & ((1 << (width * 8)) - 1));
  }

  write(offset: number, width: number, value: bigint, _hart: number): void {
    if (width === 8) {
      this.write32(offset, Number(value & 0xffffffffn));
      this.write32(offset + 4, Number((value >> 32n) & 0xffffffffn));
      return;
    }
    // Registers are 32 bits wide; a narrower store only makes sense at the register's start.
    if ((offset & 3) !== 0) return;
    this.write32(offset, Number(value & 0xffffffffn));
  }

  private read32(offset: number): number {
    if (offset < REG_PENDING) {
      const source = offset >> 2;
      return source < PLIC_NUM_SOURCES ? this.state[PRIORITY + source]! : 0;
    }
    if (offset < REG_ENABLE) {
      const word = (offset - REG_PENDING) >> 2;
      return word < BITMAP_WORDS ? this.state[PENDING + word]! >>> 0 : 0;
    }
    if (offset < REG_CONTEXT) {
      const context = Math.floor((offset - REG_ENABLE) / ENABLE_STRIDE);
      const word = ((offset - REG_ENABLE) % ENABLE_STRIDE) >> 2;
      if (context >= this.numContexts || word >= BITMAP_WORDS) return 0;
      return this.state[ENABLE + context * BITMAP_WORDS + word]! >>> 0;
    }
    const context = Math.floor((offset - REG_CONTEXT) / CONTEXT_STRIDE);
    if (context >= this.numContexts) return 0;
    switch ((offset - REG_CONTEXT) % CONTEXT_STRIDE) {
      case 0:
        return this.state[THRESHOLD + context]!;
      case 4:
        return this.claim(context);
      default:
        return 0;
    }
  }

  private write32(offset: number, value: number): void {
    if (offset < REG_PENDING) {
      const source = offset >> 2;
      if (source >= 1 && source < PLIC_NUM_SOURCES) {
        this.state[PRIORITY + source] = value & PRIORITY_MASK;
        this.updateOutputs();
      }
      return;
    }
    if (offset < REG_ENABLE) return; // pending bits are read-only
    if (offset < REG_CONTEXT) {
      const context = Math.floor((offset - REG_ENABLE) / ENABLE_STRIDE);
      const word = ((offset - REG_ENABLE) % ENABLE_STRIDE) >> 2;
      if (context >= this.numContexts || word >= BITMAP_WORDS) return;
      this.state[ENABLE + context * BITMAP_WORDS + word] = value & SOURCE_MASKS[word]!;
      this.updateOutputs();
      return;
    }
    const context = Math.floor((offset - REG_CONTEXT) / CONTEXT_STRIDE);
    if (context >= this.numContexts) return;
    switch ((offset - REG_CONTEXT) % CONTEXT_STRIDE) {
      case 0:
        this.state[THRESHOLD + context] = value & PRIORITY_MASK;
        this.updateOutputs();
        return;
      case 4:
        this.complete(context, value >>> 0);
        return;
    }
  }

  /** Highest-priority deliverable source for the context (lowest id wins ties), or 0. */
  private bestSource(context: number): number {
    let best = 0;
    let bestPriority = this.state[THRESHOLD + context]!;
    const enableBase = ENABLE + context * BITMAP_WORDS;
    for (let word = 0; word < BITMAP_WORDS; word++) {
      let bits = this.state[PENDING + word]! & ~this.state[CLAIMED + word]! & this.state[enableBase + word]!;
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const source = word * 32 + bit;
        const priority = this.state[PRIORITY + source]!;
        if (priority > bestPriority) {
          best = source;
          bestPriority = priority;
        }
      }
    }
    return best;
  }

  private claim(context: number): number {
    const source = this.bestSource(context);
    if (source !== 0) {
      this.setBit(PENDING, source, false);
      this.setBit(CLAIMED, source, true);
      this.updateOutputs();
    }
    return source;
  }

  private complete(context: number, source: number): void {
    if (source < 1 || source >= PLIC_NUM_SOURCES) return;
    // As in QEMU, a completion for a source the context has not enabled is ignored.
    const enableWord = this.state[ENABLE + context * BITMAP_WORDS + (source >> 5)]!;
    if ((enableWord & (1 << (source & 31))) === 0) return;
    this.setBit(CLAIMED, source, false);
    this.updateOutputs();
  }

  /** Drives MEIP/SEIP of every hart from its two contexts. Called with the lock held. */
  private updateOutputs(): void {
    for (let context = 0; context < this.numContexts; context++) {
      const level = this.bestSource(context) !== 0 ? 1 : 0;
      if (this.state[OUTPUT + context] === level) continue;
      this.state[OUTPUT + context] = level;
      const mask = (context & 1) === 0 ? 1 << Irq.MEIP : 1 << Irq.SEIP;
      this.env.harts.setPending(context >> 1, mask, level === 1);
    }
  }

  private setBit(base: number, source: number, on: boolean): void {
    const index = base + (source >> 5);
    const bit = 1 << (source & 31);
    this.state[index] = on ? this.state[index]! | bit : this.state[index]! & ~bit;
  }
}
