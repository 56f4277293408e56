import { writeSync } from 'node:fs';
import { Hart } from '../src/cpu/hart.js';
import { AccessGuard } from '../src/cpu/mmu.js';
import { Clock } from '../src/shm/clock.js';
import { MachineControl } from '../src/shm/control.js';
import { HartSupervisor, insnLimitBudget } from '../src/engine/supervisor.js';
import { Uart } from '../src/machine/uart.js';
import { ReleaseRef, TraceEvent } from '../traces/events.js';
import { EventRing } from './event-ring.js';
import { OwnershipTable, SPLIT_UNDER_YOU } from './ownership.js';
import { LINE_BYTES } from '../src/cpu/resources.js';
import { RecordingState } from './recording-state.js';
import { freshSharedBuffer } from '../src/shm/layout.js';
import { stateHash } from '../src/engine/state-hash.js';
import type { WaitMeter } from '../src/engine/hart-migration.js';

export interface RecorderOptions {
  /** A register-hash check event every this many instructions. */
  checkInterval: number;
  /**
   * A freshly acquired right is kept for this many of the holder's instructions (or TENURE_MAX_NS
   * of wall time, whichever ends first, so an idle holder does not keep it) before it is given away.
   */
  tenure: number;
  /** The wall-time bound on tenure, ns (default TENURE_MAX_NS; --chaos varies it with the tenure). */
  tenureNs?: number;
  maxInsns: number;
  /** The machine's harts run on more host threads than the host has cores (`--threads`, `--chaos`). */
  oversubscribed?: boolean;
}

/** Console input moves into the UART at most this many bytes per safe point (one input event). */
const INPUT_CHUNK = 16;
/** Wall-time bound on tenure: a holder sitting in WFI retires no instructions but must still let go. */
export const TENURE_MAX_NS = 50_000;
/** Highest contention level: tenure / 4^6 (20,000 instructions -> 4, 50 us -> 12 ns). */
const MAX_CONTENTION_LEVEL = 6;
/**
 * A page's requests count towards splitting it at this contention level and above (tenure / 16):
 * a page asked back only after its tenure changes hands too rarely to be worth splitting. On a
 * host whose cores are taken, harts time-slice one core and hardly ever reach it, so the tests
 * of the split itself set HINDSIGHT_SPLIT_LEVEL=0 (every request counts).
 */
const SPLIT_LEVEL = Number(process.env.HINDSIGHT_SPLIT_LEVEL ?? 2);
/**
 * Contended requests per split decision (splitDue). HINDSIGHT_SPLIT_AFTER=0 never splits (to
 * compare, as docs/ARCHITECTURE.md does); HINDSIGHT_OWN_STATS=1 prints each hart's waits,
 * requests and splits when it stops.
 */
const SPLIT_AFTER = Number(process.env.HINDSIGHT_SPLIT_AFTER ?? 32);
const OWN_STATS = process.env.HINDSIGHT_OWN_STATS === '1';
/** Host time in ns as a double (sub-microsecond resolution; no BigInt on the per-transfer path). */
function hostNs(): number {
  return performance.now() * 1e6;
}

type RecorderTables = Pick<RecorderHandover, 'logged' | 'acquiredIcount' | 'acquiredNs' | 'judged' | 'contention' | 'contendedAsks' | 'otherLineAsks' | 'myLinesLo' | 'myLinesHi'>;

/**
 * A new recorder's per-slot and per-page tables, carved from one fresh buffer (freshSharedBuffer):
 * as nine typed arrays from the heap they took 3-8 ms of each recording worker's start. Only
 * the recorder's own thread uses them; a hand-over (hart migration) passes them on.
 */
