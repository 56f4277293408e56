/**
 * Encoding of one hart's events as an `EventBatch` (traces/events.proto): written by BatchEncoder
 * and read by decodeCanonical (both below); batches in any other valid encoding are read through
 * protobufjs (traces/proto-types.ts, loaded only then).
 */
import type { ReleaseRef, TraceEvent, TraceEventKind } from './events.js';
import { traceProtoType } from './proto-types.js';

/** Event's members of `oneof kind`, in field-number order. */
const KIND_FIELDS = ['acquire', 'release', 'irq', 'time', 'input', 'check', 'trap'] as const;

/** Largest number of events a reader accepts in one batch (writers cut at BATCH_EVENTS). */
export const MAX_BATCH_EVENTS = 65536;

export type KindCounts = Record<TraceEventKind, number>;

export function zeroKindCounts(): KindCounts {
  return { acquire: 0, release: 0, irq: 0, time: 0, input: 0, check: 0, trap: 0 };
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
  const enc = new BatchEncoder(hart);
  for (const e of events) enc.event(e);
  return enc.take();
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
  trap?: { count: number };
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
  return decodeCanonical(payload) ?? decodeWithProtobufjs(payload);
}

/** decodeBatch() through protobufjs: any valid encoding, and the error messages. */
export function decodeWithProtobufjs(payload: Uint8Array): DecodedEvents {
  let msg: DecodedBatch;
  try {
    msg = traceProtoType('hindsight.trace.EventBatch').decode(payload) as unknown as DecodedBatch;
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
      case 'trap':
        events[i] = { kind: 'trap', icount, count: m.trap!.count };
        break;
      default:
        throw new Error(`has event ${i} of no kind this hindsight knows (written by a newer one?)`);
    }
  }
  return { hart: msg.hart, events };
}

// --- direct encoder ---------------------------------------------------------------------------

/*
 * Wire tags (field number << 3 | wire type) of traces/events.proto, for BatchEncoder. Written by
 * hand rather than through protobufjs: recording encodes ~200k events a second on the thread that
 * also drains the rings and writes SQLite, and protobufjs's encoder wants one object per event and
 * message plus Long conversions for the uint64 fields; that thread's CPU competes with the harts
 * for host cores. A unit test checks that both encoders write the same bytes.
 */
const T_BATCH_HART = 0x08;
const T_BATCH_BASE = 0x10;
const T_BATCH_EVENT = 0x1a;
const T_DELTA = 0x08;
const T_ACQUIRE = 0x12;
const T_RELEASE = 0x1a;
const T_IRQ = 0x22;
const T_TIME = 0x2a;
const T_INPUT = 0x32;
const T_CHECK = 0x3a;
const T_TRAP = 0x42;
/** Field 1, 2 and 3 of the kind messages: varint, varint, length-delimited; Check.hash is fixed64. */
const T_F1 = 0x08;
const T_F2 = 0x10;
const T_F3_LEN = 0x1a;
const T_F1_BYTES = 0x0a;
const T_F1_FIXED64 = 0x09;

/** Bytes of the varint of a non-negative integer below 2^53. */
function varintSize(v: number): number {
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  let n = 4;
  for (v = Math.floor(v / 0x10000000); v > 0; v = Math.floor(v / 0x80)) n++;
  return n;
}

/** Bytes of the varint of the unsigned 64-bit value hi:lo (32-bit halves). */
function varint64Size(lo: number, hi: number): number {
  if (hi === 0) return varintSize(lo >>> 0);
  return Math.ceil((64 - Math.clz32(hi)) / 7);
}

const TWO_32 = 0x100000000;

/**
 * Encodes one hart's events straight into an `EventBatch` payload, event by event (no objects per
 * event). Icounts must not decrease, across batches too. `full` is called once the batch holds
 * `maxEvents` events, typically to take() it.
 */
export class BatchEncoder {
  private buf = new Uint8Array(64 * 1024);
  private pos = 0;
  private n = 0;
  private first = 0;
  private last = 0;
  private kinds = zeroKindCounts();

  constructor(
    readonly hart: number,
    private readonly full: ((enc: BatchEncoder) => void) | null = null,
    private readonly maxEvents = MAX_BATCH_EVENTS,
  ) {
    checkUint(hart, 'hart', 0xffffffff);
    if (!(maxEvents >= 1 && maxEvents <= MAX_BATCH_EVENTS)) throw new RangeError(`a batch holds 1..${MAX_BATCH_EVENTS} events`);
  }

  /** Events encoded since the last take(). */
  get count(): number {
    return this.n;
  }

