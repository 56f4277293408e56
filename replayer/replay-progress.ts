/**
 * Shared between replaying harts: how many releases each hart has performed so far, and whether
 * it has finished. A hart replaying an acquire waits until the releases it names have happened.
 */
export class ReplayProgress {
  private readonly released: Int32Array;
  private readonly done: Int32Array;
  /** Bumped by every release and every finished hart: threads whose harts all wait sleep on it. */
  private readonly changes: Int32Array;
  /**
   * Threads asleep (or about to sleep) on `released[h]` (index h) or on `changes` (index harts).
   * Atomics.notify costs ~1 µs even with nobody to wake, and a ping-pong trace makes ~160,000
   * releases a second: a release notifies only when its count here is non-zero. The sleeper counts
   * itself before Atomics.wait re-checks the value, the releaser stores before reading the count
   * (all sequentially consistent), so one of them always sees the other.
   */
  private readonly sleepers: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer, readonly harts: number) {
    this.released = new Int32Array(buffer, 0, harts);
    this.done = new Int32Array(buffer, 4 * harts, harts);
    this.changes = new Int32Array(buffer, 8 * harts, 1);
    this.sleepers = new Int32Array(buffer, 8 * harts + 4, harts + 1);
  }

  static create(harts: number): ReplayProgress {
    return new ReplayProgress(new SharedArrayBuffer(12 * harts + 8), harts);
  }

  publishRelease(hart: number, seq: number): void {
    Atomics.store(this.released, hart, seq);
    if (Atomics.load(this.sleepers, hart) !== 0) Atomics.notify(this.released, hart);
    this.bump();
  }

  markDone(hart: number): void {
    Atomics.store(this.done, hart, 1);
    Atomics.notify(this.released, hart); // wake anyone waiting for this hart's releases
    this.bump();
  }

  private bump(): void {
    Atomics.add(this.changes, 0, 1);
    if (Atomics.load(this.sleepers, this.harts) !== 0) Atomics.notify(this.changes, 0);
  }

  /** A number that changes with every release and finished hart (read it before deciding to wait). */
  get changeCount(): number {
    return Atomics.load(this.changes, 0);
  }

  /** Waits (spin, then sleep up to `timeoutMs`) until any hart releases or finishes after `seen` was read. */
  waitForChange(seen: number, timeoutMs: number): void {
    for (let spins = 0; spins < 2000; spins++) if (Atomics.load(this.changes, 0) !== seen) return;
    Atomics.add(this.sleepers, this.harts, 1);
    Atomics.wait(this.changes, 0, seen, timeoutMs);
    Atomics.sub(this.sleepers, this.harts, 1);
  }

  releasedCount(hart: number): number {
    return Atomics.load(this.released, hart);
  }

  isDone(hart: number): boolean {
    return Atomics.load(this.done, hart) === 1;
  }

  /** Waits (spin, then sleep) until `hart` has made release `seq`. False if it finished without it or `abort()` says stop. */
  waitForRelease(hart: number, seq: number, abort: () => boolean): boolean {
    for (let spins = 0; ; spins++) {
      const current = Atomics.load(this.released, hart);
      if (current >= seq) return true;
      if (this.isDone(hart) || abort()) return Atomics.load(this.released, hart) >= seq;
      if (spins > 2000) {
        Atomics.add(this.sleepers, hart, 1);
        Atomics.wait(this.released, hart, current, 20);
        Atomics.sub(this.sleepers, hart, 1);
      }
    }
  }
}
