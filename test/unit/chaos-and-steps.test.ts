import { describe, expect, test } from 'vitest';
import { ChaosPolicy } from '../../src/engine/chaos.js';
import { SyncTable, canonicalSteps, icountsAt, stepAt, type SyncEvent } from '../../traces/canonical-steps.js';

const tables = (harts: SyncEvent[][]) => harts.map((evs) => SyncTable.of(evs));

describe('ChaosPolicy', () => {
  const tenures = (seed: number, hart: number) => {
    const chaos = new ChaosPolicy({ seed }, hart);
    const out: number[] = [];
    for (let icount = 0; icount < 20_000_000; icount += 50_000) {
      chaos.safePoint(icount);
      out.push(chaos.tenure(20_000));
    }
    return { out, stalls: chaos.stalls };
  };

  test('is seeded: the same seed and hart give the same decisions, another seed or hart others', () => {
    const a = tenures(42, 0);
    expect(tenures(42, 0)).toEqual(a);
    expect(tenures(43, 0).out).not.toEqual(a.out);
    expect(tenures(42, 1).out).not.toEqual(a.out);
  });

  test('varies tenure from "at once" to 4x and stalls the hart now and then', () => {
    const { out, stalls } = tenures(7, 0);
    expect(Math.min(...out)).toBe(1);
    expect(Math.max(...out)).toBe(80_000);
    expect(new Set(out).size).toBeGreaterThan(3);
    expect(stalls).toBeGreaterThan(0);
  });
});

