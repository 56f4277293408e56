import { describe, expect, test } from 'vitest';
import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import { Executor } from '../../src/exec/executor.js';
import { FAST_OPS, effectiveAddress } from '../../src/exec/fast-ops.js';
import { powerOn } from '../../src/engine/machine-factory.js';
import { Insn, Op } from '../../src/isa/ir.js';
import { OpClass } from '../../src/isa/op-def.js';
import { OP_DEFS } from '../../src/isa/table.js';
import { Board } from '../../src/machine/board.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { RAM_OFFSET, createSharedMemory, sharedBuffer } from '../../src/shm/layout.js';

const RAM_BYTES = 1 << 16;

/** A deterministic xorshift generator: the same cases on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function machine() {
  const memory = createSharedMemory(RAM_BYTES);
  const buffer = sharedBuffer(memory);
  const board = new Board(buffer, { harts: 1, ramBytes: RAM_BYTES, rom: new Uint8Array(0x100), tohost: null, fromhost: null, disks: [], cpu: DEFAULT_CPU_FEATURES });
  powerOn(board);
  const hart = board.harts[0]!;
  return { hart, exec: new Executor(hart, board.bus), ram: new Uint8Array(buffer, RAM_OFFSET, RAM_BYTES) };
}

/** 64-bit values where carries, borrows, sign bits and shifts go wrong first. */
function value(next: () => number): bigint {
  const edges = [0n, 1n, -1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, -0x80000000n, 0x7fffffffffffffffn, -0x8000000000000000n];
  const k = next() % 16;
  if (k < edges.length) return BigInt.asIntN(64, edges[k]! + BigInt((next() % 3) - 1));
  return BigInt.asIntN(64, (BigInt(next()) << 32n) | BigInt(next()));
}

function immediate(op: Op, next: () => number): number {
  switch (op) {
    case Op.SLLI: case Op.SRLI: case Op.SRAI: return next() % 64;
    case Op.SLLIW: case Op.SRLIW: case Op.SRAIW: return next() % 32;
    case Op.LUI: return (next() & 0xfffff) << 12; // sign-extended 32-bit, as decoded
    default: return ((next() & 0xfff) << 20) >> 20; // 12-bit signed
  }
}

function insn(op: Op, rd: number, rs1: number, rs2: number, immN: number): Insn {
  return { op, rd, rs1, rs2, imm: BigInt(immN), immN, len: 4, raw: 0 };
}

const FAST = [...FAST_OPS.keys()].filter((op) => FAST_OPS[op] !== undefined) as Op[];

