import { Hart } from '../src/cpu/hart.js';
import { HartSupervisor } from '../src/engine/supervisor.js';
import { Uart } from '../src/machine/uart.js';
import { TraceEvent } from '../traces/events.js';
import { stateHash } from '../src/engine/state-hash.js';
import { DivergenceError } from './divergence.js';
import { ReplayProgress } from './replay-progress.js';

type TimeEvent = Extract<TraceEvent, { kind: 'time' }>;

/** Where a HartReplayer is in its event stream (debugger checkpoints). */
export interface ReplayerPosition {
  consumed: number;
  next: TraceEvent | null;
  times: TimeEvent[];
  waitingForRelease: boolean;
}

/**
 * Replay, seen from one hart: the hart runs exactly to each logged position and applies what the
 * recording saw there (interrupt lines, console input), waits at each acquire for the releases it
 * names, publishes its own releases, answers clock reads from the log, and compares register
 * hashes. Anything that does not line up is a divergence, reported where it happened.
 */
/** What a release drops from the releasing hart's TLB: the released page's translations, or all. */
export type ReleaseInvalidates = 'page-or-devices' | 'page' | 'tlb';

export class HartReplayer implements HartSupervisor {
  readonly realTime = false;
  readonly noSafePointAfterException = true;
  private next: TraceEvent | null = null;
  private times: TimeEvent[] = [];
  private events: Iterator<TraceEvent>;
  /** Events taken from the stream so far. */
  private consumed = 0;
  private waitingForRelease = false;
  private safePoints = 0;

  constructor(private readonly hart: Hart, events: Iterable<TraceEvent>, private readonly finalIcount: number,
    private readonly progress: ReplayProgress, private readonly uart: Uart,
    /** Serial replay: never wait for another hart; report `blocked()` so the scheduler runs another. */
    private readonly nonBlocking = false,
    private readonly releaseInvalidates: ReleaseInvalidates = 'tlb') {
    this.events = events[Symbol.iterator]();
    this.advance();
  }

  /** Moves to the next event that is a stop point; clock reads queue up for the instructions that make them. */
  private advance(): void {
    for (;;) {
      const r = this.events.next();
      if (r.done) { this.next = null; return; }
      this.consumed++;
      if (r.value.kind === 'time') { this.times.push(r.value); continue; }
      this.next = r.value;
      return;
    }
  }

  snapshot(): ReplayerPosition {
    return { consumed: this.consumed, next: this.next, times: this.times.slice(), waitingForRelease: this.waitingForRelease };
  }

  /** Goes back to a snapshot; `events` must continue right after the snapshot's consumed events. */
  restore(p: ReplayerPosition, events: Iterator<TraceEvent>): void {
    this.events = events;
    this.consumed = p.consumed;
    this.next = p.next;
    this.times = p.times.slice();
    this.waitingForRelease = p.waitingForRelease;
  }

  private diverged(what: string): never {
    throw new DivergenceError(this.hart.id, this.hart.icount, this.hart.pc, what);
  }

  safePoint(h: Hart): void {
    if ((++this.safePoints & 0x3ff) === 0) h.publishIcount(); // for the progress line
    this.applyEventsHere(h);
  }

  /** After an exception: the events the recording logged after it, before the handler's first instruction (see the `trap` event). */
  safePointAfterException(h: Hart): void {
    this.applyEventsHere(h);
  }

  /** Applies the events at the hart's position: its icount, and the exceptions it has taken there. */
  private applyEventsHere(h: Hart): void {
    this.waitingForRelease = false;
    const traps = h.trapsHere();
    while (this.next && this.next.icount === h.icount) {
      if (this.next.kind === 'trap') {
        if (this.next.count > traps) return; // after the instruction here traps (budget() lets it run)
        if (this.next.count < traps) this.diverged(`the recording took ${this.next.count} exception(s) here before its next events, this replay took ${traps}`);
      } else if (this.nonBlocking && this.next.kind === 'acquire' && !this.releasesDone(this.next)) {
        this.waitingForRelease = true;
        return;
      } else {
        this.apply(h, this.next);
      }
      this.advance();
    }
    if (this.next && this.next.icount < h.icount) {
      if (this.next.kind === 'trap') this.diverged(`the recording's instruction at icount ${this.next.icount} trapped, this replay's did not`);
      this.diverged(`the trace has a ${this.next.kind} event at icount ${this.next.icount}, which this replay ran past`);
    }
  }

  blocked(): boolean {
    return this.waitingForRelease;
  }

  /** Serial replay: are all releases this acquire names done? A hart that finished without one is a divergence. */
  private releasesDone(e: Extract<TraceEvent, { kind: 'acquire' }>): boolean {
    for (const ref of e.after) {
      if (this.progress.releasedCount(ref.hart) >= ref.seq) continue;
      if (this.progress.isDone(ref.hart)) this.diverged(`hart ${ref.hart} finished without making its release #${ref.seq} that this acquire of resource ${e.resource} waits for`);
      return false;
    }
    return true;
  }

  budget(h: Hart): number {
    const next = this.next;
    // The recording took an exception here before its next events: run the instruction that traps.
    if (next && next.kind === 'trap' && next.icount === h.icount) return 1;
    const stop = next ? Math.min(next.icount, this.finalIcount) : this.finalIcount;
    return stop - h.icount;
  }

  readTime(h: Hart): bigint {
    const e = this.times.shift();
    if (!e) this.diverged('the guest read the clock, but the trace has no more clock reads for this hart');
    if (e.icount !== h.icount) this.diverged(`the guest read the clock here, but the trace's next clock read is at icount ${e.icount}`);
    return e.value;
  }

  private apply(h: Hart, e: TraceEvent): void {
    switch (e.kind) {
      case 'acquire':
        for (const ref of e.after) {
          if (!this.progress.waitForRelease(ref.hart, ref.seq, () => h.exitRequested)) {
            if (h.exitRequested) return;
            this.diverged(`hart ${ref.hart} finished without making its release #${ref.seq} that this acquire of resource ${e.resource} waits for`);
          }
        }
        break;
      case 'release':
        this.progress.publishRelease(h.id, e.seq);
        // The recording dropped the translations that carried the right given away here (older
        // traces: the whole TLB). Translations are guest-visible when page tables change without
        // SFENCE.VMA (Linux leaves stale entries to spurious faults), so replay drops the same
        // ones at the same instruction.
        if (this.releaseInvalidates === 'page-or-devices') h.mmu.forgetResource(e.resource, 'devices');
        else if (this.releaseInvalidates === 'page') h.mmu.forgetResource(e.resource, 'tlb');
        else h.mmu.flush();
        break;
      case 'irq':
        h.observeLines(e.lines);
        break;
      case 'input':
        this.uart.receive(e.bytes);
        break;
      case 'check': {
        const actual = stateHash(h);
        if (actual !== e.hash) this.diverged(`register hash is ${actual.toString(16)}, the recording had ${e.hash.toString(16)}`);
        break;
      }
      case 'time':
      case 'trap':
        break;
    }
  }

  finish(h: Hart): void {
    this.progress.markDone(h.id);
    if (h.exitRequested && h.icount < this.finalIcount) return; // stopped from outside (Ctrl-C)
    if (h.icount !== this.finalIcount) this.diverged(`the recording ended this hart at icount ${this.finalIcount}`);
    if (this.next) this.diverged(`the trace still has a ${this.next.kind} event at icount ${this.next.icount}`);
    if (this.times.length) this.diverged(`the trace still has ${this.times.length} clock read(s) for this hart`);
  }
}
