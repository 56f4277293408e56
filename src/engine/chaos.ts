/**
 * Chaos scheduling (`run --chaos[=SEED]`, `record --chaos[=SEED]`), in the spirit of rr's chaos
 * mode: perturb the host-side schedule so that rare interleavings of the harts become likely.
 * Consulted by each hart's runner at its safe points (block boundaries), so it only ever delays a
 * hart between two instructions; nothing it does is guest-visible except through timing, and
 * recording logs whatever interleaving results, so replay needs nothing from it.
 *
 * Per hart, driven by a seeded generator (the seed mixed with the hart number):
 *  - priorities that change over time: every period (a random 20k-2M instructions of the hart)
 *    the hart is drawn high or low priority; a low-priority hart is stalled at 1 in 16 of its
 *    safe points, a high one every ~300k instructions;
 *  - stalls: the hart stops for a random time (log-uniform, 2 us to 2 ms) so that the others run
 *    on meanwhile and the relative positions of the harts shift by a random amount;
 *  - randomised tenure (recording): each period draws how long the hart keeps a page it acquired
 *    before honouring another hart's request, from "give it away at once" to 4x the --tenure;
 *  - stalls inside check-then-act windows: the hart's first write to a page it has read since its
 *    last look at that page (a TLB fill for a store after one for a load, seen through the MMU's
 *    access guard) is where a "check, then act" goes from checking to acting, and where another
 *    hart's check must fall for the race to show. Three in four of those writes are held up (log-uniform,
 *    2 us to 10 ms) before they happen. Safe points cannot do this: on the JIT tier a window of a
 *    few straight-line instructions contains none.
 *  - yields after contended writes: when the hart has just won a page for writing that another
 *    hart held (it had to ask), one in YIELD_CHANCE times its next access that reaches the guard
 *    is refused for a while (2-200 us) and the hart answers every request meanwhile, tenure or not.
 *    On hardware the other hart sees the write within nanoseconds, while the writer runs on;
 *    recording makes it wait for a transfer (microseconds), so without this the writer always
 *    finishes its next steps first and outcomes in which the other hart acts in between (the
 *    store-buffering litmus's "10" and "11") never appear in recordings. The TLB is emptied right
 *    after such a win so that the very next access asks the guard.
 * All stalls together take at most STALL_SHARE of the hart's wall time less its time queued for a
 * core (plus a first allowance), so a program that shares a lot is slowed down by a bounded factor.
 */

import { AccessGuard } from '../cpu/mmu.js';
import { threadRunQueueMs } from './peer-watch.js';

/** What crosses into a hart worker (plain data). */
export interface ChaosSettings {
  seed: number;
}

const MIN_PERIOD = 20_000;
const MAX_PERIOD = 2_000_000;
/**
 * A low-priority hart is stalled at a safe point with this probability: per safe point rather than
 * per instruction, so that a race window of a few instructions (one or two safe points) has the
 * same chance of being stretched as a long one. A high-priority hart, every ~300,000 instructions.
 */
const LOW_PRIORITY_STALL_CHANCE = 1 / 16;
const HIGH_PRIORITY_STALL_EVERY = 300_000;
const MIN_STALL_US = 2;
const MAX_STALL_US = 2_000;
/** Shorter stalls spin (a sleep cannot be that short); longer ones sleep. */
const SPIN_BELOW_US = 100;
/**
 * A first write to a page the hart has just read is stalled with this chance, for 2 us to 10 ms:
 * long enough to cover another hart's wake-up on a loaded host (milliseconds), which is how far
 * apart two harts' checks can be while recording.
 */
const WRITE_AFTER_READ_STALL_CHANCE = 3 / 4;
const WRITE_AFTER_READ_MAX_STALL_US = 10_000;
/**
 * Stalls stop while they add up to more than this share of the hart's wall time, less the time
 * its thread sat runnable waiting for a core (schedstat): beside another process that holds a
 * core, wall time stretched and allowed ever more stalls, which stretched it further (a chaos
 * recording of smp_sb_litmus beside a spinner spent ~20 s of each hart's 71 s in stalls)...
 */
