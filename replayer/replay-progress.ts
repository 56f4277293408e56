/**
 * Shared between replaying harts: how many releases each hart has performed so far, and whether
 * it has finished. A hart replaying an acquire waits until the releases it names have happened.
 */
export class ReplayProgress {
  private readonly released: Int32Array;
  private readonly done: Int32Array;
  /** Bumped by every release and every finished hart: threads whose harts all wait sleep on it. */
  private readonly changes: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer, readonly harts: number) {
    this.released = new Int32Array(buffer, 0, harts);
    this.done = new Int32Array(buffer, 4 * harts, harts);
    this.changes = new Int32Array(buffer, 8 * harts, 1);
  }

  static create(harts: number): ReplayProgress {
    return new ReplayProgress(new SharedArrayBuffer(8 * harts + 4), harts);
  }

  publishRelease(hart: number, seq: number): void {
    Atomics.store(this.released, hart, seq);
    Atomics.notify(this.released, hart);
    this.bump();
  }

  markDone(hart: number): void {
    Atomics.store(this.done, hart, 1);
    Atomics.notify(this.released, hart); // wake anyone waiting for this hart's releases
    this.bump();
  }

  private bump(): void {
    Atomics.add(this.changes, 0, 1);
    Atomics.notify(this.changes, 0);
  }

  /** A number that changes with every release and finished hart (read it before deciding to wait). */
  get changeCount(): number {
    return Atomics.load(this.changes, 0);
  }

  /** Waits (spin, then sleep up to `timeoutMs`) until any hart releases or finishes after `seen` was read. */
  waitForChange(seen: number, timeoutMs: number): void {
    for (let spins = 0; spins < 2000; spins++) if (Atomics.load(this.changes, 0) !== seen) return;
    Atomics.wait(this.changes, 0, seen, timeoutMs);
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
      if (spins > 2000) Atomics.wait(this.released, hart, current, 20);
    }
  }
}
