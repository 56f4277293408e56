/**
 * Relational views of a trace, decoded from its event batches, for `hindsight trace sql` and
 * `hindsight trace index` (documented in traces/README.md, "Decoded views"). Every row carries
 * the debugger's global step where that applies (replayer/canonical-steps.ts), so a query's
 * answer leads straight to `monitor seek STEP`.
 */
import type Database from 'better-sqlite3';
import type { TraceEvent } from './events.js';
import { SyncTable, canonicalSteps, stepAt, type CanonicalSteps, type SyncEvent } from './canonical-steps.js';
import { traceQuantum } from '../src/engine/serial-scheduler.js';
import { TraceError } from './trace-error.js';
import { LINE_BYTES, describeResource } from '../src/cpu/resources.js';
import type { TraceReader } from './trace-reader.js';

/** `trace index` stores view V as the table `decoded_V` in the trace. */
export const DECODED_PREFIX = 'decoded_';
/** meta key set by `trace index`: the format of its tables (bumped when a view's columns change). */
export const DECODED_VIEWS_META_KEY = 'decoded_views';
export const DECODED_VIEWS_FORMAT = 1;

/** Guest physical address of RAM page 0. */
const RAM_BASE = 0x8000_0000;

export interface ViewColumn {
  name: string;
  type: 'INTEGER' | 'TEXT' | 'REAL';
  doc: string;
}

export interface ViewSpec {
  name: string;
  doc: string;
  columns: ViewColumn[];
}

const col = (name: string, type: ViewColumn['type'], doc: string): ViewColumn => ({ name, type, doc });

