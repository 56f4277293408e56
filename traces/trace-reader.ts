/**
 * Reads and validates a trace file (format: traces/README.md). Opening checks everything that
 * is cheap to check (it is an SQLite database, a hindsight trace of a version this hindsight
 * reads, with its tables, a header that parses and images matching their checksums); event
 * batches are checked as they are read. Any problem is a TraceError with one clear sentence.
 * The file is opened read-only and never modified.
 */
import { inflateRawSync } from 'node:zlib';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { openDatabase } from './sqlite.js';
import { EVENT_KINDS, type TraceEvent, type TraceEventKind } from './events.js';
import { readBatch, zeroKindCounts, type BatchCursor } from './event-codec.js';
import { META, MIGRATIONS, OLDEST_READABLE_VERSION, REQUIRED_TABLES, SCHEMA_VERSION, migrate } from './schema.js';
import { TraceError } from './trace-error.js';
import { UNFINISHED_REASON, sha256Hex } from './trace-writer.js';
import type { ConsolePosition, TraceHeader, TraceImage, TraceSummary } from './types.js';

export type { TraceHeader, TraceImage, TraceSummary } from './types.js';

/** What `hindsight trace info` shows; JSON-serialisable as is (no bigints). */
export interface TraceInfo {
  path: string;
  /** Size on disk, including a write-ahead log left by an interrupted recording. */
  fileBytes: number;
  schemaVersion: number;
  toolVersion: string;
  createdAt: string | null;
  sched: 'parallel' | 'serial';
  machine: Record<string, unknown>;
  images: { role: string; path: string | null; loadAddress: number; size: number; sha256: string }[];
  /** Every hart that has events or a final icount, by hart number. */
  harts: {
    hart: number;
    /** Retired instructions at the end (from the summary; null if the recording did not finish). */
    icount: number | null;
    /** icount of the hart's last recorded event (null without events). */
    lastEventIcount: number | null;
    events: number;
    batches: number;
    eventsByKind: Record<TraceEventKind, number>;
  }[];
  events: number;
  eventsByKind: Record<TraceEventKind, number>;
  /** Bytes of the stored event batches (compressed in version 3 traces). */
  eventBytes: number;
  /** Instructions retired by all harts (each hart's final icount, or its last event's without a summary). */
  instructions: number;
  /** eventBytes per million instructions retired by all harts (null without instruction counts). */
  eventBytesPerMillionInsns: number | null;
  consoleBytes: number;
  /** Whether finish() stored a summary (false for truncated traces). */
  complete: boolean;
  truncated: boolean;
  truncatedReason: string | null;
  exitCode: number | null;
  stopReason: string | null;
  wallSeconds: number | null;
  finalStateHashes: string[] | null;
}

interface ImageRow {
  role: string;
  path: string | null;
  load_address: number;
  sha256: string;
  size: number | null;
  bytes: Uint8Array | null;
  encoding: string | null;
}

interface BatchRow {
  batch: number;
  first_icount: number;
  last_icount: number;
  count: number;
  n_acquire: number;
  n_release: number;
  n_irq: number;
  n_time: number;
  n_input: number;
  n_check: number;
  n_trap: number;
  checksum: string;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class TraceReader {
  readonly header: TraceHeader;
  /** The summary stored by finish() or markTruncated(); null if the recording never ended properly. */
  readonly summary: TraceSummary | null;
  readonly isTruncated: boolean;
  /** Why the trace is truncated, or null if it is complete. */
  readonly truncatedReason: string | null;
  /** The images, in header order, their bytes verified against their checksums. */
  readonly images: TraceImage[];
  readonly schemaVersion: number;
  readonly toolVersion: string;
  readonly createdAt: string | null;
  private readonly imageHashes: string[];
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly db: Database.Database,
    schemaVersion: number,
  ) {
    this.schemaVersion = schemaVersion;
    const meta = new Map<string, string>();
    for (const row of db.prepare('SELECT key, value FROM meta').all() as { key: string; value: unknown }[]) {
      meta.set(row.key, String(row.value));
    }
    this.toolVersion = meta.get(META.toolVersion) ?? 'unknown';
    this.createdAt = meta.get(META.createdAt) ?? null;
    const h = this.parseHeader(meta.get(META.header));
    this.summary = this.parseSummary(meta.get(META.summary));

    const rows = db
      .prepare(
        `SELECT r.role, r.path, r.load_address, r.sha256, i.size, i.bytes, i.encoding
           FROM image_refs r LEFT JOIN images i ON i.sha256 = r.sha256 ORDER BY r.idx`,
      )
      .all() as ImageRow[];
    const verified = new Map<string, Uint8Array>();
    this.images = rows.map((r) => {
      if (r.bytes === null) this.damaged(`image '${r.role}' is missing`);
      let bytes = verified.get(r.sha256);
      if (bytes === undefined) {
        bytes = this.imageBytes(r.role, r.bytes, r.encoding);
        if (sha256Hex(bytes) !== r.sha256 || bytes.length !== r.size) this.damaged(`image '${r.role}' does not match its checksum`);
        verified.set(r.sha256, bytes);
      }
      return { role: r.role, path: r.path, loadAddress: Number(r.load_address), bytes };
    });
    this.imageHashes = rows.map((r) => r.sha256);
    this.header = { toolVersion: h.toolVersion, sched: h.sched, machine: h.machine, images: this.images };

    if (this.summary === null) {
      this.isTruncated = true;
      this.truncatedReason = UNFINISHED_REASON;
    } else {
      this.isTruncated = this.summary.truncated === true;
      this.truncatedReason = this.isTruncated ? (this.summary.truncatedReason ?? meta.get(META.truncatedReason) ?? 'unknown reason') : null;
    }
  }

