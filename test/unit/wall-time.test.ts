import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/src/', import.meta.url));
const HELLO = fileURLToPath(new URL('../guests/bin/hello.elf', import.meta.url));

describe("a run's wall time (RunResult.wallSeconds: --stats, the record and replay summaries)", () => {
  // It counts from the harts' start (Ctrl.StartedNs64), not from the coordinator's: the wait for
  // the hart workers' loading is no part of the guest's time. Here the coordinator starts fresh
  // workers (no worker pool, as in-process users do), which load for tens of ms before hello.elf's
  // few thousand instructions run in well under that.
  test('leaves out the hart workers loading before the harts start', () => {
    const script = `
      const { Coordinator } = await import(${JSON.stringify(`${DIST}host/coordinator.js`)});
      const { DEFAULT_CPU_FEATURES } = await import(${JSON.stringify(`${DIST}cpu/features.js`)});
      const opts = { harts: 2, ramBytes: 128 << 20, bios: null, kernel: ${JSON.stringify(HELLO)}, initrd: null, append: '', disks: [], diskWritable: false,
        cpu: DEFAULT_CPU_FEATURES, timeoutSeconds: 60, maxInsns: Number.POSITIVE_INFINITY, tier: 'reference', chaos: null };
      const coordinator = new Coordinator(opts, { write() {} });
      const t0 = performance.now();
      const result = await coordinator.run();
      const elapsed = (performance.now() - t0) / 1000;
      console.log(JSON.stringify({ exitCode: result.exitCode, wall: result.wallSeconds, elapsed }));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    const { exitCode, wall, elapsed } = JSON.parse(r.stdout) as { exitCode: number; wall: number; elapsed: number };
    expect(exitCode).toBe(0);
    expect(wall).toBeGreaterThan(0);
    // A fresh worker takes ~100 ms to load on the 2-core hosts (more when they are busy); counted
    // from the coordinator's start, the wall time was within a millisecond of the whole.
    expect(elapsed - wall).toBeGreaterThan(0.02);
  });
});
