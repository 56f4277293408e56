import { describe, expect, test } from 'vitest';
import { Slot } from '../../src/cpu/csr-numbers.js';
import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import type { Hart } from '../../src/cpu/hart.js';
import { stateHash } from '../../src/engine/state-hash.js';

/** The parts of a hart the divergence check reads. */
function hartLike(f: boolean): Hart {
  return {
    x: new BigInt64Array(32), f: new BigInt64Array(32), csr: new BigInt64Array(Slot.count), pc: 0x80000000n, priv: 3,
    features: { ...DEFAULT_CPU_FEATURES, f, d: f },
  } as unknown as Hart;
}

describe('the divergence check hash', () => {
  test('covers f0-f31 and fcsr on a hart with F', () => {
    const h = hartLike(true);
    const base = stateHash(h);
    h.f[31] = 1n;
    const withF = stateHash(h);
    expect(withF).not.toBe(base);
    h.csr[Slot.fcsr] = 1n; // NX accrued
    expect(stateHash(h)).not.toBe(withF);
  });

  test('on a hart without F it is the pre-F hash (older traces keep checking)', () => {
    const h = hartLike(false);
    const base = stateHash(h);
    h.f[3] = 5n;
    expect(stateHash(h)).toBe(base);
    h.x[3] = 5n;
    expect(stateHash(h)).not.toBe(base);
  });
});
