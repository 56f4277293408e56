/**
 * The SQLite schema of a hindsight trace, its version and its migrations.
 *
 * Rules (see traces/README.md):
 *  - SCHEMA_V1 is frozen: never edit it. A format change is a new entry at the end of MIGRATIONS
 *    (taking version N to N+1) plus SCHEMA_VERSION = N+1. Writers build a new trace as SCHEMA_V1
 *    followed by every migration, so new and migrated traces have the same shape by construction.
 *  - Readers accept every version from OLDEST_READABLE_VERSION to SCHEMA_VERSION. An older trace
 *    is opened by copying it into memory and migrating the copy (the file is never modified);
 *    a newer trace is refused.
 */
import type Database from 'better-sqlite3';

/** The version this hindsight writes and the newest it reads. */
export const SCHEMA_VERSION = 6;
/** The oldest version this hindsight still reads (by migrating an in-memory copy). */
export const OLDEST_READABLE_VERSION = 1;
/** SQLite `PRAGMA application_id` of a hindsight trace: ASCII "HSTR" (informative; readers go by `meta`). */
export const APPLICATION_ID = 0x48535452;

/** The tables every readable trace has (after migration to SCHEMA_VERSION). */
export const REQUIRED_TABLES = ['meta', 'images', 'image_refs', 'events', 'console', 'checkpoints'] as const;

/** Keys of the `meta` table. All values are TEXT. */
export const META = {
  schemaVersion: 'schema_version', // decimal integer
  toolVersion: 'tool_version', // hindsight version that wrote the trace
  createdAt: 'created_at', // ISO 8601 UTC time the recording started
  header: 'header', // JSON: { toolVersion, sched, machine, images: [{ role, path, loadAddress, sha256, size }] }
  summary: 'summary', // JSON TraceSummary; absent until the recording finished (or was marked truncated)
  truncated: 'truncated', // '1' until finish() stores a complete summary, then '0'
  truncatedReason: 'truncated_reason', // why the trace is truncated ('recording did not finish' until told otherwise)
} as const;

