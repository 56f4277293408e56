import { describe, expect, test } from 'vitest';
import { MIP, MSTATUS, Priv, Slot } from '../../src/cpu/csr-numbers.js';
import { Hart } from '../../src/cpu/hart.js';
import { HartRunner } from '../../src/engine/hart-runner.js';
import { HartSupervisor } from '../../src/engine/supervisor.js';
import type { Board } from '../../src/machine/board.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { RAM_OFFSET } from '../../src/shm/layout.js';
import { poweredBoard } from './fake-machine.js';

const NOP = 0x00000013;
const S_HANDLER = RAM_BASE + 0x100;
const M_HANDLER = RAM_BASE + 0x200;

/** A hart in S-mode running NOPs, SEIP delegated and enabled, MSIP enabled (an M-level line). */
function sModeHart(): Hart {
  const board = poweredBoard(1, 1 << 20);
  const view = new DataView(board.memory);
  for (let i = 0; i < 0x400; i += 4) view.setUint32(RAM_OFFSET + i, NOP, true);
  const hart = board.harts[0]!;
  hart.pc = BigInt(RAM_BASE);
  hart.priv = Priv.S;
  hart.csr[Slot.mideleg] = BigInt(MIP.SEIP);
  hart.csr[Slot.mie] = BigInt(MIP.SEIP | MIP.MSIP);
  hart.csr[Slot.mstatus] |= MSTATUS.SIE;
  hart.csr[Slot.stvec] = BigInt(S_HANDLER);
  hart.csr[Slot.mtvec] = BigInt(M_HANDLER);
  hart.refreshInterruptMirrors();
  return hart;
}

/** What the parallel recorder does at a safe point, as far as interrupts go: sample the lines. */
function recorderLike(noSafePointAfterException: boolean): HartSupervisor {
  return {
    realTime: false,
    noSafePointAfterException,
    safePoint: (h) => { h.observeLines(h.hardwareMip()); },
    budget: () => 1_000_000,
    readTime: () => 0n,
  };
}

describe('engine/hart-runner.ts: safe points at one icount', () => {
  test('after an interrupt, a hart that stops before the handler\'s first instruction takes no second one there (parallel record and replay)', () => {
    const hart = sModeHart();
    const runner = new HartRunner(hart, recorderLike(true));
    runner.runSlice(4); // four NOPs
    hart.setHardwareMip(MIP.SEIP, true);
    expect(runner.runSlice(4)).toBe('yield'); // the safe point at icount 4 takes SEIP, then the slice is over
    expect(hart.pc).toBe(BigInt(S_HANDLER));
    expect(hart.icount).toBe(4);
    expect(runner.exceptionState.afterInterrupt).toBe(true);
    // MSIP arrives while the hart waits for its next turn. Replay applies every event of icount 4
    // at one safe point and takes the highest interrupt (MSIP), so the recording must not take
    // SEIP and then MSIP on top at the same icount: MSIP waits for the next safe point.
    hart.setHardwareMip(MIP.MSIP, true);
    runner.runSlice(5);
    expect(hart.csr[Slot.mepc]).toBe(BigInt(S_HANDLER + 4)); // taken after the handler's first instruction
    expect(hart.pc).toBe(BigInt(M_HANDLER));
    expect(hart.icount).toBe(5);
  });

  test('plain runs (and serial traces, which count safe points) keep taking interrupts at every safe point', () => {
    const hart = sModeHart();
    const runner = new HartRunner(hart, recorderLike(false));
    runner.runSlice(4);
    hart.setHardwareMip(MIP.SEIP, true);
    runner.runSlice(4);
    hart.setHardwareMip(MIP.MSIP, true);
    runner.runSlice(4);
    expect(hart.csr[Slot.mepc]).toBe(BigInt(S_HANDLER)); // nested at once
    expect(hart.pc).toBe(BigInt(M_HANDLER));
  });
});

const WFI = 0x10500073;
const JUMP_BACK = 0xffdff06f; // j .-4

/** A hart in M-mode polling in WFI: MSIP pending and enabled in mie, mstatus.MIE off, so each WFI returns at once. */
function pollingHart(): { hart: Hart; board: Board } {
  const board = poweredBoard(1, 1 << 20);
  const view = new DataView(board.memory);
  view.setUint32(RAM_OFFSET, WFI, true);
  view.setUint32(RAM_OFFSET + 4, JUMP_BACK >>> 0, true);
  const hart = board.harts[0]!;
  hart.pc = BigInt(RAM_BASE);
  hart.csr[Slot.mie] = BigInt(MIP.MSIP);
  hart.refreshInterruptMirrors();
  hart.setHardwareMip(MIP.MSIP, true);
  return { hart, board };
}

/** A plain run's supervisor as far as WFI goes: real time, lines sampled at safe points. */
const plainLike: HartSupervisor = {
  realTime: true,
  safePoint: (h) => { h.observeLines(h.hardwareMip()); },
  budget: () => 1_000_000_000,
  readTime: () => 0n,
};

/**
 * A polling hart on a shared thread, run until it naps, then (kicked or not) given two more
 * instructions: its slice's status and the instructions it ran. Null when the host took longer
 * than the nap (0.2 ms), which then ended anyway: the caller tries again.
 */
function afterNap(kick: boolean): { status: string; ran: number } | null {
  const { hart, board } = pollingHart();
  const runner = new HartRunner(hart, plainLike);
  runner.sharesThread = true;
  expect(runner.runSlice(1e9)).toBe('blocked'); // POLLING_WFIS_BEFORE_NAPS polls, then a nap
  const parkedAt = process.hrtime.bigint();
  const nap = runner.parkedForNs();
  expect(nap, 'the hart is parked').not.toBeNull();
  // A nap already over when we look: the host took longer than the nap, as below; try again.
  if (nap! <= 0n) return null;
  const icount = hart.icount;
  if (kick) board.control.kick(0);
  const status = runner.runSlice(icount + 2);
  return process.hrtime.bigint() - parkedAt < nap! ? { status, ran: hart.icount - icount } : null;
}

function withinANap(kick: boolean): { status: string; ran: number } {
  // Each attempt takes well under a millisecond; a loaded host (the suite beside a soak) can
  // overrun many naps in a row, so there are many attempts.
  for (let attempt = 0; attempt < 500; attempt++) {
    const r = afterNap(kick);
    if (r) return r;
  }
  throw new Error('the host never ran this test within a nap');
}

describe('engine/hart-runner.ts: naps on a shared thread', () => {
  test('a hart polling in WFI naps between polls, and a kick (an IPI, as OpenSBI\'s HSM start sends) ends the nap at once', () => {
    expect(withinANap(true).ran, 'the kicked hart polled again').toBe(2);
  });

  test('without a kick the nap holds: the hart does not poll again before it ends', () => {
    const r = withinANap(false);
    expect(r.status).toBe('blocked');
    expect(r.ran).toBe(0);
  });
});
