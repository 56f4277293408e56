/**
 * How many host threads `run` and a parallel `record` put their harts on when --threads is not
 * given. Its own module (node:os only) because the CLI's entry reads it before loading the rest,
 * to start the right number of hart workers (main.ts), and the commands read it again (program.ts).
 *
 * With more harts than host cores, as many threads as cores. Recording: a hart per thread then
 * makes almost no progress on a guest that shares much (measured: Linux on 4 harts on a 2-core
 * host retired 36 billion instructions of page hand-offs in 120 s without reaching /init; on 2
 * threads it records to power-off in ~4 s). Running: every thread is a V8 isolate that warms up
 * and optimises its own copy of the emulator on V8's background threads, and oversubscribed
 * threads preempt each other at random: Linux boot -> power-off on 4 harts on a 2-core host,
 * 4 alternating runs each, wall median 6.15 s with 4 threads against 4.61 s with 2, process CPU
 * 9.55 against 7.00 s (docs/ARCHITECTURE.md). Not with --chaos, which perturbs harts on threads of
 * their own. Undefined: a thread per hart.
 */
import { availableParallelism } from 'node:os';

export interface ThreadFlags {
  harts: number;
  threads?: number;
  sched?: string;
  chaos?: unknown;
}

export function defaultThreads(flags: ThreadFlags): number | undefined {
  const cores = availableParallelism();
  if (flags.threads !== undefined || (flags.sched ?? 'parallel') !== 'parallel' || flags.chaos !== undefined || flags.harts <= cores) return undefined;
  return cores;
}
