import { acquire, release } from '../src/shm/lock.js';
import { ReleaseRef } from '../traces/events.js';
import { LINES_PER_PAGE, lineResource } from '../src/cpu/resources.js';

/** Highest hart count CREW ownership supports: reader sets are a 31-bit mask in one Int32. */
export const MAX_RECORDING_HARTS = 31;
const EXCLUSIVE = 0x80000000 | 0;
const OWNER_MASK = 0xff;
const MAILBOX_CAPACITY = 64;
/** Mailbox words: lock, count, then (resource, requester, write | (line + 1) << 1) triples. */
const MAILBOX_WORDS = 2 + 3 * MAILBOX_CAPACITY;
/** At most this many pages are ever split (each adds LINES_PER_PAGE resources). */
export const SPLIT_SLOTS = 256;
/** State word of a split page: nobody holds it, its lines are the resources now. */
const SPLIT = EXCLUSIVE | OWNER_MASK;
/** Passed to tryAcquire's `ask` when the page was split under the caller: retry at once, via the lines. */
export const SPLIT_UNDER_YOU = -1;

export interface OwnershipLayout {
  /** Page-level resources: RAM pages, then the device bus (the last one). */
  resources: number;
  harts: number;
}

function tableSlots(l: OwnershipLayout): number {
  return l.resources + SPLIT_SLOTS * LINES_PER_PAGE;
}

/** Bytes of shared memory the ownership table of a machine needs. */
export function ownershipBytes(l: OwnershipLayout): number {
  const slots = tableSlots(l);
  return 4 * (slots + slots * l.harts + l.harts * MAILBOX_WORDS + (l.resources - 1) + SPLIT_SLOTS + 1);
}

/**
 * CREW ownership of RAM pages and the device bus while recording (after SMP-ReVirt): at any time a
 * resource has one writer or any number of readers. Access rights are only ever taken by their
 * future holder (a compare-exchange on the resource's state word) and given up by their current
 * holder at one of its own safe points, so every transfer has an exact position in both harts'
 * instruction streams. A hart that lacks a right posts a request in each holder's mailbox and
 * retries its instruction later; holders answer at their next block boundary.
 *
 * State word per resource: 0 = nobody holds it yet; EXCLUSIVE | hart; or a mask of reader harts.
 * lastRelease[resource][hart] = that hart's release number for its latest release of the resource:
 * an acquire names them, and replay waits for them.
 *
 * Pages that ping-pong can be split into 64-byte lines, each a resource of its own (false sharing:
 * xv6's harts each write their own `cpus[]` entry, all on one page). Table slots: the page-level
 * resources first, then LINES_PER_PAGE per split page in the order they were split. Methods take
 * table slots (`slotOf` maps an event's resource number to one, `resourceOf` back).
 */
export class OwnershipTable {
  private readonly state: Int32Array;
  private readonly lastRelease: Int32Array;
  private readonly mailboxes: Int32Array;
  /** Per RAM page: 0, or 1 + the split slot of its lines. */
  private readonly splitSlot: Int32Array;
  /** Per split slot: its page; then (last word) how many slots are taken. */
  private readonly slotPage: Int32Array;
  /** Page-level resources (RAM pages and the bus); line slots start here. */
  readonly resources: number;
  /** Table slots in all (what per-slot arrays of callers are sized by). */
  readonly slots: number;
  readonly harts: number;
  /** RAM pages (the bus's resource number). */
  readonly pages: number;

  constructor(buffer: SharedArrayBuffer, offset: number, layout: OwnershipLayout) {
    this.resources = layout.resources;
    this.pages = layout.resources - 1;
    this.harts = layout.harts;
    const slots = this.slots = tableSlots(layout);
    let at = offset;
    const take = (words: number) => { const a = new Int32Array(buffer, at, words); at += 4 * words; return a; };
    this.state = take(slots);
    this.lastRelease = take(slots * layout.harts);
    this.mailboxes = take(layout.harts * MAILBOX_WORDS);
    this.splitSlot = take(this.pages);
    this.slotPage = take(SPLIT_SLOTS + 1);
  }

  isSplit(page: number): boolean {
    return Atomics.load(this.splitSlot, page) !== 0;
  }

  /** The table slot of an event's resource number (a line of a page that is not split: -1). */
  slotOf(resource: number): number {
    if (resource <= this.pages) return resource;
    const k = resource - this.pages - 1;
    const split = Atomics.load(this.splitSlot, Math.floor(k / LINES_PER_PAGE));
    return split === 0 ? -1 : this.resources + (split - 1) * LINES_PER_PAGE + (k % LINES_PER_PAGE);
  }

  /** The resource number events carry for a table slot. */
  resourceOf(slot: number): number {
    if (slot < this.resources) return slot;
    const k = slot - this.resources;
    return lineResource(this.pages, this.slotPage[Math.floor(k / LINES_PER_PAGE)], k % LINES_PER_PAGE);
  }

  /**
   * Splits a RAM page the hart holds exclusively into lines, as its release number `seq`: from now
   * on nobody holds the page, and each line's first acquire comes after the page's releases so far
   * and this one. False when every split slot is taken.
   */
  split(hart: number, page: number, seq: number): boolean {
    if (Atomics.load(this.state, page) !== (EXCLUSIVE | hart)) return false;
    const n = Atomics.add(this.slotPage, SPLIT_SLOTS, 1);
    if (n >= SPLIT_SLOTS) return false;
    this.slotPage[n] = page;
    Atomics.store(this.lastRelease, page * this.harts + hart, seq);
    for (let l = 0; l < LINES_PER_PAGE; l++) {
      const slot = this.resources + n * LINES_PER_PAGE + l;
      for (let h = 0; h < this.harts; h++) {
        Atomics.store(this.lastRelease, slot * this.harts + h, Atomics.load(this.lastRelease, page * this.harts + h));
      }
      Atomics.store(this.state, slot, 0);
    }
    // splitSlot before the page's state: whoever sees SPLIT there finds the lines.
    Atomics.store(this.splitSlot, page, n + 1);
    Atomics.store(this.state, page, SPLIT);
    return true;
  }

