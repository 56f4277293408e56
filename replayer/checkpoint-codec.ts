import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { TraceEvent } from '../traces/events.js';
import { traceProto } from '../traces/event-codec.js';
import { VERSION } from '../src/version.js';
import { ReplayerPosition } from './hart-replayer.js';
import { TimelineState } from './timeline.js';

/** Bump when TimelineState or the snapshot regions change meaning: older saved checkpoints are then ignored. */
export const CHECKPOINT_FORMAT = 1;

const CheckpointType = traceProto.lookupType('hindsight.trace.Checkpoint');

/** A checkpoint as saved: everything the store needs to adopt it. */
export interface SavedCheckpoint {
  step: number;
  state: TimelineState;
  regionPages: Uint8Array[];
  ramDelta: Map<number, Uint8Array>;
}

/** Event positions as indexes into each hart's event list (the live state holds the event objects). */
interface SavedPosition {
  consumed: number;
  /** Index of the pending event, -1 if none. */
  next: number;
  /** Clock reads taken from the stream but not used yet (HartReplayer only), -1 otherwise. */
  times: number;
  waitingForRelease: boolean;
}

function savePosition(p: TimelineState['positions'][number], events: TraceEvent[]): SavedPosition {
  const next = p.next ? events.lastIndexOf(p.next, p.consumed - 1) : -1;
  const times = 'times' in p ? p.times.length : -1;
  return { consumed: p.consumed, next, times, waitingForRelease: 'waitingForRelease' in p ? p.waitingForRelease : false };
}

function loadPosition(p: SavedPosition, events: TraceEvent[]): TimelineState['positions'][number] {
  const next = p.next >= 0 ? events[p.next] : null;
  if (p.times < 0) return { consumed: p.consumed, next };
  const taken = events.slice(0, p.consumed).filter((e) => e.kind === 'time');
  const times = taken.slice(taken.length - p.times) as ReplayerPosition['times'];
  return { consumed: p.consumed, next, times, waitingForRelease: p.waitingForRelease };
}

export function encodeCheckpoint(cp: SavedCheckpoint, previousRegionPages: Uint8Array[] | null, events: TraceEvent[][]): Uint8Array {
  const { state } = cp;
  const json = JSON.stringify({
    ...state,
    positions: state.positions.map((p, hart) => savePosition(p, events[hart])),
    progress: undefined,
    clockSkipped: state.clockSkipped.toString(),
  });
  const message = CheckpointType.create({
    format: CHECKPOINT_FORMAT,
    toolVersion: VERSION,
    step: cp.step,
    stateJson: json,
    regionPages: cp.regionPages.flatMap((data, index) => (previousRegionPages?.[index] === data ? [] : [{ index, data }])),
    ramPages: [...cp.ramDelta].map(([index, data]) => ({ index, data })),
    progress: state.progress ?? new Uint8Array(0),
  });
  return deflateRawSync(CheckpointType.encode(message).finish());
}

/** Null when the checkpoint was written by another format or tool version (it is then ignored). */
export function decodeCheckpoint(blob: Uint8Array, previousRegionPages: Uint8Array[] | null, regionPageCount: number, events: TraceEvent[][]): SavedCheckpoint | null {
  const m = CheckpointType.toObject(CheckpointType.decode(inflateRawSync(blob)), { longs: Number, bytes: Uint8Array }) as {
    format?: number; toolVersion?: string; step?: number; stateJson?: string; progress?: Uint8Array;
    regionPages?: { index?: number; data?: Uint8Array }[]; ramPages?: { index?: number; data?: Uint8Array }[];
  };
  if (m.format !== CHECKPOINT_FORMAT || m.toolVersion !== VERSION) return null;
  const raw = JSON.parse(m.stateJson ?? '{}') as Omit<TimelineState, 'positions' | 'clockSkipped' | 'progress'> & { positions: SavedPosition[]; clockSkipped: string };
  const state: TimelineState = {
    ...raw,
    positions: raw.positions.map((p, hart) => loadPosition(p, events[hart])),
    clockSkipped: BigInt(raw.clockSkipped),
    progress: m.progress && m.progress.length > 0 ? m.progress : null,
  };
  const regionPages = previousRegionPages ? previousRegionPages.slice() : new Array<Uint8Array>(regionPageCount);
  for (const p of m.regionPages ?? []) regionPages[p.index ?? 0] = p.data ?? new Uint8Array(0);
  const ramDelta = new Map<number, Uint8Array>();
  for (const p of m.ramPages ?? []) ramDelta.set(p.index ?? 0, p.data ?? new Uint8Array(0));
  return { step: m.step ?? 0, state, regionPages, ramDelta };
}