  /** Opens and validates the trace at `path`. Throws TraceError (exit code 2) if it is unusable. */
  static open(path: string): TraceReader {
    let st;
    try {
      st = statSync(path);
    } catch {
      throw new TraceError(`trace ${path} does not exist`);
    }
    if (st.isDirectory()) throw new TraceError(`trace ${path} is a directory, not a trace file`);
    if (st.size === 0) throw new TraceError(`trace ${path} is empty`);
    if (!hasSqliteMagic(path)) throw new TraceError(`${path} is not a hindsight trace (not an SQLite database)`);

    let db: Database.Database;
    try {
      db = openDatabase(path, { readonly: true, fileMustExist: true });
    } catch (err) {
      throw new TraceError(`cannot open trace ${path}: ${(err as Error).message}`);
    }
    try {
      const version = readSchemaVersion(db, path);
      if (version > SCHEMA_VERSION) {
        throw new TraceError(`trace ${path} was written by a newer hindsight (schema version ${version}, this one reads up to ${SCHEMA_VERSION})`);
      }
      if (version < OLDEST_READABLE_VERSION) {
        throw new TraceError(`trace ${path} was written by a hindsight too old for this one (schema version ${version}, this one reads ${OLDEST_READABLE_VERSION} to ${SCHEMA_VERSION})`);
      }
      if (version < SCHEMA_VERSION) {
        // Migrate an in-memory copy; the file stays as it is.
        const copy = openDatabase(db.serialize());
        db.close();
        db = copy;
        migrate(db, version, MIGRATIONS);
      }
      const tables = new Set(
        (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name),
      );
      for (const t of REQUIRED_TABLES) {
        if (!tables.has(t)) throw new TraceError(`trace ${path} is damaged: table '${t}' is missing`);
      }
      return new TraceReader(path, db, SCHEMA_VERSION);
    } catch (err) {
      db.close();
      if (err instanceof TraceError) throw err;
      throw new TraceError(`trace ${path} is damaged: ${(err as Error).message}`);
    }
  }

  /** Saved debugger checkpoints (compressed `Checkpoint` messages), in step order. */
  checkpointBlobs(): Uint8Array[] {
    this.checkOpen();
    return (this.db.prepare('SELECT state FROM checkpoints ORDER BY seq').all() as { state: Buffer }[]).map((r) => new Uint8Array(r.state));
  }

  /** Harts that have at least one event, ascending. */
  eventHarts(): number[] {
    return (this.db.prepare('SELECT DISTINCT hart FROM events ORDER BY hart').all() as { hart: number }[]).map((r) => r.hart);
  }