/** The views, in the order `trace sql` lists them. The same text is in traces/README.md. */
export const VIEWS: readonly ViewSpec[] = [
  {
    name: 'events', doc: 'every recorded event of every hart, decoded',
    columns: [
      col('hart', 'INTEGER', 'the hart whose stream it is in'),
      col('seq', 'INTEGER', 'position in that stream (0, 1, ...)'),
      col('icount', 'INTEGER', "the hart's instruction count where it took effect"),
      col('step', 'INTEGER', 'global step there on the canonical timeline (monitor seek STEP)'),
      col('kind', 'TEXT', 'acquire, release, irq, time, input, check or trap'),
      col('page', 'INTEGER', 'acquire/release: RAM page number (NULL for the device bus)'),
      col('address', 'INTEGER', 'acquire/release: guest physical address of that page, or of the line'),
      col('bus', 'INTEGER', 'acquire/release: 1 if the resource is the device bus (all MMIO)'),
      col('bytes', 'INTEGER', 'acquire/release: 4096 for a page, 64 for a line of a page split for false sharing'),
      col('write', 'INTEGER', 'acquire: 1 for write (exclusive) access, 0 for read'),
      col('release', 'INTEGER', "release: the hart's release number"),
      col('lines', 'INTEGER', 'irq: the interrupt lines (mip bits) from here on'),
      col('time', 'INTEGER', 'time: the clock value read'),
      col('input', 'TEXT', 'input: the console bytes fed to the UART'),
      col('hash', 'TEXT', 'check: register hash, hex'),
      col('traps', 'INTEGER', 'trap: exceptions taken at this icount before the events after it'),
    ],
  },
  {
    name: 'transfers', doc: 'ownership transfers: each acquire joined to each release it waited for',
    columns: [
      col('page', 'INTEGER', 'RAM page number (NULL for the device bus)'),
      col('address', 'INTEGER', 'guest physical address of the page, or of the line'),
      col('bus', 'INTEGER', '1 if the resource is the device bus'),
      col('bytes', 'INTEGER', '4096 for a page, 64 for a line of a page split for false sharing'),
      col('write', 'INTEGER', '1 if the acquire was for write access'),
      col('release_hart', 'INTEGER', 'hart that gave the page up'),
      col('release', 'INTEGER', "that hart's release number"),
      col('release_icount', 'INTEGER', "releasing hart's icount at the release"),
      col('release_step', 'INTEGER', 'global step of the release'),
      col('acquire_hart', 'INTEGER', 'hart that took the page'),
      col('acquire_icount', 'INTEGER', "acquiring hart's icount at the acquire"),
      col('acquire_step', 'INTEGER', 'global step of the acquire'),
    ],
  },
  {
    name: 'console', doc: 'console output, one row per run of bytes one hart printed in one burst',
    columns: [
      col('hart', 'INTEGER', 'the hart that wrote it (NULL in traces older than schema version 2)'),
      col('icount', 'INTEGER', "that hart's icount at the store of the first byte"),
      col('step', 'INTEGER', 'global step there'),
      col('offset', 'INTEGER', 'offset of the first byte in the whole console output'),
      col('bytes', 'INTEGER', 'length of the run in bytes'),
      col('text', 'TEXT', 'the output (UTF-8)'),
    ],
  },
  {
    name: 'checks', doc: 'register-hash checks (replay compares them)',
    columns: [
      col('hart', 'INTEGER', 'hart'),
      col('icount', 'INTEGER', 'icount of the check'),
      col('step', 'INTEGER', 'global step there'),
      col('hash', 'TEXT', 'register hash, hex'),
    ],
  },
  {
    name: 'images', doc: 'the images the machine was started with (bytes: raw.images, deflated when its encoding says so)',
    columns: [
      col('idx', 'INTEGER', 'position in the header'),
      col('role', 'TEXT', 'kernel, bios, initrd, disk, dtb, ...'),
      col('path', 'TEXT', 'where it was read from when recording'),
      col('load_address', 'INTEGER', 'guest physical load address (0 if not loaded)'),
      col('size', 'INTEGER', 'bytes'),
      col('sha256', 'TEXT', 'hex SHA-256 of the bytes'),
    ],
  },
  {
    name: 'harts', doc: 'one row per hart',
    columns: [
      col('hart', 'INTEGER', 'hart'),
      col('icount', 'INTEGER', 'instructions retired at the end (last event icount if unfinished)'),
      col('events', 'INTEGER', 'events in its stream'),
      col('final_state_hash', 'TEXT', 'hash of its final state (NULL if unfinished)'),
    ],
  },
  {
    name: 'summary', doc: 'one row: how the recording went',
    columns: [
      col('sched', 'TEXT', 'parallel or serial'),
      col('tool_version', 'TEXT', 'hindsight version that recorded it'),
      col('created_at', 'TEXT', 'when the recording started (ISO 8601)'),
      col('harts', 'INTEGER', 'number of harts'),
      col('instructions', 'INTEGER', 'instructions retired by all harts (= the last global step)'),
      col('events', 'INTEGER', 'events of all harts'),
      col('complete', 'INTEGER', '1 if the recording finished normally'),
      col('truncated_reason', 'TEXT', 'why it is truncated (NULL if complete)'),
      col('exit_code', 'INTEGER', "the guest's exit code (NULL if unfinished)"),
      col('stop_reason', 'TEXT', 'poweroff, timeout, interrupted, ...'),
      col('wall_seconds', 'REAL', 'how long the recording took'),
      col('console_bytes', 'INTEGER', 'bytes of console output'),
      col('chaos_seed', 'INTEGER', 'the --chaos seed it was recorded with (NULL without chaos)'),
      col('steps_exact', 'INTEGER', '1 if the step columns are the exact canonical steps (parallel traces)'),
    ],
  },
];

export type Row = Record<string, number | string | null>;

/** Everything the views hold, decoded once. */
export interface DecodedTrace {
  steps: CanonicalSteps;
  finals: number[];
  /** The small views, in memory. */
  rows: Record<SmallView, Row[]>;
  /** Row counts of every view. */
  counts: Record<string, number>;
  /**
   * One read of the trace for the three large views (`events`, `transfers`, `checks`): each
   * event's row, its transfer rows, its check row. Produced as the trace is read, not held: a
   * loaded 4-hart Linux recording holds millions of events, and their rows in memory took
   * `trace sql` past V8's heap limit (4 GB).
   */
  eventRows(): Iterable<EventRows>;
}

export interface EventRows {
  row: Row;
  transfers: Row[];
  check: Row | null;
}

type SmallView = 'console' | 'images' | 'harts' | 'summary';

