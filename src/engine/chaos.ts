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
 *    before honouring another hart's request, from "give it away at once" to 4x the --tenure.
 */

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

export class ChaosPolicy {
  private state: number;
  private periodEnd = 0;
  private nextStall = 0;
  private lowPriority = false;
  private tenureFactor = 1;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  /** Stalls made so far (for tests and --stats). */
  stalls = 0;

  constructor(settings: ChaosSettings, hartId: number) {
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
    this.stall(this.logUniform(MIN_STALL_US, MAX_STALL_US));
  }

  /** The tenure to use now, given the configured one (at least 1 instruction). */
  tenure(configured: number): number {
    return Math.max(1, Math.round(configured * this.tenureFactor));
  }

  private stall(us: number): void {
    this.stalls++;
    if (us < SPIN_BELOW_US) {
      const until = performance.now() + us / 1000;
      while (performance.now() < until) { /* spin: too short to sleep */ }
    } else {
      Atomics.wait(this.sleeper, 0, 0, us / 1000);
    }
  }
}