function recorderTables(slots: number, pages: number): RecorderTables {
  const buffer = freshSharedBuffer(slots * (8 + 8 + 4 + 4 + 1 + 1 + 1) + pages * (4 + 4));
  let at = 0;
  const take = <T extends ArrayBufferView>(Kind: { new (b: SharedArrayBuffer, offset: number, length: number): T; BYTES_PER_ELEMENT: number }, length: number): T => {
    const view = new Kind(buffer, at, length);
    at += Kind.BYTES_PER_ELEMENT * length;
    return view;
  };
  // Widest elements first, so every view is aligned.
  return {
    acquiredIcount: take(Float64Array, slots).fill(-1),
    acquiredNs: take(Float64Array, slots),
    contendedAsks: take(Uint32Array, slots),
    otherLineAsks: take(Uint32Array, slots),
    myLinesLo: take(Int32Array, pages),
    myLinesHi: take(Int32Array, pages),
    logged: take(Uint8Array, slots),
    judged: take(Uint8Array, slots),
    contention: take(Uint8Array, slots),
  };
}

/**
 * A recorder's state when its hart moves to another thread (hart migration): plain data taken
 * over by the recorder the hart's new thread makes for it (the tables' views share their buffer,
 * which the old thread no longer touches). Host times are relative to the exporting thread's
 * `timeOrigin` (each worker's performance.now() counts from its own start).
 */
export interface RecorderHandover {
  releaseSeq: number;
  nextCheck: number;
  markedIcount: number;
  markedTraps: number;
  splits: number;
  stats: { waits: number; sleeps: number; asks: number; deferred: number; waitUs: number };
  timeOrigin: number;
  logged: Uint8Array;
  acquiredIcount: Float64Array;
  acquiredNs: Float64Array;
  judged: Uint8Array;
  contention: Uint8Array;
  contendedAsks: Uint32Array;
  otherLineAsks: Uint32Array;
  myLinesLo: Int32Array;
  myLinesHi: Int32Array;
}

/** Spins before a hart that waits for a right goes to sleep (thread handoffs cost ~50 us asleep). */
const OWNERSHIP_SPINS = 20000;
/**
 * The same, for a hart sharing its thread: soon after, a sibling gets the thread instead. The
 * 4-hart Linux recording (2 threads) took as long with 200 or 20 (docs/ARCHITECTURE.md).
 */
const SHARED_THREAD_SPINS = 2000;
/**
 * The same, when the harts' threads outnumber the host's cores (`--threads`, `--chaos`): the holder
 * may be waiting for the very core this hart spins on. 4-hart recordings on 2 cores: Linux with
 * `--threads 4` 12-27 s -> 6-10 s, smp_racy_counter with `--chaos` 1.2-1.7 s -> 0.26-0.75 s.
 */
const OVERSUBSCRIBED_SPINS = 200;
/** With hart migration, waits at one icount that end early before the hart yields its turn anyway. */
const WAITS_BEFORE_YIELD = 16;

/**
 * Recording, seen from one hart: pins everything nondeterministic to this hart's instruction
 * count and logs it. Ownership rights are taken through the MMU's guard (an instruction that
 * lacks one is abandoned and retried), given away at safe points; interrupt-line changes, clock
 * reads, console input and periodic register hashes are logged where they happen.
 */
