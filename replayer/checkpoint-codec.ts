/**
 * Debugger checkpoints as saved in a trace: the `Checkpoint` message of traces/events.proto
 * (raw-DEFLATE-compressed). This module owns the timeline's saved state (TimelineState mirrors
 * the `TimelineState` message); replayer/timeline.ts takes and restores it.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { PAGE_SIZE } from '../src/machine/bus.js';
import { TraceEvent } from '../traces/events.js';
import { SerialReplayPosition } from './serial-replayer.js';
import { traceProtoType } from '../traces/proto-types.js';
import { SchedState } from '../src/engine/serial-scheduler.js';
import { VERSION } from '../src/version.js';
import { ReplayerPosition } from './hart-replayer.js';
import { TLB_ENTRIES, TlbState } from '../src/cpu/mmu.js';
import { pageBytes } from './page-codec.js';

/**
 * Bump when the Checkpoint message or the snapshot regions change meaning: saved checkpoints of
 * another format are then ignored (with a note), never misread. 2: the timeline's state became the
 * `TimelineState` message (format 1 held it as JSON). 4: harts keep their soft TLB and exception
 * state (before, a restore emptied the TLB, which a paged guest can see). 5: a parallel trace's
 * timeline takes turns of PARALLEL_TRACE_QUANTUM instructions, not 1,000, so its global steps
 * name other positions.
 */
export const CHECKPOINT_FORMAT = 5;

/** Where a serial trace's hart is in its event stream (SerialReplayer). */
export type SerialPosition = SerialReplayPosition;

/** One hart's part of the timeline state. */
export interface HartTimelineState {
  /** Stopped inside a block (the next run continues it without a safe point). */
  paused: boolean;
  /** The runner's last block ended in an exception (no safe point before the handler's first instruction). */
  afterException: boolean;
  /** Exceptions taken at this icount (Hart.trapsHere; older checkpoints: blocks in a row that ended in one). */
  exceptionsInARow: number;
  /** It took an interrupt at this icount and retired nothing since (HartRunner.interruptTakenAt). */
  afterInterrupt: boolean;
  /** The hart's soft TLB: guest-visible (stale translations, A/D updates), so it is restored exactly. */
  tlb: TlbState;
  finished: boolean;
  /** Interrupt lines as sampled at its last safe point. */
  lines: number;
  icount: number;
  /** ReplayerPosition for a trace recorded in parallel, SerialPosition for a serial one. */
  position: ReplayerPosition | SerialPosition;
}

/** What a checkpoint keeps besides shared memory: the `TimelineState` message, with live event objects. */
export interface TimelineState {
  sched: SchedState;
  harts: HartTimelineState[];
  /** The replay progress words of a parallel trace, null for a serial one. */
  progress: Uint8Array | null;
  clockSkipped: bigint;
  consoleBytes: number;
  current: number;
}

/** A checkpoint as saved: everything the store needs to adopt it. */
export interface SavedCheckpoint {
  step: number;
  state: TimelineState;
  regionPages: Uint8Array[];
  ramDelta: Map<number, Uint8Array>;
}

/** How many 4 KiB pages the snapshot regions and RAM of this machine have. */
export interface SnapshotShape {
  regionPages: number;
  ramPages: number;
}

/** A saved checkpoint, or why it cannot be used (it is then ignored). */
export type DecodedCheckpoint = { kind: 'checkpoint'; checkpoint: SavedCheckpoint } | { kind: 'ignored'; reason: string };

/* ---- encoding ------------------------------------------------------------------------------- */

/** The protobufjs "Long-like" form of an unsigned 64-bit value. */
function u64(value: bigint): { low: number; high: number; unsigned: true } {
  return { low: Number(value & 0xffffffffn) | 0, high: Number((value >> 32n) & 0xffffffffn) | 0, unsigned: true };
}

function encodePosition(p: HartTimelineState['position'], events: TraceEvent[]) {
  // The live state holds event objects; saved, they are indexes into the hart's stream.
  const next = p.next ? events.lastIndexOf(p.next, p.consumed - 1) : -1;
  if (p.next && next < 0) throw new Error('checkpoint: the pending event is not among the consumed ones');
  if ('times' in p) return { consumed: p.consumed, next, replayer: { pendingTimes: p.times.length, waitingForRelease: p.waitingForRelease } };
  return { consumed: p.consumed, next, replayer: null, safePointsHere: p.safePointsHere };
}