describe('ChaosPolicy.guardAccesses (stalls in check-then-act windows)', () => {
  /** A guard under chaos over an inner guard that logs what it is asked and refuses page 9. */
  const guarded = (seed: number) => {
    const chaos = new ChaosPolicy({ seed }, 0);
    const asked: string[] = [];
    let flushes = 0;
    const guard = chaos.guardAccesses({ permit: (page, write) => { asked.push(`${page}${write ? 'w' : 'r'}`); return page !== 9; } }, () => { flushes++; });
    return { chaos, guard, asked, flushes: () => flushes };
  };

  test('permits exactly as the inner guard does, and stalls only a first write after a read', () => {
    const { chaos, guard, asked } = guarded(5);
    expect(guard.permit(1, true)).toBe(true); // written without a read first: never stalled
    expect(guard.permit(9, false)).toBe(false); // refused reads are not remembered
    expect(guard.permit(9, true)).toBe(false);
    expect(chaos.writeAfterReadStalls).toBe(0);
    for (let page = 100; page < 140; page++) {
      expect(guard.permit(page, false)).toBe(true);
      expect(guard.permit(page, true)).toBe(true);
      expect(guard.permit(page, true)).toBe(true); // the second write is not a check-then-act
    }
    expect(asked.slice(0, 7)).toEqual(['1w', '9r', '9w', '100r', '100w', '100w', '101r']);
    // 3 in 4 of the 40 write-after-reads are drawn (seeded); the wall-time budget (10 ms, then
    // 30%) skips most of them in a test that does nothing else.
    expect(chaos.writeAfterReadStalls).toBeGreaterThan(20);
    expect(chaos.writeAfterReadStalls).toBeLessThan(40);
    expect(chaos.stallsOverBudget).toBeGreaterThan(0);
    expect(chaos.stallsOverBudget).toBeLessThan(chaos.writeAfterReadStalls);
  });

  test('the stall budget leaves out time the thread spent waiting for a core', async () => {
    /** Seeded alike, 200 write-after-reads: a thread never queued, and one queued all the time since its policy was made. */
    const drive = async (queued: () => number) => {
      const chaos = new ChaosPolicy({ seed: 5 }, 0, queued);
      const guard = chaos.guardAccesses({ permit: () => true }, () => {});
      await new Promise((resolve) => setTimeout(resolve, 10)); // past the reading interval (5 ms)
      for (let page = 100; page < 300; page++) {
        guard.permit(page, false);
        guard.permit(page, true);
      }
      return chaos;
    };
    const alone = await drive(() => 0);
    expect(alone.writeAfterReadStalls).toBeGreaterThan(0);
    expect(alone.stallsOverBudget).toBeLessThan(alone.stalls); // the first 10 ms are allowed
    let reads = 0;
    const queued = await drive(() => (reads++ === 0 ? 0 : 1e9)); // then a long wait for a core
    expect(queued.stalls).toBe(alone.stalls); // the same draws...
    expect(queued.stallsOverBudget).toBe(queued.stalls); // ...none taken: the thread has not run
  });

  test('after winning a contended write, the hart sometimes yields: its next accesses are refused for a while', () => {
    const chaos = new ChaosPolicy({ seed: 3 }, 0);
    const asked: string[] = [];
    let flushes = 0;
    let holder = true; // another hart holds page 7 until the first ask
    const guard = chaos.guardAccesses({ permit: (page, write) => { asked.push(`${page}${write ? 'w' : 'r'}`); const ok = !(page === 7 && holder); holder = false; return ok; } }, () => { flushes++; });
    let yielded = 0;
    for (let round = 0; round < 40 && yielded === 0; round++) {
      holder = true;
      expect(guard.permit(7, true)).toBe(false); // asked: contended
      expect(chaos.takeYield()).toBe(false); // a real wait, not a yield
      expect(guard.permit(7, true)).toBe(true); // won it
      asked.length = 0;
      if (chaos.yields === 0) continue;
      expect(flushes).toBeGreaterThan(0); // so that the next access reaches the guard
      expect(guard.permit(8, false)).toBe(false); // the yield: refused without asking anyone
      expect(asked).toEqual([]);
      expect(chaos.takeYield()).toBe(true);
      expect(chaos.takeYield()).toBe(false);
      const until = performance.now() + 1;
      while (performance.now() < until) { /* the longest yield is 0.2 ms */ }
      expect(guard.permit(8, false)).toBe(true);
      expect(asked).toEqual(['8r']);
      yielded++;
    }
    expect(yielded).toBe(1);
    // Uncontended writes never yield.
    const before = chaos.yields;
    for (let page = 100; page < 200; page++) expect(guard.permit(page, true)).toBe(true);
    expect(chaos.yields).toBe(before);
  });

  test('a plain run (no inner guard) permits everything; new periods flush the TLB', () => {
    const chaos = new ChaosPolicy({ seed: 1 }, 0);
    let flushes = 0;
    const guard = chaos.guardAccesses(null, () => { flushes++; });
    expect(guard.permit(3, false)).toBe(true);
    expect(guard.permit(3, true)).toBe(true);
    for (let icount = 0; icount < 5_000_000; icount += 100_000) chaos.safePoint(icount);
    expect(flushes).toBeGreaterThan(1);
  });
});

