import { Hart } from '../cpu/hart.js';
import { Board } from '../machine/board.js';
import { DivergenceError } from '../../replayer/divergence.js';
import { ReplayProgress } from '../../replayer/replay-progress.js';
import { SerialSupervisor, VirtualClock } from '../../recorder/serial-supervisor.js';
import { HartRunner } from './hart-runner.js';
import { HartSupervisor } from './supervisor.js';

/**
 * Default instructions a hart runs before the serial scheduler moves on to the next one. A serial
 * trace stores the quantum it was recorded with: the schedule is part of what it replays.
 */
export const SERIAL_QUANTUM = 1_000;

export interface ScheduledHart {
  hart: Hart;
  runner: HartRunner;
  supervisor: HartSupervisor;
}

export interface SerialSchedulerOptions {
  board: Board;
  quantum: number;
  clock: VirtualClock;
  /** Replay of a parallel trace: tells whether a blocked hart published releases meanwhile. */
  progress: ReplayProgress | null;
  /** Recording: when every hart idles with no timer armed, wait for console input. */
  waitForInput: boolean;
  /** Called before a hart gets its turn (so errors can name it). */
  onTurn(hart: Hart): void;
  /** Called once for each hart that finished its run. */
  onDone(slot: ScheduledHart): void;
}

/**
 * Serial scheduling: every hart on one thread in a fixed order (round robin, `quantum`
 * instructions a turn); a hart blocked on another, or idle in WFI, is passed over. When nobody
 * can move: idle harts get the virtual clock moved to the next timer deadline (or, recording, wait
 * for input); harts blocked on releases nobody can make mean the trace is inconsistent.
 */
export class SerialScheduler {
  private readonly finished = new Set<number>();

  constructor(private readonly opts: SerialSchedulerOptions) {}

  run(slots: ScheduledHart[]): void {
    const { board, progress } = this.opts;
    let live = slots;
    while (live.length > 0) {
      let moved = false;
      for (const s of live) {
        this.opts.onTurn(s.hart);
        const before = s.hart.icount;
        const releasedBefore = progress?.releasedCount(s.hart.id) ?? 0;
        board.timeSource = s.hart.timeSource;
        const status = s.runner.runSlice(s.hart.icount + this.opts.quantum);
        if (status === 'finished') this.done(s);
        if (status !== 'blocked' || s.hart.icount !== before || (progress?.releasedCount(s.hart.id) ?? 0) !== releasedBefore) moved = true;
      }
      live = live.filter((s) => !s.hart.exitRequested && !this.finished.has(s.hart.id));
      if (moved || live.length === 0) continue;
      if (this.wakeIdleHarts(live)) continue;
      const s = live[0];
      throw new DivergenceError(s.hart.id, s.hart.icount, s.hart.pc, 'every remaining hart waits for a release no other hart can make');
    }
    for (const s of slots) if (!this.finished.has(s.hart.id)) this.done(s); // stopped from outside
  }

  private done(s: ScheduledHart): void {
    this.finished.add(s.hart.id);
    this.opts.onDone(s);
  }

  /** Every live hart idles in WFI (virtual time only). False when nothing can ever wake them. */
  private wakeIdleHarts(live: ScheduledHart[]): boolean {
    if (skipToNextTimer(live, this.opts.clock)) return true;
    if (this.opts.waitForInput && live.every((s) => s.supervisor instanceof SerialSupervisor)) {
      const hart0 = this.opts.board.harts[0];
      hart0.sleep(hart0.wakeWord(), 50); // the coordinator kicks hart 0 when input arrives
      return true;
    }
    return false;
  }
}

/**
 * Every live hart idles in WFI under virtual time: moves the clock to the earliest timer deadline.
 * False when no timer is armed (or the harts do not run on virtual time).
 */
export function skipToNextTimer(live: ScheduledHart[], clock: VirtualClock): boolean {
  if (!live.every((s) => s.supervisor instanceof SerialSupervisor)) return false;
  const now = clock.now();
  let next: bigint | null = null;
  for (const s of live) {
    const d = (s.supervisor as SerialSupervisor).timerDeadline(s.hart);
    if (d !== null && d > now && (next === null || d < next)) next = d;
  }
  if (next === null) return false;
  clock.skipTo(next);
  return true;
}
