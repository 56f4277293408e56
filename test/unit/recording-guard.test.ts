import { describe, expect, test } from 'vitest';
import { Access, Mmu } from '../../src/cpu/mmu.js';
import { Priv } from '../../src/cpu/csr-numbers.js';
import { Board } from '../../src/machine/board.js';
import { CLINT_BASE, RAM_BASE } from '../../src/machine/memmap.js';
import { poweredBoard } from './fake-machine.js';
import { HartReplayer, ReleaseInvalidates } from '../../replayer/hart-replayer.js';
import { ReplayProgress } from '../../replayer/replay-progress.js';

const RAM_BYTES = 1 << 20;

/** Hart 0 of a 2-hart board whose MMU asks a recording guard that logs and grants every right. */
function guardedHart() {
  const board = poweredBoard(2, RAM_BYTES);
  const hart = board.harts[0]!;
  const asked: string[] = [];
  hart.mmu.guard = { permit: (resource, write) => { asked.push(`${resource}${write ? 'w' : 'r'}`); return true; } };
  return { hart, asked, device: `${hart.mmu.deviceResource}w`, board };
}

/** Loads from RAM page 2, stores to pages 2 and 3 and to the CLINT: what the tests below cache and drop. */
function touchPages(hart: ReturnType<typeof guardedHart>['hart']): void {
  hart.mmu.translate(BigInt(RAM_BASE + 0x2008), Access.Load);
  hart.mmu.translate(BigInt(RAM_BASE + 0x2010), Access.Store);
  hart.mmu.translate(BigInt(RAM_BASE + 0x3000), Access.Store);
  hart.mmu.translate(BigInt(CLINT_BASE), Access.Store);
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
    const touch = () => touchPages(hart);
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2w', '3w', device]);
    touch();
    expect(asked.splice(0)).toEqual([]); // all cached
    hart.mmu.forgetResource(2, 'devices');
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2w']);
    hart.mmu.forgetResource(hart.mmu.deviceResource, 'devices'); // the device bus: the device pages
    touch();
    expect(asked.splice(0)).toEqual([device]);
    hart.mmu.forgetResource(hart.mmu.deviceResource, 'tlb'); // as traces before 'page-or-devices': everything
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2w', '3w', device]);
  });

  test('giving a page away drops every virtual alias of it, and only those', () => {
    // Sv39, 4 KiB pages: va 0x2000 and 0x5000 (TLB slots 2 and 5) both map RAM page 2, va 0x3000 page 3.
    const { hart, asked } = guardedHart();
    const bus = hart.mmu['bus' as keyof Mmu] as unknown as Board['bus'];
    const root = RAM_BASE + 0x10000, l1 = root + 0x1000, l0 = root + 0x2000;
    const pte = (pa: number, flags: bigint) => (BigInt(pa >>> 12) << 10n) | flags;
    const LEAF = 0xcfn; // V R W X A D
    bus.write(root, 8, pte(l1, 1n), 0);
    bus.write(l1, 8, pte(l0, 1n), 0);
    for (const [vpn, page] of [[2, 2], [5, 2], [3, 3]]) bus.write(l0 + 8 * vpn, 8, pte(RAM_BASE + page * 0x1000, LEAF), 0);
    const satp = (8n << 60n) | BigInt(root >>> 12);
    const mmu = new Mmu({ priv: Priv.S, readMstatus: () => 0n, readSatp: () => satp }, bus);
    mmu.guard = hart.mmu.guard;
    const touch = () => {
      const pas = [mmu.translate(0x2008n, Access.Load), mmu.translate(0x5010n, Access.Load), mmu.translate(0x3000n, Access.Store)];
      // The walks' reads of the page tables (pages 16-18) ask for rights too; the data pages are the point here.
      for (let i = asked.length - 1; i >= 0; i--) if (parseInt(asked[i]!, 10) >= 16) asked.splice(i, 1);
      return pas;
    };
    expect(touch()).toEqual([RAM_BASE + 0x2008, RAM_BASE + 0x2010, RAM_BASE + 0x3000]);
    expect(asked.splice(0)).toEqual(['2r', '2r', '3w']);
    touch();
    expect(asked.splice(0)).toEqual([]);
    mmu.forgetResource(2, 'devices');
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2r']);
    mmu.forgetResource(3, 'devices');
    touch();
    expect(asked.splice(0)).toEqual(['3w']);
    mmu.forgetResource(3, 'devices');
    mmu.forgetResource(3, 'devices'); // nothing cached: nothing to drop
    touch();
    expect(asked.splice(0)).toEqual(['3w']);
    // Entries restored from a snapshot are dropped as well.
    const saved = mmu.saveTlb();
    mmu.flush();
    mmu.restoreTlb(saved);
    touch();
    expect(asked.splice(0)).toEqual([]);
    mmu.forgetResource(2, 'devices');
    touch();
    expect(asked.splice(0)).toEqual(['2r', '2r']);
  });
});

describe('what a replayed release of the device bus drops, by the rule the trace was recorded with', () => {
  const cases: [ReleaseInvalidates, string[]][] = [
    ['page-or-devices', ['device']], // today's recordings: the device pages only
    ['page', ['2r', '2w', '3w', 'device']], // recordings before 2026-12-03: the whole TLB for the bus
    ['tlb', ['2r', '2w', '3w', 'device']], // the oldest: the whole TLB at every release
  ];
  for (const [rule, dropped] of cases) {
    test(rule, () => {
      const { hart, asked, device, board } = guardedHart();
      const touch = () => touchPages(hart);
      touch();
      asked.splice(0);
      const replayer = new HartReplayer(hart, [{ kind: 'release', icount: hart.icount, resource: hart.mmu.deviceResource, seq: 1 }], hart.icount + 100,
        ReplayProgress.create(2), board.uart, false, rule);
      replayer.safePoint(hart);
      touch();
      expect(asked).toEqual(dropped.map((a) => (a === 'device' ? device : a)));
    });
  }
});
