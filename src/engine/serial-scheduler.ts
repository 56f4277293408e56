import { Hart } from '../cpu/hart.js';
import { Board } from '../machine/board.js';
import { HartRunner, RunProbe } from './hart-runner.js';
import { HartSupervisor } from './supervisor.js';
import { VirtualClock } from './virtual-time.js';

/**
 * Default instructions a hart runs before the serial scheduler moves on to the next one. A serial
 * trace stores the quantum it was recorded with: the schedule is part of what it replays.
 */
export const SERIAL_QUANTUM = 1_000;

/**
 * Turns of a parallel trace's serial interleaving: `replay --sched serial`, the debugger's
 * timeline and the trace tools' global steps. A parallel trace's events fix where its harts wait
 * for each other, so any turn length gives the same memory, and the length only sets how often
 * the thread switches harts. Serial replays, guest seconds, 1,000 -> 20,000 (2026-12-04): the
 * 4-hart Linux boot 1.21-1.35 -> 1.01-1.07 s, smp_sb_litmus 2.40-2.49 -> 1.52-1.55 s,
 * smp_mp_litmus 1.17-1.32 -> 0.85-0.87 s, bench_parallel 0.35 -> 0.21 s; longer turns gained
 * nothing more. The timeline kept 1,000 until 2026-12-05, and its first pass over a
 * billion-instruction trace ran ~2.5x as long as a serial replay.
 */
export const PARALLEL_TRACE_QUANTUM = 20_000;

/** The turn length of a trace's serial interleaving: a serial trace's own (its `serialQuantum`), else PARALLEL_TRACE_QUANTUM. */
export function traceQuantum(serialQuantum: number | null | undefined): number {
  return serialQuantum ?? PARALLEL_TRACE_QUANTUM;
}

export interface ScheduledHart {
  hart: Hart;
  runner: HartRunner;
  supervisor: HartSupervisor;
}

/** The turn a hart is in the middle of. */
export interface Turn {
  /** The icount at which the turn ends. */
  until: number;
  before: number;
  releasedBefore: number;
}

/** Scheduler state: enough to resume at any instruction (debugger checkpoints save it). */
export interface SchedState {
  /** Harts still running, in the order of the current round. */
  live: number[];
  /** Position in `live` of the hart whose turn it is. */
  index: number;
  /** Some hart moved in this round. */
  moved: boolean;
  turn: Turn | null;
}

/**
 * The scheduler's policy: the order of harts in each round and the length of each turn. Every
 * trace is recorded and replayed under round robin (its schedule is part of the trace); a policy
 * with state must be deterministic given its seed.
 */
export interface SchedulePolicy {
  /** The order of the next round, given the live harts in id order. */
  roundOrder(live: number[]): number[];
  /** Instructions the hart may run in the turn it starts now. */
  quantum(hart: number): number;
}

/** Every hart in id order, the same quantum each turn: the canonical serial schedule. */
export class RoundRobin implements SchedulePolicy {
  constructor(private readonly turnLength: number = SERIAL_QUANTUM) {}

  roundOrder(live: number[]): number[] {
    return live;
  }

  quantum(): number {
    return this.turnLength;
  }
}

export interface SerialSchedulerOptions {
  policy: SchedulePolicy;
  /** Replay of a parallel trace: releases each hart has published, for "did a blocked hart move". */
  releasedCount?(hart: number): number;
  /**
   * A whole round passed and no hart could move. Return 'continue' after moving virtual time on,
   * 'wait' to return from `runTurns` so the caller can wait for host time or input, or throw.
   */
  stalled(live: ScheduledHart[]): 'continue' | 'wait';
  /** Called once for each hart that finished its run, after its runner's `finish()`. */
  onDone?(slot: ScheduledHart): void;
  /**
   * Parallel recording with hart migration (engine/hart-migration.ts): called after every turn,
   * when harts may leave this scheduler (`remove`) or join it (`add`).
   */
  betweenTurns?(scheduler: SerialScheduler): void;
  /**
   * No hart is left to run here: true to keep going (harts may still arrive; the callback waits
   * for them a while), false to end.
   */
  awaitHarts?(scheduler: SerialScheduler): boolean;
}

/** Why `SerialScheduler.run` returned. */
export type ScheduleEnd = 'paused' | 'stalled' | 'end';

/**
 * Serial scheduling: every hart on one thread, one turn at a time; a hart blocked on another, or
 * idle in WFI, gives its turn away. Resumable at any instruction: a probe may pause the hart whose
 * turn it is, and the next `runTurns` continues that same turn. Used by serial recording, serial replay
 * (host/hart-worker-run.ts), and the debugger's timeline and live target (serial-engine.ts), so all of
 * them interleave harts identically.
 */
