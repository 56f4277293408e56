/**
 * The debugger's global step of every position in a trace, computed from the event streams alone
 * (no instruction is executed), for `trace sql` and `trace timeline`.
 *
 * The canonical timeline (replayer/timeline.ts, `replay --sched serial`) is the serial
 * scheduler's round robin: each hart in turn runs until it has retired `quantum` more
 * instructions or reaches an acquire whose releases have not happened yet; the events at the
 * icount where a turn ends are applied at the end of that turn (the runner's safe point comes
 * before its "turn over" check). For a parallel trace that schedule depends only on where the
 * acquires and releases are, so this simulation reproduces it exactly. A serial trace's schedule
 * also passes over harts idling in WFI, which the trace does not show: for those the steps here
 * assume no hart ever idles (an approximation, flagged by `exact: false`).
 */
import type { TraceEvent } from './events.js';

/** A stretch of one hart's instructions run in one turn: icounts [fromIcount, toIcount) at steps [fromStep, ...). */
export interface Turn {
  hart: number;
  fromIcount: number;
  toIcount: number;
  fromStep: number;
}

/**
 * A growable column of numbers. Traces of operating systems have millions of synchronisation
 * events and scheduler turns; as objects they took most of `trace sql`'s memory (a 4-hart Linux
 * trace with 2.1M acquires: ~2.9 GB), as columns they take 8 bytes a field.
 */
export class NumberColumn {
  private values = new Float64Array(256);
  length = 0;

  push(v: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = v;
  }

  at(i: number): number {
    return this.values[i];
  }
}

/** All turns in timeline order, as columns (`at(i)` makes one a Turn object). */
export class TurnTable {
  readonly hart = new NumberColumn();
  readonly fromIcount = new NumberColumn();
  readonly toIcount = new NumberColumn();
  readonly fromStep = new NumberColumn();

  get length(): number {
    return this.hart.length;
  }

  push(t: Turn): void {
    this.hart.push(t.hart);
    this.fromIcount.push(t.fromIcount);
    this.toIcount.push(t.toIcount);
    this.fromStep.push(t.fromStep);
  }

  at(i: number): Turn {
    return { hart: this.hart.at(i), fromIcount: this.fromIcount.at(i), toIcount: this.toIcount.at(i), fromStep: this.fromStep.at(i) };
  }

  *[Symbol.iterator](): Iterator<Turn> {
    for (let i = 0; i < this.length; i++) yield this.at(i);
  }
}

export interface CanonicalSteps {
  /** All turns in timeline order (turns that ran no instruction are left out). */
  turns: TurnTable;
  /** Per hart, its turns in order (indexes into `turns`). */
  hartTurns: NumberColumn[];
  /** Global step at the end (= the sum of the final icounts if every hart reached its end). */
  totalSteps: number;
  /** Per hart, for each of its acquire, release and trap events in stream order, the step it was applied at. */
  syncSteps: Float64Array[];
  /** False for serial traces (idle harts are not visible in the trace). */
  exact: boolean;
}

/** Acquires and releases, and the trap events that say which of them come after an exception. */
export type SyncEvent = Extract<TraceEvent, { kind: 'acquire' | 'release' | 'trap' }>;

const ACQUIRE = 0;
const RELEASE = 1;
const TRAP = 2;

/**
 * One hart's acquire, release and trap events in stream order, as columns: what the simulation
 * needs of them (an acquire's releases waited for, a release's number, a trap's count).
 */
export class SyncTable {
  private readonly kinds = new NumberColumn();
  private readonly icounts = new NumberColumn();
  /** release: its number; trap: its count. */
  private readonly values = new NumberColumn();
  /** Where each event's releases waited for end in refHarts/refSeqs (they start where the previous event's end). */
  private readonly refEnds = new NumberColumn();
  private readonly refHarts = new NumberColumn();
  private readonly refSeqs = new NumberColumn();

  static of(events: Iterable<SyncEvent>): SyncTable {
    const t = new SyncTable();
    for (const e of events) t.push(e);
    return t;
  }

  get length(): number {
    return this.kinds.length;
  }

  push(e: SyncEvent): void {
    this.icounts.push(e.icount);
    if (e.kind === 'acquire') {
      this.kinds.push(ACQUIRE);
      this.values.push(0);
      for (const ref of e.after) {
        this.refHarts.push(ref.hart);
        this.refSeqs.push(ref.seq);
      }
    } else if (e.kind === 'release') {
      this.kinds.push(RELEASE);
      this.values.push(e.seq);
    } else {
      this.kinds.push(TRAP);
      this.values.push(e.count);
    }
    this.refEnds.push(this.refHarts.length);
  }

  icount(i: number): number {
    return this.icounts.at(i);
  }

  isTrap(i: number): boolean {
    return this.kinds.at(i) === TRAP;
  }

  /** The release number of event i if it is a release, else 0. */
  releaseSeq(i: number): number {
    return this.kinds.at(i) === RELEASE ? this.values.at(i) : 0;
  }

  /** The exceptions taken before event i if it is a trap event, else 0. */
  trapCount(i: number): number {
    return this.kinds.at(i) === TRAP ? this.values.at(i) : 0;
  }

