import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../traces/events.js';
import { BatchEncoder, decodeBatch, decodeCanonical, decodeWithProtobufjs, encodeBatch, readBatch, zeroKindCounts } from '../../traces/event-codec.js';
import { EVENTS_PROTO_DESCRIPTOR } from '../../traces/events-descriptor.js';
import { SCHEMA_VERSION, migrate } from '../../traces/schema.js';
import { TraceError } from '../../traces/trace-error.js';
import { TraceReader, formatTraceInfo } from '../../traces/trace-reader.js';
import { BATCH_EVENTS, TraceWriter, type TraceHeader, type TraceSummary } from '../../traces/trace-writer.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-trace-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const tmp = (name = 'trace') => join(dir, `${name}-${n++}.db`);

const KERNEL = new Uint8Array([0x13, 0, 0, 0, 0x73, 0, 0x50, 0x10]);
const FIRMWARE = new Uint8Array(10_000).map((_, i) => (i * 7) & 0xff);

function header(images: TraceHeader['images'] = [
  { role: 'firmware', path: '/fw/fw_jump.bin', loadAddress: 0x8000_0000, bytes: FIRMWARE },
  { role: 'kernel', path: '/guests/hello.elf', loadAddress: 0x8020_0000, bytes: KERNEL },
]): TraceHeader {
  return { toolVersion: '0.1.0-test', sched: 'parallel', machine: { harts: 2, ramMiB: 128, nested: { a: [1, 2] } }, images };
}

function summary(extra: Partial<TraceSummary> = {}): TraceSummary {
  return { exitCode: 0, stopReason: 'guest powered off', icounts: [1000, 2000], finalStateHashes: ['aa', 'bb'], wallSeconds: 1.25, consoleBytes: 0, ...extra };
}

/** Every event kind, with values at the edges of their ranges. */
const ALL_KINDS: TraceEvent[] = [
  { kind: 'acquire', icount: 0, resource: 0, write: false, after: [] },
  { kind: 'acquire', icount: 0, resource: 32768, write: true, after: [{ hart: 1, seq: 1 }, { hart: 3, seq: 2 ** 40 }] },
  { kind: 'release', icount: 5, resource: 32768, seq: 1 },
  { kind: 'irq', icount: 5, lines: 0 },
  { kind: 'irq', icount: 9, lines: 0x888 },
  { kind: 'time', icount: 10, value: 0n },
  { kind: 'time', icount: 11, value: 2n ** 53n + 1n },
  { kind: 'time', icount: 12, value: 2n ** 64n - 1n },
  { kind: 'input', icount: 12, bytes: new TextEncoder().encode('héllo ✓\n') },
  { kind: 'input', icount: 13, bytes: new Uint8Array([0, 255, 0x1b]) },
  { kind: 'check', icount: 2 ** 40, hash: 0xfedcba9876543210n },
  { kind: 'check', icount: 2 ** 52, hash: 0n },
  { kind: 'trap', icount: 2 ** 52, count: 1 },
  { kind: 'trap', icount: 2 ** 52, count: 0xffffffff },
];

/** Seeded random events of every kind, with values of every varint length. */
function randomEvents(seed: number) {
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const big = (bits: number) => Math.floor(rnd() * 2 ** Math.floor(rnd() * bits));
  const big64 = () => (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n | BigInt(Math.floor(rnd() * 2 ** 32))) >> BigInt(Math.floor(rnd() * 64));
  /** `n` events of one hart, icounts growing by up to 2^deltaBits. */
  const events = (n: number, deltaBits: number): TraceEvent[] => {
    let icount = big(50);
    const out: TraceEvent[] = [];
    for (let i = 0; i < n; i++) {
      if (rnd() < 0.5) icount += big(deltaBits);
      const k = Math.floor(rnd() * 7);
      if (k === 0) out.push({ kind: 'acquire', icount, resource: big(32), write: rnd() < 0.5, after: Array.from({ length: Math.floor(rnd() * 4) }, () => ({ hart: big(32), seq: big(53) })) });
      else if (k === 1) out.push({ kind: 'release', icount, resource: big(32), seq: big(53) });
      else if (k === 2) out.push({ kind: 'irq', icount, lines: big(32) });
      else if (k === 3) out.push({ kind: 'time', icount, value: big64() });
      else if (k === 4) out.push({ kind: 'input', icount, bytes: Uint8Array.from({ length: 1 + big(9) }, () => big(8)) });
      else if (k === 5) out.push({ kind: 'trap', icount, count: 1 + big(31) });
      else out.push({ kind: 'check', icount, hash: big64() });
    }
    return out;
  };
  return { rnd, big, events };
}

function expectTraceError(f: () => unknown, pattern: RegExp): TraceError {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TraceError);
  const e = caught as TraceError;
  expect(e.exitCode).toBe(2);
  expect(e.message).not.toContain('\n');
  expect(e.message).toMatch(pattern);
  return e;
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Writes a small complete trace and returns its path. */
function smallTrace(): string {
  const path = tmp();
  const w = TraceWriter.create(path, header());
  w.appendEvents(0, ALL_KINDS.filter((e) => e.kind !== 'trap')); // as any version can hold them
  w.appendEvents(1, ALL_KINDS.slice(0, 3));
  w.finish(summary());
  w.close();
  return path;
}

