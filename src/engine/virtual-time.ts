import { Hart } from '../cpu/hart.js';
import { MIP } from '../cpu/csr-numbers.js';
import { Clint } from '../machine/clint.js';
import { HartSupervisor } from './supervisor.js';

/**
 * Virtual time for serial scheduling: mtime is the number of instructions all harts have retired
 * (one 100 ns tick each, a 10 MIPS machine), plus whatever the scheduler skipped while every hart
 * idled in WFI. It depends only on the execution, so timer interrupts need no logging.
 */
export class VirtualClock {
  private skipped = 0n;

  constructor(private readonly harts: Hart[]) {}

  now(): bigint {
    let sum = 0;
    for (const h of this.harts) sum += h.icount;
    return BigInt(sum) + this.skipped;
  }

  /** Time skipped over idle periods (debugger checkpoints save and restore it). */
  get skippedTicks(): bigint {
    return this.skipped;
  }

  set skippedTicks(ticks: bigint) {
    this.skipped = ticks;
  }

  /** Every hart idles: jump to `ticks` (the next timer deadline). */
  skipTo(ticks: bigint): void {
    const now = this.now();
    if (ticks > now) this.skipped += ticks - now;
  }
}

/** A CLINT compare value this large means "no timer armed". */
const NO_DEADLINE = 1n << 62n;

/**
 * What every supervisor of a hart on virtual time shares (serial recording and serial replay):
 * the timer interrupt follows the virtual clock, blocks end exactly at the timer deadline, and an
 * idle hart gives its turn away.
 */
export abstract class VirtualTimeSupervisor implements HartSupervisor {
  readonly realTime = false;

  /** The icount of the last safe point and how many safe points the hart passed at that icount. */
  private safePointIcount = -1;
  private safePointsThere = 0;

  protected constructor(protected readonly clock: VirtualClock, protected readonly clint: Clint) {}

  /**
   * Counts a safe point. Where a hart *ends* is part of the serial schedule: the recording may stop
   * it at the top of its loop, before a safe point that would take a pending interrupt. How many
   * safe points it passed at its final icount says which, and unlike the total count of safe
   * points it does not depend on the tier (the JIT's blocks are longer than the reference's).
   */
  protected countSafePoint(h: Hart): void {
    if (h.icount === this.safePointIcount) this.safePointsThere++;
    else {
      this.safePointIcount = h.icount;
      this.safePointsThere = 1;
    }
  }

  /** Safe points passed at `icount` (0 unless it is the icount of the last one). */
  protected safePointsAt(icount: number): number {
    return icount === this.safePointIcount ? this.safePointsThere : 0;
  }

  /** After a debugger restore: `count` safe points were passed at the hart's current icount. */
  protected restoreSafePoints(icount: number, count: number): void {
    this.safePointIcount = count > 0 ? icount : -1;
    this.safePointsThere = count;
  }

  abstract safePoint(hart: Hart): void;
  abstract budget(hart: Hart): number;

  /** Device lines as they are, except MTIP and Sstc's STIP, which follow virtual time. */
  protected sampleLines(h: Hart): void {
    const now = this.clock.now();
    const due = now >= this.clint.compareValue(h.id);
    const sCompare = h.supervisorTimerCompare();
    const sDue = sCompare !== null && now >= sCompare;
    h.observeLines((h.hardwareMip() & ~(MIP.MTIP | MIP.STIP)) | (due ? MIP.MTIP : 0) | (sDue ? MIP.STIP : 0));
  }

  /** The hart's armed timer compare values (mtimecmp; stimecmp when it drives STIP). */
  private compares(h: Hart): bigint[] {
    const out: bigint[] = [];
    const cmp = this.clint.compareValue(h.id);
    if (cmp < NO_DEADLINE) out.push(cmp);
    const sCompare = h.supervisorTimerCompare();
    if (sCompare !== null && sCompare < NO_DEADLINE) out.push(sCompare);
    return out;
  }

  /**
   * Instructions until virtual time reaches this hart's timer deadline (only this hart runs, one
   * tick each). Ending a block exactly there makes MTIP rise at the same instruction whatever the
   * block boundaries are, so a debugger pausing a hart mid-block cannot move an interrupt.
   */
  protected untilTimer(h: Hart): number {
    const now = this.clock.now();
    let until = Number.POSITIVE_INFINITY;
    for (const cmp of this.compares(h)) if (cmp > now && Number(cmp - now) < until) until = Number(cmp - now);
    return until;
  }

  readTime(): bigint {
    return this.clock.now();
  }

  idle(h: Hart): boolean {
    this.sampleLines(h);
    return (h.mip() & h.mie()) === 0;
  }

  /** The earliest armed deadline still ahead (else the earliest armed one; null: none armed). */
  virtualTimerDeadline(h: Hart): bigint | null {
    const now = this.clock.now();
    const armed = this.compares(h).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return armed.find((c) => c > now) ?? armed[0] ?? null;
  }
}
