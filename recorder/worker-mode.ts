/**
 * How the main thread asks a hart worker to record (WorkerMode): kept apart from the plug-in itself
 * (recorder/worker-plugin.ts), so the main thread does not load the worker side's modules.
 */
import type { WorkerMode } from '../src/host/worker-plugin.js';
import type { MigrationPolicy } from '../src/engine/hart-migration.js';

/** What a recording hart worker is told (plain data). */
export interface RecordWorkerOptions {
  recording: SharedArrayBuffer;
  ramPages: number;
  checkInterval: number;
  tenure: number;
  /** `--sched serial`: all harts in one worker over virtual time. */
  serial: boolean;
  quantum: number;
  /**
   * Parallel recording: harts move between threads (engine/hart-migration.ts): the shared
   * table, the machine's channel and the policy; `together`: every hart starts on thread 0, the
   * other threads once they spread (engine/start-together.ts). Null: they stay.
   */
  migration: { table: SharedArrayBuffer; channel: string; policy: MigrationPolicy; together: boolean } | null;
}

/** The worker mode that plugs recording into a hart worker. */
export function recordWorkerMode(options: RecordWorkerOptions): WorkerMode {
  return { module: 'recorder/worker-plugin.js', options };
}