function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** SQLite INTEGERs are signed 64-bit; clock values stay far below, hashes do not (they are TEXT). */
function int64(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** The events that place a hart on the canonical timeline (see canonicalSteps). */
function isSyncEvent(e: TraceEvent): e is SyncEvent {
  return e.kind === 'acquire' || e.kind === 'release' || e.kind === 'trap';
}

/**
 * Reads the trace and computes every position's step (holding only the acquire, release and trap
 * events); the large views are generated from a second read (DecodedTrace.eventRows). Throws
 * TraceError for a damaged trace.
 */
export function decodeTrace(reader: TraceReader): DecodedTrace {
  const machine = reader.header.machine as { harts?: number; ramBytes?: number; serialQuantum?: number | null; chaos?: { seed?: number } | null };
  const harts = Math.max(Number(machine.harts) || 0, ...reader.eventHarts().map((h) => h + 1), reader.summary?.icounts.length ?? 0);
  const ramPages = Math.floor((Number(machine.ramBytes) || 0) / 4096);
  const sync: SyncTable[] = [];
  /** Per hart, (release number - 1) -> icount of that release, and the release's index among its sync events. */
  const releaseIcounts: number[][] = [];
  const releaseSyncIndex: number[][] = [];
  const eventCounts: number[] = [];
  const lastIcounts: number[] = [];
  let checkCount = 0;
  let transferCount = 0;
  for (let h = 0; h < harts; h++) {
    const evs = new SyncTable();
    const icounts: number[] = [];
    const indexes: number[] = [];
    let n = 0;
    let last = 0;
    for (const e of reader.events(h)) {
      n++;
      last = e.icount;
      if (isSyncEvent(e)) {
        if (e.kind === 'acquire') transferCount += e.after.length;
        else if (e.kind === 'release') {
          icounts[e.seq - 1] = e.icount;
          indexes[e.seq - 1] = evs.length;
        }
        evs.push(e);
      } else if (e.kind === 'check') checkCount++;
    }
    sync.push(evs);
    releaseIcounts.push(icounts);
    releaseSyncIndex.push(indexes);
    eventCounts.push(n);
    lastIcounts.push(last);
  }
  const finals = lastIcounts.map((last, h) => reader.summary?.icounts[h] ?? last);
  const serial = reader.header.sched === 'serial';
  let steps: CanonicalSteps;
  try {
    steps = canonicalSteps(sync, finals, traceQuantum(machine.serialQuantum), !serial);
  } catch (err) {
    throw new TraceError(`trace ${reader.path} is damaged: ${(err as Error).message}`);
  }

  const resourceColumns = (resource: number) => {
    const r = describeResource(ramPages, resource);
    if (r === 'bus') return { page: null, address: null, bus: 1, bytes: null };
    return r.line < 0
      ? { page: r.page, address: RAM_BASE + r.page * 4096, bus: 0, bytes: 4096 }
      : { page: r.page, address: RAM_BASE + r.page * 4096 + r.line * LINE_BYTES, bus: 0, bytes: LINE_BYTES };
  };

  /** Per hart, (release number - 1) -> step of that release. */
  const releaseSteps = releaseSyncIndex.map((indexes, hart) => indexes.map((i) => steps.syncSteps[hart][i]));
  const totalEvents = eventCounts.reduce((a, b) => a + b, 0);

  /** Every event's row, with the transfer rows of acquires and the check rows beside it. */
  function* eventRows(): Generator<EventRows> {
    for (let hart = 0; hart < harts; hart++) {
      let syncIndex = 0;
      let seq = 0;
      for (const e of reader.events(hart)) {
        let step: number;
        if (isSyncEvent(e)) step = steps.syncSteps[hart][syncIndex++];
        else step = stepAt(steps, hart, e.icount);
        const row: Row = {
          hart, seq: seq++, icount: e.icount, step, kind: e.kind, page: null, address: null, bus: null, bytes: null, write: null,
          release: null, lines: null, time: null, input: null, hash: null, traps: null,
        };
        const transfers: Row[] = [];
        let check: Row | null = null;
        switch (e.kind) {
          case 'acquire': {
            Object.assign(row, resourceColumns(e.resource), { write: e.write ? 1 : 0 });
            for (const ref of e.after) {
              const i = ref.seq - 1;
              transfers.push({
                ...resourceColumns(e.resource), write: e.write ? 1 : 0,
                release_hart: ref.hart, release: ref.seq,
                release_icount: releaseIcounts[ref.hart]?.[i] ?? null, release_step: releaseSteps[ref.hart]?.[i] ?? null,
                acquire_hart: hart, acquire_icount: e.icount, acquire_step: step,
              });
            }
            break;
          }
          case 'release': Object.assign(row, resourceColumns(e.resource), { release: e.seq }); break;
          case 'irq': row.lines = e.lines; break;
          case 'time': row.time = int64(e.value); break;
          case 'input': row.input = Buffer.from(e.bytes).toString('utf8'); break;
          case 'trap': row.traps = e.count; break;
          case 'check':
            row.hash = hex64(e.hash);
            check = { hart, icount: e.icount, step, hash: row.hash };
            break;
        }
        yield { row, transfers, check };
      }
    }
  }

  const output = Buffer.from(reader.console());
  const positions = reader.consolePositions();
  const consoleRows: Row[] = positions.length > 0
    ? positions.map((p) => ({
      hart: p.hart, icount: p.icount, step: stepAt(steps, p.hart, p.icount), offset: p.offset, bytes: p.count,
      text: output.subarray(p.offset, p.offset + p.count).toString('utf8'),
    }))
    : output.length > 0 ? [{ hart: null, icount: null, step: null, offset: 0, bytes: output.length, text: output.toString('utf8') }] : [];

  const info = reader.info();
  const images: Row[] = info.images.map((img, idx) => ({ idx, role: img.role, path: img.path, load_address: img.loadAddress, size: img.size, sha256: img.sha256 }));
  const hartRows: Row[] = finals.map((icount, hart) => ({
    hart, icount, events: eventCounts[hart], final_state_hash: reader.summary?.finalStateHashes[hart] ?? null,
  }));
  const summary: Row[] = [{
    sched: reader.header.sched, tool_version: reader.toolVersion, created_at: reader.createdAt, harts,
    instructions: finals.reduce((a, b) => a + b, 0), events: totalEvents, complete: info.complete ? 1 : 0,
    truncated_reason: reader.truncatedReason, exit_code: reader.summary?.exitCode ?? null, stop_reason: reader.summary?.stopReason ?? null,
    wall_seconds: reader.summary?.wallSeconds ?? null, console_bytes: output.length,
    chaos_seed: typeof machine.chaos?.seed === 'number' ? machine.chaos.seed : null, steps_exact: steps.exact ? 1 : 0,
  }];
  const rows: Record<SmallView, Row[]> = { console: consoleRows, images, harts: hartRows, summary };
  return {
    steps, finals, rows, eventRows,
    counts: {
      events: totalEvents, transfers: transferCount, checks: checkCount,
      console: consoleRows.length, images: images.length, harts: hartRows.length, summary: 1,
    },
  };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates each view as a plain table `schema.prefix+name` and fills it, in one transaction.
 * `schema` is 'temp' for `trace sql` (the trace itself stays untouched) or 'main' for `trace index`.
 */
export function materialiseViews(db: Database.Database, decoded: DecodedTrace, schema: string, prefix: string): void {
  db.transaction(() => {
    const inserts = new Map<string, Database.Statement>();
    for (const view of VIEWS) {
      const table = `${quoteIdent(schema)}.${quoteIdent(prefix + view.name)}`;
      db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.exec(`CREATE TABLE ${table} (${view.columns.map((c) => `${quoteIdent(c.name)} ${c.type}`).join(', ')})`);
      inserts.set(view.name, db.prepare(`INSERT INTO ${table} VALUES (${view.columns.map((c) => `@${c.name}`).join(', ')})`));
    }
    for (const [name, rows] of Object.entries(decoded.rows)) for (const row of rows) inserts.get(name)!.run(row);
    const events = inserts.get('events')!;
    const transfers = inserts.get('transfers')!;
    const checks = inserts.get('checks')!;
    for (const { row, transfers: moved, check } of decoded.eventRows()) {
      events.run(row);
      for (const t of moved) transfers.run(t);
      if (check) checks.run(check);
    }
  })();
}
