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
import { Hart } from '../cpu/hart.js';
import { DivergenceError } from '../../replayer/divergence.js';
import { SerialSupervisor, VirtualClock } from '../../recorder/serial-supervisor.js';

/** How a hart worker runs: freely, recording, or replaying a trace. */
export type WorkerMode =
  | { kind: 'run' }
  | { kind: 'record'; recording: SharedArrayBuffer; ramPages: number; checkInterval: number; tenure: number; serial: boolean }
  | { kind: 'replay'; tracePath: string; progress: SharedArrayBuffer; finalIcounts: number[]; traceSched: 'parallel' | 'serial' };

/** Message a hart worker receives at start. */
export interface HartWorkerInit {
  memory: WebAssembly.Memory;
  config: BoardConfig;
  /** The harts this worker runs: one in parallel mode, all of them with serial scheduling. */
  hartIds: number[];
  maxInsns: number;
  mode: WorkerMode;
}

/** Message a hart worker posts when it leaves its loop. */
export type HartWorkerResult =
  | { kind: 'done'; hartId: number; icount: number }
  | { kind: 'divergence'; hartId: number; message: string; exitCode: number }
  | { kind: 'fatal'; hartId: number; message: string; stack?: string };

/** Instructions a hart runs before the serial scheduler moves on to the next one. */
const SERIAL_QUANTUM = 1_000;

const init = workerData as HartWorkerInit;
const memory = sharedBuffer(init.memory);
const board = new Board(memory, init.config);
let reader: TraceReader | null = null;
/** Serial traces run on virtual time (recorder/serial-supervisor.ts). */
const virtualClock = new VirtualClock(board.harts);

function supervisorFor(mode: WorkerMode, hart: Hart): HartSupervisor {
  switch (mode.kind) {
    case 'run':
      return new RunSupervisor(board.control, () => board.clock.mtime(), init.maxInsns);
    case 'record': {
      const state = new RecordingState(mode.recording, { harts: init.config.harts, ramPages: mode.ramPages });
      if (mode.serial) {
        return new SerialSupervisor(hart, virtualClock, board.clint, board.uart, {
          kind: 'record', ring: state.rings[hart.id], stagedInput: state.stagedInput, checkInterval: mode.checkInterval, maxInsns: init.maxInsns, control: board.control,
        });
      }
      return new HartRecorder(hart, state, board.control, board.clock, board.uart,
        { checkInterval: mode.checkInterval, tenure: mode.tenure, maxInsns: init.maxInsns });
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

interface Slot {
  hart: Hart;
  runner: HartRunner;
  supervisor: HartSupervisor;
}

function slotFor(id: number): Slot {
  const hart = board.harts[id];
  hart.syncIn();
  const supervisor = supervisorFor(init.mode, hart);
  hart.timeSource = () => supervisor.readTime(hart);
  return { hart, runner: new HartRunner(hart, supervisor), supervisor };
}

/**
 * Serial scheduling: every hart on this one thread, in a fixed order (round robin, a quantum of
 * instructions each); a hart blocked on another is skipped. If nobody can move, the trace's
 * ordering constraints cannot be met: that is a divergence.
 */
function runSerially(slots: Slot[], progress: ReplayProgress | null): void {
  let live = slots;
  while (live.length > 0) {
    let moved = false;
    for (const s of live) {
      current = s.hart;
      const before = s.hart.icount;
      const releasedBefore = progress?.releasedCount(s.hart.id) ?? 0;
      board.timeSource = s.hart.timeSource;
      const status = s.runner.runSlice(s.hart.icount + SERIAL_QUANTUM);
      if (status === 'finished') reportDone(s);
      if (status !== 'blocked' || s.hart.icount !== before || (progress?.releasedCount(s.hart.id) ?? 0) !== releasedBefore) moved = true;
    }
    live = live.filter((s) => !s.hart.exitRequested && !finished.has(s.hart.id));
    if (!moved && live.length > 0) {
      if (live.every((s) => s.hart.exitRequested)) break;
      if (wakeIdleHarts(live)) continue;
      const s = live[0];
      throw new DivergenceError(s.hart.id, s.hart.icount, s.hart.pc, 'every remaining hart waits for a release no other hart can make');
    }
  }
}

/**
 * Every hart idles in WFI (virtual time only): jump the clock to the next timer deadline, or,
 * while recording, wait for console input. False when nothing can ever wake them.
 */
function wakeIdleHarts(live: Slot[]): boolean {
  if (!live.every((s) => s.supervisor instanceof SerialSupervisor)) return false;
  const deadlines = live.map((s) => (s.supervisor as SerialSupervisor).timerDeadline(s.hart)).filter((d): d is bigint => d !== null);
  const now = virtualClock.now();
  const next = deadlines.filter((d) => d > now).reduce<bigint | null>((min, d) => (min === null || d < min ? d : min), null);
  if (next !== null) {
    virtualClock.skipTo(next);
    return true;
  }
  if (init.mode.kind === 'record') {
    const hart0 = board.harts[0];
    hart0.sleep(hart0.wakeWord(), 50); // the coordinator kicks hart 0 when input arrives
    return true;
  }
  return false;
}

const finished = new Set<number>();
let current: Hart | null = null;

function reportDone(s: Slot): void {
  current = s.hart;
  s.runner.finish();
  finished.add(s.hart.id);
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
    const progress = init.mode.kind === 'replay' ? new ReplayProgress(init.mode.progress, init.config.harts) : null;
    runSerially(slots, progress);
    for (const s of slots) if (!finished.has(s.hart.id)) reportDone(s); // stopped from outside
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