export class HartRecorder implements HartSupervisor, AccessGuard {
  readonly realTime = true;
  readonly noSafePointAfterException = true;
  private readonly ownership: OwnershipTable;
  private readonly ring: EventRing;
  private releaseSeq = 0;
  private nextCheck: number;
  /*
   * Per table slot (typed arrays, not Maps: a guest that has touched every page leaves ~32k held
   * rights, and a Map that full rehashes on nearly every insert after a delete — measured 6 us per
   * acquire on xv6, a fifth of a hart's time): when the right was acquired (icount, -1 when not
   * held; host time), whether its contention level was judged since, that level (0 = none: tenure
   * is divided by 4 per level, see inTenure), and for RAM pages the requests answered at
   * SPLIT_LEVEL or above.
   */
  private readonly acquiredIcount: Float64Array;
  private readonly acquiredNs: Float64Array;
  private readonly judged: Uint8Array;
  private readonly contention: Uint8Array;
  private readonly contendedAsks: Uint32Array;
  /** Of those, how many wanted a line this hart never asked the page for (its lines: the masks). */
  private readonly otherLineAsks: Uint32Array;
  private readonly myLinesLo: Int32Array;
  private readonly myLinesHi: Int32Array;
  private waiting = false;
  /**
   * The right this hart last asked for and has not used yet (-1: none), and whether to write. Handed
   * over while the hart waited, it is kept through the safe point that ends the wait: given back
   * there to a hart that asked meanwhile (a spinning reader), the instruction that wanted it asked
   * again, and again (bench_parallel's start: hart 0 zeroing .bss on the page hart 1 polls took up
   * to 30 ms of waits, four instructions apart).
   */
  private wanted = -1;
  private wantedWrite = false;
  /** The hart's wake word as it was before it last asked for a right (so a quick answer is not missed). */
  private wakeBeforeAsking = 0;
  /**
   * Per resource, the right this hart has logged acquiring and not given away since: 0 none, 1
   * read, 2 write. A right can reach a hart without a request of its own that is still open: a
   * holder hands it over while the hart waits, or answers a request the hart made before it got
   * the right elsewhere (and gave it away again). Its first use logs the acquire, whichever way it
   * came; a use that logged nothing would replay unordered against the writes before the grant
   * (seen in a 4-hart Linux recording: `jiffies` read without an acquire, replayed stale).
   */
  private readonly logged: Uint8Array;
  /** The recorders of every hart on this host thread (--threads), this one included; empty alone. */
  private siblings: HartRecorder[] = [];
  /** Shared thread: the last wait for a right ended without it; give the turn to a sibling. */
  private yieldTurn = false;
  /** Waits at one icount in a row (hart migration, see waitForOwnershipOnce). */
  private waitIcount = -1;
  private waitsHere = 0;
  /** The position (icount, exceptions taken there) of the last `trap` event logged. */
  private markedIcount = -1;
  private markedTraps = 0;
  /** Pages this hart split into lines. */
  private splits = 0;
  /** Waits for rights (and how many of them slept), requests answered (and deferred for tenure). */
  private stats = { waits: 0, sleeps: 0, asks: 0, deferred: 0, waitUs: 0 };
  /** Hart migration's meter (null when harts stay on their threads). */
  meter: WaitMeter | null = null;

  /** `from`: the state of the recorder this hart had on another thread (hart migration). */
  constructor(private readonly hart: Hart, private readonly state: RecordingState, private readonly control: MachineControl,
    private readonly clock: Clock, private readonly uart: Uart, private readonly opts: RecorderOptions, from?: RecorderHandover) {
    this.ownership = state.ownership;
    this.ring = state.rings[hart.id];
    const slots = this.ownership.slots;
    const tables = from ?? recorderTables(slots, this.ownership.pages);
    this.logged = tables.logged;
    this.acquiredIcount = tables.acquiredIcount;
    this.acquiredNs = tables.acquiredNs;
    this.judged = tables.judged;
    this.contention = tables.contention;
    this.contendedAsks = tables.contendedAsks;
    this.otherLineAsks = tables.otherLineAsks;
    this.myLinesLo = tables.myLinesLo;
    this.myLinesHi = tables.myLinesHi;
    this.nextCheck = opts.checkInterval;
    if (from) {
      this.releaseSeq = from.releaseSeq;
      this.nextCheck = from.nextCheck;
      this.markedIcount = from.markedIcount;
      this.markedTraps = from.markedTraps;
      this.splits = from.splits;
      this.stats = from.stats;
      const shiftNs = (from.timeOrigin - performance.timeOrigin) * 1e6; // their clock's times on ours
      for (let i = 0; i < slots; i++) if (this.acquiredIcount[i] >= 0) this.acquiredNs[i] += shiftNs;
    }
    // A lone hart has nobody to order its accesses against (virtio DMA runs on the hart that
    // notifies the device): no rights, no acquire events, no guard on its accesses. The 1-hart
    // Linux recording: 825 -> 777 ms, 1,349 acquires fewer.
    if (this.ownership.harts > 1) hart.mmu.guard = this;
  }

