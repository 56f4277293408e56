import { acquire, release } from '../src/shm/lock.js';
import { ReleaseRef } from '../traces/events.js';

/** Highest hart count CREW ownership supports: reader sets are a 31-bit mask in one Int32. */
export const MAX_RECORDING_HARTS = 31;
const EXCLUSIVE = 0x80000000 | 0;
const OWNER_MASK = 0xff;
const MAILBOX_CAPACITY = 64;
/** Mailbox words: lock, count, then (resource, requester, write) triples. */
const MAILBOX_WORDS = 2 + 3 * MAILBOX_CAPACITY;

export interface OwnershipLayout {
  resources: number;
  harts: number;
}

/** Bytes of shared memory the ownership table of a machine needs. */
export function ownershipBytes(l: OwnershipLayout): number {
  return 4 * (l.resources + l.resources * l.harts + l.harts * MAILBOX_WORDS);
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
 */
export class OwnershipTable {
  private readonly state: Int32Array;
  private readonly lastRelease: Int32Array;
  private readonly mailboxes: Int32Array;
  readonly resources: number;
  readonly harts: number;

  constructor(buffer: SharedArrayBuffer, offset: number, layout: OwnershipLayout) {
    this.resources = layout.resources;
    this.harts = layout.harts;
    this.state = new Int32Array(buffer, offset, layout.resources);
    this.lastRelease = new Int32Array(buffer, offset + 4 * layout.resources, layout.resources * layout.harts);
    this.mailboxes = new Int32Array(buffer, offset + 4 * (layout.resources + layout.resources * layout.harts), layout.harts * MAILBOX_WORDS);
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
  post(holder: number, resource: number, requester: number, write: boolean): boolean {
    const m = this.mailbox(holder);
    const box = this.mailboxes;
    acquire(box, m);
    try {
      const count = box[m + 1];
      for (let i = 0; i < count; i++) {
        const e = m + 2 + 3 * i;
        if (box[e] === resource && box[e + 1] === requester) {
          if (write) box[e + 2] = 1;
          return true;
        }
      }
      if (count >= MAILBOX_CAPACITY) return false;
      const e = m + 2 + 3 * count;
      box[e] = resource;
      box[e + 1] = requester;
      box[e + 2] = write ? 1 : 0;
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
  takeRequests(hart: number): { resource: number; requester: number; write: boolean }[] {
    const m = this.mailbox(hart);
    const box = this.mailboxes;
    acquire(box, m);
    try {
      const count = box[m + 1];
      const out = [];
      for (let i = 0; i < count; i++) {
        const e = m + 2 + 3 * i;
        out.push({ resource: box[e], requester: box[e + 1], write: box[e + 2] === 1 });
      }
      Atomics.store(box, m + 1, 0);
      return out;
    } finally {
      release(box, m);
    }
  }
}
