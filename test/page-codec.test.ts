import { describe, expect, test } from 'vitest';
import { loadPage, pageBytes, storePage, storedEquals } from '../replayer/page-codec.js';

describe('checkpoint page compression (zero runs)', () => {
  test('round-trips pages of every density exactly; equality sees a single flipped bit; dense pages stay raw, sparse ones shrink', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const sizes: number[] = [];
    for (let k = 0; k < 3000; k++) {
      const page = new Uint8Array(4096);
      const words = new Int32Array(page.buffer);
      const density = k % 101;
      // Zero runs of every length, words with zero halves, zeros at both ends.
      for (let i = 0; i < 1024; i++) if (rnd() % 100 < density) words[i] = k % 3 === 0 ? (rnd() & 0xffff) : rnd() | 1;
      const stored = storePage(page);
      sizes[density] = stored.length;
      const into = new Uint8Array(4096).fill(0xa5);
      loadPage(stored, into);
      expect(Buffer.from(into).equals(Buffer.from(page)), `page ${k}`).toBe(true);
      expect(Buffer.from(pageBytes(stored)).equals(Buffer.from(page))).toBe(true);
      expect(storedEquals(stored, page)).toBe(true);
      into[rnd() % 4096] ^= 1 << (rnd() % 8);
      expect(storedEquals(stored, into)).toBe(false);
    }
    expect(storePage(new Uint8Array(4096)).length).toBe(4);
    expect(sizes[0]).toBe(4);
    expect(sizes[10]).toBeLessThan(1024);
    expect(sizes[100]).toBe(4096);
    // An unaligned view (as a decoded trace may hand over) is stored like any other.
    const backing = new Uint8Array(4097);
    backing[1 + 100] = 9;
    const unaligned = backing.subarray(1);
    expect(Buffer.from(pageBytes(storePage(unaligned))).equals(Buffer.from(unaligned))).toBe(true);
  });
});
