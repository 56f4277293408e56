/**
 * The deflated bytes of the boot images a trace stores, kept between recordings in hindsight's
 * cache directory (`images/`, src/cache-dir.ts) under the image's SHA-256. Deflating the test
 * kernel's 2.2 MB Image took ~40 ms of the main thread before every recording's harts could start;
 * reading it back, inflating it and comparing it with the image takes ~9 ms. The comparison means
 * a damaged or foreign file is never stored in a trace: it is deflated again and replaced.
 * `HINDSIGHT_IMAGE_CACHE=0` turns the cache off.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { hindsightCacheDir, pruneOldest } from '../src/cache-dir.js';

/** Smaller images deflate in about a millisecond: not worth a file. */
const MIN_CACHED_BYTES = 64 * 1024;
/** Images kept (the oldest go first). */
const MAX_FILES = 32;

/** `bytes` deflated (raw deflate, default level), from the cache when it holds them. */
export function deflatedImage(bytes: Uint8Array, sha256: string): Buffer {
  if (bytes.length < MIN_CACHED_BYTES || process.env.HINDSIGHT_IMAGE_CACHE === '0') return deflateRawSync(bytes);
  const dir = path.join(hindsightCacheDir(), 'images');
  const file = path.join(dir, `${sha256}.deflate`);
  try {
    const cached = readFileSync(file);
    if (Buffer.compare(inflateRawSync(cached), bytes) === 0) return cached;
  } catch {
    // not cached yet, or damaged: deflate it again
  }
  const deflated = deflateRawSync(bytes);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, deflated);
    renameSync(tmp, file);
    pruneOldest(dir, '.deflate', MAX_FILES);
  } catch {
    // a read-only or full cache directory: deflate again next time
  }
  return deflated;
}
