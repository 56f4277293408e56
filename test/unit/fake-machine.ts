import { consoleOutRing } from '../../src/shm/byte-ring.js';
import { RAM_OFFSET } from '../../src/shm/layout.js';
import type { DeviceEnv, HartLines, IrqSink } from '../../src/machine/device.js';
import { RAM_BASE } from '../../src/machine/memmap.js';

/** Records the device-driven mip bits of each hart, like the engine's HartLines. */
export class FakeHartLines implements HartLines {
  readonly mip: number[];
  constructor(readonly numHarts: number) {
    this.mip = new Array<number>(numHarts).fill(0);
  }
  setPending(hart: number, mask: number, level: boolean): void {
    this.mip[hart] = level ? this.mip[hart]! | mask : this.mip[hart]! & ~mask;
  }
  kick(): void {}
}

/** Remembers the level of every PLIC line. */
export class FakeIrqSink implements IrqSink {
  readonly levels = new Map<number, boolean>();
  calls = 0;
  setIrq(source: number, level: boolean): void {
    this.levels.set(source, level);
    this.calls++;
  }
  level(source: number): boolean {
    return this.levels.get(source) ?? false;
  }
}

/** A shared memory laid out like the real one, with a small RAM. */
export function fakeEnv(numHarts = 2, ramBytes = 1 << 20): DeviceEnv & { harts: FakeHartLines } {
  const memory = new SharedArrayBuffer(RAM_OFFSET + ramBytes);
  const consoleOut = consoleOutRing(memory);
  return {
    memory,
    ram: new Uint8Array(memory, RAM_OFFSET, ramBytes),
    ramBase: RAM_BASE,
    harts: new FakeHartLines(numHarts),
    ramWritten: () => {},
    mtime: () => 0n,
    emitConsole: (byte) => consoleOut.pushBlocking(byte),
  };
}
