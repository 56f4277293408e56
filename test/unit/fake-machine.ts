import { consoleOutRing } from '../../src/shm/byte-ring.js';
import { RAM_OFFSET, createSharedMemory, sharedBuffer } from '../../src/shm/layout.js';
import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import { powerOn } from '../../src/engine/machine-factory.js';
import { Board } from '../../src/machine/board.js';
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

/** A real board with `harts` harts and `ramBytes` of RAM (no images), powered on. */
export function poweredBoard(harts: number, ramBytes = 1 << 20, memory: WebAssembly.Memory = createSharedMemory(ramBytes)): Board {
  const board = new Board(sharedBuffer(memory), { harts, ramBytes, rom: new Uint8Array(0x100), tohost: null, fromhost: null, disks: [], cpu: DEFAULT_CPU_FEATURES });
  powerOn(board);
  return board;
}

/** One M-mode hart of a real board (1 MiB of RAM) with `words` at RAM_BASE and its pc there: for executor tests. */
export function oneHartMachine(words: readonly number[]) {
  const memory = createSharedMemory(1 << 20);
  const buffer = sharedBuffer(memory);
  const board = poweredBoard(1, 1 << 20, memory);
  const view = new DataView(buffer);
  words.forEach((w, i) => view.setUint32(RAM_OFFSET + 4 * i, w, true));
  const hart = board.harts[0]!;
  hart.pc = BigInt(RAM_BASE);
  return { board, hart, memory, view };
}