export class SerialScheduler {
  sched: SchedState;
  /** By hart id, like `harts` and `slots`. */
  finished: boolean[];
  readonly harts: Hart[];
  readonly slots: ScheduledHart[];
  /** The hart whose turn it is (the one paused, when a probe stopped the run). */
  current = 0;
  /** Harts added since the round began (they join the next round). */
  private arrivals: number[] = [];

  /** `slots`: the harts this scheduler runs (all of the machine's, or a thread's share with --threads). */
  constructor(readonly board: Board, slots: ScheduledHart[], private readonly opts: SerialSchedulerOptions) {
    // Indexed by hart id (a thread's share need not start at hart 0).
    this.slots = [];
    this.harts = [];
    this.finished = [];
    for (const s of slots) {
      this.slots[s.hart.id] = s;
      this.harts[s.hart.id] = s.hart;
      this.finished[s.hart.id] = false;
    }
    this.sched = { live: opts.policy.roundOrder(slots.map((s) => s.hart.id)), index: 0, moved: false, turn: null };
  }

  /**
   * Runs turns until the probe pauses a hart ('paused'), a round in which nobody could move ends
   * with `stalled()` answering 'wait' ('stalled'), or no hart is left to run ('end').
   */
  runTurns(probe?: RunProbe): ScheduleEnd {
    const st = this.sched;
    for (;;) {
      if (st.live.length === 0 && this.arrivals.length === 0) {
        if (!this.opts.awaitHarts?.(this)) return 'end';
        if (this.arrivals.length === 0) continue;
        st.index = st.live.length;
      }
      if (st.index >= st.live.length) {
        const ids = this.arrivals.length === 0 ? st.live : [...st.live, ...this.arrivals.splice(0)];
        st.live = this.opts.policy.roundOrder(ids.filter((id) => this.slots[id] && !this.finished[id] && !this.harts[id].exitRequested).sort((a, b) => a - b));
        st.index = 0;
        const stalled = st.live.length > 0 && !st.moved;
        st.moved = false;
        if (stalled && this.opts.stalled(st.live.map((id) => this.slots[id])) === 'wait') return 'stalled';
        continue;
      }
      const id = st.live[st.index];
      const s = this.slots[id];
      if (!s) { // it left this thread (remove)
        st.index++;
        continue;
      }
      this.current = id;
      st.turn ??= { until: s.hart.icount + this.opts.policy.quantum(id), before: s.hart.icount, releasedBefore: this.opts.releasedCount?.(id) ?? 0 };
      this.board.timeSource = s.hart.timeSource;
      const status = s.runner.runSlice(st.turn.until, probe);
      if (status === 'paused') return 'paused';
      if (status === 'finished') {
        this.finished[id] = true;
        s.runner.finish();
        this.opts.onDone?.(s);
      }
      if (status !== 'blocked' || s.hart.icount !== st.turn.before || (this.opts.releasedCount?.(id) ?? 0) !== st.turn.releasedBefore) st.moved = true;
      st.turn = null;
      st.index++;
      this.opts.betweenTurns?.(this);
    }
  }

  /** The harts this scheduler runs now, finished ones included. */
  members(): ScheduledHart[] {
    return this.slots.filter((s) => s !== undefined);
  }

  /** A hart joins (hart migration): it runs from the next round on. */
  add(slot: ScheduledHart): void {
    const id = slot.hart.id;
    this.slots[id] = slot;
    this.harts[id] = slot.hart;
    this.finished[id] = false;
    this.arrivals.push(id);
  }

  /** A hart leaves between turns (hart migration); its turn in this round, if still to come, is skipped. */
  remove(id: number): void {
    delete this.slots[id];
    delete this.harts[id];
    this.finished[id] = false;
  }
}

/**
 * Every live hart idles in WFI under virtual time: moves the clock to the earliest timer deadline.
 * False when no timer is armed (or the harts do not run on virtual time).
 */
export function skipToNextTimer(live: ScheduledHart[], clock: VirtualClock): boolean {
  const now = clock.now();
  let next: bigint | null = null;
  for (const s of live) {
    if (!s.supervisor.virtualTimerDeadline) return false;
    const d = s.supervisor.virtualTimerDeadline(s.hart);
    if (d !== null && d > now && (next === null || d < next)) next = d;
  }
  if (next === null) return false;
  clock.skipTo(next);
  return true;
}