  /** Everything the hart's recorder on another thread needs to go on where this one stops (hart migration). */
  handOver(): RecorderHandover {
    const at = this.siblings.indexOf(this);
    if (at >= 0) this.siblings.splice(at, 1); // it leaves its thread's group
    this.siblings = [];
    return {
      releaseSeq: this.releaseSeq, nextCheck: this.nextCheck, markedIcount: this.markedIcount, markedTraps: this.markedTraps,
      splits: this.splits, stats: this.stats, timeOrigin: performance.timeOrigin,
      logged: this.logged, acquiredIcount: this.acquiredIcount, acquiredNs: this.acquiredNs, judged: this.judged,
      contention: this.contention, contendedAsks: this.contendedAsks, otherLineAsks: this.otherLineAsks, myLinesLo: this.myLinesLo, myLinesHi: this.myLinesHi,
    };
  }

  /**
   * Harts on one host thread (--threads): while one runs, the others sit at safe points, so their
   * rights are given away at once, on this thread, when anyone asks (no tenure: a parked hart
   * makes no use of a right). `group` is shared and lists every recorder of the thread.
   */
  shareThreadWith(group: HartRecorder[]): void {
    this.siblings = group;
  }

  /** Rights this hart asked for that parked harts of its thread then gave up (the shared thread's turn length follows them). */
  siblingHandOffs = 0;

  // --- AccessGuard ------------------------------------------------------------------------------
  /** `resource` as events carry it; inside, table slots (OwnershipTable.slotOf). */
  permit(resource: number, write: boolean, offset = -1): boolean {
    const slot = this.ownership.slotOf(resource);
    if (slot < 0) throw new Error(`recording: a line of RAM page ${resource} that is not split`);
    const line = offset < 0 ? -1 : Math.floor(offset / LINE_BYTES);
    if (line >= 0 && slot < this.ownership.pages) {
      if (line < 32) this.myLinesLo[slot] |= 1 << line;
      else this.myLinesHi[slot] |= 1 << (line - 32);
    }
    if (this.tryPermit(slot, write, line)) return true;
    // Holders parked on this thread answer now, so the retry usually succeeds.
    if (!this.serveParkedSiblings()) return false;
    this.siblingHandOffs++;
    return this.tryPermit(slot, write, line);
  }

  lineGranular(ramPage: number): boolean {
    return this.ownership.isSplit(ramPage);
  }

  handOffPending(): boolean {
    if (this.ownership.hasRequests(this.hart.id)) return true;
    // Parked harts of this thread are served at its safe points (serveParkedSiblings).
    for (const r of this.siblings) if (r !== this && this.ownership.hasRequests(r.hart.id)) return true;
    return false;
  }

  private tryPermit(resource: number, write: boolean, line: number): boolean {
    const me = this.hart.id;
    if (this.ownership.holds(me, resource, write)) {
      // Handed over or granted (see `logged`): this is where we acquire it.
      if (this.logged[resource] < (write ? 2 : 1)) this.logAcquire(resource, write, this.ownership.releasesBefore(me, resource));
      return true;
    }
    this.wakeBeforeAsking = this.hart.wakeWord();
    const after = this.ownership.tryAcquire(me, resource, write, (holder) => {
      if (holder === SPLIT_UNDER_YOU) { this.control.kick(me); return; } // no wait: retry through the lines
      this.meter?.asked(holder);
      this.ownership.post(holder, resource, me, write, line);
      this.control.kick(holder);
    });
    if (!after) {
      this.wanted = resource;
      this.wantedWrite = write;
      return false;
    }
    this.logAcquire(resource, write, after);
    return true;
  }

  private logAcquire(resource: number, write: boolean, after: ReleaseRef[]): void {
    if (resource === this.wanted) this.wanted = -1;
    if (this.logged[resource] < (write ? 2 : 1)) this.logged[resource] = write ? 2 : 1;
    this.acquiredIcount[resource] = this.hart.icount;
    this.acquiredNs[resource] = hostNs();
    this.judged[resource] = 0;
    this.meter?.acquired();
    this.log({ kind: 'acquire', icount: this.hart.icount, resource: this.ownership.resourceOf(resource), write, after });
  }

