import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayWorkersGuessed } from '../../replayer/replay-plan.js';
import { TraceReader } from '../../traces/trace-reader.js';
import { TraceWriter, type TraceHeader, type TraceSummary } from '../../traces/trace-writer.js';

// The CLI's entry starts a default replay's hart workers from this guess, before it loads the
// rest of the CLI (src/cli/cli.ts): it must agree with the replay's own decision where the trace
// says enough, and fall back to one worker (never fail) where it does not.
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-plan-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
function trace(sched: 'parallel' | 'serial', harts: number, summary: Partial<TraceSummary> | null): string {
  const path = join(dir, `t${n++}.trace`);
  const header: TraceHeader = { toolVersion: 'test', sched, machine: { harts }, images: [{ role: 'kernel', path: '/k.elf', loadAddress: 0x8000_0000, bytes: new Uint8Array(64) }] };
  const w = TraceWriter.create(path, header);
  const base: TraceSummary = { exitCode: 0, stopReason: 'poweroff', icounts: Array(harts).fill(50_000_000), finalStateHashes: Array(harts).fill('aa'), wallSeconds: 1, consoleBytes: 0 };
  if (summary !== null) w.finish({ ...base, ...summary });
  w.close();
  return path;
}

describe('replayWorkersGuessed (workers a replay without --sched starts with)', () => {
  it('a low-sharing parallel trace: a thread per hart, up to the host cores', () => {
    const cores = availableParallelism();
    expect(replayWorkersGuessed(trace('parallel', 2, { acquires: 606 }))).toBe(Math.min(2, cores));
    expect(replayWorkersGuessed(trace('parallel', 4, { acquires: 1_200 }))).toBe(Math.min(4, cores));
  });

  it('what the replay runs on one thread: serial traces, one hart, heavy sharing', () => {
    expect(replayWorkersGuessed(trace('serial', 2, { acquires: 0 }))).toBe(1);
    expect(replayWorkersGuessed(trace('parallel', 1, { acquires: 3, icounts: [5_000_000] }))).toBe(1);
    expect(replayWorkersGuessed(trace('parallel', 2, { acquires: 160_161, icounts: [164_991_990, 66_676_190] }))).toBe(1); // smp_mp_litmus
  });

  it('one worker where the trace does not say: no acquire count (older traces), no summary, not a trace, no file', () => {
    expect(replayWorkersGuessed(trace('parallel', 2, {}))).toBe(1);
    expect(replayWorkersGuessed(trace('parallel', 2, null))).toBe(1);
    const junk = join(dir, 'junk.trace');
    writeFileSync(junk, 'not a database at all, just text '.repeat(200));
    expect(replayWorkersGuessed(junk)).toBe(1);
    expect(replayWorkersGuessed(join(dir, 'missing.trace'))).toBe(1);
    expect(replayWorkersGuessed(dir)).toBe(1);
  });

  it("the summary's acquire count is read back and checked", () => {
    const path = trace('parallel', 2, { acquires: 606 });
    const reader = TraceReader.open(path);
    expect(reader.summary?.acquires).toBe(606);
    reader.close();
    expect(() => TraceReader.open(trace('parallel', 2, { acquires: -1 }))).toThrow(/summary is incomplete/);
  });
});
