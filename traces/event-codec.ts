/**
 * Encoding of one hart's events as an `EventBatch` (traces/events.proto), through protobufjs
 * types built from the embedded descriptor (no file lookup at run time).
 */
import protobuf from 'protobufjs/light.js';
import type { ReleaseRef, TraceEvent, TraceEventKind } from './events.js';
import { EVENTS_PROTO_DESCRIPTOR } from './events-descriptor.js';

/**
 * The run-time types drop the `oneof kind` grouping of Event: a oneof does not exist on the wire
 * (its members are ordinary optional fields), and protobufjs's decoder spends most of its time
 * maintaining the oneof (deleting the other members of every decoded event). decodeBatch()
 * instead checks that exactly one member is present.
 */
function runtimeDescriptor(): protobuf.INamespace {
  const d = JSON.parse(JSON.stringify(EVENTS_PROTO_DESCRIPTOR)) as {
    nested: { hindsight: { nested: { trace: { nested: { Event: { oneofs?: unknown } } } } } };
  };
  delete d.nested.hindsight.nested.trace.nested.Event.oneofs;
  return d as protobuf.INamespace;
}
/** Every message of events.proto (event batches, debugger checkpoints). */
export const traceProto = protobuf.Root.fromJSON(runtimeDescriptor());
const root = traceProto;
const EventBatchType = root.lookupType('hindsight.trace.EventBatch');
/** Event's members of `oneof kind`, in field-number order. */
const KIND_FIELDS = ['acquire', 'release', 'irq', 'time', 'input', 'check'] as const;

/** Largest number of events a reader accepts in one batch (writers cut at BATCH_EVENTS). */
export const MAX_BATCH_EVENTS = 65536;

export type KindCounts = Record<TraceEventKind, number>;

export function zeroKindCounts(): KindCounts {
  return { acquire: 0, release: 0, irq: 0, time: 0, input: 0, check: 0 };
}

export interface EncodedBatch {
  payload: Uint8Array;
  firstIcount: number;
  lastIcount: number;
  count: number;
  kinds: KindCounts;
}

/** The protobufjs "Long-like" form of an unsigned 64-bit value. */
interface LongBits {
  low: number;
  high: number;
  unsigned: boolean;
}

const TWO_64 = 1n << 64n;

function u64(value: bigint, what: string): LongBits {
  if (typeof value !== 'bigint' || value < 0n || value >= TWO_64) {
    throw new RangeError(`${what} must be a bigint in [0, 2^64), got ${String(value)}`);
  }
  return { low: Number(value & 0xffffffffn) | 0, high: Number(value >> 32n) | 0, unsigned: true };
}

/** protobufjs decodes 64-bit fields as Long objects (the `long` package) or, for 0 defaults, numbers. */
type DecodedLong = number | { low: number; high: number };

