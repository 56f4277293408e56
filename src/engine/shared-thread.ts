import { Board } from '../machine/board.js';
import { RoundRobin, SchedulePolicy, ScheduledHart, SerialSchedulerOptions } from './serial-scheduler.js';

/**
 * `--threads T` below the hart count: several harts take turns on one host thread under host time
 * (plain runs and parallel recordings). A turn is this many instructions, or less when the hart
 * parks in WFI or waits for an ownership right; short enough that a parked hart's interrupt waits
 * little (about a millisecond on the reference tier), long enough that turns cost little.
 */
export const SHARED_THREAD_QUANTUM = 20_000;
/** Longest sleep of a thread whose harts all wait for others (a kick ends it sooner). */
const MAX_STALL_SLEEP_MS = 10;

/**
 * Round robin with turns drawn between half and one and a half quanta. A parallel recording's
 * schedule on a shared thread is not part of its trace, and fixed turns would end at the same
 * instructions in every recording of a guest that reads no clock: harts taking turns would race
 * the same way every time, and recording would hide the races they have.
 */
class JitteredRoundRobin implements SchedulePolicy {
  constructor(private readonly turnLength: number) {}

  roundOrder(live: number[]): number[] {
    return live;
  }

  quantum(): number {
    return Math.floor(this.turnLength * (0.5 + Math.random()));
  }
}

/**
 * The schedule of harts sharing a thread: round robin (`jitter`: JitteredRoundRobin, for
 * recordings); when a whole round moved nobody (all parked in WFI or waiting for rights other
 * threads hold), the thread sleeps on the first hart's wake word — a kick of any of its harts
 * bumps that word too (MachineControl.shareWakeUps) — until the earliest timer or poll of a
 * parked hart.
 */
export interface SharedThreadOptions {
  jitter?: boolean;
  /** Told how long the thread slept, and whether one of its harts waited for a right meanwhile (hart migration's meter). */
  slept?(ns: number, waitingForRight: boolean): void;
}

export function sharedThreadSchedule(board: Board, hartIds: number[], opts: SharedThreadOptions = {}): Omit<SerialSchedulerOptions, 'onDone'> {
  const leader = board.harts[hartIds[0]];
  for (const id of hartIds) board.control.shareWakeUps(id, leader.id);
  return {
    policy: opts.jitter ? new JitteredRoundRobin(SHARED_THREAD_QUANTUM) : new RoundRobin(SHARED_THREAD_QUANTUM),
    stalled(live: ScheduledHart[]) {
      const seen = leader.wakeWord();
      let ns = BigInt(MAX_STALL_SLEEP_MS * 1_000_000);
      let waitingForRight = false;
      for (const s of live) {
        if (s.hart.exitRequested) return 'continue';
        const parked = s.runner.parkedForNs();
        if (parked === null) {
          waitingForRight = true; // its holder kicks us
          ns = ns < 1_000_000n ? ns : 1_000_000n;
        } else if (parked < ns) ns = parked;
      }
      if (ns <= 0n) return 'continue';
      const start = opts.slept ? performance.now() : 0;
      leader.sleep(seen, Number(ns) / 1e6);
      opts.slept?.((performance.now() - start) * 1e6, waitingForRight);
      return 'continue';
    },
  };
}
