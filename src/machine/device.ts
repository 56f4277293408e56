/**
 * MMIO device contract. Devices are emulated synchronously in the thread of the hart that touches
 * them (design notes, section 4): every thread builds its own device objects over the same shared
 * memory, so all device state lives in the device's shared state region (shm/layout.ts
 * DEVICE_REGIONS), never in JS fields that differ between threads. Constant configuration (base
 * address, disk size, ...) may live in fields because every thread is given the same values.
 *
 * The bus serialises accesses to one device with the lock in the first Int32 of its region, so a
 * device's read/write never run concurrently with themselves; a device that touches another
 * device (UART raising a PLIC line) takes that device's lock through its own API.
 */
export interface MmioDevice {
  readonly name: string;
  readonly base: number;
  readonly size: number;
  /** Byte offset of this device's state region in the shared memory (its lock is the first Int32). */
  readonly stateOffset: number;
  /** width is 1, 2, 4 or 8 bytes; offset is relative to base. Unmapped registers read as 0. */
  read(offset: number, width: number, hart: number): bigint;
  write(offset: number, width: number, value: bigint, hart: number): void;
  /**
   * The RAM pages (indexes from the start of RAM) that a write of `value` at `offset` would make
   * the device read or write by DMA, for a parallel recording's page ownership (the writing hart
   * takes them like its own accesses); null or absent: no DMA. A dry run: changes nothing.
   */
  dmaPages?(offset: number, width: number, value: bigint): DmaPage[] | null;
  /**
   * True when every read in the 4 KiB page at `pageOffset` returns a recorded input (a clock read)
   * or a constant and changes nothing: a parallel recording then lets harts read it without taking
   * the device bus, since there is no order between harts to pin down.
   */
  unorderedReadPage?(pageOffset: number): boolean;
}

/** A RAM page a device touches by DMA. */
export interface DmaPage {
  page: number;
  write: boolean;
}

/** Interrupt lines into the PLIC, one per source (1..PLIC_NUM_SOURCES-1). Level triggered. */
export interface IrqSink {
  /** Drives a line; every call with `level` true is an assertion (the PLIC makes the source pending again, as QEMU's does). */
  setIrq(source: number, level: boolean): void;
}

/** mip bit numbers */
export const enum Irq {
  SSIP = 1,
  MSIP = 3,
  STIP = 5,
  MTIP = 7,
  SEIP = 9,
  MEIP = 11,
}

/** Per-hart interrupt lines (mip bits driven by devices) and wake-ups. */
export interface HartLines {
  readonly numHarts: number;
  /** Atomically sets or clears `mask` in the hart's device-driven mip word, waking it if set. */
  setPending(hart: number, mask: number, level: boolean): void;
  /** Wakes the hart from WFI and makes it re-evaluate its interrupts and timer. */
  kick(hart: number): void;
}

/** What every device gets from the machine. */
export interface DeviceEnv {
  readonly memory: SharedArrayBuffer;
  /** Guest RAM (physical address ramBase maps to ram[0]). */
  readonly ram: Uint8Array;
  readonly ramBase: number;
  readonly harts: HartLines;
  /** Devices call this after writing guest RAM directly (DMA), so translated code there is invalidated. */
  ramWritten(ramOffset: number, length: number): void;
  /** Called (in the writing hart's thread) for every console byte transmitted, with its offset in the console output. */
  consoleWritten?(hart: number, offset: number): void;
  /** Emits one console output byte (UART THR, HTIF putchar): the shared output ring, or the debugger's sink. */
  emitConsole(byte: number): void;
  /** Current mtime (10 MHz ticks). */
  mtime(): bigint;
}
