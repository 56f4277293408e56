import { Board } from '../machine/board.js';
import { BoardConfig } from '../machine/config.js';
import { BootOptions, PreparedMachine, prepareMachine } from '../machine/loader.js';
import { BOOT_ROM_BASE } from '../machine/memmap.js';
import { createSharedMemory, sharedBuffer } from '../shm/layout.js';

/**
 * A machine in its own shared memory. The WebAssembly.Memory is kept (not just its buffer):
 * the JIT tier compiles modules that import it.
 */
export interface Machine {
  memory: WebAssembly.Memory;
  buffer: SharedArrayBuffer;
  prepared: PreparedMachine;
  board: Board;
}

/**
 * The one place a machine is made (run, record, replay, the debugger's timeline and live target):
 * fresh shared memory, images loaded and the DTB and boot ROM written, devices mapped; powered off.
 * `check` sees the loaded images before the board is built (a replay compares them with its trace).
 */
export function buildMachine(opts: BootOptions, check?: (prepared: PreparedMachine) => void): Machine {
  const memory = createSharedMemory(opts.ramBytes);
  const buffer = sharedBuffer(memory);
  const prepared = prepareMachine(buffer, opts);
  check?.(prepared);
  return { memory, buffer, prepared, board: new Board(buffer, prepared.config) };
}

/** Another thread's view of a machine built elsewhere (hart workers): the same memory, its own objects. */
export function attachMachine(memory: WebAssembly.Memory, config: BoardConfig): Board {
  return new Board(sharedBuffer(memory), config);
}

/** Power-on reset: control words cleared, the clock started, timers disarmed, every hart at the boot ROM. */
export function powerOn(board: Board): void {
  board.control.init();
  board.clock.start();
  board.clint.reset();
  for (const h of board.harts) h.reset(BigInt(BOOT_ROM_BASE));
}