/** Hart 0's events of a trace. */
function readAll(path: string): TraceEvent[] {
  const r = TraceReader.open(path);
  try {
    return [...r.events(0)];
  } finally {
    r.close();
  }
}

describe('events.proto and its embedded descriptor', () => {
  it('agree (rerun `node traces/gen-descriptor.mjs` after changing events.proto)', () => {
    const proto = fileURLToPath(new URL('../../traces/events.proto', import.meta.url));
    expect(protobuf.loadSync(proto).toJSON()).toEqual(EVENTS_PROTO_DESCRIPTOR);
  });
});

describe('event batch encoding', () => {
  const proto = fileURLToPath(new URL('../../traces/events.proto', import.meta.url));
  const FullBatch = protobuf.loadSync(proto).lookupType('hindsight.trace.EventBatch');

  it('is what events.proto describes (decoded with a type built from the .proto file itself)', () => {
    const enc = encodeBatch(7, ALL_KINDS);
    expect([enc.firstIcount, enc.lastIcount, enc.count]).toEqual([0, 2 ** 52, ALL_KINDS.length]);
    const m = FullBatch.toObject(FullBatch.decode(enc.payload), { longs: String, oneofs: true }) as {
      hart: number; baseIcount: string; events: { kind: string; icountDelta?: string }[];
    };
    expect(m.hart).toBe(7);
    expect(m.events.map((e) => e.kind)).toEqual(ALL_KINDS.map((e) => e.kind));
    expect((m.events[7] as unknown as { time: { value: string } }).time.value).toBe(String(2n ** 64n - 1n));
    expect(decodeBatch(FullBatch.encode(FullBatch.decode(enc.payload)).finish())).toEqual({ hart: 7, events: ALL_KINDS });
  });

  it('rejects events of a kind it does not know or of two kinds', () => {
    // Event { icount_delta = 1; <field 15, a future kind> = {} }
    const unknown = protobuf.Writer.create().uint32((3 << 3) | 2).fork().uint32((1 << 3) | 0).uint32(1).uint32((15 << 3) | 2).uint32(0).ldelim().finish();
    expect(() => decodeBatch(unknown)).toThrow(/^has event 0 of no kind this hindsight knows/);
    const two = protobuf.Writer.create().uint32((3 << 3) | 2).fork().uint32((4 << 3) | 2).uint32(0).uint32((5 << 3) | 2).uint32(0).ldelim().finish();
    expect(() => decodeBatch(two)).toThrow(/^has event 0 of two kinds \(irq and time\)/);
    expect(() => decodeBatch(new Uint8Array([0x1a, 0x05, 0x08]))).toThrow(/^does not decode/);
  });

  it('writes the bytes protobufjs writes for the same events (hand-written encoder vs the library)', () => {
    // The encoder protobufjs generates from the .proto file, fed the message objects it expects.
    const u64 = (v: bigint) => ({ low: Number(v & 0xffffffffn) | 0, high: Number(v >> 32n) | 0, unsigned: true });
    const reference = (hart: number, events: TraceEvent[]) => {
      let prev = events[0]!.icount;
      const msgs = events.map((e) => {
        const icountDelta = e.icount - prev;
        prev = e.icount;
        switch (e.kind) {
          case 'acquire': return { icountDelta, acquire: { resource: e.resource, write: e.write, after: e.after } };
          case 'release': return { icountDelta, release: { resource: e.resource, seq: e.seq } };
          case 'irq': return { icountDelta, irq: { lines: e.lines } };
          case 'time': return { icountDelta, time: { value: u64(e.value) } };
          case 'input': return { icountDelta, input: { bytes: e.bytes } };
          case 'check': return { icountDelta, check: { hash: u64(e.hash) } };
          case 'trap': return { icountDelta, trap: { count: e.count } };
        }
      });
      return FullBatch.encode({ hart, baseIcount: events[0]!.icount, events: msgs }).finish();
    };
    expect(Buffer.from(encodeBatch(7, ALL_KINDS).payload)).toEqual(Buffer.from(reference(7, ALL_KINDS)));
    expect(Buffer.from(encodeBatch(0, ALL_KINDS.slice(3)).payload)).toEqual(Buffer.from(reference(0, ALL_KINDS.slice(3))));
    // Random events with values of every varint length, deltas up to 2^40.
    const r = randomEvents(12345);
    for (let round = 0; round < 20; round++) {
      const events = r.events(300, 40);
      const hart = r.big(32);
      const enc = encodeBatch(hart, events);
      expect(Buffer.from(enc.payload)).toEqual(Buffer.from(reference(hart, events)));
      expect(decodeBatch(enc.payload)).toEqual({ hart, events });
    }
  });

  it('reads its own bytes directly, and whatever else it accepts exactly as protobufjs does', () => {
    const r = randomEvents(777);
    const { rnd, big } = r;
    const payloads: Uint8Array[] = [encodeBatch(7, ALL_KINDS).payload, encodeBatch(0, ALL_KINDS.slice(2)).payload];
    for (let round = 0; round < 10; round++) payloads.push(encodeBatch(big(32), r.events(40, 30)).payload);
    for (const p of payloads) {
      expect(decodeCanonical(p)).not.toBeNull();
      expect(decodeCanonical(p)).toEqual(decodeWithProtobufjs(p));
    }
    // Damaged and re-encoded payloads: the direct reader either declines (protobufjs decides,
    // and words any error) or agrees with protobufjs exactly.
    const outcome = (f: () => unknown) => { try { return { ok: f() }; } catch (err) { return { error: (err as Error).message }; } };
    let declined = 0;
    let agreed = 0;
    for (let n = 0; n < 6000; n++) {
      const base = payloads[Math.floor(rnd() * payloads.length)]!;
      let m: Uint8Array;
      const how = Math.floor(rnd() * 4);
      if (how === 0) m = base.slice(0, Math.floor(rnd() * base.length)); // truncated
      else if (how === 1) { m = base.slice(); for (let k = 0; k < 1 + big(3); k++) m[Math.floor(rnd() * m.length)] = big(8); } // bytes changed
      else if (how === 2) { const at = Math.floor(rnd() * base.length); m = Uint8Array.from([...base.subarray(0, at), big(8), ...base.subarray(at)]); } // byte inserted
      else m = FullBatch.encode(FullBatch.decode(base)).finish(); // protobufjs's own encoding of it
      const fast = outcome(() => decodeCanonical(m));
      const slow = outcome(() => decodeWithProtobufjs(m));
      expect(fast.error).toBeUndefined(); // it declines, never throws
      // readBatch (checked whole, then built one event at a time) reads what decodeBatch reads.
      const whole = outcome(() => decodeBatch(m));
      const lazy = outcome(() => {
        const c = readBatch(m);
        const events: TraceEvent[] = [];
        for (let e = c.next(); e !== null; e = c.next()) events.push(e);
        return { summary: c.summary, decoded: { hart: c.summary.hart, events } };
      });
      if (whole.error !== undefined) expect(lazy.error).toBe(whole.error);
      else {
        const w = whole.ok as ReturnType<typeof decodeBatch>;
        const kinds = zeroKindCounts();
        for (const e of w.events) kinds[e.kind]++;
        expect(lazy.ok).toEqual({
          decoded: w,
          summary: { hart: w.hart, count: w.events.length, firstIcount: w.events[0]?.icount ?? 0, lastIcount: w.events.at(-1)?.icount ?? 0, kinds },
        });
      }
      if (fast.ok === null) declined++;
      else {
        agreed++;
        expect(slow).toEqual(fast);
      }
    }
    expect(declined).toBeGreaterThan(1000);
    expect(agreed).toBeGreaterThan(500);
  });

  it('cuts a batch when it is full and keeps icounts ordered across batches', () => {
    const batches: ReturnType<BatchEncoder['take']>[] = [];
    const enc = new BatchEncoder(3, (e) => batches.push(e.take()), 4);
    for (let i = 0; i < 10; i++) enc.irq(100 + i, i);
    expect(batches.map((b) => [b.firstIcount, b.lastIcount, b.count])).toEqual([[100, 103, 4], [104, 107, 4]]);
    expect(enc.count).toBe(2);
    expect(decodeBatch(batches[1]!.payload).events.map((e) => e.icount)).toEqual([104, 105, 106, 107]);
    expect(() => enc.irq(50, 0)).toThrow(/icount 50 after 109/);
    expect(enc.take().count).toBe(2);
    expect(() => enc.take()).toThrow(RangeError);
  });

  it('refuses values the format cannot hold', () => {
    expect(() => encodeBatch(0, [{ kind: 'time', icount: 0, value: 2n ** 64n }])).toThrow(RangeError);
    expect(() => encodeBatch(0, [{ kind: 'check', icount: 0, hash: -1n }])).toThrow(RangeError);
    expect(() => encodeBatch(0, [{ kind: 'irq', icount: 0.5, lines: 0 }])).toThrow(RangeError);
    expect(() => encodeBatch(0, [])).toThrow(RangeError);
  });
});