  /** Whether event i is an acquire some of whose releases (`released[hart]` so far) have not happened. */
  waits(i: number, released: readonly number[]): boolean {
    if (this.kinds.at(i) !== ACQUIRE) return false;
    const end = this.refEnds.at(i);
    for (let r = i > 0 ? this.refEnds.at(i - 1) : 0; r < end; r++) if (released[this.refHarts.at(r)] < this.refSeqs.at(r)) return true;
    return false;
  }
}

/**
 * Simulates the canonical round robin. `sync[h]` holds hart h's acquire, release and trap events in
 * stream order; `finals[h]` where its recording ends. A trace whose acquires wait for releases
 * that never come is reported as the error of a damaged trace would be.
 */
export function canonicalSteps(sync: SyncTable[], finals: number[], quantum: number, exact: boolean): CanonicalSteps {
  const harts = finals.length;
  const none = new SyncTable();
  const table = (h: number) => sync[h] ?? none;
  const icount = new Array<number>(harts).fill(0);
  const next = new Array<number>(harts).fill(0);
  const released = new Array<number>(harts).fill(0);
  const finished = new Array<boolean>(harts).fill(false);
  /** Exceptions each hart has taken at its current icount (see the `trap` event). */
  const traps = new Array<number>(harts).fill(0);
  const syncSteps = Array.from({ length: harts }, (_, h) => new Float64Array(table(h).length).fill(-1));
  const turns = new TurnTable();
  const hartTurns = Array.from({ length: harts }, () => new NumberColumn());
  let step = 0;

  /** Applies hart h's events at its current icount; false if it is blocked at an acquire. */
  const applyEvents = (h: number): boolean => {
    const evs = table(h);
    while (next[h] < evs.length && evs.icount(next[h]) === icount[h]) {
      const i = next[h];
      if (evs.isTrap(i)) {
        if (evs.trapCount(i) > traps[h]) return true; // the rest comes after the instruction here traps
      } else if (evs.waits(i, released)) {
        return false;
      } else {
        const seq = evs.releaseSeq(i);
        if (seq > 0) released[h] = seq;
      }
      syncSteps[h][i] = step;
      next[h]++;
    }
    return true;
  };

  let live = [...Array(harts).keys()];
  while (live.length > 0) {
    let moved = false;
    for (const h of live) {
      const evs = table(h);
      const until = icount[h] + quantum;
      const before = icount[h];
      const releasedBefore = released[h];
      const from = icount[h];
      const fromStep = step;
      for (;;) {
        if (!applyEvents(h)) break;
        if (icount[h] >= until) break;
        const n = next[h];
        if (n < evs.length && evs.isTrap(n) && evs.icount(n) === icount[h]) {
          traps[h] = evs.trapCount(n); // the instruction here traps (retiring nothing) and the handler's first ones too
          continue;
        }
        if (icount[h] >= finals[h]) { finished[h] = true; break; }
        const stop = Math.min(until, finals[h], n < evs.length ? evs.icount(n) : Number.POSITIVE_INFINITY);
        step += stop - icount[h];
        if (stop !== icount[h]) traps[h] = 0;
        icount[h] = stop;
      }
      if (icount[h] > from) {
        hartTurns[h].push(turns.length);
        turns.push({ hart: h, fromIcount: from, toIcount: icount[h], fromStep });
      }
      if (icount[h] !== before || released[h] !== releasedBefore || finished[h]) moved = true;
    }
    live = live.filter((h) => !finished[h]);
    if (!moved && live.length > 0) {
      const h = live[0];
      throw new Error(`hart ${h} waits at icount ${icount[h]} for a release no other hart makes`);
    }
  }
  return { turns, hartTurns, totalSteps: step, syncSteps, exact };
}

/**
 * The earliest global step at which hart `hart` has retired exactly `icount` instructions
 * (between turns, the step at the end of the turn that reached it).
 */
export function stepAt(c: CanonicalSteps, hart: number, icount: number): number {
  const list = c.hartTurns[hart];
  if (!list || list.length === 0) return 0;
  const { fromIcount, toIcount, fromStep } = c.turns;
  let lo = 0;
  let hi = list.length - 1;
  // First turn whose end reaches icount.
  if (toIcount.at(list.at(hi)) < icount) {
    const t = list.at(hi);
    return fromStep.at(t) + (toIcount.at(t) - fromIcount.at(t));
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (toIcount.at(list.at(mid)) >= icount) hi = mid;
    else lo = mid + 1;
  }
  const t = list.at(lo);
  if (icount <= fromIcount.at(t)) return fromStep.at(t);
  return fromStep.at(t) + (icount - fromIcount.at(t));
}

/** Each hart's icount at global step `step`. */
export function icountsAt(c: CanonicalSteps, step: number): number[] {
  const out = new Array<number>(c.hartTurns.length).fill(0);
  const { fromIcount, toIcount, fromStep } = c.turns;
  for (let h = 0; h < c.hartTurns.length; h++) {
    const list = c.hartTurns[h];
    let lo = 0;
    let hi = list.length;
    // Last turn starting at or before `step`.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (fromStep.at(list.at(mid)) <= step) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const t = list.at(lo - 1);
    out[h] = Math.min(toIcount.at(t), fromIcount.at(t) + (step - fromStep.at(t)));
  }
  return out;
}
