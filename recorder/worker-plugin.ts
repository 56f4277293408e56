import { writeSync } from 'node:fs';
import { Hart } from '../src/cpu/hart.js';
import { RoundRobin, skipToNextTimer } from '../src/engine/serial-scheduler.js';
import { HartSupervisor } from '../src/engine/supervisor.js';
import { sharedThreadSchedule } from '../src/engine/shared-thread.js';
import { WorkerContext, WorkerPlugin } from '../src/host/worker-plugin.js';
import type { RecordWorkerOptions } from './worker-mode.js';
import { HartRecorder, RecorderHandover, TENURE_MAX_NS } from './hart-recorder.js';
import { HartMigration, homeThreads } from '../src/engine/hart-migration.js';
import { RecordingState } from './recording-state.js';
import { SerialRecorder } from './serial-recorder.js';

/** Recording inside a hart worker: a recorder per hart, console output positions into the rings. */
export function createWorkerPlugin(ctx: WorkerContext, o: RecordWorkerOptions): WorkerPlugin {
  const { board } = ctx;
  const state = new RecordingState(o.recording, { harts: board.config.harts, ramPages: o.ramPages });
  // Console output positions: each byte's offset, at the writing hart's icount.
  board.onConsoleByte = (id, offset) => state.rings[id].writeOutput(board.harts[id].icount, offset);
  // Parallel recording with several harts on this thread (--threads), or harts that may come here
  // from other threads: they take turns.
  const migration = !o.serial && o.migration ? new HartMigration({
    table: o.migration.table, channel: o.migration.channel, policy: o.migration.policy, thread: ctx.thread, control: board.control, harts: board.harts,
    anchors: ctx.threadGroups.map((g) => g[0]),
    homes: homeThreads(ctx.threadGroups),
    own: ctx.hartIds,
    startTogether: o.migration.together, spawn: ctx.spawnThreads,
    arrive: (hart, from) => ctx.scheduleHart(hart, supervisor(hart, from as RecorderHandover)),
    leave: (slot) => (slot.supervisor as HartRecorder).handOver(),
  }) : null;
  const sharing = !o.serial && (ctx.hartIds.length > 1 || migration !== null);
  const group: HartRecorder[] = [];
  // Time asleep while a hart here waits for a right counts as waiting (the migration's meter).
  const shared = sharing ? sharedThreadSchedule(board, ctx.hartIds, {
    jitter: true,
    leader: ctx.threadGroups[ctx.thread][0], // (a thread started late has no harts yet)
    slept: migration ? (ns, waiting) => migration.slept(ns, waiting) : undefined,
    handOffs: process.env.HINDSIGHT_ADAPTIVE_TURNS === '0' ? undefined : () => group.reduce((n, r) => n + r.siblingHandOffs, 0),
  }) : null;
  return {
    supervisor,
    // Parallel recording: runs of blocks while no hand-off is pending (HartRecorder.handOffPending);
    // a serial recording counts safe points, as its replay does.
    runsOfBlocks: !o.serial,
    migrates: migration !== null,
    schedule: shared ? {
      ...shared,
      betweenTurns: migration ? (sched) => migration.betweenTurns(sched) : undefined,
      awaitHarts: migration ? (sched) => migration.awaitHarts(sched) : undefined,
    } : {
      policy: new RoundRobin(o.quantum),
      stalled(live) {
        if (skipToNextTimer(live, ctx.virtualClock)) return 'continue';
        // Every hart idles with no timer armed: only console input can wake them.
        const hart0 = board.harts[0];
        hart0.sleep(hart0.wakeWord(), 50); // the coordinator kicks hart 0 when input arrives
        return 'continue';
      },
    },
    close() {
      if (migration && process.env.HINDSIGHT_OWN_STATS === '1') writeSync(2, `thread ${ctx.thread} migration: ${JSON.stringify(migration.moves)}\n`);
      migration?.close();
    },
  };

  /** A hart's recorder (`from`: its state on the thread it came from, hart migration). */
  function supervisor(hart: Hart, from?: RecorderHandover): HartSupervisor {
    if (o.serial) {
      return new SerialRecorder(ctx.virtualClock, board.clint, board.uart, {
        ring: state.rings[hart.id], stagedInput: state.stagedInput, checkInterval: o.checkInterval, maxInsns: ctx.maxInsns, control: board.control,
      });
    }
    const chaos = ctx.chaos(hart.id);
    const tenure = o.tenure;
    const recorder = new HartRecorder(hart, state, board.control, board.clock, board.uart, {
      checkInterval: o.checkInterval, maxInsns: ctx.maxInsns, oversubscribed: ctx.oversubscribed,
      // --chaos draws both bounds of tenure anew every period of its own.
      get tenure() { return chaos ? chaos.tenure(tenure) : tenure; },
      get tenureNs() { return chaos ? chaos.tenure(TENURE_MAX_NS) : undefined; },
    }, from);
    recorder.meter = migration;
    if (sharing) {
      group.push(recorder);
      recorder.shareThreadWith(group);
    }
    return recorder;
  }
}
