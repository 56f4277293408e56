import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EXPECTED, guest, hindsight, stableLines } from './support/tools.js';

const golden = (name: string) => stableLines(readFileSync(join(EXPECTED, `${name}.out`), 'latin1'));

function infoValue(output: string, key: string): number {
  const m = new RegExp(`^info: ${key}=(\\d+)`, 'm').exec(output);
  if (!m) throw new Error(`no 'info: ${key}=' line in:\n${output}`);
  return Number(m[1]);
}

describe.each([1, 2, 4])('multi-hart guests on %i hart(s)', (harts) => {
  test.each(['smp_spinlock', 'smp_amo_counter', 'smp_mp_litmus', 'irq_ipi'])('%s gives exact results', async (name) => {
    const r = await hindsight(['run', '--harts', String(harts), '--timeout', '120', guest(name)]);
    expect(r.stderr).toBe('');
    expect(stableLines(r.stdout)).toBe(golden(name));
    expect(r.code).toBe(0);
  });
});

describe('real concurrency', () => {
  test('an unsynchronised counter never loses updates on one hart', async () => {
    const r = await hindsight(['run', '--harts', '1', '--timeout', '60', guest('smp_racy_counter')]);
    expect(r.code).toBe(0);
    expect(infoValue(r.stdout, 'lost')).toBe(0);
  });

  // On the reference tier: with the JIT each hart's 200k-iteration loop takes about a millisecond,
  // less than compiling its page (5-16 ms, per hart), so on a 2-core host the loops often do not
  // overlap at all. The race is a property of the threads and the shared memory, not of the tier.
  test.each([2, 4])('an unsynchronised counter loses updates on %i harts running in parallel', async (harts) => {
    const losses: number[] = [];
    for (let attempt = 0; attempt < 5 && !losses.some((n) => n > 0); attempt++) {
      const r = await hindsight(['run', '--tier', 'reference', '--harts', String(harts), '--timeout', '120', guest('smp_racy_counter')]);
      expect(r.code).toBe(0);
      losses.push(infoValue(r.stdout, 'lost'));
    }
    expect(Math.max(...losses)).toBeGreaterThan(0);
  });
});
