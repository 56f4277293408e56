/**
 * How the main thread asks a hart worker to replay (WorkerMode): kept apart from the plug-in itself
 * (replayer/worker-plugin.ts), so the main thread does not load the worker side's modules.
 */
import type { WorkerMode } from '../src/host/worker-plugin.js';
import type { ReleaseInvalidates } from './hart-replayer.js';

/** What a replaying hart worker is told (plain data). */
export interface ReplayWorkerOptions {
  tracePath: string;
  progress: SharedArrayBuffer;
  finalIcounts: number[];
  /** Serial traces: safe points each hart passed at its final icount in the recording (null in older traces). */
  finalSafePoints: number[] | null;
  /** How the trace was recorded (serial traces replay on virtual time). */
  traceSched: 'parallel' | 'serial';
  quantum: number;
  /** What a release empties of the hart's TLB (RecordedMachine.releaseInvalidates; 'tlb' in older traces). */
  releaseInvalidates: ReleaseInvalidates;
}

/** The worker mode that plugs replay into a hart worker. */
export function replayWorkerMode(options: ReplayWorkerOptions): WorkerMode {
  return { module: 'replayer/worker-plugin.js', options };
}