function toBigint(v: DecodedLong): bigint {
  if (typeof v === 'number') return BigInt(v);
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

function toSafeNumber(v: DecodedLong, what: string): number {
  if (typeof v === 'number') return v;
  const high = v.high >>> 0;
  if (high >= 0x200000) throw new Error(`${what} exceeds 2^53`);
  return high * 0x100000000 + (v.low >>> 0);
}

function checkUint(v: number, what: string, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} must be an integer in [0, ${max}], got ${v}`);
}

/**
 * Encodes a non-empty run of one hart's events. Throws RangeError on values the format cannot
 * hold (a programming error in the caller, not bad input) or on decreasing icounts.
 */
export function encodeBatch(hart: number, events: readonly TraceEvent[]): EncodedBatch {
  if (events.length === 0 || events.length > MAX_BATCH_EVENTS) throw new RangeError(`a batch holds 1..${MAX_BATCH_EVENTS} events`);
  checkUint(hart, 'hart', 0xffffffff);
  const kinds = zeroKindCounts();
  const firstIcount = events[0]!.icount;
  let prev = firstIcount;
  const msgs = new Array<object>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const delta = e.icount - prev;
    if (!(delta >= 0) || !Number.isSafeInteger(e.icount)) {
      throw new RangeError(`hart ${hart}: event icount ${e.icount} after ${prev} (icounts must be non-decreasing safe integers)`);
    }
    prev = e.icount;
    kinds[e.kind]++;
    switch (e.kind) {
      case 'acquire': {
        checkUint(e.resource, 'acquire resource', 0xffffffff);
        for (const r of e.after) {
          checkUint(r.hart, 'release hart', 0xffffffff);
          checkUint(r.seq, 'release seq', Number.MAX_SAFE_INTEGER);
        }
        msgs[i] = { icountDelta: delta, acquire: { resource: e.resource, write: e.write, after: e.after } };
        break;
      }
      case 'release':
        checkUint(e.resource, 'release resource', 0xffffffff);
        checkUint(e.seq, 'release seq', Number.MAX_SAFE_INTEGER);
        msgs[i] = { icountDelta: delta, release: { resource: e.resource, seq: e.seq } };
        break;
      case 'irq':
        checkUint(e.lines, 'irq lines', 0xffffffff);
        msgs[i] = { icountDelta: delta, irq: { lines: e.lines } };
        break;
      case 'time':
        msgs[i] = { icountDelta: delta, time: { value: u64(e.value, 'time value') } };
        break;
      case 'input':
        if (!(e.bytes instanceof Uint8Array)) throw new RangeError('input bytes must be a Uint8Array');
        msgs[i] = { icountDelta: delta, input: { bytes: e.bytes } };
        break;
      case 'check':
        msgs[i] = { icountDelta: delta, check: { hash: u64(e.hash, 'check hash') } };
        break;
      default:
        throw new RangeError(`unknown event kind ${(e as { kind: unknown }).kind}`);
    }
  }
  const payload = EventBatchType.encode({ hart, baseIcount: firstIcount, events: msgs }).finish();
  return { payload, firstIcount, lastIcount: prev, count: events.length, kinds };
}

/* The decoded message shapes (protobufjs message instances; absent fields read their defaults). */
interface DecodedRef { hart: number; seq: DecodedLong }
interface DecodedEvent {
  icountDelta: DecodedLong;
  acquire?: { resource: number; write: boolean; after: DecodedRef[] };
  release?: { resource: number; seq: DecodedLong };
  irq?: { lines: number };
  time?: { value: DecodedLong };
  input?: { bytes: Uint8Array };
  check?: { hash: DecodedLong };
}
interface DecodedBatch { hart: number; baseIcount: DecodedLong; events: DecodedEvent[] }

export interface DecodedEvents {
  hart: number;
  events: TraceEvent[];
}

/**
 * Decodes an `EventBatch`. Throws a plain Error whose message completes the sentence
 * "event batch N of hart H ..." on anything malformed; the caller adds the context.
 */
export function decodeBatch(payload: Uint8Array): DecodedEvents {
  let msg: DecodedBatch;
  try {
    msg = EventBatchType.decode(payload) as unknown as DecodedBatch;
  } catch (err) {
    throw new Error(`does not decode (${(err as Error).message})`);
  }
  if (msg.events.length > MAX_BATCH_EVENTS) throw new Error(`holds ${msg.events.length} events (at most ${MAX_BATCH_EVENTS} allowed)`);
  let icount = toSafeNumber(msg.baseIcount, 'its base icount');
  const events = new Array<TraceEvent>(msg.events.length);
  for (let i = 0; i < msg.events.length; i++) {
    const m = msg.events[i]!;
    icount += toSafeNumber(m.icountDelta, `the icount of event ${i}`);
    if (!Number.isSafeInteger(icount)) throw new Error(`has an icount beyond 2^53 at event ${i}`);
    let kind: string | undefined;
    for (const f of KIND_FIELDS) {
      if (m[f] != null) {
        if (kind !== undefined) throw new Error(`has event ${i} of two kinds (${kind} and ${f})`);
        kind = f;
      }
    }
    switch (kind) {
      case 'acquire': {
        const a = m.acquire!;
        const after: ReleaseRef[] = new Array(a.after.length);
        for (let j = 0; j < a.after.length; j++) {
          const r = a.after[j]!;
          after[j] = { hart: r.hart, seq: toSafeNumber(r.seq, `a release seq at event ${i}`) };
        }
        events[i] = { kind: 'acquire', icount, resource: a.resource, write: a.write, after };
        break;
      }
      case 'release':
        events[i] = { kind: 'release', icount, resource: m.release!.resource, seq: toSafeNumber(m.release!.seq, `the release seq at event ${i}`) };
        break;
      case 'irq':
        events[i] = { kind: 'irq', icount, lines: m.irq!.lines };
        break;
      case 'time':
        events[i] = { kind: 'time', icount, value: toBigint(m.time!.value) };
        break;
      case 'input':
        // Copy: the decoded bytes may be a view into the payload buffer.
        events[i] = { kind: 'input', icount, bytes: new Uint8Array(m.input!.bytes) };
        break;
      case 'check':
        events[i] = { kind: 'check', icount, hash: toBigint(m.check!.hash) };
        break;
      default:
        throw new Error(`has event ${i} of no kind this hindsight knows (written by a newer one?)`);
    }
  }
  return { hart: msg.hart, events };
}