  // --- HartSupervisor ---------------------------------------------------------------------------
  safePoint(h: Hart): void {
    this.answerThreadsRequests(h);
    if (h.observeLines(h.hardwareMip())) this.log({ kind: 'irq', icount: h.icount, lines: h.lines });
    if (h.id === 0 && this.state.stagedInput.available() > 0) this.injectInput(h);
    if (h.icount >= this.nextCheck) {
      this.log({ kind: 'check', icount: h.icount, hash: stateHash(h) });
      this.nextCheck += this.opts.checkInterval;
    }
  }

  safePointAfterException(h: Hart): void {
    this.answerThreadsRequests(h);
  }

  /**
   * Logs an event at the hart's position. Replay places events by icount, and an exception
   * retires nothing: what happens after one (a release answered before the handler's first
   * instruction, that instruction's acquire) shares its icount with what happened before the
   * trapping instruction. A `trap` event in front says how many exceptions came first, so replay
   * applies it after the same ones (a release applied before the trapping instruction would let
   * another hart change what that instruction reads: its page-table walk, its code).
   */
  private log(e: TraceEvent): void {
    this.markTraps();
    this.ring.write(e);
  }

  private markTraps(): void {
    const h = this.hart;
    const traps = h.trapsHere();
    if (traps === 0 || (this.markedIcount === h.icount && this.markedTraps === traps)) return;
    this.markedIcount = h.icount;
    this.markedTraps = traps;
    this.ring.write({ kind: 'trap', icount: h.icount, count: traps });
  }

  /** Answers what others asked of this hart, and of the parked harts sharing its thread. */
  private answerThreadsRequests(h: Hart, ignoreTenure = this.waiting): void {
    if (this.ownership.hasRequests(h.id)) this.answerRequests(h, ignoreTenure, this.waiting);
    if (this.siblings.length > 1) this.serveParkedSiblings();
  }

  budget(h: Hart): number {
    return insnLimitBudget(h, this.opts.maxInsns, this.control, this.nextCheck - h.icount);
  }

  noteHalted(_h: Hart, halted: boolean): void {
    this.control.noteHalted(halted);
  }

  readTime(h: Hart): bigint {
    const value = this.clock.mtime();
    this.ring.write({ kind: 'time', icount: h.icount, value });
    return value;
  }

  /** The instruction at pc needs a right others hold: answer our own requests while we wait. */
  waitForOwnership(h: Hart): void {
    const meter = this.meter;
    const start = meter || OWN_STATS ? performance.now() : 0;
    this.waitForOwnershipOnce(h);
    if (meter) meter.waited((performance.now() - start) * 1e6);
    if (OWN_STATS) this.stats.waitUs += Math.round((performance.now() - start) * 1000);
  }

  private waitForOwnershipOnce(h: Hart): void {
    this.stats.waits++;
    this.waiting = true;
    // Hart migration: a wait that keeps ending early (kicks meant for other harts of this thread)
    // must still hand the thread back to its scheduler now and then, where the holder may be
    // arriving (it was seen spinning here for 10 s while the hart it waited for sat in the channel).
    if (this.meter !== null) {
      if (h.icount !== this.waitIcount) {
        this.waitIcount = h.icount;
        this.waitsHere = 0;
      } else if (++this.waitsHere >= WAITS_BEFORE_YIELD) {
        this.waitsHere = 0;
        this.yieldTurn = true;
        return;
      }
    }
    const seen = this.wakeBeforeAsking; // a holder that gives us the right kicks us
    // With hart migration even a lone hart yields: its thread must get back to its scheduler,
    // where harts arrive (the holder may be on its way here).
    const sharing = this.siblings.length > 1 || this.meter !== null;
    const spins = sharing ? SHARED_THREAD_SPINS : this.opts.oversubscribed || h.hostContended ? OVERSUBSCRIBED_SPINS : OWNERSHIP_SPINS;
    for (let i = 0; i < spins; i++) {
      h.beat(); // running, not waiting for a core (engine/peer-watch.ts)
      if (h.wakeWord() !== seen || this.ownership.hasRequests(h.id) || h.exitRequested) return;
      if (sharing && this.serveParkedSiblings()) return;
    }
    this.stats.sleeps++;
    if (sharing) this.yieldTurn = true; // let a sibling run while another thread's hart holds the right
    else h.sleep(seen, 1);
  }