describe('canonicalSteps (the serial scheduler simulated on the events)', () => {
  test('a hart blocked at an acquire runs after the release it waits for; steps follow the round robin', () => {
    const c = canonicalSteps(tables([
      [{ kind: 'release', icount: 1500, resource: 3, seq: 1 }],
      [{ kind: 'acquire', icount: 0, resource: 3, write: true, after: [{ hart: 0, seq: 1 }] }],
    ]), [3000, 500], 1000, true);
    expect([...c.turns]).toEqual([
      { hart: 0, fromIcount: 0, toIcount: 1000, fromStep: 0 },
      { hart: 0, fromIcount: 1000, toIcount: 2000, fromStep: 1000 },
      { hart: 1, fromIcount: 0, toIcount: 500, fromStep: 2000 },
      { hart: 0, fromIcount: 2000, toIcount: 3000, fromStep: 2500 },
    ]);
    expect(c.totalSteps).toBe(3500);
    expect(c.syncSteps.map((x) => [...x])).toEqual([[1500], [2000]]);
    expect(stepAt(c, 1, 250)).toBe(2250);
    expect(stepAt(c, 0, 2000)).toBe(2000);
    expect(icountsAt(c, 2250)).toEqual([2000, 250]);
  });

  test('events after a trap event wait for the turn that runs the trapping instruction', () => {
    // Hart 0's turn ends at icount 1000, before the instruction there; its release #2 came after
    // that instruction trapped, so hart 1 (waiting for it) cannot run until hart 0's next turn.
    const c = canonicalSteps(tables([
      [
        { kind: 'release', icount: 1000, resource: 3, seq: 1 },
        { kind: 'trap', icount: 1000, count: 1 },
        { kind: 'release', icount: 1000, resource: 4, seq: 2 },
      ],
      [{ kind: 'acquire', icount: 0, resource: 4, write: true, after: [{ hart: 0, seq: 2 }] }],
    ]), [3000, 500], 1000, true);
    expect([...c.turns]).toEqual([
      { hart: 0, fromIcount: 0, toIcount: 1000, fromStep: 0 },
      { hart: 0, fromIcount: 1000, toIcount: 2000, fromStep: 1000 },
      { hart: 1, fromIcount: 0, toIcount: 500, fromStep: 2000 },
      { hart: 0, fromIcount: 2000, toIcount: 3000, fromStep: 2500 },
    ]);
    expect(c.syncSteps.map((x) => [...x])).toEqual([[1000, 1000, 1000], [2000]]);
  });

  test('thousands of events from a simulated interleaving: turns tile every hart in order, acquires come after their releases, stepAt and icountsAt agree', () => {
    // A global sequential execution: a random hart runs a while, then releases, or acquires after
    // the latest release of another hart (so some canonical schedule exists).
    let seed = 12345;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const harts = 3;
    const icount = [0, 0, 0];
    const lastRelease = [0, 0, 0];
    const evs: SyncEvent[][] = [[], [], []];
    const releaseAt: { icount: number; index: number }[][] = [[], [], []];
    for (let k = 0; k < 6000; k++) {
      const h = rand(harts);
      icount[h] += rand(3000);
      if (rand(2) === 0) {
        lastRelease[h]++;
        releaseAt[h].push({ icount: icount[h], index: evs[h].length });
        evs[h].push({ kind: 'release', icount: icount[h], resource: rand(8), seq: lastRelease[h] });
      } else {
        const other = (h + 1 + rand(harts - 1)) % harts;
        const after = lastRelease[other] > 0 ? [{ hart: other, seq: lastRelease[other] }] : [];
        evs[h].push({ kind: 'acquire', icount: icount[h], resource: rand(8), write: rand(2) === 1, after });
      }
    }
    const finals = icount.map((i) => i + 500);
    const c = canonicalSteps(tables(evs), finals, 1000, true);
    expect(c.totalSteps).toBe(finals.reduce((a, b) => a + b, 0));
    expect(c.turns.length).toBeGreaterThan(1000); // the columns grew past their first size
    let step = 0;
    const reached = [0, 0, 0];
    for (const t of c.turns) {
      expect(t.fromStep).toBe(step);
      expect(t.fromIcount).toBe(reached[t.hart]);
      step += t.toIcount - t.fromIcount;
      reached[t.hart] = t.toIcount;
    }
    expect(reached).toEqual(finals);
    for (let h = 0; h < harts; h++) {
      evs[h].forEach((e, i) => {
        const at = c.syncSteps[h][i];
        expect(at).toBeGreaterThanOrEqual(0);
        if (e.kind === 'acquire') for (const ref of e.after) expect(at).toBeGreaterThanOrEqual(c.syncSteps[ref.hart][releaseAt[ref.hart][ref.seq - 1].index]);
      });
      for (let x = 1; x < finals[h]; x += 7919) expect(icountsAt(c, stepAt(c, h, x))[h]).toBe(x);
    }
  });

  test('releases nobody makes are reported', () => {
    expect(() => canonicalSteps(tables([[], [{ kind: 'acquire', icount: 5, resource: 1, write: false, after: [{ hart: 0, seq: 1 }] }]]), [10, 10], 1000, true))
      .toThrow(/hart 1 waits at icount 5/);
  });
});
