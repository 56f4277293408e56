/**
 * The trace tools that decode a whole trace (`trace sql`, `trace index`, `trace timeline`) run in a
 * worker thread with an explicit heap bound. The main thread's V8 heap is capped at ~4 GB whatever
 * the host has, and running out of it kills the process with a V8 stack dump (a loaded 4-hart
 * Linux trace with 2.1M acquires did so after 559 s). In a worker the bound is ours — a share of the
 * host's memory — and exceeding it ends the worker only, so the command says so in one line.
 */
import os from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { HindsightError } from '../errors.js';

export type TraceTaskName = 'sql' | 'index' | 'timeline';

/** What the worker reports: its output, then how it ended. */
export type TraceTaskMessage =
  | { kind: 'stdout' | 'stderr'; text: string }
  | { kind: 'done' }
  | { kind: 'error'; message: string; exitCode: number | null; stack?: string };

/** Where a trace tool writes (the process streams, or messages from the worker). */
export interface TaskOutput {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processOutput: TaskOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/**
 * The heap bound in MB: HINDSIGHT_TRACE_TOOL_MB, else 60% of the host's memory (at least the 4 GB
 * V8 would give the main thread).
 */
export function traceTaskHeapMb(): number {
  const env = Number(process.env.HINDSIGHT_TRACE_TOOL_MB);
  if (Number.isFinite(env) && env > 0) return Math.floor(env);
  return Math.max(4096, Math.floor((os.totalmem() / 2 ** 20) * 0.6));
}

/** Runs trace tool `task` with `args` in a bounded worker; its errors come back as HindsightErrors. */
export async function runTraceTask(task: TraceTaskName, args: unknown[]): Promise<void> {
  // Node 20 can deadlock when a worker's event loop ends while one of V8's background TurboFan jobs
  // for it waits for a garbage collection (nodejs/node#54918): the worker thread blocks draining
  // that job, the job waits for a GC only the worker thread can run. `trace sql` hung so once in
  // `npm run bench` (gdb: the worker in NodePlatform::DrainTasks, a V8 thread in
  // CollectionBarrier::AwaitCollectionBackground). Optimizing on the worker's own thread instead
  // leaves no background job to wait for; set before the worker's isolate exists.
  setFlagsFromString('--no-concurrent-recompilation');
  const heapMb = traceTaskHeapMb();
  const worker = new Worker(new URL('./trace-task-worker.js', import.meta.url), {
    workerData: { task, args },
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
    stdout: false,
    stderr: false,
  });
  let failure: HindsightError | null = null;
  let finished = false;
  worker.on('message', (m: TraceTaskMessage) => {
    if (m.kind === 'stdout') process.stdout.write(m.text);
    else if (m.kind === 'stderr') process.stderr.write(m.text);
    else if (m.kind === 'done') finished = true;
    else if (m.kind === 'error') {
      finished = true;
      failure = m.exitCode === null
        ? new HindsightError(`internal error: ${m.message}${process.env.HINDSIGHT_DEBUG && m.stack ? `\n${m.stack}` : ''}`, 1)
        : new HindsightError(m.message, m.exitCode);
    }
  });
  const exitCode = await new Promise<number>((resolve) => {
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        failure = new HindsightError(`trace ${task} needs more than the ${heapMb} MB of memory it may use for this trace ` +
          `(HINDSIGHT_TRACE_TOOL_MB=N allows N MB)`, 1);
      } else if (!failure) failure = new HindsightError(`internal error: ${err.message}`, 1);
    });
    worker.on('exit', resolve);
  });
  if (failure) throw failure;
  if (!finished) throw new HindsightError(`internal error: the trace ${task} worker stopped (exit ${exitCode}) before finishing`, 1);
}
