import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../traces/events.js';
import { CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, SavedCheckpoint, SnapshotShape } from '../../replayer/checkpoint-codec.js';
import type { ReplayerPosition } from '../../replayer/hart-replayer.js';
import { VERSION } from '../../src/version.js';
import { TLB_ENTRIES, TlbState } from '../../src/cpu/mmu.js';

const PAGE = 4096;
const SHAPE: SnapshotShape = { regionPages: 3, ramPages: 16 };
const page = (fill: number) => new Uint8Array(PAGE).fill(fill);

/** Hart 0: a parallel trace's replayer position (clock reads pending); hart 1: a serial-style position. */
const EVENTS: TraceEvent[][] = [
  [
    { kind: 'time', icount: 3, value: 0xffff_ffff_ffff_fff0n },
    { kind: 'acquire', icount: 5, resource: 2, write: true, after: [{ hart: 1, seq: 1 }] },
    { kind: 'time', icount: 8, value: 7n },
    { kind: 'time', icount: 9, value: 8n },
    { kind: 'irq', icount: 12, lines: 0x80 },
  ],
  [
    { kind: 'release', icount: 4, resource: 2, seq: 1 },
    { kind: 'check', icount: 100, hash: 0x1234n },
  ],
];

/** A soft TLB with a few entries filled in every table, under two regimes. */
function tlb(seed: number): TlbState {
  const n = 3 * TLB_ENTRIES;
  const t: TlbState = {
    epoch: 7 + seed, lastEpoch: 9 + seed, regime: 5, regimeEpochs: [[5, 7 + seed], [1 | (1 << 2), 9 + seed]],
    tags: new Float64Array(n), epochs: new Int32Array(n), phys: new Float64Array(n), fast: new Uint8Array(n), levels: new Uint8Array(n),
  };
  for (const i of [0, 17, TLB_ENTRIES + 3, 2 * TLB_ENTRIES + 255]) {
    t.tags[i] = -(2 ** 26) + i * 3 + seed; // kernel addresses have negative page numbers
    t.epochs[i] = 7 + seed;
    t.phys[i] = 0x8020_0000 + i * PAGE;
    t.fast[i] = i % 2;
    t.levels![i] = i % 3;
  }
  return t;
}

function checkpoint(): SavedCheckpoint {
  return {
    step: 4_000_000_123,
    regionPages: [page(1), page(2), page(3)],
    ramDelta: new Map([[0, page(9)], [15, page(10)]]),
    state: {
      sched: { live: [0, 1], index: 1, moved: true, turn: { until: 2000, before: 1000, releasedBefore: 3 } },
      harts: [
        { paused: true, afterException: true, exceptionsInARow: 2, afterInterrupt: false, tlb: tlb(0), finished: false, lines: 0x88, icount: 11, position: { consumed: 4, next: EVENTS[0][3], times: [EVENTS[0][2], EVENTS[0][3]] as ReplayerPosition['times'], waitingForRelease: true } },
        { paused: false, afterException: false, exceptionsInARow: 0, afterInterrupt: true, tlb: tlb(1), finished: true, lines: 0, icount: 2 ** 40, position: { consumed: 2, next: null, safePointsHere: 3 } },
      ],
      progress: Uint8Array.of(1, 0, 0, 0, 2, 0, 0, 0),
      clockSkipped: 0xfedc_ba98_7654_3210n,
      consoleBytes: 77,
      current: 1,
    },
  };
}

