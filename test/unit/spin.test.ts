import { describe, expect, test } from 'vitest';
import { Slot } from '../../src/cpu/csr-numbers.js';
import { BlockExit, Executor } from '../../src/exec/executor.js';
import { Spin, translateBlock } from '../../src/exec/translate.js';
import { JitExecutor } from '../../src/jit/jit-executor.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { RAM_OFFSET } from '../../src/shm/layout.js';
import { oneHartMachine } from './fake-machine.js';


// Assembled with riscv64-linux-gnu-as -march=rv64imac_zihintpause (no compressed forms).
const CODE: Record<string, number[]> = {
  // OpenSBI's _wait_for_boot_hart: li t0,2; auipc t1,0; addi t1,t1,0x100; ld t1,0(t1); nop; bne t0,t1,poll
  poll: [0x00200293, 0x00000317, 0x10030313, 0x00033303, 0x00000013, 0xfe6296e3],
  // lbu t0,0(a0); addi a0,a0,1; bnez t0,strlen: loads, but a0 goes on from one iteration to the next
  strlen: [0x00054283, 0x00150513, 0xfe029ce3],
  // addi a0,a0,-1; bnez a0,delay
  delay: [0xfff50513, 0xfe051ee3],
  // lw t0,0(a1); sw t0,4(a1); beqz t0,storing
  storing: [0x0005a283, 0x0055a223, 0xfe028ce3],
  // Linux's cpu_relax: div a5,a5,zero; pause; j relax
  relax: [0x0207c7b3, 0x0100000f, 0xff9ff06f],
};

/** One M-mode hart with `words` at RAM_BASE. */
const machineWith = oneHartMachine;

describe('spin blocks (exec/translate.ts Spin): where a hart waits for another', () => {
  test.each([
    ['poll', Spin.PollLoop],
    ['strlen', Spin.No],
    ['delay', Spin.No],
    ['storing', Spin.No],
  ])('%s loop is %s', (name, kind) => {
    const { board } = machineWith(CODE[name]!);
    expect(translateBlock(board.harts[0]!.bus, RAM_BASE).spin).toBe(kind);
  });

  test('a block ends at PAUSE, and is a Pause block', () => {
    const { board } = machineWith(CODE.relax!);
    const block = translateBlock(board.harts[0]!.bus, RAM_BASE);
    expect(block.insns.length).toBe(2); // div, pause
    expect(block.spin).toBe(Spin.Pause);
  });

  test.each(['reference', 'jit'])('on the %s tier, a poll loop reports Spin until memory changes, then leaves', (tier) => {
    const { hart, memory, view } = machineWith(CODE.poll!);
    const exec = tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true }) : new Executor(hart, hart.bus);
    for (let k = 0; k < 50; k++) {
      expect(exec.runBlock(1000)).toBe(6);
      expect(exec.lastExit).toBe(BlockExit.Spin);
      expect(hart.pc).toBe(BigInt(RAM_BASE));
    }
    view.setBigUint64(RAM_OFFSET + 4 + 0x100, 2n, true); // the flag the loop waits for
    expect(exec.runBlock(1000)).toBeGreaterThanOrEqual(6);
    expect(exec.lastExit).toBe(BlockExit.Normal);
    expect(hart.pc).toBe(BigInt(RAM_BASE + 24));
    expect(hart.icount).toBeGreaterThanOrEqual(51 * 6);
  });

  test('the JIT leaves a cpu_relax loop to the reference executor, which reports Spin after each PAUSE', () => {
    const { hart, memory } = machineWith(CODE.relax!);
    const exec = new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true, runsOfBlocks: true });
    expect(exec.runBlock(1000)).toBe(2); // div, pause
    expect(exec.lastExit).toBe(BlockExit.Spin);
    for (let k = 0; k < 20; k++) {
      // j relax (a plain block: the executor goes straight on), then div, pause
      expect(exec.runBlock(1000)).toBe(3);
      expect(exec.lastExit).toBe(BlockExit.Spin);
      expect(hart.pc).toBe(BigInt(RAM_BASE + 8));
    }
    expect(hart.icount).toBe(62);
  });

  test('a run of blocks ends at a trap: the handler\'s first block waits for the runner (its safe point rules)', () => {
    // addi t0,zero,1; ld t1,0(zero) (nothing there: an access fault); j ., then at 0x100 the handler:
    // addi t2,t2,1; addi t2,t2,1; j . -- all plain blocks, which a run would otherwise go on through.
    const words = [0x00100293, 0x00003303, 0x0000006f];
    words[0x40] = 0x00138393;
    words[0x41] = 0x00138393;
    words[0x42] = 0x0000006f;
    const { hart, memory } = machineWith(Array.from(words, (w) => w ?? 0));
    hart.csr[Slot.mtvec] = BigInt(RAM_BASE + 0x100);
    for (const hotness of [1, 1000]) { // the page compiled (the load bails to the reference), and not
      hart.pc = BigInt(RAM_BASE);
      hart.icount = 0;
      const before = hart.exceptionsTaken;
      const exec = new JitExecutor(hart, hart.bus, memory, { hotness, strict: true, runsOfBlocks: true });
      expect(exec.runBlock(1000)).toBe(1); // the addi; the ld traps
      expect(hart.exceptionsTaken).toBe(before + 1);
      expect(hart.pc).toBe(BigInt(RAM_BASE + 0x100));
      expect(exec.runBlock(1000)).toBeGreaterThan(2); // now the handler's blocks run on
    }
  });

  test('a run of blocks goes on after a CSR access that leaves no interrupt takeable, and stops after one that makes one takeable', () => {
    // addi t0,t0,1; csrr t1,mscratch | addi t0,t0,1; csrsi mstatus,8 (MIE) | addi t0,t0,1; j .
    const { hart, memory } = machineWith([0x00128293, 0x34002373, 0x00128293, 0x30046073, 0x00128293, 0x0000006f]);
    hart.csr[Slot.mie] = 1n << 7n; // MTIE
    hart.csr[Slot.mtvec] = BigInt(RAM_BASE + 0x100);
    hart.refreshInterruptMirrors();
    hart.setHardwareMip(1 << 7, true); // MTIP pending, masked by mstatus.MIE = 0
    hart.observeLines(hart.hardwareMip());
    const exec = new JitExecutor(hart, hart.bus, memory, { hotness: 1000, strict: true, runsOfBlocks: true });
    expect(exec.runBlock(1000)).toBe(4); // through the csrr, up to and including the csrsi
    expect(hart.pc).toBe(BigInt(RAM_BASE + 16));
    expect(hart.pendingInterrupt()).toBe(7); // the runner's safe point takes it now
  });
});
