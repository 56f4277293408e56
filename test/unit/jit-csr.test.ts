import { describe, expect, test } from 'vitest';
import { Cause, FS_DIRTY, MSTATUS, Priv, Slot } from '../../src/cpu/csr-numbers.js';
import { Executor } from '../../src/exec/executor.js';
import { JitExecutor } from '../../src/jit/jit-executor.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { oneHartMachine } from './fake-machine.js';


// Each CSR access ends its block; compiled code runs the sstatus ones that at most clear SIE.
const CODE = [
  0x10002573, // csrr a0, sstatus
  0x100175f3, // csrrci a1, sstatus, 2 (clear SIE: compiled)
  0x10002673, // csrr a2, sstatus
  0x10059073, // csrw sstatus, a1 (sets SIE again: left to the reference)
  0x100026f3, // csrr a3, sstatus
  0x000402b7, // lui t0, 0x40 (SUM)
  0x1002a073, // csrs sstatus, t0 (SUM changes translation: left to the reference)
  0x10002773, // csrr a4, sstatus
  0x1007e7f3, // csrrsi a5, sstatus, 15 (sets SIE (clear already? no: set) and bit 3 (not writable))
  0x10002873, // csrr a6, sstatus
  0x0000006f, // j .
];

function machine(priv: Priv) {
  const { hart, memory } = oneHartMachine(CODE);
  hart.csr[Slot.mtvec] = BigInt(RAM_BASE + 0x800);
  hart.writeMstatus(hart.csr[Slot.mstatus] | MSTATUS.SIE | FS_DIRTY);
  hart.priv = priv;
  return { hart, memory };
}

/** Runs the code to the `j .` (or the trap handler) on a tier; returns what the test compares. */
function run(tier: 'jit' | 'reference', priv: Priv) {
  const { hart, memory } = machine(priv);
  const exec = tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true }) : new Executor(hart, hart.bus);
  const end = BigInt(RAM_BASE + 4 * (CODE.length - 1));
  for (let k = 0; k < 50 && hart.pc !== end && hart.pc !== BigInt(RAM_BASE + 0x800); k++) exec.runBlock(1000);
  return {
    x: Array.from(hart.x.slice(10, 17)),
    mstatus: hart.csr[Slot.mstatus],
    pc: hart.pc,
    icount: hart.icount,
    mcause: hart.csr[Slot.mcause],
    priv: hart.priv,
    wasmInsns: exec instanceof JitExecutor ? exec.stats.wasmInsns : 0,
  };
}