  /** Events encoded since the last take(), by kind. */
  pendingKinds(): Readonly<KindCounts> {
    return this.kinds;
  }

  /** `after` holds (hart, seq) pairs: after[2k] is a hart, after[2k+1] its release number; `refs` pairs are used. */
  acquire(icount: number, resource: number, write: boolean, after: readonly number[], refs: number): void {
    let body = (resource ? 1 + varintSize(resource) : 0) + (write ? 2 : 0);
    for (let k = 0; k < refs; k++) {
      const len = refLength(after[2 * k]!, after[2 * k + 1]!);
      body += 1 + varintSize(len) + len;
    }
    this.head(icount, T_ACQUIRE, body);
    if (resource) this.field(T_F1, resource);
    if (write) {
      this.buf[this.pos++] = T_F2;
      this.buf[this.pos++] = 1;
    }
    for (let k = 0; k < refs; k++) {
      const hart = after[2 * k]!;
      const seq = after[2 * k + 1]!;
      this.buf[this.pos++] = T_F3_LEN;
      this.varint(refLength(hart, seq));
      if (hart) this.field(T_F1, hart);
      if (seq) this.field(T_F2, seq);
    }
    this.end('acquire');
  }

  release(icount: number, resource: number, seq: number): void {
    this.head(icount, T_RELEASE, refLength(resource, seq));
    if (resource) this.field(T_F1, resource);
    if (seq) this.field(T_F2, seq);
    this.end('release');
  }

  irq(icount: number, lines: number): void {
    this.head(icount, T_IRQ, lines ? 1 + varintSize(lines) : 0);
    if (lines) this.field(T_F1, lines);
    this.end('irq');
  }

  /** A clock read of the unsigned 64-bit value hi:lo. */
  time(icount: number, lo: number, hi: number): void {
    const set = (lo | hi) !== 0;
    this.head(icount, T_TIME, set ? 1 + varint64Size(lo, hi) : 0);
    if (set) {
      this.buf[this.pos++] = T_F1;
      this.varint64(lo, hi);
    }
    this.end('time');
  }

  /** A register-hash check of the 64-bit hash hi:lo. */
  check(icount: number, lo: number, hi: number): void {
    const set = (lo | hi) !== 0;
    this.head(icount, T_CHECK, set ? 9 : 0);
    if (set) {
      const b = this.buf;
      let p = this.pos;
      b[p++] = T_F1_FIXED64;
      for (let i = 0; i < 4; i++) b[p++] = (lo >>> (8 * i)) & 0xff;
      for (let i = 0; i < 4; i++) b[p++] = (hi >>> (8 * i)) & 0xff;
      this.pos = p;
    }
    this.end('check');
  }

  trap(icount: number, count: number): void {
    this.head(icount, T_TRAP, count ? 1 + varintSize(count) : 0);
    if (count) this.field(T_F1, count);
    this.end('trap');
  }

  input(icount: number, bytes: Uint8Array): void {
    const len = bytes.length;
    this.head(icount, T_INPUT, len ? 1 + varintSize(len) + len : 0);
    if (len) {
      this.buf[this.pos++] = T_F1_BYTES;
      this.varint(len);
      this.buf.set(bytes, this.pos);
      this.pos += len;
    }
    this.end('input');
  }

  /** Encodes an event object, checking that its values fit the format (RangeError otherwise). */
  event(e: TraceEvent): void {
    switch (e.kind) {
      case 'acquire': {
        checkUint(e.resource, 'acquire resource', 0xffffffff);
        const pairs: number[] = [];
        for (const r of e.after) {
          checkUint(r.hart, 'release hart', 0xffffffff);
          checkUint(r.seq, 'release seq', Number.MAX_SAFE_INTEGER);
          pairs.push(r.hart, r.seq);
        }
        this.acquire(e.icount, e.resource, e.write, pairs, e.after.length);
        break;
      }
      case 'release':
        checkUint(e.resource, 'release resource', 0xffffffff);
        checkUint(e.seq, 'release seq', Number.MAX_SAFE_INTEGER);
        this.release(e.icount, e.resource, e.seq);
        break;
      case 'irq':
        checkUint(e.lines, 'irq lines', 0xffffffff);
        this.irq(e.icount, e.lines);
        break;
      case 'time': {
        const v = u64(e.value, 'time value');
        this.time(e.icount, v.low, v.high);
        break;
      }
      case 'check': {
        const v = u64(e.hash, 'check hash');
        this.check(e.icount, v.low, v.high);
        break;
      }
      case 'trap':
        checkUint(e.count, 'trap count', 0xffffffff);
        this.trap(e.icount, e.count);
        break;
      case 'input':
        if (!(e.bytes instanceof Uint8Array)) throw new RangeError('input bytes must be a Uint8Array');
        this.input(e.icount, e.bytes);
        break;
      default:
        throw new RangeError(`unknown event kind ${(e as { kind: unknown }).kind}`);
    }
  }

