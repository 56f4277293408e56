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
  private turnLength: number;
  private lastHandOffs = 0;
  /** The round has one hart: nobody to take turns with (LONE_TURN). */
  private alone = false;

  constructor(private readonly maxTurn: number, private readonly handOffs?: () => number) {
    this.turnLength = maxTurn;
  }

  roundOrder(live: number[]): number[] {
    this.alone = live.length === 1;
    return live;
  }

  /**
   * With `handOffs` (rights the thread's harts took from each other so far): a turn in which that
   * count moved halves the next turns, down to MIN_SHARED_TURN; a turn without doubles them back
   * (ADAPTIVE_TURNS).
   */
  quantum(): number {
    if (this.alone) return LONE_TURN;
    if (this.handOffs) {
      const n = this.handOffs();
      this.turnLength = n !== this.lastHandOffs ? Math.max(MIN_SHARED_TURN, this.turnLength >> 1) : Math.min(this.maxTurn, this.turnLength * 2);
      this.lastHandOffs = n;
    }
    return Math.floor(this.turnLength * (0.5 + Math.random()));
  }
}

/**
 * ADAPTIVE_TURNS. Harts that hand pages to each other on one thread wait for each other: a hart
 * whose partner must act first spins through the rest of its turn. The store-buffering litmus
 * on one thread (`record --harts 2 --threads 1`) retired 1.6 billion instructions in 2.2 s with
 * 20,000-instruction turns, 80M in 0.9 s with 1,000. But fixed short turns slowed the 4-hart
 * Linux recording (1.22 -> 1.77 s), whose harts mostly run apart: so turns shorten only while
 * they hand rights over.
 */
const MIN_SHARED_TURN = 1_000;
/**
 * A hart alone on its thread (a recording whose harts may migrate runs every thread this way)
 * needs turns only for the safe points between them, where harts arrive and leave: at 20,000
 * instructions, bench_parallel on 2 harts and 2 threads recorded in ~0.15 s against ~0.11 s
 * without migration.
 */
const LONE_TURN = 200_000;

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
  /** Recordings: rights the thread's harts took from each other so far (turns then shorten, ADAPTIVE_TURNS). */
  handOffs?(): number;
  /** The hart whose wake word the thread sleeps on (default the first of `hartIds`; hart migration: the thread's anchor, as a thread may start with no harts). */
  leader?: number;
}

export function sharedThreadSchedule(board: Board, hartIds: number[], opts: SharedThreadOptions = {}): Omit<SerialSchedulerOptions, 'onDone'> {
  const leader = board.harts[opts.leader ?? hartIds[0]];
  for (const id of hartIds) board.control.shareWakeUps(id, leader.id);
  return {
    policy: opts.jitter ? new JitteredRoundRobin(SHARED_THREAD_QUANTUM, opts.handOffs) : new RoundRobin(SHARED_THREAD_QUANTUM),
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
