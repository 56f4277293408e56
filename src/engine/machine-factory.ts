import { Hart } from '../cpu/hart.js';
import { Tier, createExecutor } from '../jit/tier.js';
import { Board } from '../machine/board.js';
import { BoardConfig } from '../machine/config.js';
import { BootOptions, PreparedMachine, prepareMachine } from '../machine/loader.js';
import { BOOT_ROM_BASE } from '../machine/memmap.js';
import { createSharedMemory, sharedBuffer } from '../shm/layout.js';
import { ChaosPolicy } from './chaos.js';
import { HartRunner } from './hart-runner.js';
import { ScheduledHart } from './serial-scheduler.js';
import { HartSupervisor } from './supervisor.js';

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

/** Puts a hart under a supervisor on an execution tier (with --chaos, its policy), ready for a scheduler. */
export function scheduleHart(hart: Hart, supervisor: HartSupervisor, tier: Tier, memory: WebAssembly.Memory, chaos?: ChaosPolicy): ScheduledHart {
  hart.timeSource = () => supervisor.readTime(hart);
  if (chaos) hart.mmu.guard = chaos.guardAccesses(hart.mmu.guard, () => hart.mmu.flush()); // after the recorder set its own
  return { hart, supervisor, runner: new HartRunner(hart, supervisor, createExecutor(tier, hart, memory), chaos) };
}
