/**
 * What a hart worker thread does (runHartWorker): receive its machine, run its harts, report.
 * Its two entries: host/hart-worker.ts (the compiled modules) and cli/hart-worker-bundled.ts (the
 * bundle, started by host/hart-worker-loader.ts); they differ only in how plug-ins load.
 */
import { readFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { BoardConfig } from '../machine/config.js';
import { HindsightError } from '../errors.js';
import { RunSupervisor } from '../engine/hart-runner.js';
import { attachMachine } from '../engine/machine-factory.js';
import { scheduleHart } from '../engine/schedule-hart.js';
import { RoundRobin, SERIAL_QUANTUM, ScheduledHart, SerialScheduler } from '../engine/serial-scheduler.js';
import { Hart } from '../cpu/hart.js';
import { HartSupervisor } from '../engine/supervisor.js';
import { VirtualClock } from '../engine/virtual-time.js';
import { CODE_HEAT_BASE, StopReason, jitPublishedCounter, sharedBuffer } from '../shm/layout.js';
import { JitShare, type ShareMessage } from '../jit/jit-share.js';
import { HotPageList, HotPages } from '../jit/hot-pages.js';
import { PageModuleCache, type UsedModule } from '../jit/page-module-cache.js';
import { RemoteCompiler } from '../jit/remote-compile.js';
import { Tier } from '../jit/tier.js';
import { ChaosPolicy, ChaosSettings } from '../engine/chaos.js';
import { PeerWatch, threadRunQueueMs } from '../engine/peer-watch.js';
import { sharedThreadSchedule } from '../engine/shared-thread.js';
import { HartMigration, homeThreads } from '../engine/hart-migration.js';
import { CreateWorkerPlugin, WorkerContext, WorkerMode, WorkerPlugin } from './worker-plugin.js';
import type { AwaitInit } from './worker-pool.js';

/** Message a hart worker receives at start. */
export interface HartWorkerInit {
  memory: WebAssembly.Memory;
  config: BoardConfig;
  /** The harts this worker runs: one per thread in parallel mode (several with --threads), all of them with serial scheduling. */
  hartIds: number[];
  maxInsns: number;
  mode: WorkerMode;
  /** Execution tier (src/jit/tier.ts). */
  tier: Tier;
  /** --chaos (parallel run and record only). */
  chaos?: ChaosSettings | null;
  /** Host threads running the machine's harts (this one included): above the host's cores, spinning harts nap. */
  hostThreads: number;
  /** The machine's BroadcastChannel for compiled pages (jit/jit-share.ts). */
  jitChannel: string;
  /** This worker's index among the machine's host threads, and each thread's harts at the start. */
  thread: number;
  threadGroups: number[][];
  /**
   * The JIT's profile from earlier runs of these images (jit/hot-pages.ts) and the directory of
   * compiled page modules (jit/page-module-cache.ts); null: neither is kept.
   */
  hotPages: { list: HotPageList; moduleDir: string; buildId: string | null } | null;
  /**
   * The board of page modules the main thread compiles for the harts, and the module keys it
   * compiles ahead (jit/remote-compile.ts); null: compile here.
   */
  compiling: { board: Int32Array; listed: readonly string[] } | null;
  /**
   * A plain run whose harts share threads: they move between threads (engine/hart-migration.ts
   * 'balance'); `hartIds` are this thread's harts at the start, `threadGroups` each thread's own.
   */
  balance?: { table: SharedArrayBuffer; channel: string } | null;
  /** A thread started late (balance): what the machine's JIT channel carried before (JitBacklog). */
  jitBacklog?: ShareMessage[];
}

/** Message a hart worker posts when it leaves its loop. */
export type HartWorkerResult =
  | { kind: 'compile'; ticket: number; bytes: Uint8Array<ArrayBuffer> }
  | { kind: 'done'; hartId: number; icount: number; hotPages?: HotPageList; modules?: UsedModule[] }
  /** Thread 0 of harts that started together (engine/start-together.ts): start the machine's other threads. */
  | { kind: 'spawn' }
  /** What this thread's JIT learned after its last hart's 'done' (its harts moved away, hart migration). */
  | { kind: 'learned'; hotPages?: HotPageList; modules?: UsedModule[] }
  | { kind: 'divergence'; hartId: number; message: string; exitCode: number }
  | { kind: 'fatal'; hartId: number; message: string; stack?: string }
  /** The last message: everything the worker had to write is written (its thread's teardown takes ~20-40 ms more). */
  | { kind: 'closed' };

/** What runs a hart worker's machine needs from the module that started it (its entry). */
export interface HartWorkerHooks {
  /** Loads a plug-in module (WorkerMode.module, a path from the build's root, `recorder/worker-plugin.js`). */
  importPlugin(path: string): Promise<unknown>;
  /** Called once the worker's work is done, before its last message (`closed`), after which the process may end at once. */
  beforeClosed?(): void;
}

/** CPU time of this thread so far (Linux /proc, 10 ms ticks; -1 elsewhere): a hart's cost measured without the host's other load. */
function threadCpuMs(): number {
  try {
    const fields = readFileSync('/proc/thread-self/stat', 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (fields 14, 15 of stat)
  } catch {
    return -1;
  }
}

/** This thread's time runnable but waiting for a host core, whole ms (-1 where there is none). */
function runQueueStat(): number {
  const ms = threadRunQueueMs();
  return Number.isFinite(ms) ? Math.round(ms) : -1;
}

/**
 * The machine to run: in workerData, or (a worker started ahead, host/worker-pool.ts) the first
 * message, while the plug-in the command said it will use loads (loadPlugin then finds it loaded;
 * a failure to load is reported there).
 */
async function receiveInit(importPlugin: HartWorkerHooks['importPlugin']): Promise<HartWorkerInit> {
  const ahead = workerData as AwaitInit | null;
  if (!ahead?.awaitInit) return workerData as HartWorkerInit;
  if (ahead.preload) importPlugin(ahead.preload).catch(() => {});
  return new Promise((resolve) => parentPort!.once('message', (init: HartWorkerInit) => resolve(init)));
}

/** Longest wait of a finished worker for the command to release it (MachineControl.holdWorkers). */
const WORKER_LINGER_MAX_MS = 1_000;

/**
 * A hart worker thread's whole life: receives its machine, runs its harts (plainly or under the
 * command's plug-in) until they stop, and reports. The entry (host/hart-worker.ts for the compiled
 * modules, cli/hart-worker-bundled.ts for the bundle) says how plug-ins load.
 */
export async function runHartWorker(hooks: HartWorkerHooks): Promise<void> {
  const init = await receiveInit(hooks.importPlugin);
  const board = attachMachine(init.memory, init.config);
  const jitShare = init.tier === 'jit' ? new JitShare({
    channel: init.jitChannel,
    published: jitPublishedCounter(init.memory),
    heat: new Int32Array(sharedBuffer(init.memory), CODE_HEAT_BASE, init.config.ramBytes >>> 12),
    solo: init.hostThreads === 1,
  }, init.jitBacklog) : null;
  const hotPages = init.tier === 'jit' && init.hotPages ? new HotPages(init.hotPages.list) : null;
  const pageCache = hotPages && init.hotPages!.buildId ? new PageModuleCache(init.hotPages!.moduleDir, init.hotPages!.buildId) : null;
  const compiler = init.tier === 'jit' && init.compiling
    ? new RemoteCompiler(init.compiling.board, init.compiling.listed, (ticket, bytes) => parentPort!.postMessage({ kind: 'compile', ticket, bytes } satisfies HartWorkerResult))
    : null;
  const chaos = new Map(init.chaos ? init.hartIds.map((id) => [id, new ChaosPolicy(init.chaos!, id)]) : []);
  const context: WorkerContext = {
    oversubscribed: init.hostThreads > availableParallelism(),
    board, hartIds: init.hartIds, maxInsns: init.maxInsns, virtualClock: new VirtualClock(board.harts), chaos: (id) => chaos.get(id) ?? null,
    thread: init.thread, threadGroups: init.threadGroups, scheduleHart: (hart, supervisor) => placeHart(hart, supervisor, true),
    spawnThreads: () => parentPort!.postMessage({ kind: 'spawn' } satisfies HartWorkerResult),
  };

  /** A hart on this worker's tier under `supervisor`; `shared`: it takes turns with others on this thread. */
  function placeHart(hart: Hart, supervisor: HartSupervisor, shared: boolean): ScheduledHart {
    const s = scheduleHart(hart, supervisor, init.tier, init.memory, chaos.get(hart.id), { share: jitShare, hotPages, pageCache, compiler, runsOfBlocks: init.mode.module === null || plugin!.runsOfBlocks === true });
    // Several harts under host time on this thread (--threads): WFI parks a hart instead of sleeping.
    if (shared) s.runner.sharesThread = s.supervisor.realTime;
    s.runner.napWhenSpinning = context.oversubscribed;
    // --chaos keeps each hart on a thread of its own: it must not spin away the core a hart it waits for needs.
    if (chaos.has(hart.id) && !shared && board.harts.length > 1) s.runner.peerWatch = new PeerWatch(sharedBuffer(init.memory), hart.id, board.harts.length);
    return s;
  }

  /**
   * Plain running: host time, device lines sampled at safe points; harts sharing the thread take
   * turns, and with `balance` move between the machine's threads (engine/hart-migration.ts).
   */
  function plainRun(ctx: WorkerContext): WorkerPlugin {
    const supervisor = (): RunSupervisor => new RunSupervisor(ctx.board.control, () => ctx.board.clock.mtime(), ctx.maxInsns);
    const balance = init.balance ? new HartMigration({
      table: init.balance.table, channel: init.balance.channel, policy: 'balance', thread: ctx.thread, control: ctx.board.control, harts: ctx.board.harts,
      anchors: ctx.threadGroups.map((g) => g[0]), homes: homeThreads(ctx.threadGroups), own: ctx.hartIds,
      arrive: (hart) => ctx.scheduleHart(hart, supervisor()),
      leave: () => null,
      startTogether: true, spawn: ctx.spawnThreads,
    }) : null;
    if (balance) {
      const shared = sharedThreadSchedule(ctx.board, ctx.hartIds, { leader: ctx.threadGroups[ctx.thread][0], slept: (ns, waiting) => balance.slept(ns, waiting) });
      return {
        supervisor, migrates: true, close: () => balance.close(),
        schedule: { ...shared, betweenTurns: (sched) => balance.betweenTurns(sched), awaitHarts: (sched) => balance.awaitHarts(sched) },
      };
    }
    return {
      supervisor,
      schedule: ctx.hartIds.length > 1 ? sharedThreadSchedule(ctx.board, ctx.hartIds) : { policy: new RoundRobin(SERIAL_QUANTUM), stalled: () => 'continue' },
    };
  }

  async function loadPlugin(mode: WorkerMode): Promise<WorkerPlugin> {
    if (mode.module === null) return plainRun(context);
    const module = (await hooks.importPlugin(mode.module)) as { createWorkerPlugin: CreateWorkerPlugin };
    return module.createWorkerPlugin(context, mode.options as never);
  }

  function reportDone(s: ScheduledHart): void {
    // HINDSIGHT_JIT_STATS=1: where a hart's instructions ran and what compiling cost (tuning aid).
    const stats = (s.runner.executor as { stats?: unknown }).stats;
    if (process.env.HINDSIGHT_JIT_STATS === '1' && stats) writeSync(2, `hart ${s.hart.id} jit: ${JSON.stringify({ ...stats, threadCpuMs: threadCpuMs(), threadRunQueueMs: runQueueStat(), ...(s.runner.peerWatch ? { peerNaps: s.runner.peerWatch.naps } : {}) })}\n`);
    parentPort!.postMessage({ kind: 'done', hartId: s.hart.id, icount: s.hart.icount, ...takeLearned() } satisfies HartWorkerResult);
  }

  /** The pages this thread compiled since it last said, for the profile of later runs (once: harts of a thread share it). */
  function takeLearned(): { hotPages?: HotPageList; modules?: UsedModule[] } {
    const learned = hotPages?.takeLearned();
    const modules = pageCache?.takeUsed();
    return { ...(learned?.length ? { hotPages: learned } : {}), ...(modules?.length ? { modules } : {}) };
  }

  let current = init.hartIds[0] ?? init.threadGroups[init.thread]?.[0] ?? 0;
  /** The harts on this thread now (hart migration moves them between threads). */
  let running = (): Hart[] => init.hartIds.map((id) => board.harts[id]);
  let plugin: WorkerPlugin | null = null;
  try {
    plugin = await loadPlugin(init.mode);
    const migrates = plugin.migrates === true;
    const slots = init.hartIds.map((id) => {
      const hart = board.harts[id];
      hart.syncIn();
      return placeHart(hart, plugin!.supervisor(hart), init.hartIds.length > 1 || migrates);
    });
    board.control.arriveAtStart(); // the machine's harts start together
    // One hart needs no scheduler, unless it runs on virtual time: then an idle WFI must move the
    // clock to the next timer deadline (the scheduler's stall handling), not end the hart; or harts
    // may come and go (hart migration).
    if (slots.length === 1 && !slots[0].supervisor.virtualTimerDeadline && !migrates) {
      const [s] = slots;
      board.timeSource = s.hart.timeSource;
      s.runner.runSlice(Number.POSITIVE_INFINITY);
      s.runner.finish();
      reportDone(s);
    } else {
      const scheduler = new SerialScheduler(board, slots, { ...plugin.schedule, onDone: reportDone });
      running = () => scheduler.members().map((s) => s.hart);
      try {
        while (scheduler.runTurns() !== 'end');
      } finally {
        current = scheduler.current;
      }
      for (const s of scheduler.members()) {
        if (scheduler.finished[s.hart.id]) continue;
        current = s.hart.id; // stopped from outside
        s.runner.finish();
        reportDone(s);
      }
      if (process.env.HINDSIGHT_JIT_STATS === '1' && scheduler.members().length === 0) writeSync(2, `thread ${init.thread} (no harts at the end): ${JSON.stringify({ threadCpuMs: threadCpuMs(), threadRunQueueMs: runQueueStat() })}\n`);
      // Pages this thread compiled for harts that finished elsewhere.
      const learned = takeLearned();
      if (learned.hotPages || learned.modules) parentPort!.postMessage({ kind: 'learned', ...learned } satisfies HartWorkerResult);
    }
  } catch (err) {
    for (const h of running()) h.syncOut();
    if (err instanceof HindsightError) {
      // A replay that left its trace, or a damaged trace: stop everyone and say where.
      board.control.requestStop(StopReason.Fatal, err.exitCode);
      parentPort!.postMessage({ kind: 'divergence', hartId: current, message: err.message, exitCode: err.exitCode } satisfies HartWorkerResult);
    } else {
      // An emulator bug, not a guest problem: stop the whole machine and report it.
      const e = err as Error;
      board.control.requestStop(StopReason.Fatal, 1);
      parentPort!.postMessage({ kind: 'fatal', hartId: current, message: e.message, stack: e.stack } satisfies HartWorkerResult);
    }
  } finally {
    plugin?.close?.();
    jitShare?.close();
    hooks.beforeClosed?.();
    parentPort!.postMessage({ kind: 'closed' } satisfies HartWorkerResult);
    board.control.lingerWhileHeld(WORKER_LINGER_MAX_MS); // the command may still be saving its results (MachineControl.holdWorkers)
  }
}
