import { startsTogether } from '../src/engine/start-together.js';
import { ConsoleIo, Coordinator, hostThreadCount, RunOptions, RunResult, STOP_REASON_NAMES } from '../src/host/coordinator.js';
import { StopReason } from '../src/shm/layout.js';
import { InputError } from '../src/errors.js';
import { VERSION } from '../src/version.js';
import type { ConsolePosition } from '../traces/trace-writer.js';
import { OutputMark } from './event-ring.js';
import { TraceEventKind } from '../traces/events.js';
import { RecordedMachine } from '../traces/types.js';
import { describeCpuFeatures } from '../src/cpu/features.js';
import { MAX_RECORDING_HARTS } from './ownership.js';
import { SERIAL_QUANTUM } from '../src/engine/serial-scheduler.js';
import { recordWorkerMode, RecordWorkerOptions } from './worker-mode.js';
import { RecordingState } from './recording-state.js';
import { randomUUID } from 'node:crypto';

export interface RecordOptions extends RunOptions {
  tracePath: string;
  /** parallel: a thread per hart, CREW ownership; serial: one thread, fixed order, virtual time. */
  sched: 'parallel' | 'serial';
  /** A register-hash check every this many instructions per hart. */
  checkInterval: number;
  /** Instructions a hart keeps a freshly acquired page before honouring a request for it. */
  tenure: number;
  /** Aborting stops the recording cleanly (SIGINT): the trace is kept, marked truncated. */
  signal?: AbortSignal;
  /** Parallel recording: harts that keep waiting for each other move onto one thread for a while (`--migrate`, experimental; engine/hart-migration.ts). */
  migrate?: boolean;
}

export interface RecordResult extends RunResult {
  traceBytes: number;
  eventsByKind: Record<TraceEventKind, number>;
  truncated: boolean;
}

const FLUSH_INTERVAL_MS = 100;
/** A test aid: the polls leave the rings alone, so only the drain after the run moves events. */
const FINAL_DRAIN_ONLY = process.env.HINDSIGHT_TEST_FINAL_DRAIN_ONLY === '1';

/** Bytes printed in one burst are at most this many instructions apart (a UART store loop). */
const OUTPUT_BURST_GAP = 256;

/**
 * Adds a hart's console output marks to `runs`: a byte extends the hart's latest run when it is
 * the next byte of the output and follows within a burst; otherwise it starts a run (so each run's
 * icount says when that stretch of output was printed).
 */
function addOutputRuns(runs: ConsolePosition[], lastIcount: Map<number, number>, hart: number, marks: OutputMark[]): void {
  for (const m of marks) {
    let last: ConsolePosition | undefined;
    for (let i = runs.length - 1; i >= 0 && !last; i--) if (runs[i].hart === hart) last = runs[i];
    const prev = lastIcount.get(hart) ?? -Infinity;
    if (last && last.offset + last.count === m.offset && m.icount - prev <= OUTPUT_BURST_GAP) last.count++;
    else runs.push({ offset: m.offset, hart, icount: m.icount, count: 1 });
    lastIcount.set(hart, m.icount);
  }
}


/**
 * How harts move between the recording's threads (engine/hart-migration.ts): `--migrate`, one
 * hart at a time; otherwise, with more than one thread, all together while they wait for each
 * other (collapse; HINDSIGHT_COLLAPSE=0: not at all). --chaos perturbs harts on threads of their
 * own; one hart, or one thread, has nowhere to go. Collapse also runs with a thread per hart since
 * a gathered thread's turns shorten while its harts hand rights to each other
 * (engine/shared-thread.ts ADAPTIVE_TURNS): smp_sb_litmus on 2 harts recorded in 1.03 s of guest
 * time against 1.75 s, smp_mp_litmus 0.78 against 1.12 s (medians of 3); before, spinning harts
 * burnt whole turns on a shared thread and gathering them was slower.
 */
async function migrationFor(opts: RecordOptions, serial: boolean): Promise<RecordWorkerOptions['migration']> {
  if (serial || opts.chaos || opts.harts < 2) return null;
  const threads = hostThreadCount(opts.harts, opts.threads); // as the coordinator groups them
  const policy = opts.migrate === true ? 'pairs' : threads > 1 && process.env.HINDSIGHT_COLLAPSE !== '0' ? 'collapse' : null;
  if (policy === null) return null;
  const { migrationTableBytes } = await import('../src/engine/hart-migration.js'); // loaded only when harts may move
  // Gathered from the start (the 4-hart Linux boot gathered within ~150 ms and stayed so), the
  // other threads start when the harts first spread.
  const together = policy === 'collapse' && startsTogether(opts.harts, threads);
  return { table: new SharedArrayBuffer(migrationTableBytes(opts.harts, threads)), channel: `hindsight-migrate-${randomUUID()}`, policy, together };
}

/**
 * Runs a machine exactly like `run`, with every hart recording into its event ring, and writes
 * the trace: the header and images first, then event batches and console output flushed every
 * 100 ms in one transaction each (so an interrupted recording is still a valid trace), then the
 * summary.
 */