  answerRequestsNow(h: Hart): void {
    this.answerThreadsRequests(h, true);
  }

  /** Shared thread: true once after a wait for a right that did not end, so the scheduler runs a sibling. */
  blocked(): boolean {
    const yieldTurn = this.yieldTurn;
    this.yieldTurn = false;
    return yieldTurn;
  }

  /** Answers every request posted to the other harts of this thread (they are parked); true if there were any. */
  private serveParkedSiblings(): boolean {
    let served = false;
    for (const r of this.siblings) {
      if (r === this || !this.ownership.hasRequests(r.hart.id)) continue;
      r.answerRequests(r.hart, true);
      served = true;
    }
    return served;
  }

  finish(): void {
    if (OWN_STATS) writeSync(2, `hart ${this.hart.id}: ${JSON.stringify(this.stats)} splits ${this.splits}\n`);
    this.waiting = false;
    this.markTraps(); // stopped right after an exception: replay must take it too
  }

  /** Gives away what others asked for (after tenure, unless we are blocked ourselves). */
  private answerRequests(h: Hart, ignoreTenure: boolean, afterWait = false): void {
    for (const req of this.ownership.takeRequests(h.id)) {
      // Just handed what this hart waited for: its instruction takes it first (one instruction;
      // should that wait again, for another right, this one goes to whoever asks).
      if (afterWait && req.resource === this.wanted && this.ownership.holds(h.id, req.resource, this.wantedWrite)) {
        this.ownership.post(h.id, req.resource, req.requester, req.write, req.line);
        continue;
      }
      // A reader gives way to a writer at once: readers that spin (a seqlock, a flag) make no
      // progress until the writer has written, and one that needs the page again asks again.
      const readerForWriter = req.write && !this.ownership.holds(h.id, req.resource, true);
      const inTenure = this.inTenure(h, req.resource);
      this.judgeContention(h, req.resource, inTenure);
      if (this.splitDue(req.resource, req.line) && this.trySplit(h, req.resource)) {
        this.control.kick(req.requester); // nothing to hand over: it retries through the lines
        continue;
      }
      this.stats.asks++;
      if (!ignoreTenure && !readerForWriter && inTenure) {
        this.stats.deferred++;
        this.ownership.post(h.id, req.resource, req.requester, req.write, req.line); // keep it for later
        continue;
      }
      const seq = this.releaseSeq + 1;
      const exclusive = this.ownership.holds(h.id, req.resource, true);
      if (!this.ownership.release(h.id, req.resource, req.write, seq, req.requester)) {
        this.control.kick(req.requester); // nothing left to give: let it look again now
        continue;
      }
      this.releaseSeq = seq;
      // A writer's request takes everything; a reader's leaves an exclusive holder a read right.
      if (req.write || !exclusive) this.logged[req.resource] = 0;
      else if (this.logged[req.resource] > 1) this.logged[req.resource] = 1;
      const resource = this.ownership.resourceOf(req.resource);
      this.log({ kind: 'release', icount: h.icount, resource, seq });
      if (req.write) this.acquiredIcount[req.resource] = -1;
      h.mmu.forgetResource(resource, 'devices'); // cached translations carried the right we gave away (RecordedMachine.releaseInvalidates)
      this.control.kick(req.requester);
    }
    this.waiting = false;
  }