const STALL_SHARE = 0.3;
/** ...beyond a first allowance, so a race early in a run can be stretched too. */
const STALL_ALLOWANCE_US = 10_000;
/** How often the thread's run-queue time is read for the budget (a read costs ~10 us). */
const QUEUED_SAMPLE_MS = 5;
/** A contended write is followed by a yield this often, for 2 us to MAX_YIELD_US. */
const YIELD_CHANCE = 1 / 4;
const MAX_YIELD_US = 200;
/** Pages remembered as read (RAM page numbers); forgotten all at once beyond this. */
const MAX_READ_PAGES = 4096;

export class ChaosPolicy {
  private state: number;
  private periodEnd = 0;
  private nextStall = 0;
  private lowPriority = false;
  private tenureFactor = 1;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  /**
   * Stalls decided so far (for tests and --stats), `writeAfterReadStalls` of them in a
   * check-then-act window; the decisions depend only on the seed and the hart's accesses.
   * `stallsOverBudget` of them were skipped because stalls had taken their share of wall time.
   */
  stalls = 0;
  writeAfterReadStalls = 0;
  /** Yields started after contended writes (see above). */
  yields = 0;
  /** A write right this hart asked others for and has not yet got (-1: none). */
  private contendedWrite = -1;
  /** The next access that reaches the guard starts a yield of this many us (0: none pending). */
  private yieldNextUs = 0;
  /** performance.now() until which accesses are refused (a yield), and whether one was refused since takeYield. */
  private yieldUntilMs = 0;
  private refusedForYield = false;
  stallsOverBudget = 0;
  /** Pages read through a TLB fill and not written since. */
  private readonly readPages = new Set<number>();
  private readonly bornMs = performance.now();
  private stalledMs = 0;
  /** The thread's run-queue time when the policy was made, its last reading (ms), and when that was taken. */
  private readonly bornQueuedMs: number;
  private lastQueuedMs: number;
  private queuedReadAt = this.bornMs;
  /**
   * Empties the hart's TLB (set with the guard, called at safe points only: at a new period and
   * after a stall). Without it a page written once (say, zeroed at boot) keeps its store
   * translation when nothing else flushes the TLB (a plain run), and a later read-then-write of
   * it would never reach the guard.
   */
  private flushTlb: (() => void) | null = null;

