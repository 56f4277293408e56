import { describe, expect, test } from 'vitest';
import { replaysFasterSerially } from '../../replayer/replay-session.js';

// The traces measured in replayer/replay-session.ts (2-core host): per-hart instructions, acquire
// events, and which replay was faster.
describe("replay's default scheduling (replaysFasterSerially)", () => {
  test('a core per hart: serial where hand-offs cost more than the other harts\' instructions', () => {
    expect(replaysFasterSerially([72_700_000, 72_600_000], 160_189, 2)).toBe(true); // smp_mp_litmus: 1.45 s serial, 1.88 s parallel
    expect(replaysFasterSerially([1_010_000, 1_005_000], 2_802, 2)).toBe(true); // smp_racy_counter: 0.47 / 0.60
    expect(replaysFasterSerially([39_978_425, 3_828_598], 11_791, 2)).toBe(true); // Linux boot, 2 harts: 2.4 / 2.7
    expect(replaysFasterSerially([3_485_983, 3_465_247], 731, 2)).toBe(true); // bench_parallel, short: 0.49 / 0.53
    expect(replaysFasterSerially([288_000_000, 287_400_000], 320_121, 2)).toBe(false); // smp_sb_litmus: 3.0 / 2.6
    expect(replaysFasterSerially([400_000_000, 400_000_000], 700, 2)).toBe(false); // long compute, little sharing
  });

  test('more harts than cores: serial above 50 acquires per million instructions', () => {
    expect(replaysFasterSerially([20e6, 20e6, 10e6, 10e6], 17_000, 2)).toBe(true); // Linux boot, 4 harts (~330 per million)
    expect(replaysFasterSerially([1e8, 1e8, 1e8, 1e8], 1_200, 2)).toBe(false); // compute guest (~3 per million)
    expect(replaysFasterSerially([1e8, 1e8, 1e8, 1e8], 1_200, 4)).toBe(false); // the same with a core each
  });

  test('one hart or no instructions: parallel (nothing to hand off)', () => {
    expect(replaysFasterSerially([5e6], 0, 2)).toBe(false);
    expect(replaysFasterSerially([0, 0], 0, 2)).toBe(false);
  });
});
