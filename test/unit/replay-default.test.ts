import { describe, expect, test } from 'vitest';
import { replaysFasterSerially } from '../../replayer/replay-plan.js';

// The traces measured in replayer/replay-session.ts (2-core host): per-hart instructions, acquire
// events, and which replay was faster.
describe("replay's default scheduling (replaysFasterSerially)", () => {
  test('a core per hart: serial where hand-offs cost more than the other harts\' instructions', () => {
    expect(replaysFasterSerially([164_991_990, 66_676_190], 160_161, 2)).toBe(true); // smp_mp_litmus: 1.22 s serial, 1.61 s parallel
    expect(replaysFasterSerially([312_204_498, 425_876_684], 320_146, 2)).toBe(true); // smp_sb_litmus: 1.99 / 2.20
    expect(replaysFasterSerially([1_007_282, 1_006_576], 1_661, 2)).toBe(true); // smp_racy_counter: 0.25 / 0.29
    expect(replaysFasterSerially([23_023_505, 22_129_821], 13_511, 2)).toBe(true); // Linux boot, 2 harts: 1.33 / 1.71
    expect(replaysFasterSerially([2_716_739, 2_706_023], 608, 2)).toBe(true); // bench_parallel iters=7: 0.21 / 0.25
    expect(replaysFasterSerially([51_456_390, 51_232_274], 606, 2)).toBe(false); // bench_parallel iters=200: 0.45 / 0.39
    expect(replaysFasterSerially([405_017_715, 403_222_076], 698, 2)).toBe(false); // bench_parallel iters=1600: 1.57 / 0.95
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
