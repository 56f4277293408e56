import { describe, expect, test } from 'vitest';
import { DEFAULT_CPU_FEATURES } from '../../src/cpu/features.js';
import { Access } from '../../src/cpu/mmu.js';
import { Board } from '../../src/machine/board.js';
import { CLINT_BASE, RAM_BASE } from '../../src/machine/memmap.js';
import { createSharedMemory, sharedBuffer } from '../../src/shm/layout.js';
import { powerOn } from '../../src/engine/machine-factory.js';

const RAM_BYTES = 1 << 20;

/** Hart 0 of a 2-hart board whose MMU asks a recording guard that logs and grants every right. */
function guardedHart() {
  const board = new Board(sharedBuffer(createSharedMemory(RAM_BYTES)), { harts: 2, ramBytes: RAM_BYTES, rom: new Uint8Array(0x100), tohost: null, fromhost: null, disks: [], cpu: DEFAULT_CPU_FEATURES });
  powerOn(board);
  const hart = board.harts[0]!;
  const asked: string[] = [];
  hart.mmu.guard = { permit: (resource, write) => { asked.push(`${resource}${write ? 'w' : 'r'}`); return true; } };
  return { hart, asked, device: `${hart.mmu.deviceResource}w` };
}

describe('what a parallel recording makes harts take turns on', () => {
  test('reading CLINT mtime needs no device right (the value is logged as a clock read)', () => {
    const { hart, asked } = guardedHart();
    expect(hart.mmu.translate(BigInt(CLINT_BASE + 0xbff8), Access.Load)).toBe(CLINT_BASE + 0xbff8);
    expect(hart.mmu.translate(BigInt(CLINT_BASE + 0xb000), Access.Load)).toBe(CLINT_BASE + 0xb000);
    expect(asked).toEqual([]);
  });

  test('writing mtime, and reading or writing msip and mtimecmp, take the device bus exclusively', () => {
    const { hart, asked, device } = guardedHart();
    hart.mmu.translate(BigInt(CLINT_BASE + 0xbff8), Access.Store);
    hart.mmu.translate(BigInt(CLINT_BASE), Access.Load);
    hart.mmu.flush();
    hart.mmu.translate(BigInt(CLINT_BASE + 0x4000), Access.Load);
    expect(asked).toEqual([device, device, device]);
  });

  test('RAM pages are taken per page, for reading or writing', () => {
    const { hart, asked } = guardedHart();
    hart.mmu.translate(BigInt(RAM_BASE + 0x2008), Access.Load);
    hart.mmu.translate(BigInt(RAM_BASE + 0x3000), Access.Store);
    expect(asked).toEqual(['2r', '3w']);
  });

  test('giving a page away drops only its translations (a cached one asks the guard no more)', () => {
    const { hart, asked, device } = guardedHart();
    const touch = () => {
      hart.mmu.translate(BigInt(RAM_BASE + 0x2008), Access.Load);
      hart.mmu.translate(BigInt(RAM_BASE + 0x2010), Access.Store);
      hart.mmu.translate(BigInt(RAM_BASE + 0x3000), Access.Store);
      hart.mmu.translate(BigInt(CLINT_BASE), Access.Store);
    };
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2w', '3w', device]);
    touch();
    expect(asked.splice(0)).toEqual([]); // all cached
    hart.mmu.forgetResource(2);
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2w']);
    hart.mmu.forgetResource(hart.mmu.deviceResource); // the device bus: everything
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2w', '3w', device]);
  });
});