describe('compiled sstatus accesses', () => {
  test('S-mode: the same registers and mstatus as the reference, and the SIE-clearing ones ran in wasm', () => {
    const jit = run('jit', Priv.S);
    const ref = run('reference', Priv.S);
    expect({ ...jit, wasmInsns: 0 }).toEqual({ ...ref, wasmInsns: 0 });
    expect(jit.pc).toBe(BigInt(RAM_BASE + 4 * (CODE.length - 1)));
    expect(jit.x[2] & MSTATUS.SIE).toBe(0n); // a2: after the csrrci
    expect(jit.x[3] & MSTATUS.SIE).toBe(MSTATUS.SIE); // a3: restored by the csrw
    expect(jit.x[0] & MSTATUS.SD).toBe(MSTATUS.SD); // FS dirty reads as SD
    expect(jit.x[4] & MSTATUS.SUM).toBe(MSTATUS.SUM);
    // csrr a0, csrrci, csrr a2, csrr a3, lui, csrr a4, csrr a6 at least.
    expect(jit.wasmInsns).toBeGreaterThanOrEqual(6);
  });

  test('U-mode: an illegal instruction on both tiers, before any change', () => {
    const jit = run('jit', Priv.U);
    const ref = run('reference', Priv.U);
    expect({ ...jit, wasmInsns: 0 }).toEqual({ ...ref, wasmInsns: 0 });
    expect(jit.mcause).toBe(BigInt(Cause.IllegalInsn));
    expect(jit.priv).toBe(Priv.M);
    expect(jit.icount).toBe(0);
  });

  test('a write that sets SIE leaves compiled code at once when an interrupt is pending (taken right after it), and only then', () => {
    for (const [tier, pending] of [['jit', true], ['reference', true], ['jit', false]] as const) {
      // csrsi sstatus, 2 (SIE); addi a0,a0,1; addi a0,a0,1; j .
      const { hart, memory } = oneHartMachine([0x10016073, 0x00150513, 0x00150513, 0x0000006f]);
      hart.priv = Priv.S;
      hart.csr[Slot.mideleg] = 2n; // SSIP to S
      hart.csr[Slot.mie] = 2n;
      hart.csr[Slot.mipSoftware] = pending ? 2n : 0n; // pending, masked by sstatus.SIE = 0
      hart.refreshInterruptMirrors();
      expect(hart.pendingInterrupt()).toBeLessThan(0);
      const exec = tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true, runsOfBlocks: true }) : new Executor(hart, hart.bus);
      if (pending) {
        expect(exec.runBlock(1000)).toBe(1);
        expect(hart.pc).toBe(BigInt(RAM_BASE + 4));
        expect(hart.pendingInterrupt()).toBe(1); // the runner's safe point takes it now
      } else {
        expect(exec.runBlock(1000)).toBe(5); // on through the addis and the jump, then the j . once on the reference (a spin)
        expect((exec as JitExecutor).stats.wasmInsns).toBe(4);
        expect(hart.csr[Slot.mstatus] & MSTATUS.SIE).toBe(MSTATUS.SIE);
      }
    }
  });

  test('the trap CSRs (scratch, epc, cause, tval): the same as the reference in M, S and U mode, and in wasm where permitted', () => {
    const code = [
      0x7ff00593, // li a1, 0x7ff
      0x14059573, // csrrw a0, sscratch, a1
      0x14051673, // csrrw a2, sscratch, a0 (swap back)
      0x14159073, // csrw sepc, a1 (bit 0 is not writable)
      0x141026f3, // csrr a3, sepc
      0x1422e773, // csrrsi a4, scause, 5
      0x1420f7f3, // csrrci a5, scause, 1
      0x14202873, // csrr a6, scause
      0x34059073, // csrw mscratch, a1 (M only)
      0x0000006f, // j .
    ];
    const runOn = (tier: 'jit' | 'reference', priv: Priv) => {
      const { hart, memory } = oneHartMachine(code);
      hart.csr[Slot.mtvec] = BigInt(RAM_BASE + 0x800);
      hart.csr[Slot.sscratch] = 0x1234n;
      hart.priv = priv;
      const exec = tier === 'jit' ? new JitExecutor(hart, hart.bus, memory, { hotness: 1, strict: true }) : new Executor(hart, hart.bus);
      const end = BigInt(RAM_BASE + 4 * (code.length - 1));
      for (let k = 0; k < 50 && hart.pc !== end && hart.pc !== BigInt(RAM_BASE + 0x800); k++) exec.runBlock(1000);
      const csrs = [Slot.sscratch, Slot.sepc, Slot.scause, Slot.mscratch, Slot.mepc, Slot.mcause, Slot.mtval].map((slot) => hart.csr[slot]);
      return { x: Array.from(hart.x.slice(10, 17)), csrs, pc: hart.pc, icount: hart.icount, priv: hart.priv, wasm: exec instanceof JitExecutor ? exec.stats.wasmInsns : -1 };
    };
    for (const priv of [Priv.M, Priv.S, Priv.U]) {
      const jit = runOn('jit', priv);
      const ref = runOn('reference', priv);
      expect({ ...jit, wasm: 0 }).toEqual({ ...ref, wasm: 0 });
      if (priv === Priv.M) {
        expect(jit.pc).toBe(BigInt(RAM_BASE + 4 * (code.length - 1)));
        expect(jit.x).toEqual([0x1234n, 0x7ffn, 0x7ffn, 0x7fen, 0n, 5n, 4n]);
        expect(jit.csrs[3]).toBe(0x7ffn); // mscratch
        expect(jit.wasm).toBeGreaterThanOrEqual(8);
      } else {
        expect(jit.priv).toBe(Priv.M); // illegal instruction (mscratch from S; everything from U)
        expect(jit.csrs[5]).toBe(BigInt(Cause.IllegalInsn));
      }
    }
  });
});
