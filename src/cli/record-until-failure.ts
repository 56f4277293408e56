/**
 * `hindsight record --until-failure`: records the guest again and again until a run fails, keeps
 * that run's trace (and only that one), and reports the failure rate as it goes.
 */
import { renameSync, rmSync } from 'node:fs';
import { StopReason } from '../shm/layout.js';
import { InputError } from '../errors.js';
import { RecordOptions, RecordResult, recordSession } from '../../recorder/record-session.js';

export interface UntilFailureFlags {
  maxRuns: number;
  /** Exit codes that count as failures; null: any non-zero exit. */
  failOnExit: number[] | null;
  /** Console output matching this counts as a failure. */
  failOn: RegExp | null;
}

function exitCodeOf(result: RecordResult): number {
  return result.reason === StopReason.InsnLimit ? 124 : result.exitCode;
}

/** Why a run counts as failed, or null if it passed. */
function failureOf(result: RecordResult, output: string, flags: UntilFailureFlags): string | null {
  const code = exitCodeOf(result);
  if (flags.failOnExit ? flags.failOnExit.includes(code) : code !== 0) return `exit code ${code}`;
  const m = flags.failOn?.exec(output);
  if (m) return `console output matched /${flags.failOn!.source}/: ${JSON.stringify(m[0].slice(0, 80))}`;
  return null;
}

function percent(n: number, d: number): string {
  return `${((100 * n) / d).toFixed(1)}%`;
}

/**
 * Runs up to `flags.maxRuns` recordings of the same machine. Each goes into a temporary file next
 * to the output; the first failing one is renamed to the output, passing ones are deleted. The
 * guest console of a run is shown only when it failed. Returns the exit code: the failing guest's
 * (1 if it exited 0 but its output matched --fail-on), 0 when every run passed, 130 on Ctrl-C
 * (the interrupted run's trace is kept, marked truncated, as the output).
 */
export async function recordUntilFailure(opts: RecordOptions, flags: UntilFailureFlags, stderr: (line: string) => void, stdout: (bytes: Uint8Array) => void): Promise<number> {
  if (flags.maxRuns < 1) throw new InputError('--max-runs must be at least 1');
  const temp = `${opts.tracePath}.run-${process.pid}.partial`;
  let failures = 0;
  for (let run = 1; run <= flags.maxRuns; run++) {
    if (opts.signal?.aborted) {
      stderr(`interrupted after ${run - 1} runs (${failures} failures): no trace kept`);
      return 130;
    }
    const chunks: Uint8Array[] = [];
    let result: RecordResult;
    // With --chaos, run k uses seed + k - 1, so no two runs perturb the schedule alike.
    const chaos = opts.chaos ? { seed: (opts.chaos.seed + run - 1) >>> 0 } : null;
    const seedNote = chaos ? `, chaos seed ${chaos.seed}` : '';
    // A signal per run, so that the caller's signal does not collect one listener per run.
    const runAbort = new AbortController();
    const abortRun = () => runAbort.abort();
    opts.signal?.addEventListener('abort', abortRun);
    try {
      result = await recordSession({ ...opts, chaos, tracePath: temp, signal: runAbort.signal }, { write: (bytes) => { chunks.push(bytes.slice()); } });
    } catch (err) {
      rmSync(temp, { force: true });
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', abortRun);
    }
    const output = Buffer.concat(chunks);
    if (result.fatal) {
      renameSync(temp, opts.tracePath);
      stdout(output);
      throw new Error(`${result.fatal} (run ${run}; its trace up to this point was kept in ${opts.tracePath})`);
    }
    if (result.reason === StopReason.Interrupted) {
      renameSync(temp, opts.tracePath);
      stdout(output);
      stderr(`interrupted during run ${run} (${failures} failure${failures === 1 ? '' : 's'} before it); its trace is kept in ${opts.tracePath}, marked truncated`);
      return 130;
    }
    const failure = failureOf(result, output.toString('utf8'), flags);
    const total = result.icounts.reduce((a, b) => a + b, 0);
    if (failure) {
      failures++;
      renameSync(temp, opts.tracePath);
      stdout(output);
      stderr(`run ${run}: FAILED (${failure}) after ${total} instructions in ${result.wallSeconds.toFixed(2)} s${seedNote}; failure rate so far ${failures}/${run} (${percent(failures, run)})`);
      stderr(`kept the failing trace in ${opts.tracePath} (${(result.traceBytes / 1024).toFixed(1)} KiB); replay it with: hindsight replay ${opts.tracePath}`);
      const code = exitCodeOf(result);
      return code !== 0 ? code : 1;
    }
    rmSync(temp, { force: true });
    stderr(`run ${run}: passed (exit ${exitCodeOf(result)}, ${total} instructions in ${result.wallSeconds.toFixed(2)} s${seedNote}); failure rate so far ${failures}/${run} (${percent(failures, run)})`);
  }
  stderr(`all ${flags.maxRuns} runs passed: no failure captured, no trace written`);
  return 0;
}
