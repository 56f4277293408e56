import { describe, expect, test } from 'vitest';
import { OwnershipTable, SPLIT_SLOTS, SPLIT_UNDER_YOU, ownershipBytes } from '../../recorder/ownership.js';
import { LINES_PER_PAGE, describeResource, lineResource } from '../../src/cpu/resources.js';

const PAGES = 8;
const table = (harts = 2) => {
  const layout = { resources: PAGES + 1, harts };
  return new OwnershipTable(new SharedArrayBuffer(ownershipBytes(layout)), 0, layout);
};

describe('ownership by 64-byte lines (pages split for false sharing)', () => {
  test('resource numbers name pages, the bus and lines without a table', () => {
    expect(describeResource(PAGES, 3)).toEqual({ page: 3, line: -1 });
    expect(describeResource(PAGES, PAGES)).toBe('bus');
    expect(describeResource(PAGES, lineResource(PAGES, 5, 63))).toEqual({ page: 5, line: 63 });
    expect(lineResource(PAGES, 0, 0)).toBe(PAGES + 1);
  });

  test('a split hands the page to its lines: nobody holds the page, each line comes after its releases', () => {
    const t = table();
    const noAsk = () => { throw new Error('nobody to ask'); };
    expect(t.tryAcquire(1, 2, true, noAsk)).toEqual([]);
    // hart 1 gives page 2 to hart 0 (release #1), which splits it as its release #1
    expect(t.release(1, 2, true, 1, 0)).toBe(true);
    expect(t.holds(0, 2, true)).toBe(true); // handed straight over
    expect(t.releasesBefore(0, 2)).toEqual([{ hart: 1, seq: 1 }]);
    expect(t.slotOf(lineResource(PAGES, 2, 7))).toBe(-1); // not split yet
    expect(t.split(0, 2, 1)).toBe(true);
    expect(t.isSplit(2)).toBe(true);
    expect(t.holds(0, 2, true) || t.holds(0, 2, false)).toBe(false);
    // a hart that still asks for the page is told to retry through the lines
    const asked: number[] = [];
    expect(t.tryAcquire(1, 2, false, (h) => asked.push(h))).toBeNull();
    expect(asked).toEqual([SPLIT_UNDER_YOU]);
    expect(t.release(0, 2, true, 2, 1)).toBe(false);
    // lines: free, and ordered after both harts' releases of the page (the split is hart 0's #1)
    const line = t.slotOf(lineResource(PAGES, 2, 7));
    expect(line).toBe(PAGES + 1 + 7);
    expect(t.resourceOf(line)).toBe(lineResource(PAGES, 2, 7));
    expect(t.tryAcquire(1, line, true, noAsk)).toEqual([{ hart: 0, seq: 1 }]);
    const other = t.slotOf(lineResource(PAGES, 2, 8));
    expect(t.tryAcquire(0, other, true, noAsk)).toEqual([{ hart: 1, seq: 1 }]);
    // hart 0 wants hart 1's line: it must ask hart 1
    expect(t.tryAcquire(0, line, false, (h) => asked.push(h))).toBeNull();
    expect(asked).toEqual([SPLIT_UNDER_YOU, 1]);
  });

  test('only the exclusive holder splits, and only SPLIT_SLOTS pages ever are', () => {
    const t = table();
    const noAsk = () => undefined;
    expect(t.split(0, 1, 1)).toBe(false); // held by nobody
    t.tryAcquire(1, 1, false, noAsk);
    expect(t.split(1, 1, 1)).toBe(false); // a read right is not enough
    expect(SPLIT_SLOTS * LINES_PER_PAGE).toBeGreaterThan(0);
  });

  test('requests carry the line the requester wanted', () => {
    const t = table();
    t.post(0, 4, 1, false, 9);
    t.post(0, 4, 1, true, 12); // the same request again: now for writing, the latest line
    t.post(0, 5, 1, false);
    expect(t.takeRequests(0)).toEqual([
      { resource: 4, requester: 1, write: true, line: 12 },
      { resource: 5, requester: 1, write: false, line: -1 },
    ]);
  });
});
