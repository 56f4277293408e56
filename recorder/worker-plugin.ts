import { Hart } from '../src/cpu/hart.js';
import { RoundRobin, skipToNextTimer } from '../src/engine/serial-scheduler.js';
import { HartSupervisor } from '../src/engine/supervisor.js';
import { sharedThreadSchedule } from '../src/engine/shared-thread.js';
import { WorkerContext, WorkerMode, WorkerPlugin } from '../src/host/worker-plugin.js';
import { HartRecorder, TENURE_MAX_NS } from './hart-recorder.js';
import { RecordingState } from './recording-state.js';
import { SerialRecorder } from './serial-recorder.js';

/** What a recording hart worker is told (plain data). */
export interface RecordWorkerOptions {
  recording: SharedArrayBuffer;
  ramPages: number;
  checkInterval: number;
  tenure: number;
  /** `--sched serial`: all harts in one worker over virtual time. */
  serial: boolean;
  quantum: number;
}

/** The worker mode that plugs recording into a hart worker. */
export function recordWorkerMode(options: RecordWorkerOptions): WorkerMode {
  return { module: new URL('./worker-plugin.js', import.meta.url).href, options };
}

/** Recording inside a hart worker: a recorder per hart, console output positions into the rings. */
export function createWorkerPlugin(ctx: WorkerContext, o: RecordWorkerOptions): WorkerPlugin {
  const { board } = ctx;
  const state = new RecordingState(o.recording, { harts: board.config.harts, ramPages: o.ramPages });
  // Console output positions: each byte's offset, at the writing hart's icount.
  board.onConsoleByte = (id, offset) => state.rings[id].writeOutput(board.harts[id].icount, offset);
  // Parallel recording with several harts on this thread (--threads): they take turns.
  const sharing = !o.serial && ctx.hartIds.length > 1;
  const group: HartRecorder[] = [];
  return {
    supervisor(hart: Hart): HartSupervisor {
      if (o.serial) {
        return new SerialRecorder(ctx.virtualClock, board.clint, board.uart, {
          ring: state.rings[hart.id], stagedInput: state.stagedInput, checkInterval: o.checkInterval, maxInsns: ctx.maxInsns, control: board.control,
        });
      }
      const chaos = ctx.chaos(hart.id);
      const tenure = o.tenure;
      const recorder = new HartRecorder(hart, state, board.control, board.clock, board.uart, {
        checkInterval: o.checkInterval, maxInsns: ctx.maxInsns,
        // --chaos draws both bounds of tenure anew every period of its own.
        get tenure() { return chaos ? chaos.tenure(tenure) : tenure; },
        get tenureNs() { return chaos ? chaos.tenure(TENURE_MAX_NS) : undefined; },
      });
      if (sharing) {
        group.push(recorder);
        recorder.shareThreadWith(group);
      }
      return recorder;
    },
    // Parallel recording: runs of blocks while no hand-off is pending (HartRecorder.handOffPending);
    // a serial recording counts safe points, as its replay does.
    runsOfBlocks: !o.serial,
    schedule: sharing ? sharedThreadSchedule(board, ctx.hartIds) : {
      policy: new RoundRobin(o.quantum),
      stalled(live) {
        if (skipToNextTimer(live, ctx.virtualClock)) return 'continue';
        // Every hart idles with no timer armed: only console input can wake them.
        const hart0 = board.harts[0];
        hart0.sleep(hart0.wakeWord(), 50); // the coordinator kicks hart 0 when input arrives
        return 'continue';
      },
    },
  };
}
