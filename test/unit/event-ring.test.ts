import { describe, expect, it } from 'vitest';
import { EventRing, eventRingBytes, type OutputMark } from '../../recorder/event-ring.js';
import { BatchEncoder, decodeBatch, type EncodedBatch } from '../../traces/event-codec.js';
import type { TraceEvent } from '../../traces/events.js';

/** A ring of `capacity` records over its own shared memory. */
function ring(capacity: number): EventRing {
  return new EventRing(new SharedArrayBuffer(eventRingBytes(capacity)), 0, capacity);
}

const EVENTS: TraceEvent[] = [
  { kind: 'acquire', icount: 0, resource: 0, write: false, after: [] },
  { kind: 'acquire', icount: 3, resource: 32768, write: true, after: [{ hart: 1, seq: 1 }, { hart: 30, seq: 2 ** 40 + 3 }] },
  { kind: 'release', icount: 5, resource: 32768, seq: 2 ** 33 + 1 },
  { kind: 'irq', icount: 5, lines: 0x888 },
  { kind: 'time', icount: 10, value: 0n },
  { kind: 'time', icount: 11, value: 2n ** 64n - 1n },
  { kind: 'input', icount: 12, bytes: new TextEncoder().encode('a line longer than sixteen bytes ✓\n') },
  { kind: 'input', icount: 12, bytes: new Uint8Array([0]) },
  { kind: 'check', icount: 2 ** 40, hash: 0xfedcba9876543210n },
  { kind: 'check', icount: 2 ** 52, hash: 1n },
  { kind: 'trap', icount: 2 ** 52, count: 3 },
];

describe('EventRing', () => {
  it('carries every event kind from the hart to the trace encoder exactly', () => {
    const r = ring(64);
    const batches: EncodedBatch[] = [];
    const enc = new BatchEncoder(2, (e) => batches.push(e.take()), 4);
    const outputs: OutputMark[] = [];
    for (const e of EVENTS) r.write(e);
    r.writeOutput(2 ** 52, 2 ** 35 + 7);
    expect(r.drainInto(enc, outputs)).toBe(EVENTS.length);
    batches.push(enc.take());
    expect(batches.flatMap((b) => decodeBatch(b.payload).events)).toEqual(EVENTS);
    expect(outputs).toEqual([{ icount: 2 ** 52, offset: 2 ** 35 + 7 }]);
    expect(r.drainInto(enc)).toBe(0);
  });

  it('wraps around its records and leaves an acquire whose references are not published for the next drain', () => {
    const r = ring(8);
    const enc = new BatchEncoder(0);
    const all: TraceEvent[] = [];
    for (let i = 0; i < 100; i++) {
      const e: TraceEvent = i % 3 === 0
        ? { kind: 'acquire', icount: i, resource: i, write: true, after: [{ hart: 1, seq: i + 1 }, { hart: 2, seq: i + 2 }] }
        : { kind: 'release', icount: i, resource: i, seq: i };
      r.write(e);
      all.push(e);
      r.drainInto(enc);
    }
    expect(decodeBatch(enc.take().payload).events).toEqual(all);
    // A half-published acquire: its record is there, one of its two AFTER records is not.
    const words = new Int32Array(new SharedArrayBuffer(eventRingBytes(8)));
    const half = new EventRing(words.buffer as SharedArrayBuffer, 0, 8);
    half.write({ kind: 'irq', icount: 1, lines: 1 });
    half.write({ kind: 'acquire', icount: 2, resource: 4, write: false, after: [{ hart: 1, seq: 1 }, { hart: 2, seq: 1 }] });
    Atomics.sub(words, 0, 1); // un-publish the last AFTER record
    const enc2 = new BatchEncoder(0);
    expect(half.drainInto(enc2)).toBe(1);
    Atomics.add(words, 0, 1);
    expect(half.drainInto(enc2)).toBe(1);
    expect(decodeBatch(enc2.take().payload).events.map((e) => e.kind)).toEqual(['irq', 'acquire']);
  });
});