describe('TraceWriter + TraceReader', () => {
  it('round-trips every event kind on several harts, header, images, console and summary', () => {
    const path = tmp();
    const w = TraceWriter.create(path, header());
    w.appendEvents(0, ALL_KINDS.slice(0, 5));
    w.appendConsole(new TextEncoder().encode('OpenSBI '));
    w.appendEvents(2, [{ kind: 'irq', icount: 3, lines: 2 }]);
    w.flush();
    w.appendEvents(0, ALL_KINDS.slice(5));
    w.appendConsole(new TextEncoder().encode('v1.5\n'));
    w.appendConsole(new Uint8Array(0));
    const h1 = ALL_KINDS.map((e) => ({ ...e, icount: e.icount + 7 }));
    w.appendEvents(1, h1);
    expect(w.eventCounts()).toEqual({ acquire: 4, release: 2, irq: 5, time: 6, input: 4, check: 4, trap: 4 });
    w.finish(summary({ consoleBytes: 13, icounts: [2 ** 52, 2 ** 40 + 7, 3] }));
    // Stored bytes: the firmware image deflated (~670 of its 10,000), the events, the console.
    expect(w.bytesWritten()).toBeGreaterThan(500);
    expect(w.bytesWritten()).toBeLessThan(FIRMWARE.length);
    expect(() => w.appendEvents(0, [])).toThrow(/finished/);
    w.close();
    w.close();
    expect(existsSync(path + '-wal')).toBe(false); // self-contained after close

    const r = TraceReader.open(path);
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(r.isTruncated).toBe(false);
    expect(r.truncatedReason).toBeNull();
    expect(r.summary).toEqual({ ...summary({ consoleBytes: 13, icounts: [2 ** 52, 2 ** 40 + 7, 3] }), truncated: false });
    expect(r.header.sched).toBe('parallel');
    expect(r.header.machine).toEqual(header().machine);
    expect(r.images.map((i) => [i.role, i.path, i.loadAddress, Buffer.from(i.bytes)])).toEqual([
      ['firmware', '/fw/fw_jump.bin', 0x8000_0000, Buffer.from(FIRMWARE)],
      ['kernel', '/guests/hello.elf', 0x8020_0000, Buffer.from(KERNEL)],
    ]);
    expect([...r.events(0)]).toEqual(ALL_KINDS);
    expect([...r.events(1)]).toEqual(h1);
    expect([...r.events(2)]).toEqual([{ kind: 'irq', icount: 3, lines: 2 }]);
    expect([...r.events(3)]).toEqual([]);
    expect([...r.events(0, 11)]).toEqual(ALL_KINDS.filter((e) => e.icount >= 11));
    expect(r.eventHarts()).toEqual([0, 1, 2]);
    expect(new TextDecoder().decode(r.console())).toBe('OpenSBI v1.5\n');

    const info = r.info();
    expect(JSON.parse(JSON.stringify(info))).toEqual(info);
    expect(info.events).toBe(2 * ALL_KINDS.length + 1);
    expect(info.eventsByKind).toEqual({ acquire: 4, release: 2, irq: 5, time: 6, input: 4, check: 4, trap: 4 });
    expect(info.harts.map((h) => [h.hart, h.icount, h.events, h.batches])).toEqual([
      [0, 2 ** 52, ALL_KINDS.length, 2],
      [1, 2 ** 40 + 7, ALL_KINDS.length, 1],
      [2, 3, 1, 1],
    ]);
    expect(info.harts[2]!.eventsByKind.irq).toBe(1);
    expect(info.consoleBytes).toBe(13);
    expect(info.complete).toBe(true);
    expect(info.exitCode).toBe(0);
    expect(info.images[1]).toEqual({ role: 'kernel', path: '/guests/hello.elf', loadAddress: 0x8020_0000, size: 8, sha256: createHash('sha256').update(KERNEL).digest('hex') });
    expect(info.fileBytes).toBeGreaterThan(FIRMWARE.length);
    const text = formatTraceInfo(info);
    expect(text).toMatch(/status +complete; exit code 0 \(guest powered off\)/);
    expect(text).toMatch(/hart 1: 1099511627783 instructions, 14 events \(acquire 2, release 1, irq 2, time 3, input 2, check 2, trap 2\)/);
    expect(text).toContain('kernel: /guests/hello.elf at 0x80200000, 8 B');
    const db = new Database(path, { readonly: true });
    expect(info.eventBytes).toBe(db.prepare('SELECT SUM(length(payload)) FROM events').pluck().get());
    db.close();
    expect(info.eventBytesPerMillionInsns).toBe(Math.round((info.eventBytes / info.harts.reduce((n, h) => n + h.icount!, 0)) * 1e6));
    expect(text).toMatch(/^events +\d+ \(.*\) in [\d.]+ (B|KiB), [\d.]+ (B|KiB) per million instructions$/m);
    r.close();
  });

  it('cuts full batches at BATCH_EVENTS and continues numbering across flushes', () => {
    const path = tmp();
    const w = TraceWriter.create(path, header([]));
    const evs = (from: number, count: number): TraceEvent[] =>
      Array.from({ length: count }, (_, i) => ({ kind: 'time', icount: (from + i) * 3, value: BigInt(from + i) * 1000n }));
    w.appendEvents(0, evs(0, BATCH_EVENTS * 2 + 5));
    w.flush();
    w.appendEvents(0, evs(BATCH_EVENTS * 2 + 5, 10));
    w.close(); // without finish
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT batch, count, first_icount, last_icount FROM events ORDER BY batch').raw().all()).toEqual([
      [0, BATCH_EVENTS, 0, (BATCH_EVENTS - 1) * 3],
      [1, BATCH_EVENTS, BATCH_EVENTS * 3, (2 * BATCH_EVENTS - 1) * 3],
      [2, 5, 2 * BATCH_EVENTS * 3, (2 * BATCH_EVENTS + 4) * 3],
      [3, 10, (2 * BATCH_EVENTS + 5) * 3, (2 * BATCH_EVENTS + 14) * 3],
    ]);
    db.close();
    const r = TraceReader.open(path);
    expect([...r.events(0)]).toEqual(evs(0, BATCH_EVENTS * 2 + 15));
    expect(r.summary).toBeNull();
    expect(r.isTruncated).toBe(true);
    expect(r.truncatedReason).toBe('recording did not finish');
    r.close();
  });

  it('stores an image once however often it is used', () => {
    const path = tmp();
    const w = TraceWriter.create(path, header([
      { role: 'kernel', path: 'a.elf', loadAddress: 0x8020_0000, bytes: KERNEL },
      { role: 'disk', path: null, loadAddress: 0, bytes: FIRMWARE },
      { role: 'kernel-copy', path: 'b.elf', loadAddress: 0x9000_0000, bytes: KERNEL.slice() },
    ]));
    w.finish(summary());
    w.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT COUNT(*) FROM images').pluck().get()).toBe(2);
    expect(db.prepare('SELECT COUNT(*) FROM image_refs').pluck().get()).toBe(3);
    db.close();
    const r = TraceReader.open(path);
    expect(r.images.map((i) => [i.role, i.path, i.loadAddress, i.bytes.length])).toEqual([
      ['kernel', 'a.elf', 0x8020_0000, 8],
      ['disk', null, 0, 10_000],
      ['kernel-copy', 'b.elf', 0x9000_0000, 8],
    ]);
    expect(Buffer.from(r.images[2]!.bytes)).toEqual(Buffer.from(KERNEL));
    r.close();
  });

  it('stores compressible images deflated and gives back their exact bytes; damaged compressed bytes are refused', () => {
    const path = tmp();
    const random = new Uint8Array(4096).map(() => Math.floor(Math.random() * 256));
    const w = TraceWriter.create(path, header([
      { role: 'firmware', path: null, loadAddress: 0x8000_0000, bytes: FIRMWARE },
      { role: 'kernel', path: null, loadAddress: 0x8020_0000, bytes: random },
    ]));
    w.finish(summary());
    w.close();
    const db = new Database(path);
    const rows = db.prepare('SELECT size, length(bytes) AS stored, encoding FROM images ORDER BY size DESC').all() as { size: number; stored: number; encoding: string }[];
    // The periodic firmware shrinks; random bytes do not, and stay as they are.
    expect(rows[0]).toMatchObject({ size: 10_000, encoding: 'deflate' });
    expect(rows[0]!.stored).toBeLessThan(1_000);
    expect(rows[1]).toEqual({ size: 4096, stored: 4096, encoding: 'raw' });
    db.close();
    const r = TraceReader.open(path);
    expect(Buffer.from(r.images[0]!.bytes)).toEqual(Buffer.from(FIRMWARE));
    expect(Buffer.from(r.images[1]!.bytes)).toEqual(Buffer.from(random));
    r.close();
    for (const [damage, why] of [
      [(b: Buffer) => b.subarray(0, b.length >> 1), /image 'firmware' (cannot be decompressed|does not match its checksum)/],
      [(b: Buffer) => { const c = Buffer.from(b); c[c.length >> 1] ^= 0xff; return c; }, /image 'firmware' (cannot be decompressed|does not match its checksum)/],
    ] as const) {
      const copy = tmp();
      copyFileSync(path, copy);
      const d = new Database(copy);
      const row = d.prepare("SELECT sha256, bytes FROM images WHERE encoding = 'deflate'").get() as { sha256: string; bytes: Buffer };
      d.prepare('UPDATE images SET bytes = ? WHERE sha256 = ?').run(damage(row.bytes), row.sha256);
      d.close();
      expect(() => TraceReader.open(copy)).toThrow(why);
    }
    const copy = tmp();
    copyFileSync(path, copy);
    const d = new Database(copy);
    d.prepare("UPDATE images SET encoding = 'zstd' WHERE encoding = 'deflate'").run();
    d.close();
    expect(() => TraceReader.open(copy)).toThrow(/image 'firmware' has an unknown encoding 'zstd'/);
  });

  it('keeps everything up to the last flush of a recording that crashed', () => {
    const path = tmp();
    const w = TraceWriter.create(path, header());
    w.appendEvents(0, ALL_KINDS);
    w.appendConsole(new TextEncoder().encode('boot\n'));
    w.flush();
    w.appendEvents(0, [{ kind: 'irq', icount: 2 ** 52 + 1, lines: 1 }]); // never flushed
    w.appendConsole(new TextEncoder().encode('lost'));

    // What a killed recorder leaves behind: the file and its write-ahead log.
    const crashed = tmp('crashed');
    copyFileSync(path, crashed);
    copyFileSync(path + '-wal', crashed + '-wal');

    for (const p of [path /* the writer still has it open */, crashed]) {
      const r = TraceReader.open(p);
      expect(r.summary).toBeNull();
      expect(r.isTruncated).toBe(true);
      expect(r.truncatedReason).toBe('recording did not finish');
      expect([...r.events(0)]).toEqual(ALL_KINDS);
      expect(new TextDecoder().decode(r.console())).toBe('boot\n');
      const info = r.info();
      expect(info.truncated).toBe(true);
      expect(info.complete).toBe(false);
      expect(info.harts[0]!.icount).toBeNull();
      expect(info.harts[0]!.lastEventIcount).toBe(2 ** 52);
      expect(formatTraceInfo(info)).toMatch(/TRUNCATED \(recording did not finish\)/);
      r.close();
    }
    w.close();
  });

  it('records why a trace is truncated', () => {
    const path = tmp();
    const w = TraceWriter.create(path, header());
    w.appendEvents(1, ALL_KINDS.slice(0, 4));
    w.markTruncated('interrupted by SIGINT', summary({ exitCode: 130, stopReason: 'interrupted' }));
    expect(() => w.flush()).toThrow();
    w.close();
    const r = TraceReader.open(path);
    expect(r.isTruncated).toBe(true);
    expect(r.truncatedReason).toBe('interrupted by SIGINT');
    expect(r.summary?.exitCode).toBe(130);
    expect([...r.events(1)]).toEqual(ALL_KINDS.slice(0, 4));
    expect(r.info().truncatedReason).toBe('interrupted by SIGINT');
    r.close();
  });

  it('replaces an existing file and leaves traces it reads untouched', () => {
    const path = tmp();
    writeFileSync(path, 'old junk');
    writeFileSync(path + '-wal', 'stale wal');
    const w = TraceWriter.create(path, header());
    w.appendEvents(0, ALL_KINDS);
    w.finish(summary());
    w.close();
    const before = fileHash(path);
    const r = TraceReader.open(path);
    [...r.events(0)];
    r.console();
    r.info();
    r.close();
    expect(fileHash(path)).toBe(before);
    expect(existsSync(path + '-wal')).toBe(false);
  });

  it('refuses events that go back in time', () => {
    const w = TraceWriter.create(tmp(), header());
    w.appendEvents(0, [{ kind: 'irq', icount: 10, lines: 1 }]);
    expect(() => w.appendEvents(0, [{ kind: 'irq', icount: 9, lines: 1 }])).toThrow(RangeError);
    w.appendEvents(1, [{ kind: 'irq', icount: 9, lines: 1 }]); // other harts are independent
    w.close();
  });

  it('reports a path it cannot create as a TraceError', () => {
    expectTraceError(() => TraceWriter.create(join(dir, 'no', 'such', 'dir.db'), header()), /^cannot create trace .*dir\.db: /);
  });
});

