import { describe, expect, test } from 'vitest';
import {
  F64, Rm, addSlow, divSlow, fastF32, fastF64, fastFma64, fmaSlow, fpFlags, fromNumber, mulSlow, sqrtSlow, F32, toNumber,
} from '../../src/isa/softfloat.js';

/*
 * The fast paths (JS numbers, round to nearest even) against the exact path (BigInt significands)
 * on many random operands: same bits and same flags whenever the fast path answers.
 */

/** A deterministic PRNG (xorshift64*), so a failure reproduces. */
function rng(seed: bigint): () => bigint {
  let s = seed;
  return () => {
    s ^= s >> 12n; s ^= BigInt.asUintN(64, s << 25n); s ^= s >> 27n;
    return BigInt.asUintN(64, s * 0x2545f4914f6cdd1dn);
  };
}

/** Random doubles of varied exponents (many near each other, so sums cancel and products round). */
function randomDouble(next: () => bigint, spread: number): number {
  const bits = next();
  const exp = 1023n + BigInt(Number(next() % BigInt(2 * spread + 1)) - spread);
  const v = toNumber((bits & (1n << 63n)) | (exp << 52n) | (bits & ((1n << 52n) - 1n)), F64);
  return Number(next() % 8n) === 0 ? Math.round(v * 64) / 64 || v : v; // some short significands: exact results
}

function slowFlags(run: () => bigint): [bigint, number] {
  fpFlags.value = 0;
  const r = run();
  return [r, fpFlags.value];
}

function fastFlags(run: () => number | null): [bigint, number] | null {
  fpFlags.value = 0;
  const r = run();
  return r === null ? null : [fromNumber(r, F64), fpFlags.value];
}

describe('binary64 fast paths agree with the exact path (bits and flags)', () => {
  test.each([4, 60, 500])('add, sub, mul, div, sqrt, fma with exponents within +-%i', (spread) => {
    const next = rng(0x9e3779b97f4a7c15n + BigInt(spread));
    let answered = 0;
    for (let n = 0; n < 6_000; n++) {
      const a = randomDouble(next, spread), b = randomDouble(next, spread), c = randomDouble(next, spread);
      const A = fromNumber(a, F64), B = fromNumber(b, F64), C = fromNumber(c, F64);
      const cases: [string, () => number | null, () => bigint][] = [
        ['add', () => fastF64(0, a, b), () => addSlow(A, B, false, F64, Rm.RNE)],
        ['sub', () => fastF64(1, a, b), () => addSlow(A, B, true, F64, Rm.RNE)],
        ['mul', () => fastF64(2, a, b), () => mulSlow(A, B, F64, Rm.RNE)],
        ['div', () => fastF64(3, a, b), () => divSlow(A, B, F64, Rm.RNE)],
        ['sqrt', () => fastF64(4, Math.abs(a), 0), () => sqrtSlow(A & ~(1n << 63n), F64, Rm.RNE)],
        ['fma', () => fastFma64(a, b, c), () => fmaSlow(A, B, C, false, false, F64, Rm.RNE)],
        ['fma cancelling', () => fastFma64(a, b, -(a * b)), () => fmaSlow(A, B, fromNumber(-(a * b), F64), false, false, F64, Rm.RNE)],
      ];
      for (const [name, fast, slow] of cases) {
        const f = fastFlags(fast);
        if (f === null) continue;
        answered++;
        expect(f, `${name}(${a}, ${b}, ${c})`).toEqual(slowFlags(slow));
      }
    }
    expect(answered).toBeGreaterThan(6_000); // the fast paths answer most of them
  });

  test('binary32 fast paths agree with the exact path', () => {
    const next = rng(77n);
    for (let n = 0; n < 6_000; n++) {
      const a = Math.fround(randomDouble(next, 40)), b = Math.fround(randomDouble(next, 40));
      const A = fromNumber(a, F32), B = fromNumber(b, F32);
      const cases: [number, () => bigint][] = [
        [0, () => addSlow(A, B, false, F32, Rm.RNE)], [1, () => addSlow(A, B, true, F32, Rm.RNE)],
        [2, () => mulSlow(A, B, F32, Rm.RNE)], [3, () => divSlow(A, B, F32, Rm.RNE)],
      ];
      for (const [kind, slow] of cases) {
        fpFlags.value = 0;
        const r = fastF32(kind, a, b);
        if (r === null) continue;
        expect([fromNumber(r, F32), fpFlags.value], `op ${kind} (${a}, ${b})`).toEqual(slowFlags(slow));
      }
    }
  });
});