  holds(hart: number, resource: number, write: boolean): boolean {
    const s = Atomics.load(this.state, resource);
    if (write) return s === (EXCLUSIVE | hart);
    return (s & EXCLUSIVE) ? (s & OWNER_MASK) === hart : (s & (1 << hart)) !== 0;
  }

  /**
   * Takes the right if nobody else must give anything up, returning the releases it comes after;
   * otherwise asks the holders (via `ask`) and returns null: the caller retries later.
   */
  tryAcquire(hart: number, resource: number, write: boolean, ask: (holder: number) => void): ReleaseRef[] | null {
    for (;;) {
      const s = Atomics.load(this.state, resource);
      if (s === SPLIT) {
        ask(SPLIT_UNDER_YOU);
        return null;
      }
      if (write) {
        if (s === 0 || s === (1 << hart)) {
          if (Atomics.compareExchange(this.state, resource, s, EXCLUSIVE | hart) === s) return this.releasesBefore(hart, resource);
          continue;
        }
        if (s & EXCLUSIVE) ask(s & OWNER_MASK);
        else for (let h = 0; h < this.harts; h++) if (h !== hart && (s & (1 << h))) ask(h);
        return null;
      }
      if (s & EXCLUSIVE) {
        ask(s & OWNER_MASK);
        return null;
      }
      if (Atomics.compareExchange(this.state, resource, s, s | (1 << hart)) === s) return this.releasesBefore(hart, resource);
    }
  }

  releasesBefore(hart: number, resource: number): ReleaseRef[] {
    const after: ReleaseRef[] = [];
    const base = resource * this.harts;
    for (let h = 0; h < this.harts; h++) {
      if (h === hart) continue;
      const seq = Atomics.load(this.lastRelease, base + h);
      if (seq > 0) after.push({ hart: h, seq });
    }
    return after;
  }

  /**
   * Gives up (write request) or downgrades to reading (read request) the holder's right. An
   * exclusive right, or the last read right a writer waits for, is handed straight to the
   * requester, so the holder cannot take it back before the (possibly sleeping) requester gets to
   * use it. Returns false when the holder no longer has
   * anything to give. `seq` is recorded first, so a hart that sees the new state also sees the
   * release it must name.
   */
  release(hart: number, resource: number, forWriter: boolean, seq: number, requester: number): boolean {
    const s = Atomics.load(this.state, resource);
    const exclusive = s === (EXCLUSIVE | hart);
    const reading = !(s & EXCLUSIVE) && (s & (1 << hart)) !== 0;
    if (!(exclusive || (forWriter && reading))) return false;
    Atomics.store(this.lastRelease, resource * this.harts + hart, seq);
    for (;;) {
      const cur = Atomics.load(this.state, resource);
      let next: number;
      if (cur === (EXCLUSIVE | hart)) next = forWriter ? (EXCLUSIVE | requester) : (1 << hart) | (1 << requester);
      else {
        next = cur & ~(1 << hart);
        // The last reader in a writer's way hands it the page: otherwise a reader spinning on the
        // page takes it back before the writer retries, again and again (measured: up to ~20
        // give-and-take rounds per transfer on smp_sb_litmus).
        if (forWriter && (next === 0 || next === (1 << requester))) next = EXCLUSIVE | requester;
      }
      if (Atomics.compareExchange(this.state, resource, cur, next) === cur) return true;
    }
  }

  // --- mailboxes: requests for a holder to release --------------------------------------------
  private mailbox(hart: number): number {
    return hart * MAILBOX_WORDS;
  }

  /** Posts "please release `resource` for `requester`" to `holder`, once. False if its mailbox is full. */
  post(holder: number, resource: number, requester: number, write: boolean, line = -1): boolean {
    const m = this.mailbox(holder);
    const box = this.mailboxes;
    acquire(box, m);
    try {
      const count = box[m + 1];
      for (let i = 0; i < count; i++) {
        const e = m + 2 + 3 * i;
        if (box[e] === resource && box[e + 1] === requester) {
          box[e + 2] = (box[e + 2] & 1) | (write ? 1 : 0) | ((line + 1) << 1);
          return true;
        }
      }
      if (count >= MAILBOX_CAPACITY) return false;
      const e = m + 2 + 3 * count;
      box[e] = resource;
      box[e + 1] = requester;
      box[e + 2] = (write ? 1 : 0) | ((line + 1) << 1); // and the line it wanted (-1: unknown)
      Atomics.store(box, m + 1, count + 1);
      return true;
    } finally {
      release(box, m);
    }
  }

  hasRequests(hart: number): boolean {
    return Atomics.load(this.mailboxes, this.mailbox(hart) + 1) !== 0;
  }

  /** Empties the hart's mailbox, returning its requests. */
  takeRequests(hart: number): { resource: number; requester: number; write: boolean; line: number }[] {
    const m = this.mailbox(hart);
    const box = this.mailboxes;
    acquire(box, m);
    try {
      const count = box[m + 1];
      const out = [];
      for (let i = 0; i < count; i++) {
        const e = m + 2 + 3 * i;
        out.push({ resource: box[e], requester: box[e + 1], write: (box[e + 2] & 1) === 1, line: (box[e + 2] >> 1) - 1 });
      }
      Atomics.store(box, m + 1, 0);
      return out;
    } finally {
      release(box, m);
    }
  }
}
