import { describe, expect, test } from 'vitest';
import { hartGroups } from '../../src/host/coordinator.js';

describe('hartGroups: harts over fewer host threads', () => {
  const harts = (n: number) => Array.from({ length: n }, (_, i) => i);

  test('recording and replay keep neighbours together (a parked hart hands its pages over on the spot)', () => {
    expect(hartGroups(harts(4), 2)).toEqual([[0, 1], [2, 3]]);
    expect(hartGroups(harts(3), 2)).toEqual([[0, 1], [2]]);
  });

  test('a plain run interleaves them, so a working pair (harts 0 and 1) runs in parallel', () => {
    expect(hartGroups(harts(4), 2, 'interleaved')).toEqual([[0, 2], [1, 3]]);
    expect(hartGroups(harts(3), 2, 'interleaved')).toEqual([[0, 2], [1]]);
    expect(hartGroups(harts(8), 3, 'interleaved')).toEqual([[0, 3, 6], [1, 4, 7], [2, 5]]);
  });

  test('a thread per hart, or one thread, either way', () => {
    for (const layout of ['contiguous', 'interleaved'] as const) {
      expect(hartGroups(harts(4), 4, layout)).toEqual([[0], [1], [2], [3]]);
      expect(hartGroups(harts(4), 1, layout)).toEqual([[0, 1, 2, 3]]);
      expect(hartGroups(harts(2), undefined, layout)).toEqual([[0], [1]]);
    }
  });
});
