import { CODE_FLAG_BASE, CODE_GEN_BASE, RAM_OFFSET, RAM_WRITTEN_BASE } from '../shm/layout.js';
import { withLock } from '../shm/lock.js';
import { MmioDevice } from './device.js';
import { BOOT_ROM_BASE, RAM_BASE } from './memmap.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/**
 * Physical address space of one thread's view of the machine: RAM (in the shared memory), the boot
 * ROM and the MMIO devices. Every access that is not a naturally aligned RAM access goes through
 * here; the MMU's fast path touches RAM directly through the typed-array views this class owns.
 */
export class Bus {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly dv: DataView;
  /** Bumped (atomically) for every write to a RAM page that holds translated code. */
  readonly codeGen: Int32Array;
  /** Nonzero once any hart translated code from the page. */
  readonly codeFlag: Uint8Array;
  /** 1 once the page may have been written, else 0 (shm/layout.ts RAM_WRITTEN_BASE; shared by all threads; state-hash.ts looks for 1s). */
  readonly ramWritten: Uint8Array;
  readonly ramEnd: number;
  private readonly devices: MmioDevice[];
  private readonly locks: Int32Array;
  /** RAM pages whose stores must take the slow path (the HTIF tohost page). */
  private readonly watchedPages = new Set<number>();
  /** Called on stores to a watched RAM page, after the store. */
  onWatchedStore: ((pa: number, size: number) => void) | null = null;
  /**
   * Debugger checkpoints (single-threaded replay only): one byte per RAM page, set when the page may
   * have been written. The MMU marks a page when it caches a store translation for it, so the fast
   * path costs nothing; checkpointing flushes the TLBs after clearing the marks.
   */
  dirtyPages: Uint8Array | null = null;

  constructor(readonly memory: SharedArrayBuffer, readonly ramBytes: number, devices: MmioDevice[], private readonly rom: Uint8Array) {
    this.u8 = new Uint8Array(memory);
    this.u16 = new Uint16Array(memory);
    this.i32 = new Int32Array(memory);
    this.i64 = new BigInt64Array(memory);
    this.dv = new DataView(memory);
    this.codeGen = new Int32Array(memory, CODE_GEN_BASE, ramBytes >>> PAGE_SHIFT);
    this.codeFlag = new Uint8Array(memory, CODE_FLAG_BASE, ramBytes >>> PAGE_SHIFT);
    this.ramWritten = new Uint8Array(memory, RAM_WRITTEN_BASE, ramBytes >>> PAGE_SHIFT);
    this.ramEnd = RAM_BASE + ramBytes;
    this.devices = [...devices].sort((a, b) => a.base - b.base);
    this.locks = new Int32Array(memory);
  }

  isRam(pa: number): boolean {
    return pa >= RAM_BASE && pa < this.ramEnd;
  }

  /** RAM or boot ROM: the only places instructions can be fetched from. */
  isExecutable(pa: number): boolean {
    return this.isRam(pa) || (pa >= BOOT_ROM_BASE && pa < BOOT_ROM_BASE + this.rom.length);
  }

  /** Byte offset of a RAM physical address in the shared memory. */
  ramOffset(pa: number): number {
    return pa - RAM_BASE + RAM_OFFSET;
  }

  /** True when stores to this RAM page may use the direct fast path. */
  isFastStorePage(pa: number): boolean {
    return this.isRam(pa) && !this.watchedPages.has(pa >>> PAGE_SHIFT);
  }

  watchPage(pa: number): void {
    this.watchedPages.add(Math.floor(pa / PAGE_SIZE));
  }

  /** Must be called after any write into RAM (CPU slow path, DMA): invalidates translated code. */
  noteRamWrite(pa: number, size: number): void {
    const first = (pa - RAM_BASE) >>> PAGE_SHIFT;
    const last = (pa + size - 1 - RAM_BASE) >>> PAGE_SHIFT;
    for (let p = first; p <= last; p++) {
      if (this.codeFlag[p]) Atomics.add(this.codeGen, p, 1);
      this.markWritten(p);
    }
  }

  /** RAM page `p` (index) may be written from now on: the final state hash and the debugger's checkpoints read it. */
  markWritten(p: number): void {
    this.ramWritten[p] = 1;
    if (this.dirtyPages) this.dirtyPages[p] = 1;
  }

  findDevice(pa: number): MmioDevice | undefined {
    for (const d of this.devices) if (pa >= d.base && pa < d.base + d.size) return d;
    return undefined;
  }

  /** Reads `size` bytes at a physical address; null means access fault. Little-endian, any alignment. */
  read(pa: number, size: number, hart: number): bigint | null {
    if (this.isRam(pa)) {
      if (pa + size > this.ramEnd) return null;
      return this.readRam(this.ramOffset(pa), size);
    }
    if (pa >= BOOT_ROM_BASE && pa + size <= BOOT_ROM_BASE + this.rom.length) {
      let v = 0n;
      for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.rom[pa - BOOT_ROM_BASE + i]);
      return v;
    }
    const dev = this.findDevice(pa);
    if (!dev || pa + size > dev.base + dev.size) return null;
    return withLock(this.locks, dev.stateOffset >> 2, () => BigInt.asUintN(size * 8, dev.read(pa - dev.base, size, hart)));
  }

  /** Writes `size` bytes at a physical address; false means access fault. */
  write(pa: number, size: number, value: bigint, hart: number): boolean {
    if (this.isRam(pa)) {
      if (pa + size > this.ramEnd) return false;
      this.writeRam(this.ramOffset(pa), size, value);
      this.noteRamWrite(pa, size);
      if (this.onWatchedStore && this.watchedPages.has(pa >>> PAGE_SHIFT)) this.onWatchedStore(pa, size);
      return true;
    }
    const dev = this.findDevice(pa);
    if (!dev || pa + size > dev.base + dev.size) return false;
    withLock(this.locks, dev.stateOffset >> 2, () => dev.write(pa - dev.base, size, BigInt.asUintN(size * 8, value), hart));
    return true;
  }

  readRam(off: number, size: number): bigint {
    switch (size) {
      case 1: return BigInt(this.u8[off]);
      case 2: return BigInt(this.dv.getUint16(off, true));
      case 4: return BigInt(this.dv.getUint32(off, true));
      default: return this.dv.getBigUint64(off, true);
    }
  }

  writeRam(off: number, size: number, value: bigint): void {
    switch (size) {
      case 1: this.u8[off] = Number(value & 0xffn); break;
      case 2: this.dv.setUint16(off, Number(value & 0xffffn), true); break;
      case 4: this.dv.setUint32(off, Number(value & 0xffffffffn), true); break;
      default: this.dv.setBigUint64(off, BigInt.asUintN(64, value), true); break;
    }
  }
}
