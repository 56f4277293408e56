import { writeSync } from 'node:fs';
import { BroadcastChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { Hart } from '../cpu/hart.js';
import { TlbState } from '../cpu/mmu.js';
import { RunnerHandover } from './hart-runner.js';
import { ScheduledHart, SerialScheduler } from './serial-scheduler.js';
import { MachineControl } from '../shm/control.js';

/*
 * Hart migration: harts move between a machine's host threads at run time. Three policies:
 * - 'balance' (a plain run whose harts share threads): every hart starts on thread 0, and they
 *   spread to their own threads once at least two of them keep a core busy; once at most one
 *   does for a while, they gather again. Idle harts then cost no second isolate its warm-up, and
 *   an IPI between them is a turn, not a thread wake-up.
 * - 'collapse' (parallel recordings on more than one thread; with more harts than threads they
 *   start gathered, engine/start-together.ts): harts that keep waiting for each other's rights
 *   gather on thread 0, where a parked sibling's rights go at once (no thread
 *   hand-off, no tenure); after a hold they spread back, and a hold that ends in ping-pong again
 *   doubles.
 * - 'pairs' (`record --migrate`): a thread pulls the hart its harts keep waiting for.
 * A parallel trace is replayed from its events whatever thread ran which hart, and a hart moves
 * with everything guest-visible (registers in shared memory, its soft TLB, its position after
 * exceptions), so the trace cannot tell a moved hart from one that stayed.
 */

/** What hart migration learns from a recorder: which harts it asked for rights, and how long it waited. */
export interface WaitMeter {
  asked(holder: number): void;
  waited(ns: number): void;
  acquired(): void;
}

/** How often a thread weighs its waits (host ms). */
export const MIGRATION_PERIOD_MS = 20;
/**
 * A thread pulls in the hart its harts asked most for rights when they spent at least this share
 * of a period waiting for harts on other threads (spinning or asleep).
 */
export const PULL_WAIT_SHARE = Number(process.env.HINDSIGHT_MIGRATE_WAIT_SHARE ?? 0.25); // 0: pull at every period with cross-thread asks (tests)
/**
 * A pulled hart stays HOLD_MIN_MS, then goes home: the machine's acquires per ms while it was
 * here are kept, and it is pulled again only once the machine has moved fewer rights per ms
 * without it (measured over at least HOLD_MIN_MS). Pulled again, it stays twice as long (up to
 * HOLD_MAX_MS); not pulled, it is not looked at again for twice as long (up to COOL_MAX_MS).
 */
const HOLD_MIN_MS = 200;
const HOLD_MAX_MS = 5_000;
const COOL_MAX_MS = 30_000;
/** A pull the hart's thread has not answered in this long is withdrawn (the hart could not leave: halted, or mid-block). */
const PULL_TIMEOUT_MS = 100;
/** HINDSIGHT_MIGRATE_LOG=1: every pull, move and adoption on stderr (debugging aid); 2: every thread's period too. */
const LOG = process.env.HINDSIGHT_MIGRATE_LOG === '1' || process.env.HINDSIGHT_MIGRATE_LOG === '2';
const LOG_PERIODS = process.env.HINDSIGHT_MIGRATE_LOG === '2';
function note(text: string): void {
  writeSync(2, `migrate ${(performance.timeOrigin + performance.now()).toFixed(3)} ${text}\n`); // synchronous: a worker stuck in its loop never flushes process.stderr
}
/** Longest sleep of a thread left without harts (an arriving hart's doorbell ends it sooner). */
const EMPTY_THREAD_SLEEP_MS = 5;
/**
 * Collapse: the harts gather on thread 0 when the threads' shares of a period spent waiting for
 * rights held on other threads add up to this much per thread beyond the first
 * (HINDSIGHT_COLLAPSE_WAIT_SHARE; 0: at the first period, as tests do).
 */
export const COLLAPSE_WAIT_SHARE = Number(process.env.HINDSIGHT_COLLAPSE_WAIT_SHARE ?? 0.3);
/**
 * Periods in a row the waits must call for it before the harts gather (one when tests gather at
 * once). A start-up that shares for a moment (bench_parallel's first 20 ms on 2 harts: ~25 asks
 * a hart) gathered and computed on one thread for the whole hold: 2 of 5 recordings took 0.23 s
 * against 0.12 s.
 */
const GATHER_VOTES = COLLAPSE_WAIT_SHARE === 0 ? 1 : 2;
/**
 * A gather vote weighs each thread's waits once, and not those of a thread's first period, its
 * start-up (when tests gather at once, waits do not matter: no such check). Thread 0 read the
 * other threads' latest shares at each of its own periods, so one period of a thread counted in
 * two votes: bench_parallel on 2 harts gathered in 1 of 20, 1 of 8, 2 of 6 recordings while the
 * host was slow, computing on one thread for the whole 100 ms hold (0.29-0.31 s of guest time
 * against 0.16-0.21 s). Its threads' first periods (~30 ms, the harts' first compiles) waited 0.31
 * and 0.43 over 2 asks each, and thread 0's second vote, at 0.16 of its own, counted thread 1's
 * 0.43 again.
 */
const FIRST_COUNTED_PERIOD = 2;
/**
 * Gathered harts stay COLLAPSE_HOLD_MIN_MS at least; twice as long (up to COLLAPSE_HOLD_MAX_MS)
 * when the machine waited enough to gather again within a hold of spreading.
 */
const COLLAPSE_HOLD_MIN_MS = 100;
const COLLAPSE_HOLD_MAX_MS = 3_200;
/**
 * After the hold they spread once, SPREAD_VOTES periods in a row, at least two harts each took
 * BUSY_SHARE of a fair share of the period in turns (running or spinning, not parked in WFI:
 * only then could another thread pay), and they asked each other for rights fewer times than
 * would cost SPREAD_ASK_SHARE of the period apart, at ASK_COST_MS per request across threads (the
 * 4-hart Linux boot's transfers cost ~30-80 us of waiting each). Harts that spin on each other's
 * pages stay together; one period of two busy harts is often one spinning on the other.
 */
const BUSY_SHARE = 0.5;
const ASK_COST_MS = 0.1;
const SPREAD_ASK_SHARE = 0.3;
const SPREAD_VOTES = 2;
/**
 * 'balance': gathered harts spread once, BALANCE_SPREAD_VOTES periods in a row, their thread was busy for
 * BALANCE_FULL of the period and at least two of them each ran BALANCE_BUSY of it in turns that did
 * not end waiting (parked in WFI, a spin): the machine wants more than one core. Spread harts
 * gather once at most one hart in the machine ran that much for BALANCE_IDLE_VOTES periods in a
 * row. Linux's secondaries coming up one at a time took 0.2-0.3 of a period beside the boot hart's
 * 0.3-0.4 on a thread that slept the rest; its racy init's threads 0.15-0.6 each of a full thread.
 */
const BALANCE_FULL = 0.8;
const BALANCE_BUSY = 0.15;
const BALANCE_IDLE_VOTES = 5;
const BALANCE_SPREAD_VOTES = 5;
/** Votes after which thread 0 starts the other threads, which start late (MigrationSetup.spawn). */
const BALANCE_SPAWN_VOTES = 1;

/**
 * Int32 words of the shared table: the one-move-at-a-time lock, the machine's acquires so far,
 * then per hart THREAD, PULL, HOLD, COOL, then per thread the share of its last period it waited
 * for rights held on other threads (per mille), then per thread its doorbell, then per thread
 * how many of its harts were busy in its last period ('balance'), then per thread 1 once it
 * listens on the migration channel, then per thread how many periods it has weighed (and a
 * word of padding to an even count).
 */
const LOCK = 0;
const ACQUIRES = 1;
const HEADER = 4;
const THREAD = 0; // 1 + the thread running the hart; -(1 + thread) while it travels there; 0 unknown
const PULL = 1; // 1 + the thread that wants the hart, 0 none
const HOLD = 2; // ms the hart stays when pulled next
const COOL = 3; // ms after going home during which the hart is not pulled again (grows while pulling it does not pay)
const PER_HART = 4;
/** Per-thread fields, each a word per thread, in this order after the harts' words. */
const WAIT = 0; // share of its last period spent waiting for rights on other threads, per mille
const DOORBELL = 1;
const BUSY = 2; // harts busy in its last period ('balance')
const READY = 3; // 1 once it listens on the migration channel
const PERIODS = 4; // periods it has weighed
const PER_THREAD = 5;

/** Float64 fields per hart after the words: when it last went home (Date.now()), the machine's acquires then, and its rate while pulled. */
const PUSHED_AT = 0;
const PUSHED_COUNT = 1;
const MERGED_RATE = 2;
const PER_HART_F64 = 3;

function wordCount(harts: number, threads: number): number {
  const words = HEADER + PER_HART * harts + PER_THREAD * threads;
  return words + (words & 1); // the Float64 fields after the words start 8-byte aligned
}

/** Bytes of the shared table (a SharedArrayBuffer of its own, zeroed). */
export function migrationTableBytes(harts: number, threads: number): number {
  return 4 * wordCount(harts, threads) + 8 * PER_HART_F64 * harts;
}

/**
 * 'balance': plain runs, the harts together while at most one of them is busy; 'collapse': all
 * harts gather on one thread while they wait for each other; 'pairs' (`--migrate`): one hart at a time.
 */
export type MigrationPolicy = 'balance' | 'collapse' | 'pairs';

/** Each hart's own thread, by hart id, given each thread's harts. */
export function homeThreads(groups: number[][]): number[] {
  const homes: number[] = [];
  groups.forEach((ids, thread) => { for (const id of ids) homes[id] = thread; });
  return homes;
}

/** What travels with a hart (structured clone on the machine's migration channel). */
interface Move {
  to: number;
  hart: number;
  runner: RunnerHandover;
  /** What the hart's supervisor hands on (a recorder's bookkeeping; nothing for a plain run). */
  supervisor: unknown;
  tlb: TlbState;
  lines: number;
  /** Pulled (stays for its hold), or pushed home. */
  pulled: boolean;
}

/**
 * Whether thread 0 may vote on gathering: every thread has weighed a period (`periods`, each
 * thread's count) since the last vote (`voted`, updated when so), and one past its first
 * (FIRST_COUNTED_PERIOD).
 */
export function freshForVote(periods: readonly number[], voted: Int32Array): boolean {
  if (periods.some((n, t) => n < FIRST_COUNTED_PERIOD || n === voted[t])) return false;
  periods.forEach((n, t) => { voted[t] = n; });
  return true;
}

export interface MigrationSetup {
  table: SharedArrayBuffer;
  channel: string;
  policy: MigrationPolicy;
  /** This worker's thread index and every thread's first hart (the hart whose wake word the thread sleeps on). */
  thread: number;
  anchors: number[];
  /** Each hart's own thread (where it goes back to). */
  homes: number[];
  /** The harts this thread runs at the start ('balance': all on thread 0). */
  own: number[];
  /**
   * Every hart starts on thread 0 ('balance' always; 'collapse' as engine/start-together.ts says),
   * and thread 0 asks for the other threads (`spawn`) when the harts first want to spread.
   */
  startTogether: boolean;
  spawn(): void;
  control: MachineControl;
  harts: Hart[];
  /** Builds the scheduled hart of an arriving hart around its supervisor's state (the plug-in's supervisor, the worker's tier). */
  arrive(hart: Hart, supervisor: unknown): ScheduledHart;
  /** A hart left this thread: what its supervisor hands on (a recorder leaves the thread's group). */
  leave(slot: ScheduledHart): unknown;
}

/** One thread's side of hart migration: its meter, its decisions, and the moves in and out. */
export class HartMigration implements WaitMeter {
  private readonly words: Int32Array;
  /** Per hart PER_HART_F64 numbers (Float64 after the words). */
  private readonly f64: Float64Array;
  private readonly channel: BroadcastChannel;
  private readonly asks: Int32Array;
  /** Per thread: its periods weighed when thread 0 last voted to gather or not (FIRST_COUNTED_PERIOD). */
  private readonly votedPeriods: Int32Array;
  private acquires = 0;
  /** Per guest: Date.now() and the machine's acquires when it arrived. */
  private readonly arrived = new Map<number, { at: number; count: number }>();
  private waitNs = 0;
  /** Per hart: host ms of its turns here this period (collapse's measure of harts that want a core). */
  private readonly turnMs: Float64Array;
  /** performance.now() at which the current turn (or the sleep before it) began. */
  private mark = performance.now();
  private periodStart = this.mark;
  /** The pull this thread has made and not seen answered: [hart, since ms], or null. */
  private pending: [number, number] | null = null;
  /** Harts pulled here, and the performance.now() at which each may go home. */
  private readonly guests = new Map<number, number>();
  /** Moves out and in, and pulls withdrawn (HINDSIGHT_OWN_STATS). */
  readonly moves = { out: 0, in: 0, withdrawn: 0 };
  /** Thread 0 under 'collapse' or 'balance': where the machine is, and since when (performance.now()). */
  private collapse: 'apart' | 'gathering' | 'together' | 'spreading';
  /** 'balance': the other threads were asked to start (MigrationSetup.spawn). */
  private spawnAsked = false;
  private collapseSince = 0;
  private collapseHoldMs: number;
  /** Periods in a row whose waits (or, balancing, whose idle harts) called for gathering. */
  private gatherVotes = 0;
  /** Periods in a row, together, in which spreading looked worth it. */
  private spreadVotes = 0;
  /** When the harts last finished spreading (performance.now(); -Infinity: never). */
  private spreadAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly s: MigrationSetup) {
    const harts = s.harts.length;
    // Harts that start together on thread 0 may spread at once when balancing, after a hold when recording.
    this.collapse = s.startTogether ? 'together' : 'apart';
    this.collapseHoldMs = s.policy === 'balance' ? 0 : COLLAPSE_HOLD_MIN_MS;
    const words = wordCount(harts, s.anchors.length);
    this.words = new Int32Array(s.table, 0, words);
    this.f64 = new Float64Array(s.table, 4 * words, PER_HART_F64 * harts);
    this.channel = new BroadcastChannel(s.channel);
    this.asks = new Int32Array(harts);
    this.votedPeriods = new Int32Array(s.anchors.length);
    this.turnMs = new Float64Array(harts);
    for (const h of s.own) {
      Atomics.store(this.words, this.word(h, THREAD), s.thread + 1);
      Atomics.store(this.words, this.word(h, HOLD), HOLD_MIN_MS);
    }
    Atomics.store(this.words, this.readyWord(s.thread), 1); // its channel listens: harts may come
    if (LOG) note(`thread ${s.thread} listens (${s.policy}; harts ${s.own.join(',') || 'none'})`);
  }

  close(): void {
    this.channel.close();
  }

  private word(hart: number, field: number): number {
    return HEADER + PER_HART * hart + field;
  }

  /** The word holding `thread`'s share of its last period spent waiting (per mille). */
  private waitWord(thread: number): number {
    return this.threadWord(WAIT, thread);
  }

  /** The word of `thread`'s per-thread `field` (WAIT...PERIODS). */
  private threadWord(field: number, thread: number): number {
    return HEADER + PER_HART * this.s.harts.length + field * this.s.anchors.length + thread;
  }

  /** 1 once `thread` listens on the migration channel (a thread started late may not yet). */
  private readyWord(thread: number): number {
    return this.threadWord(READY, thread);
  }

  private allThreadsReady(): boolean {
    for (let t = 0; t < this.s.anchors.length; t++) if (Atomics.load(this.words, this.readyWord(t)) === 0) return false;
    return true;
  }

  /** The word counting the periods `thread` has weighed (its wait share is fresh when this moved). */
  private periodsWord(thread: number): number {
    return this.threadWord(PERIODS, thread);
  }

  /** The word holding how many of `thread`'s harts were busy in its last period ('balance'). */
  private busyWord(thread: number): number {
    return this.threadWord(BUSY, thread);
  }

  /**
   * The word a thread without harts sleeps on, bumped by every hart sent to it. Not its first
   * hart's wake word: that hart may run elsewhere, kicked thousands of times a second.
   */
  private doorbell(thread: number): number {
    return this.threadWord(DOORBELL, thread);
  }

  private threadOf(hart: number): number {
    return Atomics.load(this.words, this.word(hart, THREAD)) - 1;
  }

  /** Some hart is on its way to this thread. */
  private expecting(): boolean {
    const travelling = -(this.s.thread + 1);
    for (let h = 0; h < this.s.harts.length; h++) if (Atomics.load(this.words, this.word(h, THREAD)) === travelling) return true;
    return false;
  }

  // --- WaitMeter --------------------------------------------------------------------------------
  asked(holder: number): void {
    this.asks[holder]++;
  }

  waited(ns: number): void {
    this.waitNs += ns;
  }

  acquired(): void {
    this.acquires++;
  }

  /** The thread slept between turns (SharedThreadOptions.slept): waiting, while a hart here waits for a right. */
  slept(ns: number, waitingForRight: boolean): void {
    if (waitingForRight) this.waitNs += ns;
    this.mark = performance.now();
  }

  /** The machine's acquires so far (each thread adds its own once a period; an Int32 that wraps). */
  private machineAcquires(): number {
    return Atomics.load(this.words, ACQUIRES);
  }

  /** Acquires since the count was `then`: modulo 2^32, so a recording past 2^31 acquires keeps its rates. */
  private acquiresSince(then: number): number {
    return (this.machineAcquires() - then) >>> 0;
  }

  // --- between turns ----------------------------------------------------------------------------
  /** Takes in arrivals, lets harts other threads pulled go, and once a period weighs the waits. */
  betweenTurns(sched: SerialScheduler): void {
    const now = performance.now();
    // Harts that started together: a turn that ended waiting (WFI, a spin) is no sign the hart
    // wants a core of its own (OpenSBI's secondaries spin for the boot hart, then idle in WFI).
    if (!this.s.startTogether || !sched.slots[sched.current]?.runner.endedWaiting) this.turnMs[sched.current] += now - this.mark;
    this.takeArrivals(sched);
    const me = this.s.thread;
    for (const slot of sched.members()) {
      const id = slot.hart.id;
      const pull = Atomics.load(this.words, this.word(id, PULL)) - 1;
      if (pull >= 0 && pull !== me && !sched.finished[id]) this.depart(sched, slot, pull, true);
    }
    if (now - this.periodStart >= MIGRATION_PERIOD_MS) this.decide(sched, now);
    this.mark = performance.now();
  }

  /** No hart left here: true (after waiting a little for one) unless the machine stops and none is on its way. */
  awaitHarts(sched: SerialScheduler): boolean {
    Atomics.store(this.words, this.waitWord(this.s.thread), 0); // no hart here waits
    Atomics.store(this.words, this.busyWord(this.s.thread), 0); // nor runs
    if (this.takeArrivals(sched)) return true;
    if (this.s.control.stopping && !this.expecting()) return false;
    if (LOG && this.s.control.stopping) note(`thread ${this.s.thread} waits for a hart on its way: ${[...this.words.subarray(HEADER)].join(',')}`);
    const bell = this.doorbell(this.s.thread);
    const seen = Atomics.load(this.words, bell);
    if (!this.takeArrivals(sched)) Atomics.wait(this.words, bell, seen, EMPTY_THREAD_SLEEP_MS);
    this.mark = performance.now();
    return true;
  }

  private decide(sched: SerialScheduler, now: number): void {
    const me = this.s.thread;
    const period = now - this.periodStart;
    const waited = this.waitNs / 1e6;
    const live = sched.members().filter((slot) => !sched.finished[slot.hart.id]);
    let busy = 0;
    let full = 0;
    if (this.s.policy === 'balance') {
      for (const slot of live) {
        full += this.turnMs[slot.hart.id] / period;
        if (this.turnMs[slot.hart.id] >= BALANCE_BUSY * period) busy++;
      }
    } else for (const slot of live) if (this.turnMs[slot.hart.id] >= (BUSY_SHARE * period) / live.length) busy++;
    this.periodStart = now;
    this.waitNs = 0;
    if (LOG_PERIODS) note(`thread ${me} period ${period.toFixed(1)} ms waited ${(waited / period).toFixed(2)} turns ${Array.from(this.turnMs, (ms) => (ms / period).toFixed(2)).join(' ')} asks ${this.asks.join(' ')}`);
    this.turnMs.fill(0);
    Atomics.store(this.words, this.waitWord(me), Math.round(1000 * Math.min(1, waited / period)));
    Atomics.store(this.words, this.busyWord(me), busy);
    Atomics.add(this.words, this.periodsWord(me), 1);
    const asks = this.asks.slice();
    this.asks.fill(0);
    Atomics.add(this.words, ACQUIRES, this.acquires);
    this.acquires = 0;
    if (this.s.control.stopping) return;
    if (this.pending) {
      const [hart, since] = this.pending;
      if (Atomics.load(this.words, this.word(hart, PULL)) !== me + 1) this.pending = null; // answered: its thread let it go
      else if (now - since >= PULL_TIMEOUT_MS && Atomics.compareExchange(this.words, this.word(hart, PULL), me + 1, 0) === me + 1) {
        this.pending = null; // not answered: withdrawn before its thread let it go
        this.moves.withdrawn++;
        Atomics.store(this.words, LOCK, 0);
      }
      return;
    }
    if (this.s.policy === 'collapse') {
      if (me === 0) this.steerCollapse(sched, now, period, asks, busy);
      return;
    }
    if (this.s.policy === 'balance') {
      if (me === 0) this.steerBalance(sched, now, full >= BALANCE_FULL ? busy : 0);
      return;
    }
    // Pull: the hart most asked for, when waiting for other threads took a large share of the period.
    if (waited >= PULL_WAIT_SHARE * period) {
      let best = -1;
      for (let h = 0; h < asks.length; h++) {
        const t = this.threadOf(h);
        if (asks[h] > 0 && t >= 0 && t !== me && (best < 0 || asks[h] > asks[best])) best = h;
      }
      if (best >= 0 && this.worthPulling(best) && this.pull(best, now)) return;
    }
    // Home: a guest whose hold is over, while this thread has other harts that want to run;
    // what the machine moved meanwhile decides whether it comes back (worthPulling).
    for (const [hart, until] of this.guests) {
      if (now < until) continue;
      const slot = sched.members().find((s) => s.hart.id === hart);
      if (!slot || sched.finished[hart]) {
        this.guests.delete(hart);
        continue;
      }
      const busy = sched.members().filter((s) => s !== slot && !sched.finished[s.hart.id] && s.runner.parkedForNs() === null).length;
      if (busy === 0) continue;
      if (Atomics.compareExchange(this.words, LOCK, 0, 1 + hart) !== 0) return;
      const arrived = this.arrived.get(hart);
      const wall = Date.now();
      const f = PER_HART_F64 * hart;
      if (arrived) this.f64[f + MERGED_RATE] = this.acquiresSince(arrived.count) / Math.max(1, wall - arrived.at);
      this.f64[f + PUSHED_COUNT] = this.machineAcquires();
      if (!this.depart(sched, slot, this.s.homes[hart], false)) Atomics.store(this.words, LOCK, 0);
      return;
    }
  }

  /**
   * Thread 0 under 'collapse', once a period: asks for every other hart at once when the threads'
   * waits add up (COLLAPSE_WAIT_SHARE); after the hold, once at least two of them want a core
   * (`busy`) and they barely ask each other for rights, sends them all home.
   */
  private steerCollapse(sched: SerialScheduler, now: number, period: number, asks: Int32Array, busy: number): void {
    if (this.collapse === 'apart' && COLLAPSE_WAIT_SHARE > 0 && !this.freshPeriods()) return; // no vote either way yet
    let waits = 0;
    for (let t = 0; t < this.s.anchors.length; t++) waits += Atomics.load(this.words, this.waitWord(t)) / 1000;
    const asked = asks.reduce((a, b) => a + b, 0);
    this.steer(sched, now, {
      gather: waits >= COLLAPSE_WAIT_SHARE * (this.s.anchors.length - 1), gatherVotes: GATHER_VOTES,
      gatherNote: `gathers the harts (threads waited ${waits.toFixed(2)} of a period; `,
      spread: busy >= 2 && asked * ASK_COST_MS < SPREAD_ASK_SHARE * period, spawnVotes: SPREAD_VOTES, spreadVotes: SPREAD_VOTES,
      spreadNote: `spreads the harts (${busy} busy, ${asked} asks)`,
    });
  }

  /** Every thread has weighed a new period since the last gather vote (freshForVote). */
  private freshPeriods(): boolean {
    return freshForVote(Array.from({ length: this.s.anchors.length }, (_, t) => Atomics.load(this.words, this.periodsWord(t))), this.votedPeriods);
  }

  /**
   * Thread 0 under 'balance', once a period: together, sends the harts home once at least two of
   * them want a core (`busy`, on this thread, 0 when it was not full) BALANCE_SPREAD_VOTES periods
   * in a row, after the hold; apart, asks for them all again once at most one hart in the machine
   * was busy for BALANCE_IDLE_VOTES periods.
   */
  private steerBalance(sched: SerialScheduler, now: number, busy: number): void {
    let machineBusy = 0;
    for (let t = 0; t < this.s.anchors.length; t++) machineBusy += Atomics.load(this.words, this.busyWord(t));
    this.steer(sched, now, {
      gather: machineBusy <= 1, gatherVotes: BALANCE_IDLE_VOTES, gatherNote: 'gathers the idle harts (',
      spread: busy >= 2, spawnVotes: BALANCE_SPAWN_VOTES, spreadVotes: BALANCE_SPREAD_VOTES, spreadNote: `spreads the harts (${busy} busy)`,
    });
  }

  /**
   * Thread 0's steering under 'collapse' and 'balance' (they differ in what votes for what):
   * apart, gathers after `gatherVotes` periods in a row voted so; together, after the hold, sends
   * the harts home after `spreadVotes` such periods, once every thread listens.
   */
  private steer(sched: SerialScheduler, now: number, v: { gather: boolean; gatherVotes: number; gatherNote: string; spread: boolean; spawnVotes: number; spreadVotes: number; spreadNote: string }): void {
    const me = this.s.thread;
    if (this.collapse === 'apart') {
      this.gatherVotes = v.gather ? this.gatherVotes + 1 : 0;
      if (this.gatherVotes < v.gatherVotes) return;
      this.gatherVotes = 0;
      // Gathering again within a hold of spreading: the ping-pong goes on, stay together longer.
      const hold = Math.max(this.collapseHoldMs, COLLAPSE_HOLD_MIN_MS);
      this.collapseHoldMs = now - this.spreadAt < hold ? Math.min(2 * hold, COLLAPSE_HOLD_MAX_MS) : COLLAPSE_HOLD_MIN_MS;
      if (LOG) note(`thread ${me} ${v.gatherNote}hold ${this.collapseHoldMs} ms)`);
      this.gather();
      return;
    }
    if (this.collapse === 'gathering') {
      if (!this.s.harts.some((_, h) => this.threadOf(h) !== me)) {
        this.collapse = 'together';
        this.collapseSince = now;
      }
      return;
    }
    if (this.collapse === 'together') {
      this.spreadVotes = now - this.collapseSince < this.collapseHoldMs || !v.spread ? 0 : this.spreadVotes + 1;
      this.spawnAhead(v.spawnVotes);
      if (this.spreadVotes < v.spreadVotes || !this.allThreadsReady()) return;
      this.spreadVotes = 0;
      this.collapse = 'spreading';
      if (LOG) note(`thread ${me} ${v.spreadNote}`);
    }
    this.spreadHome(sched, now);
  }

  /**
   * Harts that started together: the other threads start once the harts have voted `votes`
   * periods in a row to spread (~100 ms of a core each, on the way to a spread that may not
   * come), since a message on a channel nobody listens on yet is lost: the harts go only once
   * every thread listens.
   */
  private spawnAhead(votes: number): void {
    if (this.spawnAsked || this.spreadVotes < votes || !this.s.startTogether) return;
    this.spawnAsked = true;
    if (LOG) note(`thread ${this.s.thread} starts the other threads`);
    this.s.spawn();
  }

  /** Spreading: every guest home at once (a hart that cannot leave yet goes at a later period). */
  private spreadHome(sched: SerialScheduler, now: number): void {
    const me = this.s.thread;
    let left = 0;
    for (const slot of sched.members()) {
      const id = slot.hart.id;
      if (this.s.homes[id] !== me && !sched.finished[id] && !this.depart(sched, slot, this.s.homes[id], false)) left++;
    }
    if (left > 0) return;
    this.collapse = 'apart';
    this.spreadAt = now;
  }

  /** Thread 0 under 'collapse' or 'balance': asks every other thread for its harts (they leave between their turns). */
  private gather(): void {
    const me = this.s.thread;
    this.collapse = 'gathering';
    for (let h = 0; h < this.s.harts.length; h++) {
      if (this.s.homes[h] === me) continue;
      Atomics.store(this.words, this.word(h, PULL), me + 1);
      this.s.control.kick(h);
    }
  }

  /** Asks `hart`'s thread to send it here (one move at a time machine-wide); false if another move is under way. */
  private pull(hart: number, now: number): boolean {
    const me = this.s.thread;
    if (Atomics.compareExchange(this.words, LOCK, 0, 1 + hart) !== 0) return false;
    Atomics.store(this.words, this.word(hart, PULL), me + 1);
    this.pending = [hart, now];
    if (LOG) note(`thread ${me} pulls hart ${hart} from thread ${this.threadOf(hart)}`);
    this.s.control.kick(hart);
    return true;
  }

  /** Hands `slot` to thread `to` (a pull answered, or a push home); false when the hart cannot leave now. */
  private depart(sched: SerialScheduler, slot: ScheduledHart, to: number, pulled: boolean): boolean {
    const id = slot.hart.id;
    if (to === this.s.thread) return false; // (a channel does not deliver to its own end)
    const runner = slot.runner.handOver();
    if (runner === null || slot.hart.exitRequested) return false;
    if (pulled && Atomics.compareExchange(this.words, this.word(id, PULL), to + 1, 0) !== to + 1) return false; // withdrawn
    if (!pulled) this.f64[PER_HART_F64 * id + PUSHED_AT] = Date.now();
    const hart = slot.hart;
    hart.syncOut();
    const move: Move = { to, hart: id, runner, supervisor: this.s.leave(slot), tlb: hart.mmu.saveTlb(), lines: hart.lines, pulled };
    sched.remove(id);
    this.guests.delete(id);
    Atomics.store(this.words, this.word(id, THREAD), -(to + 1));
    if (this.s.control.stopping) {
      // The machine began to stop: thread `to` may already have looked for harts on their way
      // and ended (awaitHarts), so the hart stays (its state goes back into this thread).
      this.adopt(sched, { ...move, to: this.s.thread, pulled: false }, false);
      return true;
    }
    this.channel.postMessage(move);
    if (LOG) note(`thread ${this.s.thread} sends hart ${id} to thread ${to} (${pulled ? 'pulled' : 'home'})`);
    this.moves.out++;
    this.s.control.kick(this.s.anchors[to]);
    Atomics.add(this.words, this.doorbell(to), 1);
    Atomics.notify(this.words, this.doorbell(to));
    return true;
  }

  /** Adopts the harts sent here; true if any came. */
  private takeArrivals(sched: SerialScheduler): boolean {
    if (!this.expecting()) return false;
    const me = this.s.thread;
    let any = false;
    // Node takes a BroadcastChannel here too (see jit/jit-share.ts).
    for (let m = receiveMessageOnPort(this.channel as unknown as MessagePort); m; m = receiveMessageOnPort(this.channel as unknown as MessagePort)) {
      const move = m.message as Move;
      if (move.to !== me) continue;
      this.adopt(sched, move);
      any = true;
    }
    return any;
  }

  /** `moved`: it came from another thread (not taken back at a stop). */
  private adopt(sched: SerialScheduler, move: Move, moved = true): void {
    const me = this.s.thread;
    const hart = this.s.harts[move.hart];
    hart.syncIn();
    const slot = this.s.arrive(hart, move.supervisor);
    hart.mmu.restoreTlb(move.tlb);
    hart.observeLines(move.lines);
    slot.runner.takeOver(move.runner);
    this.s.control.shareWakeUps(move.hart, this.s.anchors[me]);
    sched.add(slot);
    Atomics.store(this.words, this.word(move.hart, THREAD), me + 1);
    Atomics.store(this.words, LOCK, 0);
    if (moved) this.moves.in++;
    if (LOG) note(`thread ${me} takes hart ${move.hart}${moved ? '' : ' back (stopping)'}`);
    // Pulled back home: not a guest here. (Under 'collapse' thread 0 sends its guests home itself.)
    if (!move.pulled || this.s.homes[move.hart] === me || this.s.policy !== 'pairs') return;
    this.guests.set(move.hart, performance.now() + Atomics.load(this.words, this.word(move.hart, HOLD)));
    this.arrived.set(move.hart, { at: Date.now(), count: this.machineAcquires() });
  }

  /**
   * A hart that went home after a stay here is pulled again only if the machine has moved fewer
   * rights per ms without it than with it (a transfer is the progress harts that wait for each
   * other share: a lock handed on, a flag seen). Spinning harts taking whole turns on one thread
   * (the litmus guests) move fewer: they stay apart, and are looked at again ever more rarely.
   */
  private worthPulling(hart: number): boolean {
    const f = PER_HART_F64 * hart;
    const pushedAt = this.f64[f + PUSHED_AT];
    if (pushedAt === 0) return true; // never pulled yet
    const apart = Date.now() - pushedAt;
    const holdWord = this.word(hart, HOLD);
    const coolWord = this.word(hart, COOL);
    const cool = Atomics.load(this.words, coolWord);
    if (apart < Math.max(HOLD_MIN_MS, cool)) return false;
    const apartRate = this.acquiresSince(this.f64[f + PUSHED_COUNT]) / apart;
    if (apartRate > this.f64[f + MERGED_RATE]) {
      Atomics.store(this.words, coolWord, Math.min(2 * Math.max(cool, HOLD_MIN_MS), COOL_MAX_MS));
      Atomics.store(this.words, holdWord, HOLD_MIN_MS);
      this.f64[f + PUSHED_AT] = Date.now(); // measure afresh from here
      this.f64[f + PUSHED_COUNT] = this.machineAcquires();
      return false;
    }
    Atomics.store(this.words, coolWord, 0);
    Atomics.store(this.words, holdWord, Math.min(2 * Atomics.load(this.words, holdWord), HOLD_MAX_MS));
    return true;
  }
}
