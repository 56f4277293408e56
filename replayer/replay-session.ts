import { ConsoleIo, Coordinator, RunResult, STOP_REASON_NAMES } from '../src/engine/coordinator.js';
import { StopReason } from '../src/engine/layout.js';
import { RecordedMachine } from '../recorder/record-session.js';
import { TraceError } from '../traces/trace-error.js';
import { TraceReader } from '../traces/trace-reader.js';
import { sha256Hex } from '../traces/trace-writer.js';
import { ReplayProgress } from './replay-progress.js';
import { SERIAL_QUANTUM } from '../src/engine/serial-scheduler.js';

export interface ReplayOutcome {
  result: RunResult;
  /** Empty when the replay reproduced the recording exactly. */
  mismatches: string[];
  /** 3 for a divergence, 2 when the trace turned out to be damaged while replaying. */
  failureExitCode: number;
  truncated: boolean;
  truncatedReason: string | null;
  sched: 'parallel' | 'serial';
  /** How the recording ended (poweroff, timeout, insn-limit, interrupted, ...), if it finished. */
  recordedStopReason: string | null;
}

function recordedMachine(reader: TraceReader): RecordedMachine {
  const m = reader.header.machine as Partial<RecordedMachine>;
  const ok = Number.isInteger(m.harts) && Number.isInteger(m.ramBytes) && typeof m.append === 'string' &&
    (reader.header.sched !== 'serial' || (Number.isInteger(m.serialQuantum) && (m.serialQuantum as number) > 0));
  if (!ok) throw new TraceError(`trace ${reader.path} is damaged: its machine configuration is incomplete`);
  return m as RecordedMachine;
}

/** Where each hart stopped: the summary's counts, or for an unfinished recording each hart's last event. */
function finalIcounts(reader: TraceReader, harts: number): number[] {
  if (reader.summary && reader.summary.icounts.length === harts) return reader.summary.icounts;
  const last = new Array<number>(harts).fill(0);
  for (let h = 0; h < harts; h++) for (const e of reader.events(h)) last[h] = e.icount;
  return last;
}

/**
 * Rebuilds the recorded machine from the images inside the trace, runs every hart obeying its own
 * event stream — each in its own thread, or all on one thread in a canonical interleaving that
 * respects the trace's release/acquire order (serial) — and compares what came out (console bytes, exit code,
 * final state) with the recording.
 */
export async function replaySession(tracePath: string, io: ConsoleIo, opts: { quiet: boolean; serial?: boolean; signal?: AbortSignal }): Promise<ReplayOutcome> {
  const reader = TraceReader.open(tracePath);
  try {
    const m = recordedMachine(reader);
    const byRole = new Map(reader.images.map((i) => [i.role, i]));
    const pathOf = (role: string) => (byRole.has(role) ? byRole.get(role)!.path ?? role : null);
    const finals = finalIcounts(reader, m.harts);
    const traceSched = reader.header.sched;
    const serial = (opts.serial ?? false) || traceSched === 'serial'; // serial traces have no ownership events
    const progress = ReplayProgress.create(m.harts);
    const recordedConsole = reader.console();
    const replayed: Uint8Array[] = [];

    const coordinator = new Coordinator({
      harts: m.harts, ramBytes: m.ramBytes, append: m.append,
      bios: m.bios ? pathOf('bios') : null, kernel: m.kernel ? pathOf('kernel') : null, initrd: m.initrd ? pathOf('initrd') : null,
      disk: m.disk ? pathOf('disk') : null, diskWritable: false, timeoutSeconds: null, maxInsns: Number.POSITIVE_INFINITY,
      readImage: (role) => {
        const img = byRole.get(role === 'firmware' ? 'bios' : role === 'disk image' ? 'disk' : role);
        if (!img) throw new TraceError(`trace ${tracePath} is damaged: it has no ${role} image`);
        return img.bytes;
      },
    }, { write: (bytes) => { if (!opts.quiet) io.write(bytes); } }, {
      workerMode: () => ({ kind: 'replay', tracePath, progress: progress.buffer, finalIcounts: finals, traceSched, quantum: m.serialQuantum ?? SERIAL_QUANTUM }),
      serial,
      input: () => true,
      console: (bytes) => { replayed.push(bytes.slice()); },
    });
    const dtb = coordinator.prepared.images.find((i) => i.role === 'dtb');
    const recordedDtb = byRole.get('dtb');
    if (dtb && recordedDtb && sha256Hex(dtb.bytes) !== sha256Hex(recordedDtb.bytes)) {
      throw new TraceError(`trace ${tracePath} describes a machine this hindsight builds differently (device tree differs); it was recorded by hindsight ${reader.toolVersion}`);
    }

    opts.signal?.addEventListener('abort', () => coordinator.stop(StopReason.Interrupted, 130), { once: true });
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
      if (s && s.finalStateHashes.length === result.finalStateHashes.length) {
        result.finalStateHashes.forEach((hash, h) => {
          if (hash !== s.finalStateHashes[h]) mismatches.push(`final state of hart ${h} differs from the recording`);
        });
      }
    }
    return { result, mismatches, failureExitCode: result.divergence?.exitCode ?? 3, truncated: reader.isTruncated, truncatedReason: reader.truncatedReason, sched: serial ? 'serial' : 'parallel', recordedStopReason: reader.summary?.stopReason ?? null };
  } finally {
    reader.close();
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
