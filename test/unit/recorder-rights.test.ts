import { describe, expect, test } from 'vitest';
import { poweredBoard } from './fake-machine.js';
import { HartRecorder } from '../../recorder/hart-recorder.js';
import { RecordingState } from '../../recorder/recording-state.js';
import { BatchEncoder, decodeBatch } from '../../traces/event-codec.js';
import type { TraceEvent } from '../../traces/events.js';

const RAM_BYTES = 1 << 20;
const PAGE = 5;

/** Two harts of a real board, each with the recorder a parallel recording gives it (no tenure). */
function recordedPair() {
  const board = poweredBoard(2, RAM_BYTES);
  const state = RecordingState.create({ harts: 2, ramPages: RAM_BYTES / 4096 });
  const recorders = board.harts.map((h) => new HartRecorder(h, state, board.control, board.clock, board.uart, { checkInterval: 1e12, tenure: 0, maxInsns: Number.MAX_SAFE_INTEGER }));
  const events = (hart: number): TraceEvent[] => {
    const enc = new BatchEncoder(hart);
    if (state.rings[hart]!.drainInto(enc) === 0) return [];
    return decodeBatch(enc.take().payload).events;
  };
  const kinds = (hart: number) => events(hart).map((e) => `${e.kind}${e.kind === 'acquire' ? (e.write ? 'w' : 'r') : ''}`);
  return { board, state, recorders, harts: board.harts, events, kinds };
}

describe('recording logs every right a hart uses', () => {
  test('a read right granted on an old request is logged at its first use', () => {
    const { state, recorders: [a, b], harts: [ha, hb], events, kinds } = recordedPair();
    expect(b!.permit(PAGE, true)).toBe(true); // b writes the page
    expect(a!.permit(PAGE, false)).toBe(false); // a asks b to share it
    b!.safePoint(hb!); // b downgrades to reading: both read
    expect(a!.permit(PAGE, false)).toBe(true);
    expect(kinds(0)).toEqual(['acquirer']);
    // a retried its read while b was answering, so b's mailbox holds a's request once more.
    state.ownership.post(1, PAGE, 0, false);
    expect(b!.permit(PAGE, true)).toBe(false); // b wants to write again: asks a
    a!.safePoint(ha!); // a gives its read right away
    expect(kinds(0)).toEqual(['release']);
    expect(b!.permit(PAGE, true)).toBe(true);
    hb!.icount = 100;
    b!.safePoint(hb!); // b answers the old request: a holds a read right again, unasked
    const bReleases = events(1).filter((e) => e.kind === 'release');
    expect(bReleases.map((e) => e.kind === 'release' && e.seq)).toEqual([1, 2]);
    ha!.icount = 50;
    expect(a!.permit(PAGE, false)).toBe(true);
    // Its use waits, on replay, for b's release after b's second write.
    expect(events(0)).toEqual([{ kind: 'acquire', icount: 50, resource: PAGE, write: false, after: [{ hart: 1, seq: 2 }] }]);
    expect(a!.permit(PAGE, false)).toBe(true); // logged once
    expect(events(0)).toEqual([]);
  });

  test('a write right handed over while the hart waited is logged when it writes, a read before it when it reads', () => {
    const { recorders: [a, b], harts: [, hb], events, kinds } = recordedPair();
    expect(b!.permit(PAGE, true)).toBe(true);
    expect(a!.permit(PAGE, true)).toBe(false);
    b!.safePoint(hb!); // hands the page over exclusively
    expect(kinds(1)).toEqual(['acquirew', 'release']);
    expect(a!.permit(PAGE, false)).toBe(true);
    expect(a!.permit(PAGE, true)).toBe(true);
    expect(a!.permit(PAGE, true)).toBe(true);
    expect(events(0).map((e) => e.kind === 'acquire' && [e.write, e.after])).toEqual([
      [false, [{ hart: 1, seq: 1 }]],
      [true, [{ hart: 1, seq: 1 }]],
    ]);
  });

  test('a right handed over while the hart waited stays for the instruction that waited, then goes to whoever asked', () => {
    const { recorders: [a, b], harts: [ha, hb], kinds } = recordedPair();
    expect(b!.permit(PAGE, false)).toBe(true); // b polls the page (a flag)
    expect(a!.permit(PAGE, true)).toBe(false); // a must write it: asks b
    b!.safePoint(hb!); // a reader gives way to a writer at once
    expect(b!.permit(PAGE, false)).toBe(false); // b polls again: asks a, the new holder
    a!.waitForOwnership(ha!); // ends at once: a was kicked when b handed the page over
    a!.safePoint(ha!); // the safe point after the wait keeps the page for a's store...
    expect(a!.permit(PAGE, true)).toBe(true);
    expect(kinds(0)).toEqual(['acquirew']);
    a!.safePoint(ha!); // ...and the next one answers b (no tenure here)
    expect(kinds(0)).toEqual(['release']);
    expect(b!.permit(PAGE, false)).toBe(true);
  });
});
