/**
 * How a replay without --sched schedules its harts, and how many hart workers that takes: the
 * decision replay-session.ts makes, and the guess the CLI's entry makes from the trace's meta rows
 * alone before it loads the rest of the CLI, to start those workers early (src/cli/cli.ts). Kept
 * free of the trace reader and the machine: the entry loads this module, better-sqlite3 and no more.
 */
import { availableParallelism } from 'node:os';
import { openDatabase } from '../traces/sqlite.js';
import { META } from '../traces/schema.js';

/**
 * Above this many ownership transfers (acquire events) per million instructions, a parallel trace
 * with more harts than host cores replays faster with all harts on one thread than with a thread
 * each (measured on a 2-core host: the 4-hart Linux boot, ~330 per million, serially 10.3 s against
 * 12.6 s; the 4-hart racy counter, ~490, 1.1 s against 1.7 s; the 4-hart compute guest, ~3, 4.0 s
 * against 2.3 s): a hart waiting for a release from a hart whose thread the host is not running
 * waits a whole host time slice.
 */
const SERIAL_REPLAY_ACQUIRES_PER_MILLION = 50;
/**
 * With a core per hart, serial replay pays for every hart's instructions on one thread, parallel
 * replay for the busiest hart's, plus a cross-thread hand-off per acquire and a worker start per
 * extra hart. In instructions of one thread: a hand-off ~1,000, a worker ~10M. Serial when the
 * other harts' instructions cost less than that. Measured 2026-12-04 (2-core host, 2 harts,
 * whole-process medians of 3 alternating replays, serial turns of PARALLEL_TRACE_QUANTUM; others,
 * acquires: serial against parallel): smp_mp_litmus (67M, 160K) 1.22 s against 1.61 s;
 * smp_sb_litmus (312M, 320K) 1.99 against 2.20; Linux boot (22M, 13.5K) 1.33 against 1.71;
 * smp_racy_counter (1.0M, 1.7K) 0.25 against 0.29; bench_parallel iters=7 (2.7M, 608) 0.21
 * against 0.25; parallel for bench_parallel iters=200 (51M, 606) 0.39 against 0.45 serial and
 * iters=1600 (403M, 698) 0.95 against 1.57. (With 1,000-instruction serial turns a hand-off was
 * worth ~700 and smp_sb_litmus replayed faster in parallel.)
 */
const HANDOFF_INSNS = 1000;
const WORKER_START_INSNS = 10_000_000;

/**
 * --sched not given: serial when it costs the one thread less than the parallel replay's hand-offs
 * (above). `perHart`: instructions each hart retired; `cores`: the host's.
 */
export function replaysFasterSerially(perHart: number[], acquires: number, cores: number): boolean {
  const harts = perHart.length;
  const instructions = perHart.reduce((a, b) => a + b, 0);
  if (instructions === 0 || harts < 2) return false;
  if (harts > cores) return (acquires * 1e6) / instructions > SERIAL_REPLAY_ACQUIRES_PER_MILLION;
  const others = instructions - Math.max(...perHart);
  return others < acquires * HANDOFF_INSNS + (harts - 1) * WORKER_START_INSNS;
}

/**
 * replaysFasterSerially from a recording's summary (its final icounts and acquire count);
 * undefined when the summary does not say (older traces have no acquire count).
 */
export function serialBySummary(summary: { icounts?: unknown; acquires?: unknown } | null, harts: number, cores = availableParallelism()): boolean | undefined {
  const icounts = summary?.icounts;
  const acquires = summary?.acquires;
  if (!Array.isArray(icounts) || icounts.length !== harts || !icounts.every((n) => typeof n === 'number') || typeof acquires !== 'number') return undefined;
  return replaysFasterSerially(icounts as number[], acquires, cores);
}

/**
 * The hart workers a replay of `tracePath` without --sched will use, from its header and summary
 * (harts, recorded scheduling, instructions and acquires per hart): one for a serial replay, else a
 * thread per hart up to the host's cores. 1 whenever the trace does not say (an older trace without
 * the summary's acquire count, a truncated or damaged one, no trace at all): the replay validates
 * the file and reports what is wrong; a wrong guess costs only time.
 */
export function replayWorkersGuessed(tracePath: string): number {
  try {
    const db = openDatabase(tracePath, { readonly: true, fileMustExist: true });
    try {
      const meta = new Map((db.prepare('SELECT key, value FROM meta WHERE key IN (?, ?)').all(META.header, META.summary) as { key: string; value: string }[]).map((r) => [r.key, r.value]));
      const header = JSON.parse(meta.get(META.header) ?? 'null') as { sched?: unknown; machine?: { harts?: unknown } } | null;
      const summary = JSON.parse(meta.get(META.summary) ?? 'null') as { icounts?: unknown; acquires?: unknown } | null;
      const harts = header?.machine?.harts;
      if (header?.sched !== 'parallel' || typeof harts !== 'number' || !Number.isInteger(harts) || harts < 2) return 1;
      const cores = availableParallelism();
      return serialBySummary(summary, harts, cores) === false ? Math.min(harts, cores) : 1;
    } finally {
      db.close();
    }
  } catch {
    return 1;
  }
}
