import { parentPort, workerData } from 'node:worker_threads';
import { Board } from '../machine/board.js';
import { BoardConfig } from '../machine/config.js';
import { HindsightError } from '../errors.js';
import { HartRecorder } from '../../recorder/hart-recorder.js';
import { RecordingState } from '../../recorder/recording-state.js';
import { HartReplayer } from '../../replayer/hart-replayer.js';
import { ReplayProgress } from '../../replayer/replay-progress.js';
import { TraceReader } from '../../traces/trace-reader.js';
import { HartRunner, RunSupervisor } from './hart-runner.js';
import { StopReason, sharedBuffer } from './layout.js';
import { HartSupervisor } from './supervisor.js';

/** How a hart worker runs: freely, recording, or replaying a trace. */
export type WorkerMode =
  | { kind: 'run' }
  | { kind: 'record'; recording: SharedArrayBuffer; ramPages: number; checkInterval: number; tenure: number }
  | { kind: 'replay'; tracePath: string; progress: SharedArrayBuffer; finalIcount: number };

/** Message a hart worker receives at start. */
export interface HartWorkerInit {
  memory: WebAssembly.Memory;
  config: BoardConfig;
  hartId: number;
  maxInsns: number;
  mode: WorkerMode;
}

/** Message a hart worker posts when it leaves its loop. */
export type HartWorkerResult =
  | { kind: 'done'; hartId: number; icount: number }
  | { kind: 'divergence'; hartId: number; message: string; exitCode: number }
  | { kind: 'fatal'; hartId: number; message: string; stack?: string };

const init = workerData as HartWorkerInit;
const memory = sharedBuffer(init.memory);
const board = new Board(memory, init.config);
const hart = board.harts[init.hartId];
let reader: TraceReader | null = null;

function supervisorFor(mode: WorkerMode): HartSupervisor {
  switch (mode.kind) {
    case 'run':
      return new RunSupervisor(board.control, () => board.clock.mtime(), init.maxInsns);
    case 'record': {
      const state = new RecordingState(mode.recording, { harts: init.config.harts, ramPages: mode.ramPages });
      return new HartRecorder(hart, state, board.control, board.clock, board.uart,
        { checkInterval: mode.checkInterval, tenure: mode.tenure, maxInsns: init.maxInsns });
    }
    case 'replay': {
      board.guestStopsMachine = false;
      reader = TraceReader.open(mode.tracePath);
      const progress = new ReplayProgress(mode.progress, init.config.harts);
      return new HartReplayer(hart, reader.events(init.hartId), mode.finalIcount, progress, board.uart);
    }
  }
}

try {
  hart.syncIn();
  const supervisor = supervisorFor(init.mode);
  hart.timeSource = () => supervisor.readTime(hart);
  board.timeSource = hart.timeSource;
  new HartRunner(hart, supervisor).run();
  parentPort!.postMessage({ kind: 'done', hartId: init.hartId, icount: hart.icount } satisfies HartWorkerResult);
} catch (err) {
  hart.syncOut();
  if (err instanceof HindsightError) {
    // A replay that left its trace, or a damaged trace: stop everyone and say where.
    board.control.requestStop(StopReason.Fatal, err.exitCode);
    parentPort!.postMessage({ kind: 'divergence', hartId: init.hartId, message: err.message, exitCode: err.exitCode } satisfies HartWorkerResult);
  } else {
    // An emulator bug, not a guest problem: stop the whole machine and report it.
    const e = err as Error;
    board.control.requestStop(StopReason.Fatal, 1);
    parentPort!.postMessage({ kind: 'fatal', hartId: init.hartId, message: e.message, stack: e.stack } satisfies HartWorkerResult);
  }
} finally {
  (reader as TraceReader | null)?.close();
}