describe('checkpoint codec (Checkpoint / TimelineState messages)', () => {
  it('round-trips the timeline state, with events saved as indexes into each stream', () => {
    const cp = checkpoint();
    const decoded = decodeCheckpoint(encodeCheckpoint(cp, null, EVENTS), null, SHAPE, EVENTS);
    expect(decoded.kind).toBe('checkpoint');
    if (decoded.kind !== 'checkpoint') return;
    expect(decoded.checkpoint).toEqual(cp);
    // The pending event is the very object of the stream, not a copy.
    const pos = decoded.checkpoint.state.harts[0].position;
    expect(pos.next).toBe(EVENTS[0][3]);
  });

  it('reads a checkpoint made before TLB entries kept their leaf levels as all 4 KiB entries', () => {
    const cp = checkpoint();
    for (const h of cp.state.harts) delete h.tlb.levels;
    const decoded = decodeCheckpoint(encodeCheckpoint(cp, null, EVENTS), null, SHAPE, EVENTS);
    if (decoded.kind !== 'checkpoint') throw new Error(decoded.kind);
    for (const h of decoded.checkpoint.state.harts) expect(h.tlb.levels).toEqual(new Uint8Array(3 * TLB_ENTRIES));
  });

  it('stores only the region pages that changed since the previous checkpoint', () => {
    const first = checkpoint();
    const second = { ...checkpoint(), step: first.step + 10, regionPages: [first.regionPages[0], page(5), first.regionPages[2]] };
    const blob = encodeCheckpoint(second, first.regionPages, EVENTS);
    const decoded = decodeCheckpoint(blob, first.regionPages, SHAPE, EVENTS);
    expect(decoded.kind === 'checkpoint' && decoded.checkpoint.regionPages).toEqual([page(1), page(5), page(3)]);
    expect(decoded.kind === 'checkpoint' && decoded.checkpoint.regionPages[0]).toBe(first.regionPages[0]);
    // Without the previous checkpoint's pages the delta is incomplete: ignored, not misread.
    expect(decodeCheckpoint(blob, null, SHAPE, EVENTS)).toEqual({ kind: 'ignored', reason: 'a saved checkpoint does not fit this trace: region page 0 is missing' });
  });

  it('decodes with a type built from events.proto itself (the descriptor is not the only reader)', () => {
    const root = protobuf.loadSync(fileURLToPath(new URL('../../traces/events.proto', import.meta.url)));
    const type = root.lookupType('hindsight.trace.Checkpoint');
    const m = type.toObject(type.decode(inflateRawSync(encodeCheckpoint(checkpoint(), null, EVENTS))), { longs: String }) as {
      format: number; timeline: { harts: { position: { next: string; replayer?: { pendingTimes: number } } }[]; clockSkipped: string };
    };
    expect(m.format).toBe(CHECKPOINT_FORMAT);
    expect(m.timeline.clockSkipped).toBe(0xfedc_ba98_7654_3210n.toString());
    expect(m.timeline.harts[0].position).toMatchObject({ next: '3', replayer: { pendingTimes: 2 } });
    expect(m.timeline.harts[1].position.next).toBe('-1');
    expect(m.timeline.harts[1].position.replayer).toBeUndefined();
  });

  it('ignores, with the reason, checkpoints of format 1 (timeline state as JSON), other versions, and damaged or mismatched ones', () => {
    // A format-1 checkpoint as the previous hindsight wrote it: format, tool version, step, JSON state.
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 0).uint32(1);
    w.uint32((2 << 3) | 2).string(VERSION);
    w.uint32((3 << 3) | 0).uint64(5);
    w.uint32((4 << 3) | 2).string(JSON.stringify({ sched: {}, positions: [] }));
    const formatOne = deflateRawSync(w.finish());
    expect(decodeCheckpoint(formatOne, null, SHAPE, EVENTS)).toEqual({ kind: 'ignored', reason: `they were saved in checkpoint format 1, this hindsight uses format ${CHECKPOINT_FORMAT}` });

    const other = protobuf.Writer.create();
    other.uint32((1 << 3) | 0).uint32(CHECKPOINT_FORMAT);
    other.uint32((2 << 3) | 2).string('0.0.1-other');
    expect(decodeCheckpoint(deflateRawSync(other.finish()), null, SHAPE, EVENTS)).toEqual({ kind: 'ignored', reason: `they were saved by hindsight 0.0.1-other, this is ${VERSION}` });

    const damaged = decodeCheckpoint(Uint8Array.of(1, 2, 3), null, SHAPE, EVENTS);
    expect(damaged.kind === 'ignored' && damaged.reason).toMatch(/^a saved checkpoint is damaged/);

    const blob = encodeCheckpoint(checkpoint(), null, EVENTS);
    expect(decodeCheckpoint(blob, null, SHAPE, [EVENTS[0]])).toEqual({ kind: 'ignored', reason: 'a saved checkpoint does not fit this trace: it describes 2 harts, the trace has 1' });
    expect(decodeCheckpoint(blob, null, SHAPE, [EVENTS[0].slice(0, 2), EVENTS[1]])).toEqual({ kind: 'ignored', reason: 'a saved checkpoint does not fit this trace: hart 0\'s event position does not fit its 2 events' });
    expect(decodeCheckpoint(blob, null, { regionPages: 3, ramPages: 8 }, EVENTS)).toEqual({ kind: 'ignored', reason: 'a saved checkpoint does not fit this trace: RAM page 15 does not fit the 8 pages' });
  });
});
