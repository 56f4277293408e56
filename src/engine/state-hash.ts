import { createHash } from 'node:crypto';
import { Slot } from '../cpu/csr-numbers.js';
import { Hart } from '../cpu/hart.js';
import { Board } from '../machine/board.js';
import { PAGE_SIZE } from '../machine/bus.js';
import { RAM_BASE } from '../machine/memmap.js';
import { RAM_OFFSET } from '../shm/layout.js';

const FNV_PRIME = 0x100000001b3n;
const FNV_OFFSET = 0xcbf29ce484222325n;
/** HINDSIGHT_CHECK_CSRS=1 (set when recording and replaying alike): checks also cover every CSR and mip (diagnosis aid). */
const CHECK_CSRS = process.env.HINDSIGHT_CHECK_CSRS === '1';

/**
 * 64-bit FNV-1a over a hart's integer registers, pc and privilege, and on a hart with F its f
 * registers and fcsr: the divergence check value. (A hart without F hashes as before F existed,
 * so traces recorded then still check.)
 *
 * The words are copied into a small WebAssembly module's memory and hashed there with i64
 * arithmetic: the same value as `stateHashBigInt` (a unit test holds them equal). A recording or
 * replay checks every million instructions, too rarely for V8 to optimize a JavaScript version
 * soon (jit/v8-tuning.ts raises its interrupt budget), and in the interpreter each BigInt step
 * allocates. Timed inside recordings of bench_parallel (3 each): 506 checks of a 1-hart run took
 * 3.3-4.9 ms with BigInts, 1.6-2.3 ms here (the module's ~1 ms first compile included); the 51
 * checks of each hart at iters=200 0.7-5.9 ms, here 0.3-0.9 ms.
 */
export function stateHash(h: Hart): bigint {
  if (CHECK_CSRS) return stateHashBigInt(h);
  const k = fnvKernel ??= makeFnvKernel();
  const w = k.words;
  w.set(h.x.subarray(1, 32), 0);
  w[31] = h.pc;
  w[32] = BigInt(h.priv);
  let n = 33;
  if (h.features.f) {
    w.set(h.f, 33);
    w[65] = h.csr[Slot.fcsr];
    n = 66;
  }
  return BigInt.asUintN(64, k.fnv(n));
}

/** stateHash with BigInt arithmetic: its definition, and what HINDSIGHT_CHECK_CSRS=1 uses. */
export function stateHashBigInt(h: Hart): bigint {
  let hash = FNV_OFFSET;
  const mix = (v: bigint) => {
    hash = BigInt.asUintN(64, (hash ^ BigInt.asUintN(64, v)) * FNV_PRIME);
  };
  for (let i = 1; i < 32; i++) mix(h.x[i]);
  mix(h.pc);
  mix(BigInt(h.priv));
  if (h.features.f) {
    for (let i = 0; i < 32; i++) mix(h.f[i]);
    mix(h.csr[Slot.fcsr]);
  }
  if (CHECK_CSRS) {
    for (const v of h.csr) mix(v);
    mix(BigInt(h.mip()));
  }
  return hash;
}

interface FnvKernel {
  /** The module's memory: the words to hash, from word 0. */
  words: BigInt64Array;
  /** FNV-1a over the first n words (as a signed i64). */
  fnv(n: number): bigint;
}
let fnvKernel: FnvKernel | undefined;

/**
 * The kernel's module: imports memory "m"."memory" (1 page), exports
 *   (func $fnv (param $n i32) (result i64) (local $h i64) (local $p i32)
 *     h = FNV_OFFSET; while p < 8 * n: h = (h ^ i64.load(p)) * FNV_PRIME; p += 8; return h)
 * Written out, not encoded at run time: the encoder's first use in a thread cost ~1 ms.
 * test/unit/state-hash.test.ts encodes the same function with jit/wasm-emitter.ts and compares.
 */
export const FNV_KERNEL_WASM = Uint8Array.of(
  0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 126, 2, 14, 1, 1, 109, 6, 109, 101, 109, 111, 114, 121, 2, 1, 1, 1,
  3, 2, 1, 0, 7, 7, 1, 3, 102, 110, 118, 0, 0, 10, 65, 1, 63, 2, 1, 126, 1, 127, 66, 165, 198, 136, 161, 200, 156, 167,
  249, 75, 33, 1, 2, 64, 3, 64, 32, 2, 32, 0, 65, 3, 116, 79, 13, 1, 32, 1, 32, 2, 41, 3, 0, 133, 66, 179, 131, 128, 128,
  128, 32, 126, 33, 1, 32, 2, 65, 8, 106, 33, 2, 12, 0, 11, 11, 32, 1, 11,
);

