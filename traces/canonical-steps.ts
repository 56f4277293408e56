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

export interface CanonicalSteps {
  /** All turns in timeline order (turns that ran no instruction are left out). */
  turns: Turn[];
  /** Per hart, its turns in order (indexes into `turns`). */
  hartTurns: number[][];
  /** Global step at the end (= the sum of the final icounts if every hart reached its end). */
  totalSteps: number;
  /** Per hart, for each of its acquire, release and trap events in stream order, the step it was applied at. */
  syncSteps: number[][];
  /** False for serial traces (idle harts are not visible in the trace). */
  exact: boolean;
}

/** Acquires and releases, and the trap events that say which of them come after an exception. */
export type SyncEvent = Extract<TraceEvent, { kind: 'acquire' | 'release' | 'trap' }>;

/**
 * Simulates the canonical round robin. `sync[h]` holds hart h's acquire, release and trap events in
 * stream order; `finals[h]` where its recording ends. A trace whose acquires wait for releases
 * that never come is reported as the error of a damaged trace would be.
 */
export function canonicalSteps(sync: SyncEvent[][], finals: number[], quantum: number, exact: boolean): CanonicalSteps {
  const harts = finals.length;
  const icount = new Array<number>(harts).fill(0);
  const next = new Array<number>(harts).fill(0);
  const released = new Array<number>(harts).fill(0);
  const finished = new Array<boolean>(harts).fill(false);
  /** Exceptions each hart has taken at its current icount (see the `trap` event). */
  const traps = new Array<number>(harts).fill(0);
  const syncSteps = sync.map((evs) => new Array<number>(evs.length).fill(-1));
  const turns: Turn[] = [];
  const hartTurns: number[][] = Array.from({ length: harts }, () => []);
  let step = 0;

  /** Applies hart h's events at its current icount; false if it is blocked at an acquire. */
  const applyEvents = (h: number): boolean => {
    const evs = sync[h] ?? [];
    while (next[h] < evs.length && evs[next[h]].icount === icount[h]) {
      const e = evs[next[h]];
      if (e.kind === 'trap') {
        if (e.count > traps[h]) return true; // the rest comes after the instruction here traps
      } else if (e.kind === 'acquire') {
        for (const ref of e.after) if (released[ref.hart] < ref.seq) return false;
      } else {
        released[h] = e.seq;
      }
      syncSteps[h][next[h]] = step;
      next[h]++;
    }
    return true;
  };

  let live = [...Array(harts).keys()];
  while (live.length > 0) {
    let moved = false;
    for (const h of live) {
      const until = icount[h] + quantum;
      const before = icount[h];
      const releasedBefore = released[h];
      const from = icount[h];
      const fromStep = step;
      for (;;) {
        if (!applyEvents(h)) break;
        if (icount[h] >= until) break;
        const evs = sync[h] ?? [];
        const e = evs[next[h]];
        if (e?.kind === 'trap' && e.icount === icount[h]) {
          traps[h] = e.count; // the instruction here traps (retiring nothing) and the handler's first ones too
          continue;
        }
        if (icount[h] >= finals[h]) { finished[h] = true; break; }
        const stop = Math.min(until, finals[h], next[h] < evs.length ? evs[next[h]].icount : Number.POSITIVE_INFINITY);
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
  let lo = 0;
  let hi = list.length - 1;
  // First turn whose end reaches icount.
  if (c.turns[list[hi]].toIcount < icount) {
    const t = c.turns[list[hi]];
    return t.fromStep + (t.toIcount - t.fromIcount);
  }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.turns[list[mid]].toIcount >= icount) hi = mid;
    else lo = mid + 1;
  }
  const t = c.turns[list[lo]];
  if (icount <= t.fromIcount) return t.fromStep;
  return t.fromStep + (icount - t.fromIcount);
}

/** Each hart's icount at global step `step`. */
export function icountsAt(c: CanonicalSteps, step: number): number[] {
  const out = new Array<number>(c.hartTurns.length).fill(0);
  for (let h = 0; h < c.hartTurns.length; h++) {
    const list = c.hartTurns[h];
    let lo = 0;
    let hi = list.length;
    // Last turn starting at or before `step`.
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (c.turns[list[mid]].fromStep <= step) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const t = c.turns[list[lo - 1]];
    out[h] = Math.min(t.toIcount, t.fromIcount + (step - t.fromStep));
  }
  return out;
}
