import { ReleaseRef, TraceEvent } from '../traces/events.js';

/**
 * A single-producer (the hart's thread) single-consumer (the coordinator) ring of fixed-size
 * binary event records in shared memory. A full ring blocks its hart until the coordinator drains
 * it: nothing is ever dropped.
 *
 * Record: 8 Int32 words = kind, aux, icount (Float64), a (BigInt64), b (BigInt64).
 * Variable-length events take extra records: an acquire is followed by one AFTER record per
 * release it names; input bytes travel 16 per INPUT record.
 */
const enum Rec { Acquire = 1, After, Release, Irq, Time, Input, Check, Output }

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

export function eventRingBytes(capacityRecords: number): number {
  return 4 * (HEADER_WORDS + capacityRecords * RECORD_WORDS);
}

export class EventRing {
  private readonly words: Int32Array;
  private readonly f64: Float64Array;
  private readonly i64: BigInt64Array;
  private readonly mask: number;

  constructor(buffer: SharedArrayBuffer, offset: number, readonly capacity: number) {
    if (capacity & (capacity - 1)) throw new RangeError('event ring capacity must be a power of two');
    this.words = new Int32Array(buffer, offset, HEADER_WORDS + capacity * RECORD_WORDS);
    this.f64 = new Float64Array(buffer, offset, (HEADER_WORDS + capacity * RECORD_WORDS) / 2);
    this.i64 = new BigInt64Array(buffer, offset, (HEADER_WORDS + capacity * RECORD_WORDS) / 2);
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

  private put(kind: Rec, aux: number, icount: number, a: bigint, b: bigint): void {
    const w = this.slot();
    this.words[w] = kind;
    this.words[w + 1] = aux;
    this.f64[(w >> 1) + 1] = icount;
    this.i64[(w >> 1) + 2] = a;
    this.i64[(w >> 1) + 3] = b;
    Atomics.store(this.words, HEAD, (this.words[HEAD] + 1) | 0); // publishes the record
  }

  write(e: TraceEvent): void {
    switch (e.kind) {
      case 'acquire':
        this.put(Rec.Acquire, e.write ? 1 : 0, e.icount, BigInt(e.resource), BigInt(e.after.length));
        for (const r of e.after) this.put(Rec.After, 0, e.icount, BigInt(r.hart), BigInt(r.seq));
        break;
      case 'release': this.put(Rec.Release, 0, e.icount, BigInt(e.resource), BigInt(e.seq)); break;
      case 'irq': this.put(Rec.Irq, 0, e.icount, BigInt(e.lines), 0n); break;
      case 'time': this.put(Rec.Time, 0, e.icount, e.value, 0n); break;
      case 'check': this.put(Rec.Check, 0, e.icount, e.hash, 0n); break;
      case 'input':
        for (let at = 0; at < e.bytes.length; at += 16) {
          const chunk = e.bytes.subarray(at, at + 16);
          const padded = new Uint8Array(16);
          padded.set(chunk);
          const dv = new DataView(padded.buffer);
          // aux: chunk length, with bit 8 marking a continuation of the previous chunk
          this.put(Rec.Input, chunk.length | (at > 0 ? 0x100 : 0), e.icount, dv.getBigInt64(0, true), dv.getBigInt64(8, true));
        }
        break;
    }
  }

  /** Notes that the hart transmitted console byte number `offset` at `icount`. */
  writeOutput(icount: number, offset: number): void {
    this.put(Rec.Output, 0, icount, BigInt(offset), 0n);
  }

  // --- consumer -----------------------------------------------------------------------------
  /** Decodes every complete event available now; console output marks go to `outputs`. */
  drain(outputs?: OutputMark[]): TraceEvent[] {
    const out: TraceEvent[] = [];
    let tail = this.words[TAIL];
    const head = Atomics.load(this.words, HEAD);
    while (tail !== head) {
      const w = HEADER_WORDS + (tail & this.mask) * RECORD_WORDS;
      const kind = this.words[w] as Rec;
      const aux = this.words[w + 1];
      const icount = this.f64[(w >> 1) + 1];
      const a = this.i64[(w >> 1) + 2];
      const b = this.i64[(w >> 1) + 3];
      if (kind === Rec.Acquire) {
        const n = Number(b);
        if (((head - tail) | 0) < 1 + n) break; // its AFTER records are not all published yet
        const after: ReleaseRef[] = [];
        for (let k = 1; k <= n; k++) {
          const wk = HEADER_WORDS + ((tail + k) & this.mask) * RECORD_WORDS;
          after.push({ hart: Number(this.i64[(wk >> 1) + 2]), seq: Number(this.i64[(wk >> 1) + 3]) });
        }
        out.push({ kind: 'acquire', icount, resource: Number(a), write: aux === 1, after });
        tail = (tail + 1 + n) | 0;
        continue;
      }
      if (kind === Rec.Input) {
        const bytes = new Uint8Array(16);
        const dv = new DataView(bytes.buffer);
        dv.setBigInt64(0, a, true);
        dv.setBigInt64(8, b, true);
        const chunk = bytes.subarray(0, aux & 0xff);
        const prev = out[out.length - 1];
        if ((aux & 0x100) && prev && prev.kind === 'input' && prev.icount === icount) {
          const joined = new Uint8Array(prev.bytes.length + chunk.length);
          joined.set(prev.bytes);
          joined.set(chunk, prev.bytes.length);
          prev.bytes = joined;
        } else {
          out.push({ kind: 'input', icount, bytes: chunk.slice() });
        }
      } else if (kind === Rec.Release) out.push({ kind: 'release', icount, resource: Number(a), seq: Number(b) });
      else if (kind === Rec.Irq) out.push({ kind: 'irq', icount, lines: Number(a) });
      else if (kind === Rec.Time) out.push({ kind: 'time', icount, value: BigInt.asUintN(64, a) });
      else if (kind === Rec.Check) out.push({ kind: 'check', icount, hash: BigInt.asUintN(64, a) });
      else if (kind === Rec.Output) outputs?.push({ icount, offset: Number(a) });
      tail = (tail + 1) | 0;
    }
    Atomics.store(this.words, TAIL, tail);
    Atomics.notify(this.words, TAIL);
    return out;
  }
}
