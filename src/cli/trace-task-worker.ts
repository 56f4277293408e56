/** The worker side of cli/trace-task.ts: runs one trace tool, sends its output and how it ended. */
import { parentPort, workerData } from 'node:worker_threads';
import { HindsightError } from '../errors.js';
import type { TaskOutput, TraceTaskMessage, TraceTaskName } from './trace-task.js';

const port = parentPort!;
const send = (m: TraceTaskMessage) => port.postMessage(m);
const out: TaskOutput = {
  stdout: (text) => send({ kind: 'stdout', text }),
  stderr: (text) => send({ kind: 'stderr', text }),
};

const { task, args } = workerData as { task: TraceTaskName; args: unknown[] };
try {
  if (task === 'timeline') {
    const { traceTimelineCommand } = await import('./trace-timeline.js');
    traceTimelineCommand(args[0] as string, args[1] as { output: string }, out);
  } else {
    const sql = await import('./trace-sql.js');
    if (task === 'sql') sql.traceSqlCommand(args[0] as string, args[1] as string | undefined, args[2] as { csv?: boolean; json?: boolean }, out);
    else sql.traceIndexCommand(args[0] as string, out);
  }
  send({ kind: 'done' });
} catch (err) {
  const e = err as Error;
  send({ kind: 'error', message: e.message, exitCode: err instanceof HindsightError ? err.exitCode : null, stack: e.stack });
}
