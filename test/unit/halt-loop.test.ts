import { describe, expect, test } from 'vitest';
import { haltLoopLength } from '../../src/engine/hart-runner.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { oneHartMachine } from './fake-machine.js';

// Assembled with riscv64-unknown-elf-as -march=rv64ima_zicsr (no compressed forms). Each starts with
// a WFI at RAM_BASE; the check looks from the pc after it, as the hart runner does after a WFI.
const WFI = 0x10500073;
const CODE: Record<string, number[]> = {
  // halt: wfi; j halt
  wfiJump: [WFI, 0xffdff06f],
  // GCC's for (;;) wfi(): wfi; wfi; j .-8
  wfiWfiJump: [WFI, WFI, 0xff9ff06f],
  // wfi; nop; j .-8
  wfiNopJump: [WFI, 0x00000013, 0xff9ff06f],
  // wfi; lw t0,0(a1); j .-8: reads memory on every round (a flag another agent may set)
  wfiLoadJump: [WFI, 0x0005a283, 0xff9ff06f],
  // wfi; jal ra,.-4: writes a register (and is a call)
  wfiCall: [WFI, 0xffdff0ef],
  // wfi; addi a0,a0,1; j .-8: changes state every round
  wfiCount: [WFI, 0x00150513, 0xff9ff06f],
};

describe('halt loops (engine/hart-runner.ts haltLoopLength): where a hart can never leave its WFI', () => {
  test.each([
    ['wfiJump', 2],
    ['wfiWfiJump', 3],
    ['wfiNopJump', 3],
    ['wfiLoadJump', 0],
    ['wfiCall', 0],
    ['wfiCount', 0],
  ])('%s: loop length %i (0: not a halt loop)', (name, length) => {
    const { board } = oneHartMachine(CODE[name]!);
    expect(haltLoopLength(board.harts[0]!.bus, BigInt(RAM_BASE + 4))).toBe(length);
  });

  test('code that runs off into other instructions is no halt loop', () => {
    const { board } = oneHartMachine([WFI, 0x00000013, 0x00000013, 0x00150513]); // wfi; nop; nop; addi a0,a0,1 (then zeros: illegal)
    expect(haltLoopLength(board.harts[0]!.bus, BigInt(RAM_BASE + 4))).toBe(0);
  });
});
