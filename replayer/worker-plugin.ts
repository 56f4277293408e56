import { Hart } from '../src/cpu/hart.js';
import { RoundRobin, skipToNextTimer } from '../src/engine/serial-scheduler.js';
import { HartSupervisor } from '../src/engine/supervisor.js';
import { WorkerContext, WorkerPlugin } from '../src/host/worker-plugin.js';
import type { ReplayWorkerOptions } from './worker-mode.js';
import { TraceReader } from '../traces/trace-reader.js';
import { DivergenceError } from './divergence.js';
import { HartReplayer } from './hart-replayer.js';
import { ReplayProgress } from './replay-progress.js';
import { SerialReplayer } from './serial-replayer.js';

/** Replay inside a hart worker: each hart follows its own event stream, read from the trace file. */
export function createWorkerPlugin(ctx: WorkerContext, o: ReplayWorkerOptions): WorkerPlugin {
  const { board } = ctx;
  board.guestStopsMachine = false; // the recording says where each hart stops
  const reader = TraceReader.open(o.tracePath);
  const progress = new ReplayProgress(o.progress, board.config.harts);
  // Harts of other threads (a grouped parallel replay) can still release what ours wait for.
  const othersElsewhere = ctx.hartIds.length < board.config.harts;
  let seen = progress.changeCount;
  return {
    supervisor(hart: Hart): HartSupervisor {
      if (o.traceSched === 'serial') return new SerialReplayer(hart, ctx.virtualClock, board.clint, board.uart, reader.events(hart.id), o.finalIcounts[hart.id], o.finalSafePoints?.[hart.id] ?? null);
      return new HartReplayer(hart, reader.events(hart.id), o.finalIcounts[hart.id], progress, board.uart, ctx.hartIds.length > 1, o.releaseInvalidates);
    },
    schedule: {
      policy: new RoundRobin(o.quantum),
      releasedCount: (hart) => progress.releasedCount(hart),
      stalled(live) {
        if (skipToNextTimer(live, ctx.virtualClock)) return 'continue';
        if (othersElsewhere && !live[0].hart.exitRequested) {
          // Every hart here waits for a release from another thread: sleep until something changes
          // (bounded, since a change between the round and `seen` would not wake us).
          progress.waitForChange(seen, 1);
          seen = progress.changeCount;
          return 'continue';
        }
        const h = live[0].hart;
        throw new DivergenceError(h.id, h.icount, h.pc, 'every remaining hart waits for a release no other hart can make');
      },
    },
    // A serial trace's replay counts safe points (SerialReplayer.ended); a parallel trace's needs
    // them only where its events are, which end a run (they bound the budget).
    runsOfBlocks: o.traceSched !== 'serial',
    close: () => reader.close(),
  };
}
