import { availableParallelism } from 'node:os';
import type { Tier } from '../src/jit/tier.js';
import { ConsoleIo, Coordinator, RunResult, STOP_REASON_NAMES } from '../src/host/coordinator.js';
import { StopReason } from '../src/shm/layout.js';
import { TraceReader } from '../traces/trace-reader.js';
import { checkSameMachine, recordedSetup } from './recorded-machine.js';
import { ReplayProgress } from './replay-progress.js';
import { traceQuantum } from '../src/engine/serial-scheduler.js';
import { replayWorkerMode } from './worker-mode.js';
import { replaysFasterSerially, serialBySummary } from './replay-plan.js';


export interface ReplayOutcome {
  result: RunResult;
  /** Empty when the replay reproduced the recording exactly. */
  mismatches: string[];
  /** 3 for a divergence, 2 when the trace turned out to be damaged while replaying. */
  failureExitCode: number;
  truncated: boolean;
  truncatedReason: string | null;
  sched: 'parallel' | 'serial';
  /** Parallel replays with harts grouped on fewer threads than harts: how many threads. */
  threads: number | null;
  /** How the recording ended (poweroff, timeout, insn-limit, interrupted, ...), if it finished. */
  recordedStopReason: string | null;
}

function defaultIsSerial(reader: TraceReader, harts: number): boolean {
  if (harts < 2) return false; // no need to count a whole trace's events (~0.2 s on a 300 MB one)
  const bySummary = serialBySummary(reader.summary, harts);
  if (bySummary !== undefined) return bySummary;
  const info = reader.info(); // older traces: count the events
  return replaysFasterSerially(info.harts.map((h) => h.icount ?? h.lastEventIcount ?? 0), info.eventsByKind.acquire, availableParallelism());
}

/**
 * Rebuilds the recorded machine from the images inside the trace, runs every hart obeying its own
 * event stream — each in its own thread, or all on one thread in a canonical interleaving that
 * respects the trace's release/acquire order (serial) — and compares what came out (console bytes, exit code,
 * final state) with the recording.
 */
export async function replaySession(tracePath: string, io: ConsoleIo, opts: { quiet: boolean; serial?: boolean; threads?: number; signal?: AbortSignal; tier?: Tier; progress?(done: number, total: number): void }): Promise<ReplayOutcome> {
  const reader = TraceReader.open(tracePath);
  let held: Coordinator | null = null;
  try {
    const setup = recordedSetup(reader, tracePath);
    const m = setup.machine;
    const finals = setup.finals;
    const traceSched = reader.header.sched;
    // Serial traces have no ownership events: they replay serially.
    const serial = traceSched === 'serial' || (opts.serial ?? defaultIsSerial(reader, m.harts));
    const progress = ReplayProgress.create(m.harts);
    const recordedConsole = reader.console();
    const replayed: Uint8Array[] = [];

    // Parallel: a thread per hart, or, with more harts than host cores, harts grouped on as many
    // threads as cores (as a recording does), each thread running its harts in turns.
    const threads = serial ? undefined : opts.threads ?? (m.harts > availableParallelism() ? availableParallelism() : undefined);
    const coordinator = new Coordinator({ ...setup.options, tier: opts.tier, threads }, { write: (bytes) => { if (!opts.quiet) io.write(bytes); } }, {
      workerMode: () => replayWorkerMode({ tracePath, progress: progress.buffer, finalIcounts: finals, finalSafePoints: reader.summary?.finalSafePoints ?? null, traceSched, quantum: traceQuantum(traceSched === 'parallel' ? null : m.serialQuantum), releaseInvalidates: m.releaseInvalidates ?? 'tlb' }),
      serial,
      command: 'replay',
      input: () => true,
      console: (bytes) => { replayed.push(bytes.slice()); },
      poll: () => opts.progress?.(coordinator.board.harts.reduce((n, h) => n + h.publishedIcount(), 0), total),
      pollIntervalMs: opts.progress ? 500 : undefined,
    });
    const total = finals.reduce((a, b) => a + b, 0);
    checkSameMachine(coordinator.prepared, setup, reader);

    opts.signal?.addEventListener('abort', () => coordinator.stop(StopReason.Interrupted, 130), { once: true });
    coordinator.board.control.holdWorkers(); // until the final state is compared (MachineControl.holdWorkers)
    held = coordinator;
    const result = await coordinator.run();
    const mismatches: string[] = [];
    if (result.divergence) mismatches.push(result.divergence.message);
    else if (!result.fatal && result.reason !== StopReason.Interrupted) {
      const out = Buffer.concat(replayed);
      const want = Buffer.from(recordedConsole);
      if (!out.equals(want)) mismatches.push(`console output differs from the recording (replayed ${out.length} bytes, recorded ${want.length}; first difference at byte ${firstDifference(out, want)})`);
      const s = reader.summary;
      // Only a guest that ended itself has an exit code to compare; a recording stopped by
      // --timeout, --max-insns or Ctrl-C ends where the harts were stopped, and replay stops there.
      if (s && !reader.isTruncated && (s.stopReason === 'poweroff' || s.stopReason === 'reboot')) {
        if (result.exitCode !== s.exitCode) mismatches.push(`guest exit code ${result.exitCode}, the recording had ${s.exitCode}`);
        if (STOP_REASON_NAMES[result.reason] !== s.stopReason) mismatches.push(`the guest did not ${s.stopReason} as it did in the recording`);
      }
      const hashes = s ? result.finalStateHashes(s.ramHash ?? 'all') : [];
      if (s && s.finalStateHashes.length === hashes.length) {
        hashes.forEach((hash, h) => {
          if (hash === s.finalStateHashes[h]) return;
          const ended = result.icounts[h] !== s.icounts[h] ? ` (it ended at icount ${result.icounts[h]}, the recording at ${s.icounts[h]})` : ' (registers or memory)';
          mismatches.push(`final state of hart ${h} differs from the recording${ended}`);
        });
      }
    }
    return { result, mismatches, failureExitCode: result.divergence?.exitCode ?? 3, truncated: reader.isTruncated, truncatedReason: reader.truncatedReason, sched: serial ? 'serial' : 'parallel', threads: threads ?? null, recordedStopReason: reader.summary?.stopReason ?? null };
  } finally {
    held?.board.control.releaseWorkers();
    reader.close();
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
