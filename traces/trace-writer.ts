/**
 * Writes a trace file (format: traces/README.md). Events and console output are buffered in
 * memory and written by flush(), in one transaction each, so a recording that is interrupted
 * leaves a valid trace holding everything up to its last flush.
 */
import { deflateRawSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { statSync, unlinkSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDatabase } from './sqlite.js';
import { EVENT_KINDS, type TraceEvent, type TraceEventKind } from './events.js';
import { BatchEncoder, zeroKindCounts, type EncodedBatch, type KindCounts } from './event-codec.js';
import { createSchema, META } from './schema.js';
import { TraceError } from './trace-error.js';
import { deflatedImage } from './image-cache.js';
import type { ConsolePosition, TraceHeader, TraceSummary } from './types.js';

export type { ConsolePosition, TraceHeader, TraceImage, TraceSummary } from './types.js';

/** Events per batch (one `events` row) when the writer cuts a full batch; flush() may cut shorter ones. */
export const BATCH_EVENTS = 4096;

/** The reason a trace carries until finish() or markTruncated() replaces it. */
export const UNFINISHED_REASON = 'recording did not finish';

interface HartStream {
  enc: BatchEncoder;
  nextBatch: number;
}

interface ReadyBatch {
  hart: number;
  batch: number;
  enc: EncodedBatch;
}

/** unlink, quiet when there is nothing (rmSync with `force` costs ~0.5 ms a path: it goes through its rimraf). */
function removeIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class TraceWriter {
  private readonly harts = new Map<number, HartStream>();
  private ready: ReadyBatch[] = [];
  private consoleChunks: Uint8Array[] = [];
  private positions: ConsolePosition[] = [];
  private consoleSeq = 0;
  /** Events of the batches encoded so far, by kind (eventCounts() adds the pending ones). */
  private readonly counts: KindCounts = zeroKindCounts();
  private written = 0;
  private state: 'open' | 'ended' | 'closed' = 'open';
  private readonly insertBatch: Database.Statement;
  private readonly insertConsole: Database.Statement;
  private readonly insertPosition: Database.Statement;
  private readonly setMeta: Database.Statement;
  private readonly deleteMeta: Database.Statement;

  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.insertBatch = db.prepare(
      `INSERT INTO events (hart, batch, first_icount, last_icount, count,
         n_acquire, n_release, n_irq, n_time, n_input, n_check, n_trap, checksum, payload, encoding)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'deflate')`,
    );
    this.insertConsole = db.prepare('INSERT INTO console (seq, bytes) VALUES (?, ?)');
    this.insertPosition = db.prepare('INSERT INTO console_positions (byte_offset, hart, icount, count) VALUES (?, ?, ?, ?)');
    this.setMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.deleteMeta = db.prepare('DELETE FROM meta WHERE key = ?');
  }

  /**
   * Creates a trace at `path`, replacing any file there (and its -wal/-shm companions), and
   * stores the header and the images. Throws TraceError if the file cannot be created.
   */
  static create(path: string, header: TraceHeader): TraceWriter {
    let headerJson: string;
    const refs = header.images.map((img) => ({ ...img, sha256: sha256Hex(img.bytes) }));
    try {
      headerJson = JSON.stringify({
        toolVersion: header.toolVersion,
        sched: header.sched,
        machine: header.machine,
        images: refs.map((r) => ({ role: r.role, path: r.path, loadAddress: r.loadAddress, sha256: r.sha256, size: r.bytes.length })),
      });
    } catch (err) {
      throw new TypeError(`trace header is not JSON-serialisable: ${(err as Error).message}`);
    }
    let db: Database.Database | undefined;
    try {
      for (const suffix of ['', '-wal', '-shm', '-journal']) removeIfPresent(path + suffix);
      db = openDatabase(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      createSchema(db);
      const writer = new TraceWriter(path, db);
      const putImage = db.prepare('INSERT OR IGNORE INTO images (sha256, size, bytes, encoding) VALUES (?, ?, ?, ?)');
      const putRef = db.prepare('INSERT INTO image_refs (idx, role, path, load_address, sha256) VALUES (?, ?, ?, ?, ?)');
      db.transaction(() => {
        writer.setMeta.run(META.toolVersion, header.toolVersion);
        writer.setMeta.run(META.createdAt, new Date().toISOString());
        writer.setMeta.run(META.header, headerJson);
        writer.setMeta.run(META.truncated, '1');
        writer.setMeta.run(META.truncatedReason, UNFINISHED_REASON);
        const stored = new Set<string>();
        refs.forEach((r, idx) => {
          // Each distinct image once, compressed when that is smaller: the test kernel's Image
          // 2.19 -> 1.00 MB, most of a Linux boot's trace (its events take ~33 KB).
          if (!stored.has(r.sha256)) {
            stored.add(r.sha256);
            const deflated = deflatedImage(r.bytes, r.sha256);
            const [bytes, encoding] = deflated.length < r.bytes.length ? [deflated, 'deflate'] : [r.bytes, 'raw'];
            putImage.run(r.sha256, r.bytes.length, bytes, encoding);
            writer.written += bytes.length;
          }
          putRef.run(idx, r.role, r.path, r.loadAddress, r.sha256);
        });
      })();
      return writer;
    } catch (err) {
      db?.close();
      if (err instanceof TraceError) throw err;
      throw new TraceError(`cannot create trace ${path}: ${(err as Error).message}`);
    }
  }

  /**
   * Buffers events of one hart (in stream order, icounts non-decreasing across calls), encoded at
   * once. Throws RangeError on a value the format cannot hold or a decreasing icount.
   */
  appendEvents(hart: number, events: readonly TraceEvent[]): void {
    const enc = this.hartEvents(hart);
    for (let i = 0; i < events.length; i++) enc.event(events[i]!);
  }

  /**
   * The encoder that buffers one hart's events (the recorder drains its event rings straight into
   * it); a batch is cut whenever it holds BATCH_EVENTS events. Valid until the writer closes.
   */
  hartEvents(hart: number): BatchEncoder {
    this.checkOpen();
    let s = this.harts.get(hart);
    if (s === undefined) {
      if (!Number.isInteger(hart) || hart < 0 || hart > 0xffffffff) throw new RangeError(`bad hart number ${hart}`);
      const stream: HartStream = { enc: new BatchEncoder(hart, () => this.cut(hart, stream), BATCH_EVENTS), nextBatch: 0 };
      s = stream;
      this.harts.set(hart, s);
    }
    return s.enc;
  }

  /** Buffers console (UART) output bytes. The bytes are copied. */
  appendConsole(bytes: Uint8Array): void {
    this.checkOpen();
    if (bytes.length > 0) this.consoleChunks.push(Uint8Array.prototype.slice.call(bytes));
  }

  /** Buffers where runs of console output came from (written with the next flush). */
  appendConsolePositions(runs: readonly ConsolePosition[]): void {
    this.checkOpen();
    this.positions.push(...runs);
  }

  /** Writes everything buffered (events, console) in one transaction. */
  flush(): void {
    this.checkOpen();
    this.commit(() => {});
  }

  /** Flushes, stores the summary and marks the trace complete. The writer accepts no more data. */
  finish(summary: TraceSummary): void {
    this.checkOpen();
    const s: TraceSummary = { ...summary, truncated: false };
    delete s.truncatedReason;
    this.commit(() => {
      this.setMeta.run(META.summary, JSON.stringify(s));
      this.setMeta.run(META.truncated, '0');
      this.deleteMeta.run(META.truncatedReason);
    });
    this.state = 'ended';
  }

  /**
   * Flushes what there is and stores the summary, marking the trace truncated for `reason`
   * (e.g. "interrupted by SIGINT"). The writer accepts no more data.
   */
  markTruncated(reason: string, summary: TraceSummary): void {
    this.checkOpen();
    const s: TraceSummary = { ...summary, truncated: true, truncatedReason: reason };
    this.commit(() => {
      this.setMeta.run(META.summary, JSON.stringify(s));
      this.setMeta.run(META.truncated, '1');
      this.setMeta.run(META.truncatedReason, reason);
    });
    this.state = 'ended';
  }

  /**
   * Flushes anything still buffered (a trace closed without finish() reads as truncated,
   * "recording did not finish"), folds the write-ahead log back into the file so the trace is a
   * single self-contained file, and closes it. Idempotent.
   */
  close(): void {
    if (this.state === 'closed') return;
    try {
      if (this.state === 'open') this.commit(() => {});
      try {
        this.db.pragma('journal_mode = DELETE');
      } catch {
        // Another connection (a reader) still has the file open: it stays in WAL mode, which is valid too.
      }
    } finally {
      this.state = 'closed';
      this.db.close();
    }
  }

  /** Bytes of event payloads, console output and (distinct) images written to the file so far. */
  bytesWritten(): number {
    return this.written;
  }

  /** Size of the file on disk now (including its write-ahead log). */
  fileBytes(): number {
    let n = 0;
    for (const suffix of ['', '-wal']) {
      try {
        n += statSync(this.path + suffix).size;
      } catch {
        // absent
      }
    }
    return n;
  }

  /** Events appended so far (buffered or written), by kind. */
  eventCounts(): Record<TraceEventKind, number> {
    const counts = { ...this.counts };
    for (const s of this.harts.values()) {
      const pending = s.enc.pendingKinds();
      for (const k of EVENT_KINDS) counts[k] += pending[k];
    }
    return counts;
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new Error(`trace writer for ${this.path} is ${this.state === 'ended' ? 'finished' : 'closed'}`);
  }

  private cut(hart: number, s: HartStream): void {
    const enc = s.enc.take();
    for (const k of EVENT_KINDS) this.counts[k] += enc.kinds[k];
    this.ready.push({ hart, batch: s.nextBatch++, enc });
  }

  private commit(extra: () => void): void {
    for (const [hart, s] of this.harts) if (s.enc.count > 0) this.cut(hart, s);
    const ready = this.ready;
    const chunks = this.consoleChunks;
    const positions = this.positions;
    this.ready = [];
    this.consoleChunks = [];
    this.positions = [];
    let bytes = 0;
    try {
      this.db.transaction(() => {
        for (const { hart, batch, enc } of ready) {
          const k = enc.kinds;
          // Event batches compress about 5x (icount deltas and repeated clock reads). Level 1: the
          // main thread competes with the harts for host cores, and level 6 cost it twice the CPU
          // for 10% less (smp_sb_litmus, 640k events: record 3.76-3.90 -> 3.45-3.64 s, trace
          // 2.62 -> 2.88 MB).
          const stored = deflateRawSync(enc.payload, { level: 1 });
          this.insertBatch.run(hart, batch, enc.firstIcount, enc.lastIcount, enc.count,
            k.acquire, k.release, k.irq, k.time, k.input, k.check, k.trap, sha256Hex(stored), stored);
          bytes += stored.length;
        }
        if (chunks.length > 0) {
          const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          this.insertConsole.run(this.consoleSeq, all);
          bytes += all.length;
        }
        for (const p of positions) this.insertPosition.run(p.offset, p.hart, p.icount, p.count);
        extra();
      })();
    } catch (err) {
      // Nothing was written: keep the data so that a later flush can retry.
      this.ready = ready.concat(this.ready);
      this.consoleChunks = chunks.concat(this.consoleChunks);
      this.positions = positions.concat(this.positions);
      throw new TraceError(`cannot write trace ${this.path}: ${(err as Error).message}`);
    }
    if (chunks.length > 0) this.consoleSeq++;
    this.written += bytes;
  }
}
