import { writeSync } from 'node:fs';
import { BroadcastChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { Hart } from '../src/cpu/hart.js';
import { TlbState } from '../src/cpu/mmu.js';
import { RunnerHandover } from '../src/engine/hart-runner.js';
import { ScheduledHart, SerialScheduler } from '../src/engine/serial-scheduler.js';
import { MachineControl } from '../src/shm/control.js';
import { RecorderHandover, WaitMeter } from './hart-recorder.js';

/*
 * Hart migration while recording in parallel: harts that keep waiting for each other's rights
 * move onto one host thread, where a parked sibling's rights go at once (no thread hand-off, no
 * tenure), and go back to their own thread after a while. Recording only: a parallel trace is
 * replayed from its events whatever thread ran which hart, and a hart moves with everything
 * guest-visible (registers in shared memory, its soft TLB, its position after exceptions), so
 * the trace cannot tell a moved hart from one that stayed.
 */

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
/** HINDSIGHT_MIGRATE_LOG=1: every pull, move and adoption on stderr (debugging aid). */
const LOG = process.env.HINDSIGHT_MIGRATE_LOG === '1';
function note(text: string): void {
  writeSync(2, `migrate ${(performance.timeOrigin + performance.now()).toFixed(3)} ${text}\n`); // synchronous: a worker stuck in its loop never flushes process.stderr
}
/** Longest sleep of a thread left without harts (an arriving hart's kick ends it sooner). */
const EMPTY_THREAD_SLEEP_MS = 5;

/** Int32 words of the shared table: the one-move-at-a-time lock, the machine's acquires so far, then per hart THREAD, PULL, HOLD, COOL. */
const LOCK = 0;
const ACQUIRES = 1;
const HEADER = 4;
const THREAD = 0; // 1 + the thread running the hart; -(1 + thread) while it travels there; 0 unknown
const PULL = 1; // 1 + the thread that wants the hart, 0 none
const HOLD = 2; // ms the hart stays when pulled next
const COOL = 3; // ms after going home during which the hart is not pulled again (grows while pulling it does not pay)
const PER_HART = 4;

/** Float64 fields per hart after the words: when it last went home (Date.now()), the machine's acquires then, and its rate while pulled. */
const PUSHED_AT = 0;
const PUSHED_COUNT = 1;
const MERGED_RATE = 2;
const PER_HART_F64 = 3;

/** Bytes of the shared table (a SharedArrayBuffer of its own, zeroed). */
export function migrationTableBytes(harts: number): number {
  return 4 * (HEADER + PER_HART * harts) + 8 * PER_HART_F64 * harts;
}

/** What travels with a hart (structured clone on the machine's migration channel). */
interface Move {
  to: number;
  hart: number;
  runner: RunnerHandover;
  recorder: RecorderHandover;
  tlb: TlbState;
  lines: number;
  /** Pulled (stays for its hold), or pushed home. */
  pulled: boolean;
}

export interface MigrationSetup {
  table: SharedArrayBuffer;
  channel: string;
  /** This worker's thread index and every thread's first hart (the hart whose wake word the thread sleeps on). */
  thread: number;
  anchors: number[];
  /** Each hart's own thread (where it goes back to). */
  homes: number[];
  control: MachineControl;
  harts: Hart[];
  /** Builds the scheduled hart of an arriving hart around its recorder's state (the plug-in's supervisor, the worker's tier). */
  arrive(hart: Hart, recorder: RecorderHandover): ScheduledHart;
  /** A hart left this thread (its recorder leaves the thread's group). */
  leave(slot: ScheduledHart): RecorderHandover;
}

/** One thread's side of hart migration: its meter, its decisions, and the moves in and out. */
export class HartMigration implements WaitMeter {
  private readonly words: Int32Array;
  /** Per hart PER_HART_F64 numbers (Float64 after the words). */
  private readonly f64: Float64Array;
  private readonly channel: BroadcastChannel;
  private readonly asks: Int32Array;
  private acquires = 0;
  /** Per guest: Date.now() and the machine's acquires when it arrived. */
  private readonly arrived = new Map<number, { at: number; count: number }>();
  private waitNs = 0;
  private periodStart = performance.now();
  /** The pull this thread has made and not seen answered: [hart, since ms], or null. */
  private pending: [number, number] | null = null;
  /** Harts pulled here, and the performance.now() at which each may go home. */
  private readonly guests = new Map<number, number>();
  /** Moves out and in, and pulls withdrawn (HINDSIGHT_OWN_STATS). */
  readonly moves = { out: 0, in: 0, withdrawn: 0 };

  constructor(private readonly s: MigrationSetup, ownHarts: number[]) {
    const harts = s.harts.length;
    this.words = new Int32Array(s.table, 0, HEADER + PER_HART * harts);
    this.f64 = new Float64Array(s.table, 4 * (HEADER + PER_HART * harts), PER_HART_F64 * harts);
    this.channel = new BroadcastChannel(s.channel);
    this.asks = new Int32Array(harts);
    for (const h of ownHarts) {
      Atomics.store(this.words, this.word(h, THREAD), s.thread + 1);
      Atomics.store(this.words, this.word(h, HOLD), HOLD_MIN_MS);
    }
  }

  close(): void {
    this.channel.close();
  }

  private word(hart: number, field: number): number {
    return HEADER + PER_HART * hart + field;
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
    this.takeArrivals(sched);
    const me = this.s.thread;
    for (const slot of sched.members()) {
      const id = slot.hart.id;
      const pull = Atomics.load(this.words, this.word(id, PULL)) - 1;
      if (pull >= 0 && pull !== me && !sched.finished[id]) this.depart(sched, slot, pull, true);
    }
    const now = performance.now();
    if (now - this.periodStart >= MIGRATION_PERIOD_MS) this.decide(sched, now);
  }

  /** No hart left here: true (after waiting a little for one) unless the machine stops and none is on its way. */
  awaitHarts(sched: SerialScheduler): boolean {
    if (this.takeArrivals(sched)) return true;
    if (this.s.control.stopping && !this.expecting()) return false;
    if (LOG && this.s.control.stopping) note(`thread ${this.s.thread} waits for a hart on its way: ${[...this.words.subarray(HEADER)].join(',')}`);
    const me = this.s.thread;
    const anchor = this.s.harts[this.s.anchors[me]];
    const seen = anchor.wakeWord();
    if (!this.takeArrivals(sched)) anchor.sleep(seen, EMPTY_THREAD_SLEEP_MS);
    return true;
  }

  private decide(sched: SerialScheduler, now: number): void {
    const me = this.s.thread;
    const period = now - this.periodStart;
    const waited = this.waitNs / 1e6;
    this.periodStart = now;
    this.waitNs = 0;
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
    // Pull: the hart most asked for, when waiting for other threads took a large share of the period.
    if (waited >= PULL_WAIT_SHARE * period) {
      let best = -1;
      for (let h = 0; h < asks.length; h++) {
        const t = this.threadOf(h);
        if (asks[h] > 0 && t >= 0 && t !== me && (best < 0 || asks[h] > asks[best])) best = h;
      }
      if (best >= 0 && this.worthPulling(best) && Atomics.compareExchange(this.words, LOCK, 0, 1 + best) === 0) {
        Atomics.store(this.words, this.word(best, PULL), me + 1);
        this.pending = [best, now];
        if (LOG) note(`thread ${me} pulls hart ${best} from thread ${this.threadOf(best)}`);
        this.s.control.kick(best);
        return;
      }
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
    const move: Move = { to, hart: id, runner, recorder: this.s.leave(slot), tlb: hart.mmu.saveTlb(), lines: hart.lines, pulled };
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
    const slot = this.s.arrive(hart, move.recorder);
    hart.mmu.restoreTlb(move.tlb);
    hart.observeLines(move.lines);
    slot.runner.takeOver(move.runner);
    this.s.control.shareWakeUps(move.hart, this.s.anchors[me]);
    sched.add(slot);
    Atomics.store(this.words, this.word(move.hart, THREAD), me + 1);
    Atomics.store(this.words, LOCK, 0);
    if (moved) this.moves.in++;
    if (LOG) note(`thread ${me} takes hart ${move.hart}${moved ? '' : ' back (stopping)'}`);
    if (!move.pulled || this.s.homes[move.hart] === me) return; // pulled back home: not a guest here
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