describe('TraceReader rejects unusable files with one clear sentence', () => {
  it('missing file', () => {
    expectTraceError(() => TraceReader.open(join(dir, 'nope.db')), /^trace .*nope\.db does not exist$/);
  });

  it('empty file', () => {
    const path = tmp();
    writeFileSync(path, '');
    expectTraceError(() => TraceReader.open(path), /^trace .* is empty$/);
  });

  it('not an SQLite database', () => {
    const path = tmp();
    writeFileSync(path, 'this is a text file, not a trace\n'.repeat(10));
    expectTraceError(() => TraceReader.open(path), /^.* is not a hindsight trace \(not an SQLite database\)$/);
  });

  it('an SQLite database that is not a trace', () => {
    const path = tmp();
    const db = new Database(path);
    db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    db.close();
    expectTraceError(() => TraceReader.open(path), /is not a hindsight trace \(an SQLite database without hindsight metadata\)$/);
    const db2 = new Database(path);
    db2.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)');
    db2.close();
    expectTraceError(() => TraceReader.open(path), /is not a hindsight trace/);
  });

  /** Rewrites a current trace's event batches the way schema versions 1 and 2 stored them (plain protobuf, no encoding column). */
  /** Undoes migration 4: images as they are, no encoding column. */
  /** Version 4 had no trap events (smallTrace writes none) and so no n_trap column. */
  function storeEventsAsVersion4(db: Database.Database): void {
    expect((db.prepare('SELECT SUM(n_trap) AS n FROM events').get() as { n: number }).n).toBe(0);
    db.exec('ALTER TABLE events DROP COLUMN n_trap');
  }

  function storeImagesAsVersion3(db: Database.Database): void {
    const rows = db.prepare('SELECT sha256, bytes, encoding FROM images').all() as { sha256: string; bytes: Buffer; encoding: string }[];
    db.exec('ALTER TABLE images DROP COLUMN encoding');
    const update = db.prepare('UPDATE images SET bytes = ? WHERE sha256 = ?');
    for (const r of rows) if (r.encoding === 'deflate') update.run(inflateRawSync(r.bytes), r.sha256);
  }

  function storeEventsAsVersion2(db: Database.Database): void {
    const rows = db.prepare('SELECT hart, batch, payload, encoding FROM events').all() as { hart: number; batch: number; payload: Buffer; encoding: string }[];
    expect(rows.length).toBeGreaterThan(0);
    db.exec('ALTER TABLE events DROP COLUMN encoding');
    const update = db.prepare('UPDATE events SET payload = ?, checksum = ? WHERE hart = ? AND batch = ?');
    for (const r of rows) {
      expect(r.encoding).toBe('deflate');
      const plain = inflateRawSync(r.payload);
      update.run(plain, createHash('sha256').update(plain).digest('hex'), r.hart, r.batch);
    }
  }

  it('a version 1 trace (before console positions) is read through the migrations, file untouched', () => {
    const path = smallTrace();
    const expected = readAll(path);
    const db = new Database(path);
    storeEventsAsVersion4(db);
    storeImagesAsVersion3(db);
    storeEventsAsVersion2(db);
    db.exec('DROP TABLE console_positions');
    db.prepare("UPDATE meta SET value = '1' WHERE key = 'schema_version'").run();
    db.close();
    const before = fileHash(path);
    const r = TraceReader.open(path);
    expect(r.consolePositions()).toEqual([]);
    expect([...r.events(0)]).toEqual(expected);
    r.close();
    expect(fileHash(path)).toBe(before);
  });

  it('a version 2 trace (uncompressed event batches) reads the same events as the compressed one', () => {
    const path = smallTrace();
    const expected = readAll(path);
    const db = new Database(path);
    storeEventsAsVersion4(db);
    storeImagesAsVersion3(db);
    storeEventsAsVersion2(db);
    db.prepare("UPDATE meta SET value = '2' WHERE key = 'schema_version'").run();
    db.close();
    const r = TraceReader.open(path);
    expect([...r.events(0)]).toEqual(expected);
    r.close();
  });

  it('a version 4 trace (no trap events) reads the same events', () => {
    const path = smallTrace();
    const expected = readAll(path);
    const db = new Database(path);
    storeEventsAsVersion4(db);
    db.prepare("UPDATE meta SET value = '4' WHERE key = 'schema_version'").run();
    db.close();
    const r = TraceReader.open(path);
    expect([...r.events(0)]).toEqual(expected);
    expect(r.info().eventsByKind.trap).toBe(0);
    r.close();
  });

  it('a version 3 trace (images stored as they are) reads the same images and events', () => {
    const path = smallTrace();
    const expected = readAll(path);
    const images = TraceReader.open(path);
    const bytes = images.images.map((i) => Buffer.from(i.bytes));
    images.close();
    const db = new Database(path);
    storeEventsAsVersion4(db);
    storeImagesAsVersion3(db);
    db.prepare("UPDATE meta SET value = '3' WHERE key = 'schema_version'").run();
    db.close();
    const r = TraceReader.open(path);
    expect(r.images.map((i) => Buffer.from(i.bytes))).toEqual(bytes);
    expect([...r.events(0)]).toEqual(expected);
    r.close();
  });

  it('event batches are stored compressed, and a batch that does not inflate or has an unknown encoding is damage', () => {
    const path = smallTrace();
    const db = new Database(path);
    const row = db.prepare('SELECT hart, batch, payload, encoding FROM events ORDER BY batch LIMIT 1').get() as { hart: number; batch: number; payload: Buffer; encoding: string };
    expect(row.encoding).toBe('deflate');
    db.close();
    const garbled = join(dir, 'garbled.trace');
    copyFileSync(path, garbled);
    const g = new Database(garbled);
    const junk = Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0xfb]);
    g.prepare('UPDATE events SET payload = ?, checksum = ? WHERE hart = ? AND batch = ?').run(junk, createHash('sha256').update(junk).digest('hex'), row.hart, row.batch);
    g.close();
    expectTraceError(() => [...TraceReader.open(garbled).events(row.hart)], /cannot be decompressed/);
    const odd = join(dir, 'odd-encoding.trace');
    copyFileSync(path, odd);
    const o = new Database(odd);
    o.prepare("UPDATE events SET encoding = 'zstd' WHERE hart = ? AND batch = ?").run(row.hart, row.batch);
    o.close();
    expectTraceError(() => [...TraceReader.open(odd).events(row.hart)], /unknown encoding 'zstd'/);
  });

  it('console positions round-trip in output order', () => {
    const path = tmp();
    const w = TraceWriter.create(path, header());
    w.appendConsole(new TextEncoder().encode('hello world'));
    w.appendConsolePositions([{ offset: 6, hart: 1, icount: 900, count: 5 }, { offset: 0, hart: 0, icount: 120, count: 6 }]);
    w.finish(summary());
    w.close();
    const r = TraceReader.open(path);
    expect(r.consolePositions()).toEqual([{ offset: 0, hart: 0, icount: 120, count: 6 }, { offset: 6, hart: 1, icount: 900, count: 5 }]);
    r.close();
  });

  it('a trace of a newer schema version', () => {
    const path = smallTrace();
    const db = new Database(path);
    // What a future hindsight does: apply a migration this one does not know.
    expect(migrate(db, SCHEMA_VERSION, [{ to: SCHEMA_VERSION + 1, description: 'test', apply: (d) => d.exec('ALTER TABLE console ADD COLUMN t INTEGER') }])).toBe(SCHEMA_VERSION + 1);
    db.close();
    expectTraceError(
      () => TraceReader.open(path),
      new RegExp(`^trace .* was written by a newer hindsight \\(schema version ${SCHEMA_VERSION + 1}, this one reads up to ${SCHEMA_VERSION}\\)$`),
    );
  });

  it('a missing table', () => {
    const path = smallTrace();
    const db = new Database(path);
    db.exec('DROP TABLE console');
    db.close();
    expectTraceError(() => TraceReader.open(path), /^trace .* is damaged: table 'console' is missing$/);
  });

  it('a header that does not parse', () => {
    const path = smallTrace();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = '{\"toolVersion\": ' WHERE key = 'header'").run();
    db.close();
    expectTraceError(() => TraceReader.open(path), /^trace .* is damaged: its header is not valid JSON$/);
  });

  it('tampered image bytes', () => {
    const path = smallTrace();
    const db = new Database(path);
    const sha = createHash('sha256').update(KERNEL).digest('hex');
    const bytes = Buffer.from(KERNEL);
    bytes[3] ^= 0x40;
    db.prepare('UPDATE images SET bytes = ? WHERE sha256 = ?').run(bytes, sha);
    db.close();
    expectTraceError(() => TraceReader.open(path), /^trace .* is damaged: image 'kernel' does not match its checksum$/);
  });

  it('a corrupted event payload', () => {
    const path = smallTrace();
    const db = new Database(path);
    const payload = db.prepare('SELECT payload FROM events WHERE hart = 0 AND batch = 0').pluck().get() as Buffer;
    const flipped = Buffer.from(payload);
    for (let i = 5; i < flipped.length; i += 17) flipped[i] ^= 0xff;
    db.prepare('UPDATE events SET payload = ? WHERE hart = 0 AND batch = 0').run(flipped);
    db.close();
    const r = TraceReader.open(path); // event batches are checked when read
    expect([...r.events(1)]).toEqual(ALL_KINDS.slice(0, 3));
    expectTraceError(() => [...r.events(0)], /^trace .* is damaged: event batch 0 of hart 0 does not match its checksum$/);
    r.close();

    // Even with a matching checksum (a bug or a deliberate edit), the contents are checked.
    const db2 = new Database(path);
    db2.prepare('UPDATE events SET checksum = ? WHERE hart = 0 AND batch = 0').run(createHash('sha256').update(flipped).digest('hex'));
    db2.close();
    const r2 = TraceReader.open(path);
    expectTraceError(() => [...r2.events(0)], /^trace .* is damaged: event batch 0 of hart 0 /);
    r2.close();
  });

  it('event rows that disagree with their payload', () => {
    const path = smallTrace();
    const db = new Database(path);
    db.prepare('UPDATE events SET count = count + 1 WHERE hart = 0').run();
    db.prepare('UPDATE events SET last_icount = 3 WHERE hart = 1').run();
    db.close();
    const r = TraceReader.open(path);
    expectTraceError(() => [...r.events(0)], /^trace .* is damaged: event batch 0 of hart 0 holds 12 events, but its row says 13$/);
    expectTraceError(() => [...r.events(1)], /^trace .* is damaged: event batch 0 of hart 1 spans icounts 0\.\.5, but its row says 0\.\.3$/);
    r.close();
  });
});

