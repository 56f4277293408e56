import { CTRL_BASE, Ctrl } from './layout.js';

const NS_PER_TICK = 100n; // 10 MHz timebase

/**
 * The machine's mtime, derived from the host's monotonic clock (the same in every thread).
 * mtime = (now - epoch) / 100 ns; the epoch lives in the shared control block so all threads agree
 * and a guest write to mtime (moving the epoch) is seen everywhere.
 */
export class Clock {
  private readonly ctrl64: BigInt64Array;

  constructor(memory: SharedArrayBuffer) {
    this.ctrl64 = new BigInt64Array(memory, CTRL_BASE, 64);
  }

  static nowNs(): bigint {
    return process.hrtime.bigint();
  }

  /** Sets mtime to zero now. Called once by the coordinator before harts start. */
  start(): void {
    Atomics.store(this.ctrl64, Ctrl.EpochNs64, Clock.nowNs());
  }

  mtime(): bigint {
    const ticks = (Clock.nowNs() - Atomics.load(this.ctrl64, Ctrl.EpochNs64)) / NS_PER_TICK;
    return ticks < 0n ? 0n : ticks;
  }

  setMtime(value: bigint): void {
    Atomics.store(this.ctrl64, Ctrl.EpochNs64, Clock.nowNs() - value * NS_PER_TICK);
  }

  /** Host monotonic time (ns) at which mtime reaches `ticks`. */
  hostNsAt(ticks: bigint): bigint {
    return Atomics.load(this.ctrl64, Ctrl.EpochNs64) + ticks * NS_PER_TICK;
  }
}
