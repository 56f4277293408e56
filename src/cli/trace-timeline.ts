/** `hindsight trace timeline TRACE -o FILE.html` (the picture: src/cli/timeline-html.ts). */
import { writeFileSync } from 'node:fs';
import { InputError } from '../errors.js';
import { TraceReader } from '../../traces/trace-reader.js';
import { decodeTrace } from '../../traces/trace-views.js';
import { renderTimeline } from './timeline-html.js';
import { processOutput, type TaskOutput } from './trace-task.js';

export function traceTimelineCommand(trace: string, flags: { output: string }, out: TaskOutput = processOutput): void {
  const started = performance.now();
  const reader = TraceReader.open(trace);
  let html: string;
  let steps: number;
  try {
    const decoded = decodeTrace(reader);
    const summary = decoded.rows.summary[0];
    steps = decoded.steps.totalSteps;
    html = renderTimeline(decoded, {
      tracePath: trace,
      harts: decoded.finals.length,
      sched: reader.header.sched,
      exitCode: reader.summary?.exitCode ?? null,
      stopReason: reader.summary?.stopReason ?? null,
      complete: summary.complete === 1,
      truncatedReason: reader.truncatedReason,
      chaosSeed: summary.chaos_seed === null ? null : Number(summary.chaos_seed),
    });
  } finally {
    reader.close();
  }
  try {
    writeFileSync(flags.output, html);
  } catch (err) {
    throw new InputError(`cannot write ${flags.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  out.stderr(`hindsight: wrote ${flags.output} (${(html.length / 1024).toFixed(1)} KiB, ${steps.toLocaleString('en')} steps) in ${((performance.now() - started) / 1000).toFixed(2)} s\n`);
}