describe('TraceWriter volume', () => {
  // The rate is printed for information only: a timed assertion fails on a loaded machine.
  it('writes and reads back 1M small events', () => {
    const N = 1_000_000;
    const harts = 4;
    const evs: TraceEvent[][] = Array.from({ length: harts }, () => []);
    for (let i = 0; i < N; i++) {
      const h = i % harts;
      const icount = i * 13;
      const k = (i >> 2) % 8;
      evs[h]!.push(
        k < 3 ? { kind: 'acquire', icount, resource: i & 0x7fff, write: (i & 8) !== 0, after: k === 0 ? [{ hart: (h + 1) % harts, seq: i >> 3 }] : [] }
        : k < 6 ? { kind: 'release', icount, resource: i & 0x7fff, seq: i >> 3 }
        : k === 6 ? { kind: 'time', icount, value: 10_000_000n + BigInt(i) * 37n }
        : { kind: 'irq', icount, lines: 0x80 },
      );
    }
    const path = tmp('speed');
    const t0 = performance.now();
    const w = TraceWriter.create(path, header([]));
    // The recorder hands over events in small chunks and flushes every ~100 ms.
    const CHUNK = 256;
    for (let at = 0; at < N / harts; at += CHUNK) {
      for (let h = 0; h < harts; h++) w.appendEvents(h, evs[h]!.slice(at, at + CHUNK));
      if ((at / CHUNK) % 100 === 99) w.flush();
    }
    w.finish(summary());
    w.close();
    const seconds = (performance.now() - t0) / 1000;
    const r = TraceReader.open(path);
    const info = r.info();
    const t1 = performance.now();
    let read = 0;
    for (let h = 0; h < harts; h++) for (const _ of r.events(h)) read++;
    const readSeconds = (performance.now() - t1) / 1000;
    r.close();
    expect(info.events).toBe(N);
    expect(read).toBe(N);
    const payload = w.bytesWritten();
    console.log(
      `trace writer: ${(N / seconds / 1e6).toFixed(2)} M events/s (${seconds.toFixed(2)} s), ` +
        `${(payload / N).toFixed(2)} payload bytes/event, ${(info.fileBytes / N).toFixed(2)} file bytes/event; ` +
        `reader: ${(N / readSeconds / 1e6).toFixed(2)} M events/s`,
    );
  });
});