export async function recordSession(opts: RecordOptions, io: ConsoleIo): Promise<RecordResult> {
  const serial = opts.sched === 'serial';
  if (opts.chaos && serial) throw new InputError('--chaos perturbs parallel harts; a --sched serial recording has a fixed schedule');
  if (opts.harts > MAX_RECORDING_HARTS && !serial) throw new InputError(`parallel recording supports at most ${MAX_RECORDING_HARTS} harts (use --sched serial)`);
  const ramPages = opts.ramBytes / 4096;
  const state = RecordingState.create({ harts: opts.harts, ramPages });
  const migration = await migrationFor(opts, serial);
  /** Moves the harts' events into the trace (`writer`, created before the harts start). */
  const drainRings = (): void => {
    state.rings.forEach((ring, hart) => {
      const outputs: OutputMark[] = [];
      ring.drainInto(writer.hartEvents(hart), outputs);
      addOutputRuns(pendingRuns, lastOutputIcount, hart, outputs);
    });
  };
  const pendingInput: number[] = [];
  let lastFlush = Date.now();
  let coordinator: Coordinator | null = null;
  let consoleBytes = 0;
  /** Console output runs not yet handed to the writer (merged across polls until the next flush). */
  const pendingRuns: ConsolePosition[] = [];
  const lastOutputIcount = new Map<number, number>();

  const moveInput = () => {
    let moved = 0;
    while (moved < pendingInput.length && state.stagedInput.push(pendingInput[moved])) moved++;
    if (moved > 0) {
      pendingInput.splice(0, moved);
      coordinator?.board.control.kick(0); // hart 0 injects input at its next safe point
    }
  };

  coordinator = new Coordinator(opts, io, {
    workerMode: () => recordWorkerMode({ recording: state.buffer, ramPages, checkInterval: opts.checkInterval, tenure: opts.tenure, serial, quantum: SERIAL_QUANTUM, migration }),
    serial,
    startTogether: migration?.together === true,
    command: 'record',
    input: (bytes) => {
      pendingInput.push(...bytes);
      moveInput();
      return true;
    },
    console: (bytes) => {
      consoleBytes += bytes.length;
      writer.appendConsole(bytes);
    },
    poll: () => {
      moveInput();
      if (!FINAL_DRAIN_ONLY) drainRings();
      if (Date.now() - lastFlush >= FLUSH_INTERVAL_MS) {
        writer.appendConsolePositions(pendingRuns.splice(0));
        writer.flush();
        lastFlush = Date.now();
      }
    },
    pollIntervalMs: 20,
  });

  const images = coordinator.prepared.images;
  const machine: RecordedMachine = {
    harts: opts.harts, ramBytes: opts.ramBytes, append: opts.append, maxInsns: Number.isFinite(opts.maxInsns) ? opts.maxInsns : null,
    disk: images.some((i) => i.role === 'disk'),
    diskSlots: coordinator.prepared.config.disks.map((d) => d.slot),
    serialQuantum: serial ? SERIAL_QUANTUM : null,
    bios: images.some((i) => i.role === 'bios'), kernel: images.some((i) => i.role === 'kernel'), initrd: images.some((i) => i.role === 'initrd'),
    chaos: opts.chaos ? { seed: opts.chaos.seed } : null,
    cpu: describeCpuFeatures(coordinator.prepared.config.cpu),
    releaseInvalidates: 'page-or-devices',
    sfence: coordinator.prepared.config.cpu.sfenceByAddress === false ? undefined : 'address',
  };
  const c = coordinator;
  opts.signal?.addEventListener('abort', () => c.stop(StopReason.Interrupted, 130), { once: true });
  // The trace exists before the harts start. Created while they ran (to overlap its ~25 ms, or
  // ~75 ms with a Linux kernel's images to hash and deflate, with their start-up), it held up the
  // main thread's page compiles the harts were waiting for: bench_parallel's recording took 0.124
  // s of guest time against 0.113 s this way, with whole processes as long (docs/ARCHITECTURE.md).
  const { TraceWriter: Writer } = await import('../traces/trace-writer.js');
  const writer = Writer.create(opts.tracePath, {
    toolVersion: VERSION,
    sched: opts.sched,
    machine: { ...machine },
    images: images.map((i) => ({ role: i.role, path: i.path, loadAddress: i.loadAddress, bytes: i.bytes })),
  });
  // The workers wait, once done, until the trace is written (MachineControl.holdWorkers).
  c.board.control.holdWorkers();
  try {
    const running = c.run();
    let result: RunResult;
    try {
      result = await running;
    } catch (err) {
      writer.markTruncated(`host error: ${(err as Error).message}`, {
        exitCode: 1, stopReason: 'fatal', icounts: [], finalStateHashes: [], wallSeconds: 0, consoleBytes: 0,
      });
      writer.close();
      throw err;
    }
    // What the harts logged since the last poll. A guest that halts within ~0.1 s may end before
    // any poll drained its rings: those events, once lost, left a parallel trace with no ordering
    // at all, whose replays diverged.
    drainRings();
    writer.appendConsolePositions(pendingRuns.splice(0));
    const eventsByKind = writer.eventCounts();
    const summary = {
      exitCode: result.exitCode,
      stopReason: STOP_REASON_NAMES[result.reason],
      icounts: result.icounts,
      ...(serial ? { finalSafePoints: result.finalSafePoints } : {}),
      ramHash: 'written' as const,
      finalStateHashes: result.finalStateHashes('written'),
      wallSeconds: result.wallSeconds,
      consoleBytes,
      acquires: eventsByKind.acquire,
    };
    const truncated = result.fatal !== null || result.reason === StopReason.Interrupted || result.reason === StopReason.Fatal;
    if (truncated) writer.markTruncated(result.fatal ? `host error: ${result.fatal}` : 'recording interrupted', summary);
    else writer.finish(summary);
    const out: RecordResult = { ...result, traceBytes: writer.bytesWritten(), eventsByKind, truncated };
    writer.close();
    return out;
  } finally {
    c.board.control.releaseWorkers();
  }
}
