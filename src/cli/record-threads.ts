/**
 * How many host threads a parallel recording runs its harts on when --threads is not given. Its own
 * module (node:os only) because the CLI's entry reads it before loading the rest, to start the
 * right number of hart workers (main.ts), and the record command reads it again (program.ts).
 *
 * With more harts than host cores, as many threads as cores: a hart per thread then makes almost no
 * progress on a guest that shares much (measured: Linux on 4 harts on a 2-core host retired 36
 * billion instructions of page hand-offs in 120 s without reaching /init; on 2 threads it records
 * to power-off in ~4 s). Not with --chaos, which perturbs harts on threads of their own.
 * Undefined: a thread per hart.
 */
import { availableParallelism } from 'node:os';

export interface RecordThreadFlags {
  harts: number;
  threads?: number;
  sched?: string;
  chaos?: unknown;
}

export function defaultRecordThreads(flags: RecordThreadFlags): number | undefined {
  const cores = availableParallelism();
  if (flags.threads !== undefined || (flags.sched ?? 'parallel') !== 'parallel' || flags.chaos !== undefined || flags.harts <= cores) return undefined;
  return cores;
}
