import { describe, expect, test } from 'vitest';
import { Access, Mmu } from '../../src/cpu/mmu.js';
import { Priv } from '../../src/cpu/csr-numbers.js';
import { RAM_BASE } from '../../src/machine/memmap.js';
import { poweredBoard } from './fake-machine.js';

const RAM_BYTES = 4 << 20;
const LEAF = 0xcfn; // V R W X A D
const pte = (pa: number, flags: bigint) => (BigInt(pa >>> 12) << 10n) | flags;

/**
 * An Sv39 MMU whose page tables map (all RAM pages chosen below 1 MiB of RAM):
 * - va 0x2000 -> RAM page 2 and va 0x3000 -> RAM page 3 (4 KiB pages, one level-0 table);
 * - va 0x4020_0000.. (a 2 MiB megapage) -> RAM from RAM_BASE + 2 MiB.
 * `remap` points those mappings elsewhere (RAM pages 5 and 6, megapage at RAM_BASE) without a fence.
 */
function machine() {
  const board = poweredBoard(1, RAM_BYTES);
  const bus = board.bus;
  const root = RAM_BASE + 0x10000, l1 = root + 0x1000, l0 = root + 0x2000, l1b = root + 0x3000;
  bus.write(root, 8, pte(l1, 1n), 0); // va 0 .. 1 GiB
  bus.write(root + 8, 8, pte(l1b, 1n), 0); // va 1 GiB .. 2 GiB
  bus.write(l1, 8, pte(l0, 1n), 0);
  const map = (page2: number, page3: number, mega: number) => {
    bus.write(l0 + 8 * 2, 8, pte(RAM_BASE + page2 * 0x1000, LEAF), 0);
    bus.write(l0 + 8 * 3, 8, pte(RAM_BASE + page3 * 0x1000, LEAF), 0);
    bus.write(l1b + 8 * 1, 8, pte(RAM_BASE + mega, LEAF), 0); // va 0x4020_0000: level-1 leaf
  };
  map(2, 3, 2 << 20);
  const satp = (8n << 60n) | BigInt(root >>> 12);
  const mmu = new Mmu({ priv: Priv.S, readMstatus: () => 0n, readSatp: () => satp }, bus);
  const remap = () => map(5, 6, 0);
  return { mmu, remap };
}

const MEGA = 0x4020_0000n;
const look = (mmu: Mmu) => [
  mmu.translate(0x2008n, Access.Load), mmu.translate(0x3010n, Access.Store),
  mmu.translate(MEGA + 0x5000n, Access.Load), mmu.translate(MEGA + 0x1f_f000n, Access.Fetch),
];

describe('SFENCE.VMA of one address (Mmu.flushAddress)', () => {
  test('drops that page\'s translations and keeps the others', () => {
    const { mmu, remap } = machine();
    const before = look(mmu);
    expect(before).toEqual([RAM_BASE + 0x2008, RAM_BASE + 0x3010, RAM_BASE + (2 << 20) + 0x5000, RAM_BASE + (2 << 20) + 0x1f_f000]);
    remap(); // no fence yet: every cached translation is still used
    expect(look(mmu)).toEqual(before);
    mmu.flushAddress(0x2abcn); // any address in the page
    expect(look(mmu)).toEqual([RAM_BASE + 0x5008, before[1], before[2], before[3]]);
    mmu.flushAddress(0x3000n);
    expect(look(mmu)[1]).toBe(RAM_BASE + 0x6010);
  });

  test('an address inside a superpage drops every cached 4 KiB piece of it, and nothing outside', () => {
    const { mmu, remap } = machine();
    const before = look(mmu);
    remap();
    mmu.flushAddress(MEGA + 0x12_3456n); // neither cached piece's own page
    expect(look(mmu)).toEqual([before[0], before[1], RAM_BASE + 0x5000, RAM_BASE + 0x1f_f000]);
  });

  test('a checkpoint of the TLB keeps what flushAddress needs: restored, it drops the same entries', () => {
    const { mmu, remap } = machine();
    const before = look(mmu);
    const saved = mmu.saveTlb();
    expect(saved.levels!.some((l) => l === 1)).toBe(true);
    remap();
    mmu.flush();
    mmu.restoreTlb(saved);
    expect(look(mmu)).toEqual(before); // the stale translations are back
    mmu.flushAddress(MEGA);
    expect(look(mmu)).toEqual([before[0], before[1], RAM_BASE + 0x5000, RAM_BASE + 0x1f_f000]);
  });
});