export function encodeCheckpoint(cp: SavedCheckpoint, previousRegionPages: Uint8Array[] | null, events: TraceEvent[][]): Uint8Array {
  const { state } = cp;
  const CheckpointType = traceProtoType('hindsight.trace.Checkpoint');
  const message = CheckpointType.create({
    format: CHECKPOINT_FORMAT,
    toolVersion: VERSION,
    step: cp.step,
    regionPages: cp.regionPages.flatMap((data, index) => (previousRegionPages?.[index] === data ? [] : [{ index, data }])),
    ramPages: [...cp.ramDelta].map(([index, data]) => ({ index, data: pageBytes(data) })),
    timeline: {
      scheduler: { live: state.sched.live, index: state.sched.index, moved: state.sched.moved, turn: state.sched.turn },
      harts: state.harts.map((h, hart) => ({
        paused: h.paused, finished: h.finished, lines: h.lines, icount: h.icount, position: encodePosition(h.position, events[hart]),
        afterException: h.afterException, exceptionsInARow: h.exceptionsInARow, afterInterrupt: h.afterInterrupt, tlb: encodeTlb(h.tlb),
      })),
      progress: state.progress ?? new Uint8Array(0),
      clockSkipped: u64(state.clockSkipped),
      consoleBytes: state.consoleBytes,
      current: state.current,
    },
  });
  return deflateRawSync(CheckpointType.encode(message).finish());
}

