import { describe, expect, test } from 'vitest';
import { Slot } from '../../src/cpu/csr-numbers.js';
import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import type { Hart } from '../../src/cpu/hart.js';
import { createHash } from 'node:crypto';
import { FNV_KERNEL_WASM, finalStateHashes, ramHash, stateHash, stateHashBigInt, writtenRamHash } from '../../src/engine/state-hash.js';
import { Code, encodeModule, ValType, W } from '../../src/jit/wasm-emitter.js';
import { Executor } from '../../src/exec/executor.js';
import { JitExecutor } from '../../src/jit/jit-executor.js';
import type { Board } from '../../src/machine/board.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { RAM_OFFSET } from '../../src/shm/layout.js';
import { oneHartMachine } from './fake-machine.js';

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

  test('is the BigInt FNV-1a value for any register contents (recorded hashes keep checking)', () => {
    // A fixed-seed generator: registers full of high bits, sign bits, zeros and small values.
    let seed = 0x2545f4914f6cdd1dn;
    const next = (): bigint => {
      seed ^= seed << 13n; seed &= (1n << 64n) - 1n;
      seed ^= seed >> 7n;
      seed ^= seed << 17n; seed &= (1n << 64n) - 1n;
      const shape = seed & 3n;
      return shape === 0n ? 0n : shape === 1n ? seed & 0xffffn : BigInt.asIntN(64, seed);
    };
    for (let round = 0; round < 200; round++) {
      const h = hartLike(round % 2 === 0);
      for (let i = 0; i < 32; i++) {
        h.x[i] = next();
        h.f[i] = next();
      }
      h.csr[Slot.fcsr] = next();
      (h as { pc: bigint }).pc = round % 3 === 0 ? BigInt.asUintN(64, next()) : next();
      (h as { priv: number }).priv = round % 4;
      expect(stateHash(h)).toBe(stateHashBigInt(h));
    }
  });

  test('gives the values traces already hold (pinned: what the hash gave before its wasm kernel)', () => {
    for (const [f, expected] of [[false, 0x9c6a777e3ad7da0cn], [true, 0x26cc751e837fe569n]] as const) {
      const h = hartLike(f);
      h.x.forEach((_, i) => { h.x[i] = BigInt(i) * 0x0123456789abcdefn; });
      h.f.forEach((_, i) => { h.f[i] = -BigInt(i); });
      h.csr[Slot.fcsr] = 0x1fn;
      (h as { pc: bigint }).pc = 0xffffffff80001000n;
      (h as { priv: number }).priv = 1;
      expect(stateHash(h)).toBe(expected);
      expect(stateHashBigInt(h)).toBe(expected);
    }
  });

  test("its wasm kernel is the FNV-1a loop its comment says (re-encoded here)", () => {
    const [N, H, P] = [0, 1, 2];
    const body = new Code()
      .i64(BigInt.asIntN(64, 0xcbf29ce484222325n)).set(H)
      .block().loop()
      .get(P).get(N).i32(3).op(W.i32_shl).op(W.i32_ge_u).brIf(1)
      .get(H).get(P).mem(W.i64_load, 3, 0).op(W.i64_xor).i64(0x100000001b3n).op(W.i64_mul).set(H)
      .get(P).i32(8).op(W.i32_add).set(P)
      .br(0)
      .end().end()
      .get(H);
    const encoded = encodeModule({
      types: [{ params: [ValType.I32], results: [ValType.I64] }],
      funcImports: [],
      memory: { module: 'm', name: 'memory', min: 1, max: 1, shared: false },
      funcs: [{ type: 0, locals: [ValType.I64, ValType.I32], body }],
      exports: [{ name: 'fnv', func: 0 }],
    });
    expect([...FNV_KERNEL_WASM]).toEqual([...encoded]);
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

// Stores to two RAM pages the code did not come from, then `j .`.
const STORES = [
  0x400202b7, // lui t0, 0x40020
  0x00129293, // slli t0, t0, 1 (t0 = 0x80040000)
  0x0052b423, // sd t0, 8(t0)
  0x00001337, // lui t1, 1
  0x00628333, // add t1, t0, t1 (0x80041000)
  0x0053302f, // amoadd.d zero, t0, (t1)
  0x0000006f, // j .
];

function wholeRamHash(board: Board): string {
  return createHash('sha256').update(new Uint8Array(board.memory, RAM_OFFSET, board.config.ramBytes)).digest('hex');
}

describe('the final RAM hash', () => {
  for (const tier of ['reference', 'jit'] as const) {
    test(`${tier}: stores mark their pages written, so reading only those gives the hash of all RAM`, () => {
      const { board, hart, memory } = oneHartMachine(STORES);
      board.bus.ramWritten[0] = 1; // the code, as the loader marks the images it places
      const exec = tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true }) : new Executor(hart, hart.bus);
      const end = BigInt(RAM_BASE + 4 * (STORES.length - 1));
      for (let k = 0; k < 20 && hart.pc !== end; k++) exec.runBlock(100);
      expect(hart.pc).toBe(end);
      expect([...board.bus.ramWritten.subarray(0, 0x42)].flatMap((m, p) => (m ? [p] : []))).toEqual([0, 0x40, 0x41]);
      expect(ramHash(board, true)).toBe(wholeRamHash(board));
    });
  }

  test('the written-pages scheme depends on RAM contents only, not on which pages are marked', () => {
    const { board, view } = oneHartMachine([]);
    const before = writtenRamHash(board, true);
    board.bus.ramWritten[7] = 1; // marked, still zero: no difference
    expect(writtenRamHash(board, true)).toBe(before);
    view.setUint32(RAM_OFFSET + 7 * 4096 + 12, 5, true);
    const one = writtenRamHash(board, true);
    expect(one).not.toBe(before);
    view.setUint32(RAM_OFFSET + 7 * 4096 + 12, 0, true);
    view.setUint32(RAM_OFFSET + 7 * 4096 + 16, 5, true); // same bytes elsewhere in the page
    expect(writtenRamHash(board, true)).not.toBe(one);
    expect(finalStateHashes(board, 'written')).not.toEqual(finalStateHashes(board, 'all'));
    view.setUint32(RAM_OFFSET + 9 * 4096, 1, true); // unmarked and written: the check says so
    expect(() => writtenRamHash(board, true)).toThrow(/0x80009000 was written but never marked/);
  });

  test('a RAM write that does not mark its page is caught by the check (else it would go unhashed)', () => {
    const { board, view } = oneHartMachine([]);
    view.setUint32(RAM_OFFSET + 0x5000, 1, true);
    expect(() => ramHash(board, true)).toThrow(/0x80005000 was written but never marked/);
    expect(ramHash(board, false)).not.toBe(wholeRamHash(board));
    board.bus.noteRamWrite(RAM_BASE + 0x5000, 4); // what DMA and the slow store path call
    expect(ramHash(board, true)).toBe(wholeRamHash(board));
  });
});
