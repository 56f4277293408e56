import type { BatchEncoder } from '../traces/event-codec.js';
import type { TraceEvent } from '../traces/events.js';

/**
 * A single-producer (the hart's thread) single-consumer (the coordinator) ring of fixed-size
 * binary event records in shared memory. A full ring blocks its hart until the coordinator drains
 * it: nothing is ever dropped.
 *
 * Record: 8 Int32 words = kind, aux, icount (Float64), a and b (64 bits each, as two 32-bit
 * halves, low first; an INPUT record keeps up to 16 bytes there).
 * Variable-length events take extra records: an acquire is followed by one AFTER record per
 * release it names; input bytes travel 16 per INPUT record.
 */
const enum Rec { Acquire = 1, After, Release, Irq, Time, Input, Check, Output, Trap }

/** A console byte the hart transmitted: its offset in the console output, at the hart's icount. */
export interface OutputMark {
  icount: number;
  offset: number;
}

const RECORD_WORDS = 8;
const HEADER_WORDS = 16; // head (records written), tail (records read), padding
const HEAD = 0;
const TAIL = 1;
const FULL_WAIT_MS = 20;
/** Console input bytes per INPUT record (the record's a and b words). */
const INPUT_CHUNK = 16;
const TWO_32 = 0x100000000;

export function eventRingBytes(capacityRecords: number): number {
  return 4 * (HEADER_WORDS + capacityRecords * RECORD_WORDS);
}

export class EventRing {
  private readonly words: Int32Array;
  private readonly f64: Float64Array;
  private readonly i64: BigInt64Array;
  private readonly bytes: Uint8Array;
  private readonly mask: number;
  /** (hart, seq) pairs of the acquire being drained. */
  private readonly refs: number[] = [];

  constructor(buffer: SharedArrayBuffer, offset: number, readonly capacity: number) {
    if (capacity & (capacity - 1)) throw new RangeError('event ring capacity must be a power of two');
    const words = HEADER_WORDS + capacity * RECORD_WORDS;
    this.words = new Int32Array(buffer, offset, words);
    this.f64 = new Float64Array(buffer, offset, words / 2);
    this.i64 = new BigInt64Array(buffer, offset, words / 2);
    this.bytes = new Uint8Array(buffer, offset, 4 * words);
    this.mask = capacity - 1;
  }

  // --- producer -----------------------------------------------------------------------------
  private slot(): number {
    for (;;) {
      const head = this.words[HEAD];
      const tail = Atomics.load(this.words, TAIL);
      if (((head - tail) | 0) < this.capacity) return HEADER_WORDS + (head & this.mask) * RECORD_WORDS;
      Atomics.wait(this.words, TAIL, tail, FULL_WAIT_MS);
    }
  }

  private publish(): void {
    Atomics.store(this.words, HEAD, (this.words[HEAD] + 1) | 0);
  }

  /** A record whose a and b are non-negative integers below 2^53 (stored as two 32-bit halves each). */
  private put(kind: Rec, aux: number, icount: number, a: number, b: number): void {
    const w = this.slot();
    const words = this.words;
    words[w] = kind;
    words[w + 1] = aux;
    this.f64[(w >> 1) + 1] = icount;
    words[w + 4] = a | 0;
    words[w + 5] = Math.floor(a / TWO_32);
    words[w + 6] = b | 0;
    words[w + 7] = Math.floor(b / TWO_32);
    this.publish();
  }

  /** A record whose a is a 64-bit value. */
  private put64(kind: Rec, icount: number, a: bigint): void {
    const w = this.slot();
    this.words[w] = kind;
    this.words[w + 1] = 0;
    this.f64[(w >> 1) + 1] = icount;
    this.i64[(w >> 1) + 2] = a;
    this.publish();
  }

