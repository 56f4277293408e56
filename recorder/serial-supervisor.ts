import { Hart } from '../src/cpu/hart.js';
import { MIP } from '../src/cpu/csr-numbers.js';
import { MachineControl } from '../src/shm/control.js';
import { StopReason } from '../src/shm/layout.js';
import { HartSupervisor } from '../src/engine/supervisor.js';
import { ByteRing } from '../src/shm/byte-ring.js';
import { Clint } from '../src/machine/clint.js';
import { Uart } from '../src/machine/uart.js';
import { DivergenceError } from '../replayer/divergence.js';
import { TraceEvent } from './events.js';
import { EventRing } from './event-ring.js';
import { stateHash } from './state-hash.js';

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

const INPUT_CHUNK = 16;

export type SerialRole =
  | { kind: 'record'; ring: EventRing; stagedInput: ByteRing; checkInterval: number; maxInsns: number; control: MachineControl }
  | { kind: 'replay'; events: Iterable<TraceEvent>; finalIcount: number };

/**
 * Serial scheduling (`--sched serial`), recording or replaying: all harts run on one thread in a
 * fixed order over virtual time, so the only nondeterminism left is console input, which hart 0
 * takes in at a safe point (logged while recording, replayed from the log). Register hashes are
 * logged and compared as in parallel mode.
 */
export class SerialSupervisor implements HartSupervisor {
  readonly realTime = false;
  private nextCheck: number;
  private next: TraceEvent | null = null;
  private events: Iterator<TraceEvent> | null;
  /** Events taken from the stream so far (replay). */
  private consumed = 0;
  private safePoints = 0;

  constructor(private readonly hart: Hart, private readonly clock: VirtualClock, private readonly clint: Clint,
    private readonly uart: Uart, private readonly role: SerialRole) {
    this.nextCheck = role.kind === 'record' ? role.checkInterval : 0;
    this.events = role.kind === 'replay' ? role.events[Symbol.iterator]() : null;
    this.advance();
  }

  private advance(): void {
    if (!this.events) return;
    const r = this.events.next();
    this.next = r.done ? null : r.value;
    if (!r.done) this.consumed++;
  }

  /** Replay position in the event stream (debugger checkpoints). */
  snapshot(): { consumed: number; next: TraceEvent | null } {
    return { consumed: this.consumed, next: this.next };
  }

  /** Goes back to a snapshot; `events` must continue right after the snapshot's consumed events. */
  restore(p: { consumed: number; next: TraceEvent | null }, events: Iterator<TraceEvent>): void {
    this.events = events;
    this.consumed = p.consumed;
    this.next = p.next;
  }

  private diverged(what: string): never {
    throw new DivergenceError(this.hart.id, this.hart.icount, this.hart.pc, what);
  }

  /** Device lines as they are, except MTIP, which follows virtual time. */
  private sampleLines(h: Hart): void {
    const due = this.clock.now() >= this.clint.compareValue(h.id);
    h.observeLines((h.hardwareMip() & ~MIP.MTIP) | (due ? MIP.MTIP : 0));
  }

  safePoint(h: Hart): void {
    if ((++this.safePoints & 0x3ff) === 0) h.publishIcount(); // for the progress line
    this.sampleLines(h);
    const role = this.role;
    if (role.kind === 'record') {
      if (h.id === 0 && role.stagedInput.available() > 0) {
        const bytes: number[] = [];
        while (bytes.length < INPUT_CHUNK && role.stagedInput.available() > 0) bytes.push(role.stagedInput.pop());
        const chunk = Uint8Array.from(bytes);
        role.ring.write({ kind: 'input', icount: h.icount, bytes: chunk });
        this.uart.receive(chunk);
        this.sampleLines(h);
      }
      if (h.icount >= this.nextCheck) {
        role.ring.write({ kind: 'check', icount: h.icount, hash: stateHash(h) });
        this.nextCheck += role.checkInterval;
      }
      return;
    }
    while (this.next && this.next.icount === h.icount) {
      const e = this.next;
      if (e.kind === 'input') {
        this.uart.receive(e.bytes);
        this.sampleLines(h);
      } else if (e.kind === 'check') {
        const actual = stateHash(h);
        if (actual !== e.hash) this.diverged(`register hash is ${actual.toString(16)}, the recording had ${e.hash.toString(16)}`);
      } else {
        this.diverged(`a serial trace cannot hold ${e.kind} events`);
      }
      this.advance();
    }
    if (this.next && this.next.icount < h.icount) this.diverged(`the trace has a ${this.next.kind} event at icount ${this.next.icount}, which this replay ran past`);
  }

  budget(h: Hart): number {
    const role = this.role;
    if (role.kind === 'record') {
      if (h.icount >= role.maxInsns) {
        role.control.requestStop(StopReason.InsnLimit, 0);
        return 0;
      }
      return Math.min(Math.min(this.nextCheck, role.maxInsns) - h.icount, this.untilTimer(h));
    }
    const stop = this.next ? Math.min(this.next.icount, role.finalIcount) : role.finalIcount;
    return Math.min(stop - h.icount, this.untilTimer(h));
  }

  /**
   * Instructions until virtual time reaches this hart's timer deadline (only this hart runs, one
   * tick each). Ending a block exactly there makes MTIP rise at the same instruction whatever the
   * block boundaries are, so a debugger pausing a hart mid-block cannot move an interrupt.
   */
  private untilTimer(h: Hart): number {
    const cmp = this.clint.compareValue(h.id);
    const now = this.clock.now();
    return cmp >= (1n << 62n) || cmp <= now ? Number.POSITIVE_INFINITY : Number(cmp - now);
  }

  readTime(): bigint {
    return this.clock.now();
  }

  idle(h: Hart): boolean {
    this.sampleLines(h);
    return (h.mip() & h.mie()) === 0;
  }

  /** The earliest virtual time at which this hart's timer fires (or null). */
  timerDeadline(h: Hart): bigint | null {
    const cmp = this.clint.compareValue(h.id);
    return cmp >= (1n << 62n) ? null : cmp;
  }

  finish(h: Hart): void {
    if (this.role.kind !== 'replay') return;
    if (h.exitRequested && h.icount < this.role.finalIcount) return;
    if (h.icount !== this.role.finalIcount) this.diverged(`the recording ended this hart at icount ${this.role.finalIcount}`);
    if (this.next) this.diverged(`the trace still has a ${this.next.kind} event at icount ${this.next.icount}`);
  }
}