  /**
   * False sharing shows in the requests for a page that ping-pongs: the lines others ask it for
   * are lines this hart has not (its own asks, at its TLB misses, mark its lines). After
   * SPLIT_AFTER contended requests, split when at least 3 in 4 wanted other lines; else count again.
   * True sharing (a lock word, litmus variables) soon marks the same lines on both sides: splitting
   * it would only make every access slower (smp_sb_litmus recorded 4x slower so).
   */
  private splitDue(slot: number, line: number): boolean {
    if (slot >= this.ownership.pages || line < 0 || SPLIT_AFTER === 0 || this.contention[slot] < SPLIT_LEVEL) return false;
    const mine = line < 32 ? (this.myLinesLo[slot] >>> line) & 1 : (this.myLinesHi[slot] >>> (line - 32)) & 1;
    if (!mine) this.otherLineAsks[slot]++;
    const asks = ++this.contendedAsks[slot];
    if (asks < SPLIT_AFTER) return false;
    const other = this.otherLineAsks[slot];
    this.contendedAsks[slot] = 0;
    this.otherLineAsks[slot] = 0;
    return 4 * other >= 3 * asks;
  }

  /**
   * A RAM page others keep asking for lines its holder does not use (splitDue) is split into
   * lines when this hart holds it alone: harts writing different lines of it (false sharing: xv6's `cpus[]`)
   * then stop taking turns. The split is a release of the page (its translations are dropped, in
   * replay too); the requests for it are then refused, and their harts retry through the lines.
   * Pages holding translated code stay whole (fetches would need every line).
   */
  private trySplit(h: Hart, slot: number): boolean {
    if (slot >= this.ownership.pages || !this.ownership.holds(h.id, slot, true) || h.mmu.holdsCode(slot)) return false;
    const seq = this.releaseSeq + 1;
    if (!this.ownership.split(h.id, slot, seq)) return false;
    this.releaseSeq = seq;
    this.logged[slot] = 0;
    this.acquiredIcount[slot] = -1;
    this.contention[slot] = 0;
    this.log({ kind: 'release', icount: h.icount, resource: slot, seq });
    h.mmu.forgetResource(slot, 'devices');
    this.splits++;
    return true;
  }

  /**
   * Tenure adapts per resource. A right asked back while still in tenure means the harts take
   * turns on it (a flag, a lock word, a litmus variable): its level rises and its tenure (both
   * bounds) shrinks 4x, so turns stop waiting out a tenure made for pages that change hands rarely.
   * Asked back only after the full (unshrunk) tenure: the level falls again. Judged once per
   * acquisition. Measured in docs/ARCHITECTURE.md (recording).
   */
  private judgeContention(h: Hart, resource: number, inTenure: boolean): void {
    if (this.acquiredIcount[resource] < 0 || this.judged[resource]) return;
    this.judged[resource] = 1;
    const level = this.contention[resource];
    if (inTenure && level < MAX_CONTENTION_LEVEL) this.contention[resource] = level + 1;
    else if (!inTenure && level > 0 && !this.inTenure(h, resource, 0)) this.contention[resource] = level - 1;
  }

  /** Whether `resource` is still in its tenure (at contention `level`, default its own). */
  private inTenure(h: Hart, resource: number, level = this.contention[resource]): boolean {
    const icount = this.acquiredIcount[resource];
    if (icount < 0) return false;
    const shift = 2 * level;
    if (h.icount - icount >= this.opts.tenure >> shift) return false;
    return hostNs() - this.acquiredNs[resource] < (this.opts.tenureNs ?? TENURE_MAX_NS) / (1 << shift);
  }

  /** Hart 0 moves staged console input into the UART at a safe point (it needs the device bus). */
  private injectInput(h: Hart): void {
    if (!this.permit(h.mmu.deviceResource, true)) return; // asked; try again at a later safe point
    const bytes: number[] = [];
    while (bytes.length < INPUT_CHUNK) {
      const b = this.state.stagedInput.pop();
      if (b < 0) break;
      bytes.push(b);
    }
    if (bytes.length === 0) return;
    const chunk = Uint8Array.from(bytes);
    this.log({ kind: 'input', icount: h.icount, bytes: chunk });
    this.uart.receive(chunk);
  }
}