  /** `queuedMs`: this thread's time runnable but not running so far, ms (tests pass their own). */
  constructor(settings: ChaosSettings, hartId: number, private readonly queuedMs: () => number = threadQueuedMs) {
    this.bornQueuedMs = this.lastQueuedMs = queuedMs();
    // splitmix-style mixing of seed and hart; xorshift32 needs a non-zero state.
    let s = (settings.seed ^ Math.imul(hartId + 1, 0x9e3779b1)) >>> 0;
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b) >>> 0;
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35) >>> 0;
    this.state = (s ^ (s >>> 16)) >>> 0 || 1;
  }

  /** Uniform in [0, 1). */
  private random(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 4294967296;
  }

  private logUniform(lo: number, hi: number): number {
    return lo * Math.pow(hi / lo, this.random());
  }

  /** Exponentially distributed gap with the given mean (a Poisson process of stalls). */
  private gap(mean: number): number {
    return Math.max(1, Math.round(-Math.log(1 - this.random()) * mean));
  }

  private newPeriod(icount: number): void {
    this.flushTlb?.();
    this.periodEnd = icount + Math.round(this.logUniform(MIN_PERIOD, MAX_PERIOD));
    this.lowPriority = this.random() < 0.5;
    const r = this.random();
    this.tenureFactor = r < 0.3 ? 0 : r < 0.6 ? this.logUniform(0.001, 0.1) : r < 0.85 ? 1 : 4;
    this.nextStall = icount + this.gap(HIGH_PRIORITY_STALL_EVERY);
  }

  /** Called at the hart's safe points: maybe stalls the hart for a while. */
  safePoint(icount: number): void {
    if (icount >= this.periodEnd) this.newPeriod(icount);
    if (this.lowPriority) {
      if (this.random() >= LOW_PRIORITY_STALL_CHANCE) return;
    } else {
      if (icount < this.nextStall) return;
      this.nextStall = icount + this.gap(HIGH_PRIORITY_STALL_EVERY);
    }
    if (this.stall(this.logUniform(MIN_STALL_US, MAX_STALL_US))) this.flushTlb?.();
  }

  /**
   * Wraps the hart's access guard (the recorder's, or none when just running): permits exactly as
   * `inner` does, but first stalls some first writes to a page the hart has read (see above).
   * Stalling there, before the write takes its right, leaves the page readable by the others, so
   * their checks can still see the old value. Its harts come to every block's safe point (the
   * guard has no handOffPending, so JitExecutor.runBlock runs no runs of blocks): chaos stalls
   * happen there.
   */
  guardAccesses(inner: AccessGuard | null, flushTlb: () => void): AccessGuard {
    this.flushTlb = flushTlb;
    return {
      permit: (resource, write) => {
        if (this.yieldNextUs > 0 || this.yieldUntilMs > 0) {
          const now = performance.now();
          if (this.yieldNextUs > 0) {
            this.yieldUntilMs = now + this.yieldNextUs / 1000;
            this.stalledMs += this.yieldNextUs / 1000;
            this.yieldNextUs = 0;
          }
          if (now < this.yieldUntilMs) {
            this.refusedForYield = true;
            return false;
          }
          this.yieldUntilMs = 0;
        }
        if (write && this.readPages.delete(resource) && this.random() < WRITE_AFTER_READ_STALL_CHANCE) {
          this.writeAfterReadStalls++;
          this.stall(this.logUniform(MIN_STALL_US, WRITE_AFTER_READ_MAX_STALL_US));
        }
        const ok = inner === null || inner.permit(resource, write);
        if (write && !ok) this.contendedWrite = resource;
        else if (write && resource === this.contendedWrite) {
          this.contendedWrite = -1;
          if (this.random() < YIELD_CHANCE && this.withinBudget()) {
            this.yields++;
            this.yieldNextUs = this.logUniform(MIN_STALL_US, MAX_YIELD_US);
            flushTlb(); // the instruction's own translation is filled after this, under the new epoch
          }
        }
        if (ok && !write) {
          if (this.readPages.size >= MAX_READ_PAGES) this.readPages.clear();
          this.readPages.add(resource);
        }
        return ok;
      },
    };
  }

  /**
   * True once after the guard refused an access to make the hart yield: the runner then answers
   * requests instead of waiting for a right (none was asked for).
   */
  takeYield(): boolean {
    const refused = this.refusedForYield;
    this.refusedForYield = false;
    return refused;
  }

  private withinBudget(): boolean {
    const now = performance.now();
    if (now - this.queuedReadAt >= QUEUED_SAMPLE_MS) {
      this.queuedReadAt = now;
      this.lastQueuedMs = this.queuedMs();
    }
    const ranMs = now - this.bornMs - (this.lastQueuedMs - this.bornQueuedMs);
    return this.stalledMs <= STALL_ALLOWANCE_US / 1000 + STALL_SHARE * ranMs;
  }

  /** The tenure to use now, given the configured one (at least 1 instruction). */
  tenure(configured: number): number {
    return Math.max(1, Math.round(configured * this.tenureFactor));
  }

  /** Stalls for `us` microseconds unless over the budget; true if it did. */
  private stall(us: number): boolean {
    this.stalls++;
    const start = performance.now();
    if (!this.withinBudget()) {
      this.stallsOverBudget++;
      return false;
    }
    if (us < SPIN_BELOW_US) {
      const until = start + us / 1000;
      while (performance.now() < until) { /* spin: too short to sleep */ }
    } else {
      Atomics.wait(this.sleeper, 0, 0, us / 1000);
    }
    this.stalledMs += performance.now() - start;
    return true;
  }
}

/** This thread's time runnable but not running, ms (0 where schedstat cannot be read: the budget is then wall time). */
function threadQueuedMs(): number {
  const ms = threadRunQueueMs();
  return Number.isFinite(ms) ? ms : 0;
}