function makeFnvKernel(): FnvKernel {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const { fnv } = new WebAssembly.Instance(new WebAssembly.Module(FNV_KERNEL_WASM), { m: { memory } }).exports as { fnv: (n: number) => bigint };
  return { words: new BigInt64Array(memory.buffer, 0, 66), fnv };
}

/** Zeros fed to the whole-RAM hash for runs of never-written pages (made on first use: hart workers import this module too). */
let zeroChunk: Uint8Array | null = null;
/**
 * HINDSIGHT_CHECK_RAM_WRITTEN=1: the final hash also reads every page not marked written and fails
 * if one is not zero (a RAM writer that does not mark; tests set it).
 */
const CHECK_RAM_WRITTEN = process.env.HINDSIGHT_CHECK_RAM_WRITTEN === '1';

/**
 * SHA-256 of all of guest RAM, reading only the pages marked written (Bus.ramWritten): the others
 * hash as the zeros they hold, fed from a buffer, never read — reading them would fault them in.
 * The same digest as hashing the whole RAM, ~6x faster on a 128 MiB machine that used little of it.
 */
export function ramHash(board: Board, checkUnmarked = CHECK_RAM_WRITTEN): string {
  const ram = new Uint8Array(board.memory, RAM_OFFSET, board.config.ramBytes);
  const written = board.bus.ramWritten;
  const hash = createHash('sha256');
  const pages = written.length;
  for (let p = 0; p < pages;) {
    const mark = written[p];
    let end = p + 1;
    while (end < pages && written[end] === mark) end++;
    if (mark) {
      hash.update(ram.subarray(p * PAGE_SIZE, end * PAGE_SIZE));
    } else {
      if (checkUnmarked) checkZero(ram, p, end);
      const zeros = (zeroChunk ??= new Uint8Array(1 << 20));
      for (let bytes = (end - p) * PAGE_SIZE; bytes > 0; bytes -= zeros.length) hash.update(bytes >= zeros.length ? zeros : zeros.subarray(0, bytes));
    }
    p = end;
  }
  return hash.digest('hex');
}

function checkZero(ram: Uint8Array, first: number, end: number): void {
  const words = new Int32Array(ram.buffer, ram.byteOffset + first * PAGE_SIZE, ((end - first) * PAGE_SIZE) >> 2);
  const at = words.findIndex((w) => w !== 0);
  if (at >= 0) throw new Error(`RAM page 0x${(RAM_BASE + first * PAGE_SIZE + at * 4).toString(16)} was written but never marked written (Bus.ramWritten)`);
}

/**
 * How the final state hash covers RAM (stored in a trace's summary as `ramHash`):
 * - `all` (traces without `ramHash`): SHA-256 of the whole RAM (ramHash above).
 * - `written`: SHA-256 over the nonzero pages among those marked written, each preceded by its
 *   page number (writtenRamHash). Unmarked pages hold zeros, so it depends on RAM's contents only,
 *   not on which pages were marked; it reads nothing else and hashes only what the guest used.
 */
export type RamHashScheme = 'all' | 'written';

const ZERO_PAGE = Buffer.alloc(PAGE_SIZE);

export function writtenRamHash(board: Board, checkUnmarked = CHECK_RAM_WRITTEN): string {
  const written = board.bus.ramWritten;
  const hash = createHash('sha256');
  const number = Buffer.alloc(4);
  // From one marked page to the next (indexOf scans natively: a JS loop over every page of a 128
  // MiB machine was most of the time when a guest wrote a few hundred); the check visits them all.
  const next = (from: number): number => (checkUnmarked ? (from < written.length ? from : -1) : written.indexOf(1, from));
  for (let p = next(0); p >= 0; p = next(p + 1)) {
    const page = Buffer.from(board.memory, RAM_OFFSET + p * PAGE_SIZE, PAGE_SIZE);
    if (page.equals(ZERO_PAGE)) continue;
    if (!written[p]) checkZero(new Uint8Array(board.memory, RAM_OFFSET, board.config.ramBytes), p, p + 1);
    number.writeUInt32LE(p);
    hash.update(number);
    hash.update(page);
  }
  return hash.digest('hex');
}

/**
 * Per-hart fingerprints of the machine's final state: the hart's registers, pc and privilege plus
 * a hash of guest RAM, so a replay that differs anywhere in memory differs in every entry.
 */
export function finalStateHashes(board: Board, scheme: RamHashScheme): string[] {
  const ram = scheme === 'written' ? writtenRamHash(board) : ramHash(board);
  // Once per hart at the end, often on a thread that never checked: the kernel's first use would cost more.
  return board.harts.map((h) => createHash('sha256').update(`${stateHashBigInt(h).toString(16)}:${h.icount}:${ram}`).digest('hex').slice(0, 32));
}
