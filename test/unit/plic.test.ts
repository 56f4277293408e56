import { describe, expect, it } from 'vitest';
import { Plic } from '../../src/machine/plic.js';
import { fakeEnv } from './fake-machine.js';

const MEIP = 1 << 11;
const SEIP = 1 << 9;
const enable = (ctx: number) => 0x2000 + 0x80 * ctx;
const threshold = (ctx: number) => 0x200000 + 0x1000 * ctx;
const claim = (ctx: number) => threshold(ctx) + 4;

function setup() {
  const env = fakeEnv(2);
  const plic = new Plic(env, 2);
  const rd = (offset: number) => Number(plic.read(offset, 4, 0));
  const wr = (offset: number, value: number) => plic.write(offset, 4, BigInt(value), 0);
  return { env, plic, rd, wr, mip: env.harts.mip };
}

describe('PLIC', () => {
  it('delivers an enabled source above the threshold and follows claim/complete', () => {
    const { plic, rd, wr, mip } = setup();
    wr(4 * 10, 1); // priority of source 10
    wr(enable(1), 1 << 10); // hart 0 S-mode
    plic.setIrq(10, true);
    expect(rd(0x1000) & (1 << 10)).not.toBe(0);
    expect(mip[0]).toBe(SEIP);
    expect(mip[1]).toBe(0);

    expect(rd(claim(1))).toBe(10);
    expect(rd(0x1000) & (1 << 10)).toBe(0); // claim clears pending
    expect(mip[0]).toBe(0);
    expect(rd(claim(1))).toBe(0); // nothing left

    plic.setIrq(10, false);
    wr(claim(1), 10); // complete with the line low: no re-delivery
    expect(mip[0]).toBe(0);
    expect(rd(0x1000)).toBe(0);
  });

  it('delivers a source asserted again while claimed after completion, never while claimed (QEMU)', () => {
    const { plic, rd, wr, mip } = setup();
    wr(4 * 1, 3);
    wr(enable(0), 1 << 1); // hart 0 M-mode
    plic.setIrq(1, true);
    expect(rd(claim(0))).toBe(1);
    plic.setIrq(1, true); // the device asserts its line again while the source is claimed
    expect(rd(0x1000) & (1 << 1)).not.toBe(0); // pending...
    expect(mip[0]).toBe(0); // ...but not delivered while claimed
    wr(claim(0), 1);
    expect(mip[0]).toBe(MEIP);
    expect(rd(claim(0))).toBe(1);
  });

  it('does not re-deliver a line that merely stays high across completion (QEMU, not a real PLIC)', () => {
    const { plic, rd, wr, mip } = setup();
    wr(4 * 10, 1);
    wr(enable(1), 1 << 10); // hart 0 S-mode
    plic.setIrq(10, true);
    expect(rd(claim(1))).toBe(10);
    wr(claim(1), 10); // line still high, but no new assertion
    expect(mip[0]).toBe(0);
    expect(rd(claim(1))).toBe(0);
    plic.setIrq(10, true); // the next device event asserts it again
    expect(mip[0]).toBe(SEIP);
    expect(rd(claim(1))).toBe(10);
  });

  it('respects priority 0, thresholds and picks the highest priority, lowest id on ties', () => {
    const { plic, rd, wr, mip } = setup();
    wr(enable(3), (1 << 1) | (1 << 2) | (1 << 3)); // hart 1 S-mode
    plic.setIrq(1, true);
    plic.setIrq(2, true);
    plic.setIrq(3, true);
    expect(mip[1]).toBe(0); // all priorities are 0
    wr(4 * 1, 2);
    wr(4 * 2, 5);
    wr(4 * 3, 5);
    expect(mip[1]).toBe(SEIP);
    wr(threshold(3), 5);
    expect(mip[1]).toBe(0);
    expect(rd(claim(3))).toBe(0);
    wr(threshold(3), 1);
    expect(rd(threshold(3))).toBe(1);
    expect(rd(claim(3))).toBe(2);
    expect(rd(claim(3))).toBe(3);
    expect(rd(claim(3))).toBe(1);
    expect(mip[1]).toBe(0);
  });

  it('withdraws a request whose line drops before it is claimed', () => {
    const { plic, rd, wr, mip } = setup();
    wr(4 * 5, 1);
    wr(enable(0), 1 << 5);
    plic.setIrq(5, true);
    expect(mip[0]).toBe(MEIP);
    plic.setIrq(5, false);
    expect(mip[0]).toBe(0);
    expect(rd(claim(0))).toBe(0);
  });

  it('keeps registers in shared memory, so a second instance sees the same state', () => {
    const { env, plic, wr } = setup();
    wr(4 * 7, 4);
    wr(enable(2), 1 << 7);
    plic.setIrq(7, true);
    const other = new Plic(env, 2);
    expect(Number(other.read(4 * 7, 4, 1))).toBe(4);
    expect(Number(other.read(claim(2), 4, 1))).toBe(7);
  });

  it('ignores source 0, out-of-range sources and writes to pending', () => {
    const { plic, rd, wr, mip } = setup();
    wr(enable(0), 0xffffffff);
    expect(rd(enable(0))).toBe(0xfffffffe);
    plic.setIrq(0, true);
    plic.setIrq(96, true);
    wr(0x1000, 0xffffffff);
    expect(rd(0x1000)).toBe(0);
    expect(mip[0]).toBe(0);
  });
});