  /** The batch of the events encoded since the last take(); the encoder starts a new one. */
  take(): EncodedBatch {
    if (this.n === 0) throw new RangeError(`a batch holds 1..${MAX_BATCH_EVENTS} events`);
    const head = (this.hart ? 1 + varintSize(this.hart) : 0) + (this.first ? 1 + varintSize(this.first) : 0);
    const payload = new Uint8Array(head + this.pos);
    let p = 0;
    if (this.hart) {
      payload[p++] = T_BATCH_HART;
      p = putVarint(payload, p, this.hart);
    }
    if (this.first) {
      payload[p++] = T_BATCH_BASE;
      p = putVarint(payload, p, this.first);
    }
    payload.set(this.buf.subarray(0, this.pos), p);
    const batch: EncodedBatch = { payload, firstIcount: this.first, lastIcount: this.last, count: this.n, kinds: this.kinds };
    this.n = 0;
    this.pos = 0;
    this.kinds = zeroKindCounts();
    return batch;
  }

  /** Starts an event: its length, icount delta and kind field header (the kind's body follows). */
  private head(icount: number, kindTag: number, body: number): void {
    if (!(icount >= this.last) || !Number.isSafeInteger(icount)) {
      throw new RangeError(`hart ${this.hart}: event icount ${icount} after ${this.last} (icounts must be non-decreasing safe integers)`);
    }
    const delta = this.n === 0 ? 0 : icount - this.last;
    if (this.n === 0) this.first = icount;
    this.last = icount;
    const inner = (delta ? 1 + varintSize(delta) : 0) + 1 + varintSize(body) + body;
    if (this.pos + inner + 8 > this.buf.length) this.grow(inner + 8);
    this.buf[this.pos++] = T_BATCH_EVENT;
    this.varint(inner);
    if (delta) this.field(T_DELTA, delta);
    this.buf[this.pos++] = kindTag;
    this.varint(body);
  }

  private end(kind: keyof KindCounts): void {
    this.kinds[kind]++;
    if (++this.n >= this.maxEvents) this.full?.(this);
  }

  private grow(need: number): void {
    const bigger = new Uint8Array(Math.max(2 * this.buf.length, this.pos + need));
    bigger.set(this.buf.subarray(0, this.pos));
    this.buf = bigger;
  }

  private field(tag: number, v: number): void {
    this.buf[this.pos++] = tag;
    this.varint(v);
  }

  private varint(v: number): void {
    this.pos = putVarint(this.buf, this.pos, v);
  }