  /**
   * The events of one hart, in stream order, read and checked batch by batch as the iteration
   * proceeds (a damaged batch throws TraceError when reached). With `fromIcount`, starts at the
   * first event whose icount is >= fromIcount, skipping earlier batches without reading them.
   */
  *events(hart: number, fromIcount = 0): Generator<TraceEvent, void, undefined> {
    this.checkOpen();
    const rows = this.db
      .prepare(
        `SELECT batch, first_icount, last_icount, count, n_acquire, n_release, n_irq, n_time, n_input, n_check, n_trap, checksum
           FROM events WHERE hart = ? ORDER BY batch`,
      )
      .all(hart) as BatchRow[];
    const getPayload = this.db.prepare('SELECT payload, encoding FROM events WHERE hart = ? AND batch = ?');
    let prevLast = -1;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const where = `event batch ${i} of hart ${hart}`;
      if (r.batch !== i) this.damaged(`${where} is missing`);
      if (!(r.first_icount >= prevLast)) this.damaged(`${where} starts at icount ${r.first_icount}, before the end of the batch before it (${prevLast})`);
      prevLast = r.last_icount;
      if (r.last_icount < fromIcount) continue;
      const row = getPayload.get(hart, r.batch) as { payload: unknown; encoding: unknown } | undefined;
      const payload = row?.payload;
      if (!(payload instanceof Uint8Array)) this.damaged(`${where} has no payload`);
      if (sha256Hex(payload) !== r.checksum) this.damaged(`${where} does not match its checksum`);
      let batch: BatchCursor;
      try {
        batch = readBatch(storedBatch(payload, row!.encoding));
      } catch (err) {
        this.damaged(`${where} ${(err as Error).message}`);
      }
      const s = batch.summary;
      if (s.hart !== hart) this.damaged(`${where} holds events of hart ${s.hart}`);
      if (s.count !== r.count) this.damaged(`${where} holds ${s.count} events, but its row says ${r.count}`);
      if (s.count === 0) this.damaged(`${where} is empty`);
      if (s.firstIcount !== r.first_icount || s.lastIcount !== r.last_icount) {
        this.damaged(`${where} spans icounts ${s.firstIcount}..${s.lastIcount}, but its row says ${r.first_icount}..${r.last_icount}`);
      }
      for (const k of EVENT_KINDS) {
        if (s.kinds[k] !== r[`n_${k}`]) this.damaged(`${where} holds ${s.kinds[k]} ${k} events, but its row says ${r[`n_${k}`]}`);
      }
      // Built one at a time: a replaying hart keeps only the events it has not reached yet.
      for (let e = batch.next(); e !== null; e = batch.next()) if (e.icount >= fromIcount) yield e;
    }
  }

  /** Where each run of console output came from (hart and icount), in output order. */
  consolePositions(): ConsolePosition[] {
    return this.db.prepare('SELECT byte_offset AS offset, hart, icount, count FROM console_positions ORDER BY byte_offset').all() as ConsolePosition[];
  }

  /** All console output of the recording, concatenated. */
  console(): Uint8Array {
    this.checkOpen();
    const chunks = this.db.prepare('SELECT bytes FROM console ORDER BY seq').pluck().all() as Uint8Array[];
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Everything `hindsight trace info` shows, without decoding any event. */
  info(): TraceInfo {
    this.checkOpen();
    const perHart = this.db
      .prepare(
        `SELECT hart, COUNT(*) AS batches, SUM(count) AS events, MAX(last_icount) AS last_icount,
                SUM(n_acquire) AS acquire, SUM(n_release) AS release, SUM(n_irq) AS irq,
                SUM(n_time) AS time, SUM(n_input) AS input, SUM(n_check) AS "check", SUM(n_trap) AS trap
           FROM events GROUP BY hart ORDER BY hart`,
      )
      .all() as ({ hart: number; batches: number; events: number; last_icount: number } & Record<TraceEventKind, number>)[];
    const s = this.summary;
    const hartNumbers = new Set<number>(perHart.map((r) => r.hart));
    if (s !== null) s.icounts.forEach((_, h) => hartNumbers.add(h));
    const byHart = new Map(perHart.map((r) => [r.hart, r]));
    const totals = zeroKindCounts();
    let events = 0;
    const harts = [...hartNumbers].sort((a, b) => a - b).map((hart) => {
      const r = byHart.get(hart);
      const eventsByKind = zeroKindCounts();
      if (r !== undefined) {
        for (const k of EVENT_KINDS) {
          eventsByKind[k] = r[k];
          totals[k] += r[k];
        }
        events += r.events;
      }
      return {
        hart,
        icount: s?.icounts[hart] ?? null,
        lastEventIcount: r?.last_icount ?? null,
        events: r?.events ?? 0,
        batches: r?.batches ?? 0,
        eventsByKind,
      };
    });
    const consoleBytes = (this.db.prepare('SELECT COALESCE(SUM(length(bytes)), 0) FROM console').pluck().get() as number) ?? 0;
    const eventBytes = (this.db.prepare('SELECT COALESCE(SUM(length(payload)), 0) FROM events').pluck().get() as number) ?? 0;
    const insns = harts.reduce((n, h) => n + (h.icount ?? h.lastEventIcount ?? 0), 0);
    let fileBytes = 0;
    for (const suffix of ['', '-wal']) {
      try {
        fileBytes += statSync(this.path + suffix).size;
      } catch {
        // no write-ahead log
      }
    }
    return {
      path: this.path,
      fileBytes,
      schemaVersion: this.schemaVersion,
      toolVersion: this.toolVersion,
      createdAt: this.createdAt,
      sched: this.header.sched,
      machine: this.header.machine,
      images: this.images.map((img, i) => ({
        role: img.role,
        path: img.path,
        loadAddress: img.loadAddress,
        size: img.bytes.length,
        sha256: this.imageHashes[i]!,
      })),
      harts,
      events,
      eventsByKind: totals,
      eventBytes,
      instructions: insns,
      eventBytesPerMillionInsns: insns > 0 ? Math.round((eventBytes / insns) * 1e6) : null,
      consoleBytes,
      complete: s !== null && !this.isTruncated,
      truncated: this.isTruncated,
      truncatedReason: this.truncatedReason,
      exitCode: s?.exitCode ?? null,
      stopReason: s?.stopReason ?? null,
      wallSeconds: s?.wallSeconds ?? null,
      finalStateHashes: s?.finalStateHashes ?? null,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`trace ${this.path} is closed`);
  }

  /** An image row's bytes as the image (images.encoding, traces/schema.ts); damaged when they cannot be. */
  private imageBytes(role: string, bytes: Uint8Array, encoding: string | null): Uint8Array {
    const stored = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (encoding === 'raw') return stored;
    if (encoding !== 'deflate') this.damaged(`image '${role}' has an unknown encoding '${String(encoding)}'`);
    try {
      const image = inflateRawSync(stored);
      return new Uint8Array(image.buffer, image.byteOffset, image.byteLength);
    } catch {
      this.damaged(`image '${role}' cannot be decompressed`);
    }
  }

  private damaged(what: string): never {
    throw new TraceError(`trace ${this.path} is damaged: ${what}`);
  }

  private parseHeader(text: string | undefined): { toolVersion: string; sched: 'parallel' | 'serial'; machine: Record<string, unknown> } {
    if (text === undefined) this.damaged('its header is missing');
    let h: unknown;
    try {
      h = JSON.parse(text);
    } catch {
      this.damaged('its header is not valid JSON');
    }
    if (!isObject(h)) this.damaged('its header is not a JSON object');
    if (typeof h.toolVersion !== 'string') this.damaged("its header lacks 'toolVersion'");
    if (h.sched !== 'parallel' && h.sched !== 'serial') this.damaged("its header has no valid 'sched'");
    if (!isObject(h.machine)) this.damaged("its header lacks 'machine'");
    return { toolVersion: h.toolVersion, sched: h.sched, machine: h.machine };
  }

  private parseSummary(text: string | undefined): TraceSummary | null {
    if (text === undefined) return null;
    let s: unknown;
    try {
      s = JSON.parse(text);
    } catch {
      this.damaged('its summary is not valid JSON');
    }
    if (
      !isObject(s) ||
      typeof s.exitCode !== 'number' ||
      typeof s.stopReason !== 'string' ||
      !Array.isArray(s.icounts) ||
      !Array.isArray(s.finalStateHashes) ||
      (s.ramHash !== undefined && s.ramHash !== 'all' && s.ramHash !== 'written') ||
      (s.finalSafePoints !== undefined && !(Array.isArray(s.finalSafePoints) && s.finalSafePoints.every((n) => Number.isSafeInteger(n) && n >= 0))) ||
      typeof s.wallSeconds !== 'number' ||
      typeof s.consoleBytes !== 'number' ||
      (s.acquires !== undefined && !(Number.isSafeInteger(s.acquires) && (s.acquires as number) >= 0))
    ) {
      this.damaged('its summary is incomplete');
    }
    return s as unknown as TraceSummary;
  }
}