  write(e: TraceEvent): void {
    switch (e.kind) {
      case 'acquire':
        this.put(Rec.Acquire, e.write ? 1 : 0, e.icount, e.resource, e.after.length);
        for (const r of e.after) this.put(Rec.After, 0, e.icount, r.hart, r.seq);
        break;
      case 'release': this.put(Rec.Release, 0, e.icount, e.resource, e.seq); break;
      case 'irq': this.put(Rec.Irq, 0, e.icount, e.lines, 0); break;
      case 'time': this.put64(Rec.Time, e.icount, e.value); break;
      case 'check': this.put64(Rec.Check, e.icount, e.hash); break;
      case 'trap': this.put(Rec.Trap, 0, e.icount, e.count, 0); break;
      case 'input':
        for (let at = 0; at < e.bytes.length; at += INPUT_CHUNK) {
          const chunk = e.bytes.subarray(at, at + INPUT_CHUNK);
          const w = this.slot();
          this.words[w] = Rec.Input;
          // aux: chunk length, with bit 8 marking a continuation of the previous chunk
          this.words[w + 1] = chunk.length | (at > 0 ? 0x100 : 0);
          this.f64[(w >> 1) + 1] = e.icount;
          this.bytes.set(chunk, 4 * (w + 4));
          this.publish();
        }
        break;
    }
  }

  /** Notes that the hart transmitted console byte number `offset` at `icount`. */
  writeOutput(icount: number, offset: number): void {
    this.put(Rec.Output, 0, icount, offset, 0);
  }

  // --- consumer -----------------------------------------------------------------------------
  /**
   * Encodes every complete event available now into `sink` (no objects per event: the
   * recording's main thread shares the host cores with the harts); console output marks go to
   * `outputs`. Returns the number of events.
   */
  drainInto(sink: BatchEncoder, outputs?: OutputMark[]): number {
    const words = this.words;
    let tail = words[TAIL];
    const head = Atomics.load(words, HEAD);
    let events = 0;
    drain: while (tail !== head) {
      const w = HEADER_WORDS + (tail & this.mask) * RECORD_WORDS;
      const kind = words[w] as Rec;
      const aux = words[w + 1];
      const icount = this.f64[(w >> 1) + 1];
      const aLo = words[w + 4];
      const aHi = words[w + 5];
      const b = (words[w + 6] >>> 0) + words[w + 7] * TWO_32;
      tail = (tail + 1) | 0;
      switch (kind) {
        case Rec.Acquire: {
          if (((head - tail) | 0) < b) { // its AFTER records are not all published yet
            tail = (tail - 1) | 0;
            break drain;
          }
          const refs = this.refs;
          for (let k = 0; k < b; k++) {
            const wk = HEADER_WORDS + ((tail + k) & this.mask) * RECORD_WORDS;
            refs[2 * k] = words[wk + 4] >>> 0;
            refs[2 * k + 1] = (words[wk + 6] >>> 0) + words[wk + 7] * TWO_32;
          }
          sink.acquire(icount, aLo >>> 0, aux === 1, refs, b);
          tail = (tail + b) | 0;
          break;
        }
        case Rec.Release: sink.release(icount, aLo >>> 0, b); break;
        case Rec.Irq: sink.irq(icount, aLo >>> 0); break;
        case Rec.Time: sink.time(icount, aLo, aHi); break;
        case Rec.Check: sink.check(icount, aLo, aHi); break;
        case Rec.Trap: sink.trap(icount, aLo >>> 0); break;
        case Rec.Output: outputs?.push({ icount, offset: (aLo >>> 0) + aHi * TWO_32 }); continue;
        case Rec.Input: {
          // Joins the chunks of one input event that are published already.
          const parts = [this.bytes.slice(4 * (w + 4), 4 * (w + 4) + (aux & 0xff))];
          while (tail !== head) {
            const wn = HEADER_WORDS + (tail & this.mask) * RECORD_WORDS;
            const auxN = words[wn + 1];
            if (words[wn] !== Rec.Input || !(auxN & 0x100) || this.f64[(wn >> 1) + 1] !== icount) break;
            parts.push(this.bytes.slice(4 * (wn + 4), 4 * (wn + 4) + (auxN & 0xff)));
            tail = (tail + 1) | 0;
          }
          sink.input(icount, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
          break;
        }
        default:
          throw new Error(`event ring: record of unknown kind ${kind}`);
      }
      events++;
    }
    Atomics.store(words, TAIL, tail);
    Atomics.notify(words, TAIL);
    return events;
  }
}
