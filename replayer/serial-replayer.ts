import { Hart } from '../src/cpu/hart.js';
import { VirtualClock, VirtualTimeSupervisor } from '../src/engine/virtual-time.js';
import { stateHash } from '../src/engine/state-hash.js';
import { Clint } from '../src/machine/clint.js';
import { Uart } from '../src/machine/uart.js';
import { TraceEvent } from '../traces/events.js';
import { DivergenceError } from './divergence.js';

/** Where a serial replayer stands in its event stream (debugger checkpoints save it). */
export interface SerialReplayPosition {
  consumed: number;
  next: TraceEvent | null;
  /** Safe points passed at the hart's current icount. */
  safePointsHere: number;
}

/**
 * Replays a serial trace, one hart's stream (the mirror of recorder/serial-recorder.ts): the same
 * scheduler and the same virtual clock, console input applied at its logged icount, register hashes
 * compared. Also the supervisor of the debugger's timeline for serial traces.
 */
export class SerialReplayer extends VirtualTimeSupervisor {
  private next: TraceEvent | null = null;
  private events: Iterator<TraceEvent>;
  /** Events taken from the stream so far. */
  private consumed = 0;
  private safePoints = 0;

  constructor(private readonly hart: Hart, clock: VirtualClock, clint: Clint, private readonly uart: Uart,
    events: Iterable<TraceEvent>, private readonly finalIcount: number,
    /** Safe points the recording passed at the final icount (null: an older trace, which ends there at once). */
    private readonly finalSafePoints: number | null = null) {
    super(clock, clint);
    this.events = events[Symbol.iterator]();
    this.advance();
  }

  private advance(): void {
    const r = this.events.next();
    this.next = r.done ? null : r.value;
    if (!r.done) this.consumed++;
  }

  /** Replay position in the event stream (debugger checkpoints). */
  snapshot(): SerialReplayPosition {
    return { consumed: this.consumed, next: this.next, safePointsHere: this.safePointsAt(this.hart.icount) };
  }

  /** Goes back to a snapshot; `events` must continue right after the snapshot's consumed events. */
  restore(p: SerialReplayPosition, events: Iterator<TraceEvent>): void {
    this.events = events;
    this.consumed = p.consumed;
    this.next = p.next;
    this.restoreSafePoints(this.hart.icount, p.safePointsHere);
  }

  /**
   * The recording stopped this hart before its next safe point: at a poweroff, at --timeout or
   * Ctrl-C, or because its turn never came again. Stopping on the count rather than at the final
   * icount keeps an interrupt that became pending at the very end exactly as untaken (or taken).
   */
  ended(): boolean {
    return this.finalSafePoints !== null && this.hart.icount === this.finalIcount && this.safePointsAt(this.finalIcount) >= this.finalSafePoints;
  }

  private diverged(what: string): never {
    throw new DivergenceError(this.hart.id, this.hart.icount, this.hart.pc, what);
  }

  safePoint(h: Hart): void {
    if ((++this.safePoints & 0x3ff) === 0) h.publishIcount(); // for the progress line
    this.countSafePoint(h);
    this.sampleLines(h);
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
    const stop = this.next ? Math.min(this.next.icount, this.finalIcount) : this.finalIcount;
    return Math.min(stop - h.icount, this.untilTimer(h));
  }

  finish(h: Hart): void {
    if (h.exitRequested && h.icount < this.finalIcount) return;
    if (h.icount !== this.finalIcount) this.diverged(`the recording ended this hart at icount ${this.finalIcount}`);
    if (this.next) this.diverged(`the trace still has a ${this.next.kind} event at icount ${this.next.icount}`);
  }
}