function hasSqliteMagic(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return n === 16 && buf.toString('latin1') === SQLITE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

function readSchemaVersion(db: Database.Database, path: string): number {
  const notOurs = () => new TraceError(`${path} is not a hindsight trace (an SQLite database without hindsight metadata)`);
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get();
  if (hasMeta === undefined) throw notOurs();
  let value: unknown;
  try {
    value = db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META.schemaVersion);
  } catch {
    throw notOurs();
  }
  if (value === undefined) throw notOurs();
  const version = Number(value);
  if (!Number.isSafeInteger(version) || version < 1) throw new TraceError(`trace ${path} is damaged: its schema version '${String(value)}' is not a number`);
  return version;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

function fmtKinds(k: Record<TraceEventKind, number>): string {
  return EVENT_KINDS.map((kind) => `${kind} ${k[kind]}`).join(', ');
}

function fmtValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Human-readable text for `hindsight trace info` (several lines, no trailing newline). */
export function formatTraceInfo(info: TraceInfo): string {
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${label.padEnd(10)}${text}`);
  const more = (text: string) => lines.push(`${''.padEnd(10)}${text}`);
  row('trace', `${info.path} (${fmtBytes(info.fileBytes)}, schema version ${info.schemaVersion})`);
  row('recorded', `by hindsight ${info.toolVersion}${info.createdAt !== null ? ` at ${info.createdAt}` : ''}, ${info.sched} scheduling`);
  let status = info.truncated ? `TRUNCATED (${info.truncatedReason})` : 'complete';
  if (info.exitCode !== null) status += `; exit code ${info.exitCode} (${info.stopReason})`;
  if (info.wallSeconds !== null) status += `; recorded in ${info.wallSeconds.toFixed(2)} s`;
  row('status', status);
  const machine = Object.entries(info.machine);
  if (machine.length === 0) row('machine', '(no configuration)');
  machine.forEach(([k, v], i) => {
    const text = `${k} = ${fmtValue(v)}`;
    if (i === 0) row('machine', text);
    else more(text);
  });
  if (info.images.length === 0) row('images', '(none)');
  info.images.forEach((img, i) => {
    const text = `${img.role}: ${img.path ?? '(no path)'} at 0x${img.loadAddress.toString(16)}, ${fmtBytes(img.size)}, sha256 ${img.sha256.slice(0, 16)}`;
    if (i === 0) row('images', text);
    else more(text);
  });
  if (info.harts.length === 0) row('harts', '(no events)');
  info.harts.forEach((h, i) => {
    const ic = h.icount !== null ? `${h.icount} instructions` : `at least ${h.lastEventIcount ?? 0} instructions`;
    const text = `hart ${h.hart}: ${ic}, ${h.events} events (${fmtKinds(h.eventsByKind)})`;
    if (i === 0) row('harts', text);
    else more(text);
  });
  const perMillion = info.eventBytesPerMillionInsns !== null ? `, ${fmtBytes(info.eventBytesPerMillionInsns)} per million instructions` : '';
  row('events', `${info.events} (${fmtKinds(info.eventsByKind)}) in ${fmtBytes(info.eventBytes)}${perMillion}`);
  row('console', fmtBytes(info.consoleBytes));
  if (info.finalStateHashes !== null && info.finalStateHashes.length > 0) row('final', `state hashes ${info.finalStateHashes.join(' ')}`);
  return lines.join('\n');
}

/**
 * Replaces the debugger checkpoints saved in a trace (the only change hindsight ever makes to a
 * finished trace). Refused for traces of an older schema, which are only ever read from a copy.
 */
export function saveCheckpoints(path: string, checkpoints: { icounts: number[]; blob: Uint8Array }[]): void {
  TraceReader.open(path).close(); // a usable trace, or a clear TraceError
  const db = openDatabase(path, { fileMustExist: true });
  try {
    const version = readSchemaVersion(db, path);
    if (version !== SCHEMA_VERSION) throw new TraceError(`trace ${path} has the older schema version ${version}; checkpoints are only saved into traces of version ${SCHEMA_VERSION}`);
    const insert = db.prepare('INSERT INTO checkpoints (seq, icounts, state) VALUES (?, ?, ?)');
    db.transaction(() => {
      db.prepare('DELETE FROM checkpoints').run();
      checkpoints.forEach((c, seq) => insert.run(seq, JSON.stringify(c.icounts), Buffer.from(c.blob)));
    })();
  } finally {
    db.close();
  }
}

/** The serialised EventBatch inside a stored payload (events.encoding, traces/schema.ts). */
function storedBatch(payload: Uint8Array, encoding: unknown): Uint8Array {
  if (encoding === 'protobuf') return payload;
  if (encoding === 'deflate') {
    try {
      return inflateRawSync(payload);
    } catch {
      throw new Error('cannot be decompressed');
    }
  }
  throw new Error(`has an unknown encoding '${String(encoding)}'`);
}
