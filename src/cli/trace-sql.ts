/**
 * `hindsight trace sql TRACE [QUERY]` and `hindsight trace index TRACE`: SQL over the decoded
 * views of a trace (traces/trace-views.ts; documented in traces/README.md).
 */
import type Database from 'better-sqlite3';
import { openDatabase } from '../../traces/sqlite.js';
import { InputError } from '../errors.js';
import { SCHEMA_VERSION } from '../../traces/schema.js';
import { TraceError } from '../../traces/trace-error.js';
import { TraceReader } from '../../traces/trace-reader.js';
import { processOutput, type TaskOutput } from './trace-task.js';
import { DECODED_PREFIX, DECODED_VIEWS_FORMAT, DECODED_VIEWS_META_KEY, VIEWS, decodeTrace, materialiseViews } from '../../traces/trace-views.js';

export interface SqlFlags {
  csv?: boolean;
  json?: boolean;
}

type Cell = unknown;

function openTraceDb(path: string, readonly: boolean): Database.Database {
  try {
    return openDatabase(path, { readonly, fileMustExist: true });
  } catch (err) {
    throw new TraceError(`cannot open trace ${path}: ${(err as Error).message}`);
  }
}

/** Whether `trace index` stored the views in this trace in the format this hindsight writes. */
function hasCurrentIndex(db: Database.Database): boolean {
  try {
    return db.prepare('SELECT value FROM main.meta WHERE key = ?').pluck().get(DECODED_VIEWS_META_KEY) === String(DECODED_VIEWS_FORMAT);
  } catch {
    return false;
  }
}

function describeViews(): string {
  const lines = ['Views (query them by these names; the raw trace tables are main.<name>):'];
  for (const v of VIEWS) {
    lines.push('', `${v.name}: ${v.doc}`);
    for (const c of v.columns) lines.push(`  ${c.name.padEnd(17)}${c.type.padEnd(8)} ${c.doc}`);
  }
  return lines.join('\n');
}

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `x'${Buffer.from(v).toString('hex')}'`;
  return String(v);
}

function formatTable(columns: string[], rows: Cell[][]): string {
  const show = (v: Cell) => cellText(v).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  const cells = rows.map((r) => r.map(show));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i].length)));
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'number' || typeof r[i] === 'bigint'));
  const line = (r: string[]) => r.map((s, i) => (numeric[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return out.join('\n');
}

function formatCsv(columns: string[], rows: Cell[][]): string {
  const q = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [columns.map(q).join(','), ...rows.map((r) => r.map((v) => q(cellText(v))).join(','))].join('\n');
}

function formatJson(columns: string[], rows: Cell[][]): string {
  const objects = rows.map((r) => Object.fromEntries(columns.map((c, i) => {
    const v = r[i];
    return [c, Buffer.isBuffer(v) ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? v.toString() : v];
  })));
  return JSON.stringify(objects, null, 2);
}

/**
 * Runs one read-only statement against the trace's views. The trace file is opened read-only; the
 * views live in the connection's TEMP schema (decoded now, or taken from `trace index`'s tables).
 */
export function traceSqlCommand(trace: string, query: string | undefined, flags: SqlFlags, out: TaskOutput = processOutput): void {
  if (flags.csv && flags.json) throw new InputError('choose one of --csv and --json');
  const reader = TraceReader.open(trace); // a usable trace, or one clear TraceError
  let db: Database.Database | null = null;
  try {
    if (query === undefined) {
      out.stdout(`${describeViews()}\n`);
      return;
    }
    db = openTraceDb(trace, true);
    if (hasCurrentIndex(db)) {
      for (const v of VIEWS) db.exec(`CREATE TEMP VIEW "${v.name}" AS SELECT * FROM main."${DECODED_PREFIX}${v.name}"`);
    } else {
      materialiseViews(db, decodeTrace(reader), 'temp', '');
    }
    let stmt: Database.Statement;
    try {
      stmt = db.prepare(query);
    } catch (err) {
      throw new InputError(`bad SQL: ${(err as Error).message.split('\n')[0]}`);
    }
    if (!stmt.readonly) throw new InputError('trace sql opens the trace read-only: only statements that read are allowed');
    if (!stmt.reader) throw new InputError('trace sql runs queries: the statement returns no rows');
    const columns = stmt.columns().map((c) => c.name);
    let rows: Cell[][];
    try {
      rows = stmt.raw(true).all() as Cell[][];
    } catch (err) {
      throw new InputError(`bad SQL: ${(err as Error).message.split('\n')[0]}`);
    }
    const text = flags.json ? formatJson(columns, rows) : flags.csv ? formatCsv(columns, rows) : formatTable(columns, rows);
    out.stdout(`${text}\n`);
  } finally {
    db?.close();
    reader.close();
  }
}

/**
 * Stores the decoded views in the trace as plain tables (`decoded_events`, ...), so that any
 * SQLite client can query them and many traces can be ATTACHed and compared.
 */
export function traceIndexCommand(trace: string, out: TaskOutput = processOutput): void {
  const reader = TraceReader.open(trace);
  try {
    if (reader.schemaVersion !== SCHEMA_VERSION) throw new TraceError(`trace ${trace} is not of schema version ${SCHEMA_VERSION}`);
    const decoded = decodeTrace(reader);
    const db = openTraceDb(trace, false);
    try {
      const version = Number(db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get('schema_version'));
      if (version !== SCHEMA_VERSION) {
        throw new TraceError(`trace ${trace} has the older schema version ${version}; only traces of version ${SCHEMA_VERSION} are indexed`);
      }
      db.transaction(() => {
        materialiseViews(db, decoded, 'main', DECODED_PREFIX);
        db.exec(`CREATE INDEX "${DECODED_PREFIX}events_by_position" ON "${DECODED_PREFIX}events" (hart, icount)`);
        db.exec(`CREATE INDEX "${DECODED_PREFIX}events_by_page" ON "${DECODED_PREFIX}events" (page)`);
        db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(DECODED_VIEWS_META_KEY, String(DECODED_VIEWS_FORMAT));
      })();
    } finally {
      db.close();
    }
    const counts = VIEWS.map((v) => `${DECODED_PREFIX}${v.name} ${decoded.counts[v.name] ?? 0}`).join(', ');
    out.stderr(`hindsight: indexed ${trace}: ${counts} rows\n`);
  } finally {
    reader.close();
  }
}
