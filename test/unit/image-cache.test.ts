import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deflatedImage } from '../../traces/image-cache.js';
import { TraceReader } from '../../traces/trace-reader.js';
import { TraceWriter, sha256Hex } from '../../traces/trace-writer.js';

let dir: string;
let savedCache: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hindsight-image-cache-'));
  savedCache = process.env.HINDSIGHT_CACHE;
  process.env.HINDSIGHT_CACHE = join(dir, 'cache');
  mkdirSync(join(dir, 'cache', 'images'), { recursive: true });
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.HINDSIGHT_CACHE;
  else process.env.HINDSIGHT_CACHE = savedCache;
  rmSync(dir, { recursive: true, force: true });
});

/** A compressible image above the cache's size threshold, different for each seed. */
function image(seed: number, size = 300_000): Uint8Array {
  return new Uint8Array(size).map((_, i) => ((i >> 4) * seed + (i % 7)) & 0xff);
}
const cacheFile = (bytes: Uint8Array) => join(dir, 'cache', 'images', `${sha256Hex(bytes)}.deflate`);

describe('the cache of deflated boot images', () => {
  it('keeps an image deflated and serves it from the file afterwards', () => {
    const img = image(3);
    const first = deflatedImage(img, sha256Hex(img));
    expect(Buffer.compare(inflateRawSync(first), img)).toBe(0);
    expect(readFileSync(cacheFile(img)).equals(first)).toBe(true);
    // Another valid deflate of the same bytes in the file: served as it is (read, not deflated again).
    const level1 = deflateRawSync(img, { level: 1 });
    expect(level1.equals(first)).toBe(false);
    writeFileSync(cacheFile(img), level1);
    expect(deflatedImage(img, sha256Hex(img)).equals(level1)).toBe(true);
  });

  it('never serves a damaged file or one holding other bytes, and replaces it', () => {
    const img = image(5);
    writeFileSync(cacheFile(img), Buffer.from('not deflate at all'));
    const fromDamaged = deflatedImage(img, sha256Hex(img));
    expect(Buffer.compare(inflateRawSync(fromDamaged), img)).toBe(0);
    expect(readFileSync(cacheFile(img)).equals(fromDamaged)).toBe(true);

    const other = image(7);
    writeFileSync(cacheFile(img), deflateRawSync(other));
    const fromForeign = deflatedImage(img, sha256Hex(img));
    expect(Buffer.compare(inflateRawSync(fromForeign), img)).toBe(0);
  });

  it('leaves small images out of the cache', () => {
    const small = image(9, 4096);
    expect(Buffer.compare(inflateRawSync(deflatedImage(small, sha256Hex(small))), small)).toBe(0);
    expect(existsSync(cacheFile(small))).toBe(false);
  });

  it('a trace written with a damaged cache file still holds the exact image', () => {
    const img = image(11);
    writeFileSync(cacheFile(img), deflateRawSync(image(13)));
    const path = join(dir, 'damaged-cache.trace');
    const w = TraceWriter.create(path, { toolVersion: 'test', sched: 'parallel', machine: { harts: 1 }, images: [{ role: 'kernel', path: 'k', loadAddress: 0x8020_0000, bytes: img }] });
    w.finish({ exitCode: 0, stopReason: 'guest powered off', icounts: [0], finalStateHashes: ['00'], wallSeconds: 0, consoleBytes: 0 });
    w.close();
    const r = TraceReader.open(path);
    try {
      expect(Buffer.compare(Buffer.from(r.images[0].bytes), img)).toBe(0);
    } finally {
      r.close();
    }
  });
});
