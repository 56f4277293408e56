import { describe, expect, test } from 'vitest';
import { JitExecutor } from '../../src/jit/jit-executor.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { oneHartMachine } from './fake-machine.js';

const ADDI = 0x00128293; // addi t0,t0,1
const LUI_UART = 0x100003b7; // lui t2,0x10000 (the UART)
const LBU_LSR = 0x0053c303; // lbu t1,5(t2): an MMIO load, which compiled code leaves to the reference
const J_SELF = 0x0000006f; // j .


describe('resuming inside a compiled block', () => {
  test('after a budget cut, the reference runs only to the compiled block\'s end, and no entry is added', () => {
    const words = [...Array<number>(150).fill(ADDI), J_SELF];
    const { hart, memory } = oneHartMachine(words);
    const exec = new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true });
    expect(exec.runBlock(1000)).toBe(151); // compiled at the first entry; the blocks at 0, 256 and 512 chain, then the j . (a spin: reference)
    expect(exec.stats.compiles).toBe(1);
    for (let round = 0; round < 20; round++) {
      hart.pc = BigInt(RAM_BASE);
      const cut = 3 + round;
      expect(exec.runBlock(cut)).toBe(cut); // mid-way into the first block
      // The rest of that block only (a block translated from here would end 64 instructions on,
      // where no compiled block starts: a miss, a new entry and a recompile every time).
      expect(exec.runBlock(1000)).toBe(64 - cut);
      expect(hart.pc).toBe(BigInt(RAM_BASE + 256));
      expect(exec.runBlock(1000)).toBe(87); // compiled code again, and the j . once
    }
    expect(exec.stats.compiles).toBe(1);
    expect(hart.icount).toBe(21 * 151);
  });

  test('entered inside a compiled block (a trap returning there), the reference runs to the block\'s end; only a much-used such offset becomes an entry', () => {
    const words = [...Array<number>(150).fill(ADDI), J_SELF];
    const { hart, memory } = oneHartMachine(words);
    const exec = new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true });
    expect(exec.runBlock(1000)).toBe(151);
    expect(exec.stats.compiles).toBe(1);
    const inside = 10; // the 11th instruction of the compiled block at offset 0
    for (let round = 0; round < 64; round++) {
      hart.pc = BigInt(RAM_BASE + 4 * inside);
      expect(exec.runBlock(1000)).toBe(64 - inside); // to the compiled block's end, not 64 on
      expect(hart.pc).toBe(BigInt(RAM_BASE + 256));
      expect(exec.runBlock(1000)).toBe(87);
    }
    expect(exec.stats.compiles).toBe(1); // no entry, no recompile
    // The 65th time it is an entry: noted, and (hotness 1) compiled as a block start.
    hart.pc = BigInt(RAM_BASE + 4 * inside);
    expect(exec.runBlock(1000)).toBe(64); // this time a reference block from there
    expect(exec.stats.compiles).toBe(2);
    hart.pc = BigInt(RAM_BASE + 4 * inside);
    const missesBefore = exec.stats.misses;
    expect(exec.runBlock(1000)).toBe(141); // all compiled from there: the blocks chain to the j .
    expect(exec.stats.misses).toBe(missesBefore);
    expect(hart.icount).toBe(151 + 64 * 141 + 64 + 141);
  });

  test('after a bail, the reference runs the bailing instruction and the rest of its block, then compiled code goes on', () => {
    const words = [LUI_UART, ...Array<number>(149).fill(ADDI), J_SELF];
    words[20] = LBU_LSR;
    const { hart, memory } = oneHartMachine(words);
    const exec = new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true });
    for (let round = 0; round < 5; round++) {
      hart.pc = BigInt(RAM_BASE);
      expect(exec.runBlock(1000)).toBe(64); // 20 compiled, the lbu and 43 more on the reference
      expect(hart.pc).toBe(BigInt(RAM_BASE + 256));
      expect(exec.runBlock(1000)).toBe(87);
    }
    expect(exec.stats.compiles).toBe(1);
    expect(exec.stats.misses).toBe(0);
  });
});
