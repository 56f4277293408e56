/**
 * Harts on threads of their own (`--chaos` keeps every hart on one) wait for each other: for a
 * right another hart holds, or in a guest loop that polls what another hart is to write. That
 * costs nothing while each thread has a core. When another process holds a core, the host's
 * scheduler queues two hart threads on the other one, and a hart that spins there burns its whole
 * time slice (milliseconds) while the hart it waits for sits runnable behind it: a chaos recording
 * of smp_sb_litmus (320k hand-offs) took 5.6 s alone and more than 180 s beside one
 * `node -e "for(;;){}"`; sampling /proc showed both hart threads on one CPU, the spinner on the other.
 *
 * A PeerWatch tells its hart's thread when to nap instead, so the waiting hart gets the core: when
 * this thread itself has waited for a core lately (Linux's /proc/thread-self/schedstat, the time
 * spent runnable but not running) and another hart has not run for a while: its heartbeat
 * (HartBlock.HEARTBEAT) stands still, and it neither sleeps nor has finished, or was kicked awake
 * since it went to sleep (HartBlock.SLEEPING, SLEPT_ON). A host with a core for every thread
 * hardly ever naps: its threads seldom wait in run queues.
 */

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { HartBlock, hartBase } from '../shm/layout.js';

/** Linux's account of the calling thread: "<ns on a CPU> <ns runnable, not running> <time slices>". */
export const THREAD_SCHEDSTAT = '/proc/thread-self/schedstat';

/** The time runnable but not running, ns, in a schedstat line (NaN if it is not one). */
export function runQueueNs(schedstat: string): number {
  return Number(schedstat.split(' ')[1]);
}

/** The calling thread's time runnable but not running so far, ms (NaN where schedstat cannot be read). */
export function threadRunQueueMs(): number {
  try {
    return runQueueNs(readFileSync(THREAD_SCHEDSTAT, 'latin1')) / 1e6;
  } catch {
    return NaN;
  }
}

/** How often the thread's run-queue time is read (a read costs ~10 us). */
const SAMPLE_MS = 5;
/** The thread counts as contended while it spent at least this share of the last sample runnable but not running. */
const CONTENDED_SHARE = 0.05;
/** A hart whose heartbeat stood still this long, not asleep, is taken to wait for a core. */
const STALE_MS = 0.2;

export class PeerWatch {
  private readonly words: Int32Array;
  private readonly peers: number[];
  private readonly lastBeat: Int32Array;
  private readonly lastChangeMs: Float64Array;
  private fd = -1;
  private readonly buf = Buffer.alloc(96);
  private sampledMs = 0;
  private runQueueNs = 0;
  /** The thread waited for a core in the last sample (see CONTENDED_SHARE). */
  contended = false;
  /** Naps advised (a tuning aid: HINDSIGHT_JIT_STATS prints it). */
  naps = 0;

  /** `schedstat`: where this thread's run-queue time is read (tests give a file of their own). */
  constructor(memory: SharedArrayBuffer, self: number, harts: number, schedstat = THREAD_SCHEDSTAT) {
    this.words = new Int32Array(memory);
    this.peers = [];
    for (let h = 0; h < harts; h++) if (h !== self) this.peers.push(h);
    this.lastBeat = new Int32Array(harts);
    this.lastChangeMs = new Float64Array(harts).fill(performance.now());
    try {
      this.fd = openSync(schedstat, 'r'); // /proc/thread-self: this thread's, so the watch is made on the hart's thread
    } catch {
      this.fd = -1; // not Linux, or no schedstat: never contended, never a nap
    }
  }

  /** Called now and then from the hart's loop: true when the hart should nap so that a waiting one gets the core. */
  shouldNap(): boolean {
    if (this.fd < 0) return false;
    const now = performance.now();
    if (now - this.sampledMs >= SAMPLE_MS) this.sample(now);
    if (!this.contended) return false;
    let stale = false;
    for (const p of this.peers) {
      const base = hartBase(p);
      const beat = Atomics.load(this.words, (base + HartBlock.HEARTBEAT) >> 2);
      if (beat !== this.lastBeat[p] || this.asleep(base)) {
        this.lastBeat[p] = beat;
        this.lastChangeMs[p] = now;
      } else if (now - this.lastChangeMs[p] >= STALE_MS) {
        this.lastChangeMs[p] = now; // once per stale stretch: a hart that runs long without a beat costs a nap per STALE_MS at most
        stale = true;
      }
    }
    if (stale) this.naps++;
    return stale;
  }

  /**
   * Asleep and not kicked since: a hart kicked awake (a right handed to it, say) is runnable from
   * then on, though its SLEEPING mark stays until its thread runs again.
   */
  private asleep(base: number): boolean {
    const sleeping = Atomics.load(this.words, (base + HartBlock.SLEEPING) >> 2);
    if (sleeping !== 1) return sleeping === 2; // 2: finished for good (Hart.markFinished)
    return Atomics.load(this.words, (base + HartBlock.WAKE) >> 2) === Atomics.load(this.words, (base + HartBlock.SLEPT_ON) >> 2);
  }

  private sample(now: number): void {
    let n: number;
    try {
      n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    } catch {
      this.close(); // unreadable after all: watch no more
      this.contended = false;
      return;
    }
    const waitNs = runQueueNs(this.buf.toString('latin1', 0, n));
    if (this.sampledMs > 0 && Number.isFinite(waitNs)) this.contended = (waitNs - this.runQueueNs) / 1e6 >= CONTENDED_SHARE * (now - this.sampledMs);
    this.runQueueNs = waitNs;
    this.sampledMs = now;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