function bytesOf(a: Float64Array | Int32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function encodeTlb(t: TlbState) {
  return {
    epoch: t.epoch, lastEpoch: t.lastEpoch, regime: t.regime,
    regimes: t.regimeEpochs.map(([key, epoch]) => ({ key, epoch })),
    tags: bytesOf(t.tags), epochs: bytesOf(t.epochs), phys: bytesOf(t.phys), fast: bytesOf(t.fast),
    levels: t.levels ? bytesOf(t.levels) : new Uint8Array(0),
  };
}

/* ---- decoding ------------------------------------------------------------------------------- */

/* The decoded shapes: toObject with longs as decimal strings and every default filled in. */
interface DecodedPage { index: number; data: Uint8Array }
interface DecodedPosition { consumed: string; next: string; replayer: { pendingTimes: number; waitingForRelease: boolean } | null; safePointsHere: string }
interface DecodedTlb { epoch: number; lastEpoch: number; regime: number; regimes: { key: number; epoch: number }[]; tags: Uint8Array; epochs: Uint8Array; phys: Uint8Array; fast: Uint8Array; levels: Uint8Array }
interface DecodedHart {
  paused: boolean; finished: boolean; lines: number; icount: string; position: DecodedPosition | null;
  afterException: boolean; exceptionsInARow: number; afterInterrupt: boolean; tlb: DecodedTlb | null;
}
interface DecodedTimeline {
  scheduler: { live: number[]; index: number; moved: boolean; turn: { until: string; before: string; releasedBefore: string } | null } | null;
  harts: DecodedHart[];
  progress: Uint8Array;
  clockSkipped: string;
  consoleBytes: string;
  current: number;
}
interface DecodedMessage {
  format: number;
  toolVersion: string;
  step: string;
  regionPages: DecodedPage[];
  ramPages: DecodedPage[];
  timeline: DecodedTimeline | null;
}

/** Thrown while decoding a checkpoint that is not usable; becomes an 'ignored' result. */
class Unusable extends Error {}

/** protobufjs hands out Buffers (views into the inflated message) under Node: the same bytes as a plain Uint8Array, no copy. */
function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function safeNumber(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Unusable(`${what} ${text} is out of range`);
  return n;
}

function decodePosition(p: DecodedPosition | null, events: TraceEvent[], hart: number): HartTimelineState['position'] {
  if (p === null) throw new Unusable(`hart ${hart} has no event position`);
  const consumed = safeNumber(p.consumed, 'an event position');
  const nextIndex = safeNumber(p.next, 'an event index');
  if (consumed > events.length || nextIndex >= consumed || nextIndex < -1) throw new Unusable(`hart ${hart}'s event position does not fit its ${events.length} events`);
  const next = nextIndex >= 0 ? events[nextIndex] : null;
  if (p.replayer === null) return { consumed, next, safePointsHere: safeNumber(p.safePointsHere, 'a safe point count') };
  const taken = events.slice(0, consumed).filter((e): e is ReplayerPosition['times'][number] => e.kind === 'time');
  const pending = p.replayer.pendingTimes;
  if (pending > taken.length) throw new Unusable(`hart ${hart} has more pending clock reads than it consumed`);
  return { consumed, next, times: taken.slice(taken.length - pending), waitingForRelease: p.replayer.waitingForRelease };
}

/** Copies `bytes` (any alignment) into a new typed array of `entries` elements, or says it does not fit. */
function typed<T extends Float64Array | Int32Array | Uint8Array>(bytes: Uint8Array, make: new (n: number) => T, entries: number, what: string, hart: number): T {
  const out = new make(entries);
  if (bytes.length !== out.byteLength) throw new Unusable(`hart ${hart}'s TLB ${what} hold ${bytes.length} bytes, not ${out.byteLength}`);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function decodeTlb(t: DecodedTlb | null, hart: number): TlbState {
  if (t === null) throw new Unusable(`hart ${hart} has no TLB state`);
  const n = 3 * TLB_ENTRIES;
  return {
    epoch: t.epoch, lastEpoch: t.lastEpoch, regime: t.regime,
    regimeEpochs: t.regimes.map((r) => [r.key, r.epoch]),
    tags: typed(t.tags, Float64Array, n, 'tags', hart),
    epochs: typed(t.epochs, Int32Array, n, 'epochs', hart),
    phys: typed(t.phys, Float64Array, n, 'addresses', hart),
    fast: typed(t.fast, Uint8Array, n, 'flags', hart),
    levels: t.levels.length === 0 ? new Uint8Array(n) : typed(t.levels, Uint8Array, n, 'levels', hart),
  };
}

function decodeState(t: DecodedTimeline | null, events: TraceEvent[][]): TimelineState {
  if (t === null || t.scheduler === null) throw new Unusable('it holds no timeline state');
  if (t.harts.length !== events.length) throw new Unusable(`it describes ${t.harts.length} harts, the trace has ${events.length}`);
  const s = t.scheduler;
  const turn = s.turn && { until: safeNumber(s.turn.until, 'a turn end'), before: safeNumber(s.turn.before, 'an icount'), releasedBefore: safeNumber(s.turn.releasedBefore, 'a release count') };
  return {
    sched: { live: s.live.slice(), index: s.index, moved: s.moved, turn },
    harts: t.harts.map((h, hart) => ({
      paused: h.paused,
      afterException: h.afterException,
      exceptionsInARow: h.exceptionsInARow,
      afterInterrupt: h.afterInterrupt,
      tlb: decodeTlb(h.tlb, hart),
      finished: h.finished,
      lines: h.lines,
      icount: safeNumber(h.icount, 'an icount'),
      position: decodePosition(h.position, events[hart], hart),
    })),
    progress: t.progress.length > 0 ? plainBytes(t.progress) : null,
    clockSkipped: BigInt(t.clockSkipped),
    consoleBytes: safeNumber(t.consoleBytes, 'a console byte count'),
    current: t.current,
  };
}

/**
 * Decodes one saved checkpoint; `previousRegionPages` are the regions of the one before it (null
 * for the first). Checkpoints of another format or tool version, or that do not fit the trace,
 * come back as 'ignored' with the reason.
 */
export function decodeCheckpoint(blob: Uint8Array, previousRegionPages: Uint8Array[] | null, shape: SnapshotShape, events: TraceEvent[][]): DecodedCheckpoint {
  let m: DecodedMessage;
  try {
    const CheckpointType = traceProtoType('hindsight.trace.Checkpoint');
    m = CheckpointType.toObject(CheckpointType.decode(inflateRawSync(blob)), { longs: String, bytes: Uint8Array, defaults: true, arrays: true }) as DecodedMessage;
  } catch (err) {
    return { kind: 'ignored', reason: `a saved checkpoint is damaged (${(err as Error).message})` };
  }
  if (m.format !== CHECKPOINT_FORMAT) return { kind: 'ignored', reason: `they were saved in checkpoint format ${m.format}, this hindsight uses format ${CHECKPOINT_FORMAT}` };
  if (m.toolVersion !== VERSION) return { kind: 'ignored', reason: `they were saved by hindsight ${m.toolVersion || '(unknown)'}, this is ${VERSION}` };
  try {
    const state = decodeState(m.timeline, events);
    const regionPages = previousRegionPages ? previousRegionPages.slice() : new Array<Uint8Array>(shape.regionPages);
    for (const p of m.regionPages) {
      if (p.index >= shape.regionPages || p.data.length !== PAGE_SIZE) throw new Unusable(`region page ${p.index} does not fit the ${shape.regionPages} pages`);
      regionPages[p.index] = plainBytes(p.data);
    }
    for (let k = 0; k < shape.regionPages; k++) if (regionPages[k] === undefined) throw new Unusable(`region page ${k} is missing`);
    const ramDelta = new Map<number, Uint8Array>();
    for (const p of m.ramPages) {
      if (p.index >= shape.ramPages || p.data.length !== PAGE_SIZE) throw new Unusable(`RAM page ${p.index} does not fit the ${shape.ramPages} pages`);
      ramDelta.set(p.index, plainBytes(p.data));
    }
    return { kind: 'checkpoint', checkpoint: { step: safeNumber(m.step, 'a step'), state, regionPages, ramDelta } };
  } catch (err) {
    if (err instanceof Unusable) return { kind: 'ignored', reason: `a saved checkpoint does not fit this trace: ${err.message}` };
    throw err;
  }
}