/** Version 1 of the schema. FROZEN: change the format through MIGRATIONS instead. */
export const SCHEMA_V1 = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
-- Content-addressed image bytes: an image loaded twice (or under two roles) is stored once.
CREATE TABLE images (
  sha256 TEXT PRIMARY KEY,           -- lowercase hex SHA-256 of bytes
  size   INTEGER NOT NULL,           -- length(bytes)
  bytes  BLOB NOT NULL
);
-- The images the machine was started with, in header order.
CREATE TABLE image_refs (
  idx          INTEGER PRIMARY KEY,  -- 0, 1, ... (order of TraceHeader.images)
  role         TEXT NOT NULL,        -- 'kernel', 'firmware', 'disk', ...
  path         TEXT,                 -- where it was loaded from when recording (informative; may be NULL)
  load_address INTEGER NOT NULL,     -- guest physical address (0 for images that are not loaded into memory)
  sha256       TEXT NOT NULL REFERENCES images(sha256)
);
-- Each hart's event stream, cut into batches; payload is a serialised EventBatch (events.proto).
CREATE TABLE events (
  hart         INTEGER NOT NULL,
  batch        INTEGER NOT NULL,     -- 0, 1, 2, ... per hart, in stream order, no gaps
  first_icount INTEGER NOT NULL,     -- icount of the batch's first event
  last_icount  INTEGER NOT NULL,     -- icount of its last event (>= first_icount; <= next batch's first_icount)
  count        INTEGER NOT NULL,     -- number of events (>= 1)
  n_acquire    INTEGER NOT NULL,     -- events of each kind (sum = count), so that 'trace info' needs no decoding
  n_release    INTEGER NOT NULL,
  n_irq        INTEGER NOT NULL,
  n_time       INTEGER NOT NULL,
  n_input      INTEGER NOT NULL,
  n_check      INTEGER NOT NULL,
  checksum     TEXT NOT NULL,        -- lowercase hex SHA-256 of payload
  payload      BLOB NOT NULL,
  PRIMARY KEY (hart, batch)
);
-- Console (UART) output of the guest, in chunks, in order.
CREATE TABLE console (
  seq   INTEGER PRIMARY KEY,         -- 0, 1, 2, ...
  bytes BLOB NOT NULL
);
-- Reserved for machine snapshots that let reverse execution start nearer its target. Empty in version 1.
CREATE TABLE checkpoints (
  seq     INTEGER PRIMARY KEY,
  icounts TEXT NOT NULL,             -- JSON array: each hart's icount at the snapshot
  state   BLOB NOT NULL
);
`;

export interface Migration {
  /** The version this migration produces; it applies to a database at version `to - 1`. */
  readonly to: number;
  readonly description: string;
  /** Alters the schema and data of a writable database (inside the caller's transaction). */
  apply(db: Database.Database): void;
}

/** MIGRATIONS[i] takes a trace from version i + 1 to i + 2. */
export const MIGRATIONS: readonly Migration[] = [
  {
    to: 2,
    description: 'console output positions: which hart wrote each run of console bytes, at which icount',
    apply(db) {
      db.exec(`CREATE TABLE console_positions (
        byte_offset INTEGER PRIMARY KEY,  -- offset of the run's first byte in the whole console output
        hart        INTEGER NOT NULL,     -- the hart that wrote the run
        icount      INTEGER NOT NULL,     -- that hart's icount at the store that wrote the first byte
        count       INTEGER NOT NULL      -- bytes in the run (consecutive bytes written by this hart)
      )`);
    },
  },
  {
    to: 3,
    description: 'compressed event batches: events.encoding says how payload holds the EventBatch',
    apply(db) {
      // 'protobuf': payload is the serialised EventBatch (every batch of versions 1 and 2);
      // 'deflate': payload is that serialisation compressed with raw DEFLATE (RFC 1951).
      // checksum stays the SHA-256 of payload as stored.
      db.exec(`ALTER TABLE events ADD COLUMN encoding TEXT NOT NULL DEFAULT 'protobuf'`);
    },
  },
  {
    to: 4,
    description: 'compressed images: images.encoding says how bytes holds the image',
    apply(db) {
      // 'raw': bytes is the image (every image of versions 1 to 3); 'deflate': bytes is the image
      // compressed with raw DEFLATE (RFC 1951). size and sha256 stay those of the image itself.
      db.exec(`ALTER TABLE images ADD COLUMN encoding TEXT NOT NULL DEFAULT 'raw'`);
    },
  },
  {
    to: 5,
    description: 'trap events: where events at one icount happened after exceptions taken there (events.proto Trap)',
    apply(db) {
      // Older traces have none: their events at an icount all replay before its instruction.
      db.exec(`ALTER TABLE events ADD COLUMN n_trap INTEGER NOT NULL DEFAULT 0`);
    },
  },
  {
    to: 6,
    description: 'line resources: acquire/release resource numbers above the device bus name 64-byte lines of pages split for false sharing (src/cpu/resources.ts)',
    apply() {
      // Nothing to change: older traces name pages and the bus only. The version keeps an older
      // hindsight from replaying a line as a page.
    },
  },
];

/** How an image's bytes are stored (images.encoding, schema version 4). */
export const IMAGE_ENCODINGS = ['raw', 'deflate'] as const;

/** How an event batch's payload is stored (events.encoding, schema version 3). */
export const EVENT_ENCODINGS = ['protobuf', 'deflate'] as const;
export type EventEncoding = (typeof EVENT_ENCODINGS)[number];

/** Creates the latest schema in an empty, writable database (caller sets meta values). */
export function createSchema(db: Database.Database): void {
  db.transaction(() => {
    db.exec(SCHEMA_V1);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(META.schemaVersion, '1');
    migrate(db, 1);
  })();
  db.pragma(`application_id = ${APPLICATION_ID}`);
}

/**
 * Applies the migrations from `fromVersion` up to the last one in `migrations` to a writable
 * database, updating meta.schema_version, in one transaction. Returns the resulting version.
 */
export function migrate(db: Database.Database, fromVersion: number, migrations: readonly Migration[] = MIGRATIONS): number {
  let version = fromVersion;
  db.transaction(() => {
    for (const m of migrations) {
      if (m.to <= version) continue;
      if (m.to !== version + 1) throw new Error(`no migration from schema version ${version} to ${m.to}`);
      m.apply(db);
      version = m.to;
    }
    db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(String(version), META.schemaVersion);
  })();
  return version;
}