describe('exec/fast-ops.ts: the reference executor\'s BigInt-free ops do what the instruction table says', () => {
  test('they cover the integer ALU ops, loads and stores the cold code of a Linux boot runs most', () => {
    for (const op of [Op.ADDI, Op.ADD, Op.ADDIW, Op.ADDW, Op.LD, Op.SD, Op.LW, Op.SW, Op.LBU, Op.OR, Op.XOR, Op.SLLIW, Op.SRLIW, Op.ANDI, Op.SLLI, Op.SRLI, Op.LUI]) {
      expect(FAST, OP_DEFS[op]!.name).toContain(op);
    }
  });

  test.each(FAST.filter((op) => OP_DEFS[op]!.cls === OpClass.Alu).map((op) => [OP_DEFS[op]!.name, op]))('%s on 3,000 random operands', (_name, op) => {
    const { hart, exec } = machine();
    const next = rng(op * 7919 + 1);
    for (let n = 0; n < 3000; n++) {
      const rd = next() % 8 === 0 ? 0 : 1 + (next() % 31); // x0 now and then: it must stay 0
      const ins = insn(op, rd, next() % 32, next() % 32, immediate(op, next));
      const before = Array.from({ length: 32 }, (_, r) => (r === 0 ? 0n : value(next)));
      hart.x.set(before);
      const fast = FAST_OPS[op]!(exec, ins, 0);
      const got = [...hart.x];
      hart.x.set(before);
      const table = OP_DEFS[op]!.exec(exec, ins, 0);
      expect({ result: fast, x: got }, `${OP_DEFS[op]!.name} rd=${rd} rs1=${ins.rs1}=${before[ins.rs1]} rs2=${ins.rs2}=${before[ins.rs2]} imm=${ins.immN}`)
        .toEqual({ result: table, x: [...hart.x] });
    }
  });

  test.each(FAST.filter((op) => OP_DEFS[op]!.cls === OpClass.Branch).map((op) => [OP_DEFS[op]!.name, op]))('%s on 3,000 random operands', (_name, op) => {
    const { hart, exec } = machine();
    const next = rng(op * 31337 + 5);
    for (let n = 0; n < 3000; n++) {
      const ins = insn(op, 0, next() % 32, next() % 32, (((next() & 0xfff) << 20) >> 19));
      ins.len = next() % 2 === 0 ? 2 : 4;
      const start = BigInt.asIntN(64, value(next) & ~1n);
      // The block being run: instruction 0 at `start` (what pcAt reads).
      Object.assign(exec, { block: { insns: [ins], offsets: [0n], bytes: BigInt(ins.len), pa: -1, page: -1, gen: 0, spin: 0, plain: true, csrEnd: false }, blockStart: start });
      const regs = Array.from({ length: 32 }, (_, r) => (r === 0 ? 0n : value(next)));
      if (next() % 4 === 0) regs[ins.rs2] = regs[ins.rs1]!; // equal operands, often
      hart.x.set(regs);
      hart.pc = 0n;
      const fast = FAST_OPS[op]!(exec, ins, 0);
      const fastPc = hart.pc;
      hart.pc = 0n;
      const ref = OP_DEFS[op]!.exec(exec, ins, 0);
      expect({ result: fast, pc: fastPc }, `${OP_DEFS[op]!.name} ${regs[ins.rs1]} ${regs[ins.rs2]}`).toEqual({ result: ref, pc: hart.pc });
    }
  });

  test.each(FAST.filter((op) => [OpClass.Load, OpClass.Store].includes(OP_DEFS[op]!.cls)).map((op) => [OP_DEFS[op]!.name, op]))(
    '%s on 2,000 random RAM addresses, aligned and not', (_name, op) => {
      const { hart, exec, ram } = machine();
      const next = rng(op * 104729 + 3);
      const table = new Uint8Array(RAM_BYTES);
      for (let n = 0; n < 2000; n++) {
        for (let k = 0; k < 256; k++) ram[k] = next() & 0xff; // the window the accesses hit
        const snapshot = ram.slice();
        const immN = ((next() & 0x7f) << 20) >> 20; // 0..127: stays inside the window
        const rs1 = 1 + (next() % 31);
        const rs2 = next() % 32;
        const rd = next() % 8 === 0 ? 0 : 1 + (next() % 31);
        const ins = insn(op, rd, rs1, rs2, immN);
        const regs = Array.from({ length: 32 }, (_, r) => (r === 0 ? 0n : value(next)));
        regs[rs1] = BigInt(RAM_BASE + (next() % 120));
        hart.x.set(regs);
        const fast = FAST_OPS[op]!(exec, ins, 0);
        const gotX = [...hart.x];
        table.set(ram);
        ram.set(snapshot);
        hart.x.set(regs);
        const ref = OP_DEFS[op]!.exec(exec, ins, 0);
        expect({ result: fast, x: gotX, ram: [...table.subarray(0, 256)] }, `${OP_DEFS[op]!.name} at +${Number(regs[rs1]! - BigInt(RAM_BASE)) + immN}`)
          .toEqual({ result: ref, x: [...hart.x], ram: [...ram.subarray(0, 256)] });
        expect(hart.trapCause).toBe(-1);
      }
    });

  test('an address is a number only where it is exact: beyond 2^53 in magnitude it is NaN (the table\'s semantics run)', () => {
    const { hart, exec } = machine();
    const at = (base: bigint, immN: number) => {
      hart.x[5] = base;
      return effectiveAddress(exec.x32, insn(Op.LD, 1, 5, 0, immN));
    };
    expect(at(0x80001000n, -8)).toBe(0x80000ff8);
    expect(at(-0x1000n, 16)).toBe(-0xff0); // Sv39 kernel addresses are negative
    expect(at(0xffffffffn, 1)).toBe(0x100000000); // the carry into the high half
    expect(at(0x100000000n, -1)).toBe(0xffffffff); // the borrow out of it
    expect(at((1n << 53n) - 1n, 0)).toBe(2 ** 53 - 1);
    expect(at(1n << 53n, 0)).toBeNaN();
    expect(at(-(1n << 53n), 0)).toBe(-(2 ** 53));
    expect(at(-(1n << 53n) - 1n, 0)).toBeNaN();
  });
});
