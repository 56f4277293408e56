import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import { describe, expect, test } from 'vitest';
import { Board } from '../../src/machine/board.js';
import { Executor } from '../../src/exec/executor.js';
import { MIP, Priv } from '../../src/cpu/csr-numbers.js';
import { RAM_OFFSET, createSharedMemory, sharedBuffer } from '../../src/shm/layout.js';
import { powerOn } from '../../src/engine/machine-factory.js';
import { RAM_BASE } from '../../src/machine/memmap.js';

const RAM_BYTES = 1 << 20;
const CSR_MIP = 0x344;
const T0 = 5;
const T1 = 6;

/** csrr{s,c} rd, csr, rs1 (funct3 2 = set, 3 = clear). */
function csrInsn(funct3: number, rd: number, csr: number, rs1: number): number {
  return ((csr << 20) | (rs1 << 15) | (funct3 << 12) | (rd << 7) | 0x73) >>> 0;
}

/** One M-mode hart at RAM_BASE whose first instruction is `insn`, with the PLIC's SEIP line up. */
function hartWithSeipLine(insn: number) {
  const memory = createSharedMemory(RAM_BYTES);
  const buffer = sharedBuffer(memory);
  const board = new Board(buffer, { harts: 1, ramBytes: RAM_BYTES, rom: new Uint8Array(0x100), tohost: null, fromhost: null, disks: [], cpu: DEFAULT_CPU_FEATURES });
  powerOn(board);
  new DataView(buffer).setUint32(RAM_OFFSET, insn, true);
  const hart = board.harts[0]!;
  hart.pc = BigInt(RAM_BASE);
  expect(hart.priv).toBe(Priv.M);
  board.control.setPending(0, MIP.SEIP, true); // the PLIC's S-mode context raises its line
  hart.observeLines(hart.hardwareMip());
  return { board, hart, exec: new Executor(hart, hart.bus) };
}

describe('mip read-modify-write (privileged spec: CSRRS/CSRRC use the software SEIP bit only)', () => {
  test('csrrs mip, STIP while the external SEIP line is high reads SEIP but does not latch it in software', () => {
    const { board, hart, exec } = hartWithSeipLine(csrInsn(2, T1, CSR_MIP, T0));
    hart.x[T0] = BigInt(MIP.STIP);
    exec.runBlock(1);
    expect(hart.trapCause).toBe(-1);
    expect(Number(hart.x[T1]) & MIP.SEIP).toBe(MIP.SEIP); // a read sees the line
    expect(hart.mip() & MIP.STIP).toBe(MIP.STIP);
    board.control.setPending(0, MIP.SEIP, false); // the PLIC's source is served
    hart.observeLines(hart.hardwareMip());
    expect(hart.mip() & MIP.SEIP).toBe(0); // before the fix: SEIP stuck, an endless SEI storm in Linux
  });

  test('software SEIP is still set and cleared by CSRRS/CSRRC, independently of the line', () => {
    const { board, hart, exec } = hartWithSeipLine(csrInsn(2, 0, CSR_MIP, T0));
    new DataView(board.memory).setUint32(RAM_OFFSET + 4, csrInsn(3, 0, CSR_MIP, T0), true);
    hart.x[T0] = BigInt(MIP.SEIP);
    exec.runBlock(1); // csrrs mip, SEIP
    board.control.setPending(0, MIP.SEIP, false);
    hart.observeLines(hart.hardwareMip());
    expect(hart.mip() & MIP.SEIP).toBe(MIP.SEIP); // the software bit
    exec.runBlock(1); // csrrc mip, SEIP
    expect(hart.trapCause).toBe(-1);
    expect(hart.mip() & MIP.SEIP).toBe(0);
  });
});
