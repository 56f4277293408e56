import { parentPort, workerData } from 'node:worker_threads';
import { Board } from '../machine/board.js';
import { BoardConfig } from '../machine/config.js';
import { HindsightError } from '../errors.js';
import { HartRecorder, TENURE_MAX_NS } from '../../recorder/hart-recorder.js';
import { RecordingState } from '../../recorder/recording-state.js';
import { HartReplayer } from '../../replayer/hart-replayer.js';
import { ReplayProgress } from '../../replayer/replay-progress.js';
import { TraceReader } from '../../traces/trace-reader.js';
import { HartRunner, RunSupervisor } from './hart-runner.js';
import { StopReason, sharedBuffer } from './layout.js';
import { HartSupervisor } from './supervisor.js';
import { Hart } from '../cpu/hart.js';
import { SerialSupervisor, VirtualClock } from '../../recorder/serial-supervisor.js';
import { SERIAL_QUANTUM, ScheduledHart, SerialScheduler } from './serial-scheduler.js';
import { Tier, createExecutor } from '../jit/tier.js';
import { ChaosPolicy, ChaosSettings } from './chaos.js';

/** How a hart worker runs: freely, recording, or replaying a trace. */
export type WorkerMode =
  | { kind: 'run' }
  | { kind: 'record'; recording: SharedArrayBuffer; ramPages: number; checkInterval: number; tenure: number; serial: boolean; quantum: number }
  | { kind: 'replay'; tracePath: string; progress: SharedArrayBuffer; finalIcounts: number[]; traceSched: 'parallel' | 'serial'; quantum: number };

/** Message a hart worker receives at start. */
export interface HartWorkerInit {
  memory: WebAssembly.Memory;
  config: BoardConfig;
  /** The harts this worker runs: one in parallel mode, all of them with serial scheduling. */
  hartIds: number[];
  maxInsns: number;
  mode: WorkerMode;
  /** Execution tier (src/jit/tier.ts). */
  tier: Tier;
  /** --chaos (parallel run and record only). */
  chaos?: ChaosSettings | null;
}

/** Message a hart worker posts when it leaves its loop. */
export type HartWorkerResult =
  | { kind: 'done'; hartId: number; icount: number }
  | { kind: 'divergence'; hartId: number; message: string; exitCode: number }
  | { kind: 'fatal'; hartId: number; message: string; stack?: string };

const init = workerData as HartWorkerInit;
const memory = sharedBuffer(init.memory);
const board = new Board(memory, init.config);
let reader: TraceReader | null = null;
/** Serial traces run on virtual time (recorder/serial-supervisor.ts). */
const virtualClock = new VirtualClock(board.harts);

function supervisorFor(mode: WorkerMode, hart: Hart, chaos: ChaosPolicy | undefined): HartSupervisor {
  switch (mode.kind) {
    case 'run':
      return new RunSupervisor(board.control, () => board.clock.mtime(), init.maxInsns);
    case 'record': {
      const state = new RecordingState(mode.recording, { harts: init.config.harts, ramPages: mode.ramPages });
      // Console output positions: each byte's offset, at the writing hart's icount.
      board.onConsoleByte = (id, offset) => state.rings[id].writeOutput(board.harts[id].icount, offset);
      if (mode.serial) {
        return new SerialSupervisor(hart, virtualClock, board.clint, board.uart, {
          kind: 'record', ring: state.rings[hart.id], stagedInput: state.stagedInput, checkInterval: mode.checkInterval, maxInsns: init.maxInsns, control: board.control,
        });
      }
      const tenure = mode.tenure;
      return new HartRecorder(hart, state, board.control, board.clock, board.uart,
        {
          checkInterval: mode.checkInterval, maxInsns: init.maxInsns,
          get tenure() { return chaos ? chaos.tenure(tenure) : tenure; },
          get tenureNs() { return chaos ? chaos.tenure(Number(TENURE_MAX_NS)) : undefined; },
        });
    }
    case 'replay': {
      board.guestStopsMachine = false;
      reader ??= TraceReader.open(mode.tracePath);
      if (mode.traceSched === 'serial') {
        return new SerialSupervisor(hart, virtualClock, board.clint, board.uart, { kind: 'replay', events: reader.events(hart.id), finalIcount: mode.finalIcounts[hart.id] });
      }
      const progress = new ReplayProgress(mode.progress, init.config.harts);
      return new HartReplayer(hart, reader.events(hart.id), mode.finalIcounts[hart.id], progress, board.uart, init.hartIds.length > 1);
    }
  }
}

function slotFor(id: number): ScheduledHart {
  const hart = board.harts[id];
  hart.syncIn();
  const chaos = init.chaos ? new ChaosPolicy(init.chaos, id) : undefined;
  const supervisor = supervisorFor(init.mode, hart, chaos);
  hart.timeSource = () => supervisor.readTime(hart);
  return { hart, runner: new HartRunner(hart, supervisor, createExecutor(init.tier, hart, init.memory), chaos), supervisor };
}

let current: Hart | null = null;

function reportDone(s: ScheduledHart): void {
  current = s.hart;
  s.runner.finish();
  parentPort!.postMessage({ kind: 'done', hartId: s.hart.id, icount: s.hart.icount } satisfies HartWorkerResult);
}

try {
  const slots = init.hartIds.map(slotFor);
  if (slots.length === 1) {
    const [s] = slots;
    current = s.hart;
    board.timeSource = s.hart.timeSource;
    s.runner.runSlice(Number.POSITIVE_INFINITY);
    reportDone(s);
  } else {
    new SerialScheduler({
      board,
      quantum: init.mode.kind === 'run' ? SERIAL_QUANTUM : init.mode.quantum,
      clock: virtualClock,
      progress: init.mode.kind === 'replay' ? new ReplayProgress(init.mode.progress, init.config.harts) : null,
      waitForInput: init.mode.kind === 'record',
      onTurn: (hart) => { current = hart; },
      onDone: reportDone,
    }).run(slots);
  }
} catch (err) {
  for (const h of board.harts) if (init.hartIds.includes(h.id)) h.syncOut();
  const hartId = current?.id ?? init.hartIds[0];
  if (err instanceof HindsightError) {
    // A replay that left its trace, or a damaged trace: stop everyone and say where.
    board.control.requestStop(StopReason.Fatal, err.exitCode);
    parentPort!.postMessage({ kind: 'divergence', hartId, message: err.message, exitCode: err.exitCode } satisfies HartWorkerResult);
  } else {
    // An emulator bug, not a guest problem: stop the whole machine and report it.
    const e = err as Error;
    board.control.requestStop(StopReason.Fatal, 1);
    parentPort!.postMessage({ kind: 'fatal', hartId, message: e.message, stack: e.stack } satisfies HartWorkerResult);
  }
} finally {
  (reader as TraceReader | null)?.close();
}
