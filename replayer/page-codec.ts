import { PAGE_SIZE } from '../src/machine/bus.js';

/**
 * Compression of checkpoint page copies in memory: runs of zero words are dropped. Written here
 * rather than taken from a library because it must cost about as much as the copy it replaces
 * (measured on this 2-core host, Node 20: zlib's deflateRaw at level 1 takes ~25 us per 4 KiB
 * page, this ~2 us), and the pages checkpoints hold are mostly what makes a run of zeros: kernel
 * pages half-filled, stacks, page tables, freshly zeroed memory. Dense data pages stay raw.
 *
 * A stored page is a Uint8Array: exactly PAGE_SIZE bytes means raw, anything shorter is encoded:
 * a sequence of tokens, each one little-endian u32 `zeros << 16 | literals` (counts of 32-bit
 * words) followed by the literal words. Decoding starts from a zeroed page.
 */

const WORDS = PAGE_SIZE >> 2;
/** Encoded pages above this size are kept raw (decoding must pay for itself). */
const KEEP_RAW_ABOVE = (PAGE_SIZE * 3) >> 2;
const scratch = new Int32Array(WORDS + 2);

/** The page's stored form: encoded when that saves at least a quarter, else a raw copy. */
export function storePage(page: Uint8Array): Uint8Array {
  if (page.byteOffset % 4 !== 0) page = page.slice();
  const words = new Int32Array(page.buffer, page.byteOffset, WORDS);
  // Dense pages (no zero among 32 words spread over the page) are copied without trying.
  let sampledZeros = 0;
  for (let i = 0; i < WORDS; i += 32) if (words[i] === 0) sampledZeros++;
  if (sampledZeros === 0) return page.slice();
  let out = 0;
  let i = 0;
  while (i < WORDS) {
    const zeroStart = i;
    while (i < WORDS && words[i] === 0) i++;
    const zeros = i - zeroStart;
    if (i === WORDS) {
      if (zeros > 0) scratch[out++] = zeros << 16;
      break;
    }
    const header = out++;
    const litStart = i;
    // Literals run until two zero words in a row (a lone zero is cheaper kept as a literal).
    while (i < WORDS && (words[i] !== 0 || (i + 1 < WORDS && words[i + 1] !== 0))) {
      if (out >= (KEEP_RAW_ABOVE >> 2)) return page.slice();
      scratch[out++] = words[i++];
    }
    scratch[header] = (zeros << 16) | (i - litStart);
  }
  return new Uint8Array(scratch.buffer.slice(0, out * 4));
}

/** Writes a stored page's bytes into `target` (PAGE_SIZE bytes). */
export function loadPage(stored: Uint8Array, target: Uint8Array): void {
  if (stored.length === PAGE_SIZE) {
    target.set(stored);
    return;
  }
  target.fill(0);
  const words = new Int32Array(target.buffer, target.byteOffset, WORDS);
  const tokens = new Int32Array(stored.buffer, stored.byteOffset, stored.length >> 2);
  let at = 0;
  for (let t = 0; t < tokens.length;) {
    const token = tokens[t++];
    at += token >>> 16;
    const literals = token & 0xffff;
    for (let k = 0; k < literals; k++) words[at++] = tokens[t++];
  }
}

/** The page's bytes as a fresh PAGE_SIZE array (raw pages are returned as they are). */
export function pageBytes(stored: Uint8Array): Uint8Array {
  if (stored.length === PAGE_SIZE) return stored;
  const page = new Uint8Array(PAGE_SIZE);
  loadPage(stored, page);
  return page;
}

/** Whether the stored page holds exactly `page`'s bytes. */
export function storedEquals(stored: Uint8Array, page: Uint8Array): boolean {
  if (stored.length === PAGE_SIZE) return Buffer.from(stored.buffer, stored.byteOffset, PAGE_SIZE).equals(Buffer.from(page.buffer, page.byteOffset, PAGE_SIZE));
  const words = new Int32Array(page.buffer, page.byteOffset, WORDS);
  const tokens = new Int32Array(stored.buffer, stored.byteOffset, stored.length >> 2);
  let at = 0;
  for (let t = 0; t < tokens.length;) {
    const token = tokens[t++];
    for (const end = at + (token >>> 16); at < end; at++) if (words[at] !== 0) return false;
    const literals = token & 0xffff;
    for (let k = 0; k < literals; k++) if (words[at++] !== tokens[t++]) return false;
  }
  return at === WORDS;
}
