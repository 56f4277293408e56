import { Hart } from '../cpu/hart.js';
import { Board } from '../machine/board.js';
import { ScheduledHart, SerialSchedulerOptions } from '../engine/serial-scheduler.js';
import { HartSupervisor } from '../engine/supervisor.js';
import { VirtualClock } from '../engine/virtual-time.js';
import { ChaosPolicy } from '../engine/chaos.js';

/**
 * How a hart worker runs its harts: plainly (`module: null`), or under a plug-in — the ES module at
 * `module`, whose `createWorkerPlugin(context, options)` makes each hart's supervisor. Recording
 * (recorder/worker-plugin.ts) and replay (replayer/worker-plugin.ts) plug in this way, so the
 * worker knows neither; `options` is plain data (it crosses threads by structured clone).
 * `module` is a path from the build's root (`recorder/worker-plugin.js`): the compiled modules'
 * worker imports it from beside its own build root, and the bundled worker (scripts/bundle-worker.mjs)
 * takes it from its own file (cli/hart-worker-bundled.ts BUNDLED_PLUGINS), so a plug-in shares the
 * worker's modules and never loads a second copy of them.
 */
export interface WorkerMode {
  module: string | null;
  options?: unknown;
}

/** What a plug-in is given in the worker thread. */
export interface WorkerContext {
  /** This thread's view of the machine. */
  board: Board;
  /** The harts this worker runs: all with serial scheduling; in parallel mode one, or several sharing the thread (--threads). */
  hartIds: number[];
  maxInsns: number;
  /** The clock of serial scheduling (virtual time: instructions retired by all harts). */
  virtualClock: VirtualClock;
  /** --chaos: each hart's policy (null without chaos); a recorder draws its tenure from it. */
  chaos(hartId: number): ChaosPolicy | null;
  /** Parallel mode: this worker's index among the machine's host threads, and each thread's harts at the start. */
  thread: number;
  threadGroups: number[][];
  /** The machine's harts run on more host threads than the host has cores. */
  oversubscribed: boolean;
  /** Puts a hart that arrived from another thread (hart migration) on this worker's tier, as the worker did its own. */
  scheduleHart(hart: Hart, supervisor: HartSupervisor): ScheduledHart;
  /** Harts that started together (engine/start-together.ts): asks the coordinator to start the machine's other threads. */
  spawnThreads(): void;
}

export interface WorkerPlugin {
  /** The supervisor of one hart (called once per hart, after its state was loaded). */
  supervisor(hart: Hart): HartSupervisor;
  /** How harts share this worker's thread when it runs more than one. */
  schedule: Omit<SerialSchedulerOptions, 'onDone'>;
  /**
   * Its supervisors need no safe point between plain blocks, so the JIT may run several per call
   * (JitOptions.runsOfBlocks): true for a parallel trace's recording (while no hand-off is
   * pending, AccessGuard.handOffPending) and replay; plain runs always have them.
   */
  runsOfBlocks?: boolean;
  /**
   * Harts may move between this worker and others (engine/hart-migration.ts): the worker then
   * always schedules its harts (even one) as if they shared the thread, and its scheduler's
   * `awaitHarts` decides when it ends.
   */
  migrates?: boolean;
  /** The worker leaves (close files). */
  close?(): void;
}

/** What a plug-in module exports. */
export type CreateWorkerPlugin = (context: WorkerContext, options: never) => WorkerPlugin;
