import { describe, expect, test } from 'vitest';
import { MIP } from '../../src/cpu/csr-numbers.js';
import { CLINT_BASE } from '../../src/machine/memmap.js';
import { poweredBoard } from './fake-machine.js';

describe('CLINT software interrupts', () => {
  // OpenSBI's secondary harts wait for their HSM start in WFI with MSIP already pending (masked),
  // napping between polls (engine/hart-runner.ts); the start's IPI must still wake them at once.
  test('every write of 1 to a hart\'s MSIP kicks that hart, also when the bit is already set; a write of 0 clears it without a kick', () => {
    const board = poweredBoard(2);
    const target = board.harts[1]!;
    const other = board.harts[0]!;
    const msip1 = CLINT_BASE + 4;

    let wake = target.wakeWord();
    expect(board.bus.write(msip1, 4, 1n, 0)).toBe(true);
    expect(target.hardwareMip() & MIP.MSIP).toBe(MIP.MSIP);
    expect(target.wakeWord()).not.toBe(wake);

    wake = target.wakeWord();
    expect(board.bus.write(msip1, 4, 1n, 0)).toBe(true);
    expect(target.wakeWord()).not.toBe(wake);
    expect(board.bus.read(msip1, 4, 0)).toBe(1n);

    wake = target.wakeWord();
    const otherWake = other.wakeWord();
    expect(board.bus.write(msip1, 4, 0n, 0)).toBe(true);
    expect(target.hardwareMip() & MIP.MSIP).toBe(0);
    expect(target.wakeWord()).toBe(wake);
    expect(other.wakeWord()).toBe(otherWake);
  });
});