  private varint64(lo: number, hi: number): void {
    const b = this.buf;
    let p = this.pos;
    lo >>>= 0;
    hi >>>= 0;
    while (hi !== 0) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      b[p++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }
}

/** Body length of a ReleaseRef or a Release: two optional varint fields. */
function refLength(a: number, b: number): number {
  return (a ? 1 + varintSize(a) : 0) + (b ? 1 + varintSize(b) : 0);
}

/** Writes the varint of a non-negative integer below 2^53 at p; returns the position after it. */
function putVarint(b: Uint8Array, p: number, v: number): number {
  while (v >= TWO_32) {
    b[p++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 0x80);
  }
  while (v > 0x7f) {
    b[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  b[p++] = v;
  return p;
}

// --- direct decoder ---------------------------------------------------------------------------

/** Thrown inside CanonicalReader on anything it does not take: the caller falls back to protobufjs. */
const NOT_CANONICAL = new Error('not canonical');

/**
 * Reads an `EventBatch` exactly as BatchEncoder writes it (fields in its order, each once, no
 * unknown fields, integers in range). A replaying hart decodes every event of its stream; the
 * protobufjs decoder's message and Long objects per event cost each hart thread of a
 * `smp_sb_litmus` replay ~0.25 s. Returns null for anything else — other valid encodings,
 * damaged bytes — and decodeBatch then decodes it through protobufjs, which also words the errors.
 * A unit test checks on mutated payloads that whatever this accepts, protobufjs decodes the same.
 */
export function decodeCanonical(payload: Uint8Array): DecodedEvents | null {
  try {
    const r = new CanonicalReader(payload);
    const events: TraceEvent[] = [];
    for (let e = r.next(); e !== null; e = r.next()) events.push(e);
    return { hart: r.hart, events };
  } catch (err) {
    if (err === NOT_CANONICAL) return null;
    throw err;
  }
}

/** What a batch holds, for checking it against its row before reading its events. */
export interface BatchSummary {
  hart: number;
  count: number;
  firstIcount: number;
  lastIcount: number;
  kinds: KindCounts;
}

/** One batch's events, one at a time (readBatch). */
export interface BatchCursor {
  readonly summary: BatchSummary;
  /** The next event, or null after the last. */
  next(): TraceEvent | null;
}

/**
 * Opens an `EventBatch` for reading event by event: checked whole first (without building its
 * events), then each event built as it is asked for. Replay holds a batch (up to 65,536 events)
 * for as long as its hart takes to run through it: decoded at once, its event objects outlived
 * young-generation collections, V8 moved and then allocated them in the old generation, and
 * garbage collection took ~15% of an `smp_mp_litmus` replay's hart thread. Throws like decodeBatch.
 */
export function readBatch(payload: Uint8Array): BatchCursor {
  try {
    const summary = new CanonicalReader(payload).scan();
    const reader = new CanonicalReader(payload);
    return { summary, next: () => reader.next() };
  } catch (err) {
    if (err !== NOT_CANONICAL) throw err;
  }
  const { hart, events } = decodeWithProtobufjs(payload);
  const kinds = zeroKindCounts();
  for (const e of events) kinds[e.kind]++;
  const summary = { hart, count: events.length, firstIcount: events[0]?.icount ?? 0, lastIcount: events[events.length - 1]?.icount ?? 0, kinds };
  let i = 0;
  return { summary, next: () => (i < events.length ? events[i++]! : null) };
}

const KIND_OF_TAG: Partial<Record<number, TraceEventKind>> = {
  [T_ACQUIRE]: 'acquire', [T_RELEASE]: 'release', [T_IRQ]: 'irq', [T_TIME]: 'time', [T_INPUT]: 'input', [T_CHECK]: 'check', [T_TRAP]: 'trap',
};

class CanonicalReader {
  private pos = 0;
  readonly hart: number = 0;
  private icount = 0;
  private count = 0;
  /** The kind tag of the event next() read last. */
  private kind = 0;
  /** Whether event() builds the events it reads (scan() only checks them). */
  private build = true;
  /** uint64()'s result in 32-bit halves. */
  private lo = 0;
  private hi = 0;

  /** Reads the batch's header. */
  constructor(private readonly b: Uint8Array) {
    if (this.pos < b.length && b[this.pos] === T_BATCH_HART) {
      this.pos++;
      this.hart = this.uint32();
    }
    if (this.pos < b.length && b[this.pos] === T_BATCH_BASE) {
      this.pos++;
      this.icount = this.safe();
    }
  }

  /** The next event, or null at the end of the payload. */
  next(): TraceEvent | null {
    const b = this.b;
    if (this.pos >= b.length) return null;
    if (b[this.pos++] !== T_BATCH_EVENT) throw NOT_CANONICAL;
    const eventEnd = this.end();
    if (this.pos < eventEnd && b[this.pos] === T_DELTA) {
      this.pos++;
      this.icount += this.safe();
      if (!Number.isSafeInteger(this.icount)) throw NOT_CANONICAL;
    }
    if (this.pos >= eventEnd) throw NOT_CANONICAL;
    const kind = b[this.pos++];
    const bodyEnd = this.end();
    if (bodyEnd !== eventEnd || this.count >= MAX_BATCH_EVENTS) throw NOT_CANONICAL;
    this.count++;
    this.kind = kind;
    const e = this.event(kind, this.icount, bodyEnd);
    if (this.pos !== bodyEnd) throw NOT_CANONICAL;
    return e;
  }

  /** Checks every event without building it (the same reads as next()); what the batch holds. */
  scan(): BatchSummary {
    this.build = false;
    const b = this.b;
    const kinds = zeroKindCounts();
    let firstIcount = 0;
    while (this.pos < b.length) {
      this.next();
      if (this.count === 1) firstIcount = this.icount;
      kinds[KIND_OF_TAG[this.kind]!]++;
    }
    return { hart: this.hart, count: this.count, firstIcount, lastIcount: this.count ? this.icount : 0, kinds };
  }

  /** The event of kind tag `kind` whose body ends at `end` (null when only checking). */
  private event(kind: number, icount: number, end: number): TraceEvent | null {
    const build = this.build;
    switch (kind) {
      case T_ACQUIRE: {
        const resource = this.optional(T_F1, end) ? this.uint32() : 0;
        let write = false;
        if (this.optional(T_F2, end)) {
          if (this.b[this.pos++] !== 1) throw NOT_CANONICAL;
          write = true;
        }
        const after: ReleaseRef[] | null = build ? [] : null;
        while (this.optional(T_F3_LEN, end)) {
          const refEnd = this.end();
          const hart = this.optional(T_F1, refEnd) ? this.uint32() : 0;
          const seq = this.optional(T_F2, refEnd) ? this.safe() : 0;
          if (this.pos !== refEnd) throw NOT_CANONICAL;
          after?.push({ hart, seq });
        }
        return after ? { kind: 'acquire', icount, resource, write, after } : null;
      }
      case T_RELEASE: {
        const resource = this.optional(T_F1, end) ? this.uint32() : 0;
        const seq = this.optional(T_F2, end) ? this.safe() : 0;
        return build ? { kind: 'release', icount, resource, seq } : null;
      }
      case T_IRQ: {
        const lines = this.optional(T_F1, end) ? this.uint32() : 0;
        return build ? { kind: 'irq', icount, lines } : null;
      }
      case T_TIME: {
        if (!this.optional(T_F1, end)) return build ? { kind: 'time', icount, value: 0n } : null;
        this.uint64();
        return build ? { kind: 'time', icount, value: this.bigint() } : null;
      }
      case T_INPUT: {
        if (!this.optional(T_F1_BYTES, end)) return build ? { kind: 'input', icount, bytes: new Uint8Array(0) } : null;
        const bytesEnd = this.end();
        // A copy, as a plain Uint8Array (payloads are often Buffers, whose slice() shares memory).
        const bytes = build ? new Uint8Array(this.b.subarray(this.pos, bytesEnd)) : null;
        this.pos = bytesEnd;
        return bytes ? { kind: 'input', icount, bytes } : null;
      }
      case T_CHECK: {
        if (!this.optional(T_F1_FIXED64, end)) return build ? { kind: 'check', icount, hash: 0n } : null;
        if (this.pos + 8 > end) throw NOT_CANONICAL;
        const b = this.b;
        const p = this.pos;
        this.lo = (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
        this.hi = (b[p + 4] | (b[p + 5] << 8) | (b[p + 6] << 16) | (b[p + 7] << 24)) >>> 0;
        this.pos = p + 8;
        return build ? { kind: 'check', icount, hash: this.bigint() } : null;
      }
      case T_TRAP: {
        const count = this.optional(T_F1, end) ? this.uint32() : 0;
        return build ? { kind: 'trap', icount, count } : null;
      }
      default:
        throw NOT_CANONICAL;
    }
  }

  /** Consumes `tag` if it is next before `end`. */
  private optional(tag: number, end: number): boolean {
    if (this.pos >= end || this.b[this.pos] !== tag) return false;
    this.pos++;
    return true;
  }

  /** A length prefix: the end of the bytes it covers (within the payload). */
  private end(): number {
    const len = this.uint32();
    const end = this.pos + len;
    if (end > this.b.length) throw NOT_CANONICAL;
    return end;
  }

  /** A varint below 2^32, in at most 5 bytes. */
  private uint32(): number {
    return this.varint(5, 0xffffffff);
  }

  /** A varint below 2^53, in at most 8 bytes. */
  private safe(): number {
    return this.varint(8, Number.MAX_SAFE_INTEGER);
  }

  private varint(maxBytes: number, max: number): number {
    const b = this.b;
    let p = this.pos;
    if (p >= b.length) throw NOT_CANONICAL;
    let byte = b[p++];
    if (byte < 0x80) { // most of them: small deltas, resources, sequence numbers
      this.pos = p;
      return byte;
    }
    let v = byte & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < maxBytes; i++) {
      if (p >= b.length) throw NOT_CANONICAL;
      byte = b[p++];
      v += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (v > max) throw NOT_CANONICAL;
        this.pos = p;
        return v;
      }
      scale *= 0x80;
    }
    throw NOT_CANONICAL;
  }

  /** A varint of any 64-bit value, in at most 10 bytes. */
  private uint64(): void {
    const b = this.b;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= b.length) throw NOT_CANONICAL;
      const byte = b[this.pos++];
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28; // its low 4 bits
        hi = bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) {
        if (i === 9 && bits > 1) throw NOT_CANONICAL;
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    throw NOT_CANONICAL;
  }

  /** The value uint64() or a fixed64 read last. */
  private bigint(): bigint {
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}
