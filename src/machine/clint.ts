import { Clock } from '../shm/clock.js';
import { DEVICE_REGIONS, HartBlock, hartBase } from '../shm/layout.js';
import { DeviceEnv, Irq, MmioDevice } from './device.js';
import { CLINT_BASE, CLINT_SIZE } from './memmap.js';

const MSIP_BASE = 0x0;
const MTIMECMP_BASE = 0x4000;
const MTIME = 0xbff8;
const NEVER = (1n << 62n);

/**
 * SiFive CLINT: per-hart software interrupt (msip) and timer compare (mtimecmp) registers, and
 * the shared mtime. MTIP is a level: mtime >= mtimecmp. Since mtime moves without anyone writing
 * it, each hart also keeps a host-time deadline (in its state block) and raises its own MTIP when
 * it passes; a write to mtimecmp recomputes that deadline and kicks the hart.
 */
export class Clint implements MmioDevice {
  readonly name = 'clint';
  readonly base = CLINT_BASE;
  readonly size = CLINT_SIZE;
  readonly stateOffset = DEVICE_REGIONS.clint.offset;
  private readonly mtimecmp: BigInt64Array;
  private readonly msip: Int32Array;
  private readonly memory: SharedArrayBuffer;

  constructor(private readonly env: DeviceEnv, private readonly clock: Clock) {
    this.memory = env.memory;
    // Region layout: lock at +0, msip words at +64 (one Int32 per hart), mtimecmp at +512.
    this.msip = new Int32Array(env.memory, this.stateOffset + 64, 64);
    this.mtimecmp = new BigInt64Array(env.memory, this.stateOffset + 512, 64);
  }

  /**
   * mtime's page holds nothing else (mtimecmp ends below it for up to 64 harts), and every mtime
   * read is logged as a clock read: harts that poll the clock need not take turns on the bus.
   */
  unorderedReadPage(pageOffset: number): boolean {
    return pageOffset === (MTIME & ~0xfff);
  }

  /** The hart's mtimecmp (unsigned). */
  compareValue(hart: number): bigint {
    return BigInt.asUintN(64, this.mtimecmp[hart]);
  }

  /** Power-on state: msip clear, mtimecmp = all ones (no timer interrupt). */
  reset(): void {
    for (let h = 0; h < this.env.harts.numHarts; h++) {
      this.msip[h] = 0;
      this.mtimecmp[h] = -1n;
      this.updateTimer(h);
    }
  }

  read(offset: number, width: number): bigint {
    const harts = this.env.harts.numHarts;
    if (offset >= MSIP_BASE && offset < MSIP_BASE + 4 * harts && width === 4) {
      return BigInt(this.msip[(offset - MSIP_BASE) >> 2]);
    }
    if (offset >= MTIMECMP_BASE && offset < MTIMECMP_BASE + 8 * harts) {
      return this.slice(this.mtimecmp[(offset - MTIMECMP_BASE) >> 3], offset & 7, width);
    }
    if (offset >= MTIME && offset < MTIME + 8) return this.slice(this.env.mtime(), offset & 7, width); // guest-visible: recorded
    return 0n;
  }

  write(offset: number, width: number, value: bigint): void {
    const harts = this.env.harts.numHarts;
    if (offset >= MSIP_BASE && offset < MSIP_BASE + 4 * harts && width === 4) {
      const hart = (offset - MSIP_BASE) >> 2;
      const level = (value & 1n) === 1n;
      const wasSet = this.msip[hart] === 1;
      this.msip[hart] = level ? 1 : 0;
      this.env.harts.setPending(hart, 1 << Irq.MSIP, level);
      // Setting a bit already set changes no line, so setPending does not wake the hart; but the
      // write is the sender's "look now": a hart polling in WFI with this IPI pending and masked
      // (OpenSBI's HSM wait, whose start sets the state and then sends the IPI) stops napping.
      if (level && wasSet) this.env.harts.kick(hart);
      return;
    }
    if (offset >= MTIMECMP_BASE && offset < MTIMECMP_BASE + 8 * harts) {
      const hart = (offset - MTIMECMP_BASE) >> 3;
      this.mtimecmp[hart] = this.merge(this.mtimecmp[hart], offset & 7, width, value);
      this.updateTimer(hart);
      return;
    }
    if (offset >= MTIME && offset < MTIME + 8) {
      this.clock.setMtime(BigInt.asUintN(64, this.merge(this.clock.mtime(), offset & 7, width, value)));
      for (let h = 0; h < harts; h++) this.updateTimer(h);
    }
  }

  /** Recomputes hart's MTIP level and its host-time deadline, then kicks it. */
  private updateTimer(hart: number): void {
    const cmp = BigInt.asUintN(64, this.mtimecmp[hart]);
    const deadlines = new BigInt64Array(this.memory, hartBase(hart) + HartBlock.TIMER_DEADLINE, 1);
    const due = this.clock.mtime() >= cmp;
    const at = this.clock.hostNsAt(cmp);
    deadlines[0] = at >= NEVER ? NEVER : at;
    this.env.harts.setPending(hart, 1 << Irq.MTIP, due);
    this.env.harts.kick(hart);
  }

  private slice(value: bigint, byteOffset: number, width: number): bigint {
    return BigInt.asUintN(width * 8, value >> BigInt(byteOffset * 8));
  }

  private merge(old: bigint, byteOffset: number, width: number, value: bigint): bigint {
    const shift = BigInt(byteOffset * 8);
    const mask = ((1n << BigInt(width * 8)) - 1n) << shift;
    return BigInt.asIntN(64, (old & ~mask) | ((value << shift) & mask));
  }
}
