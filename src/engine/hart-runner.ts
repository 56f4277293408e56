import { writeSync } from 'node:fs';
import { Hart } from '../cpu/hart.js';
import { BlockExit, Executor } from '../exec/executor.js';
import { translateBlock } from '../exec/translate.js';
import { Priv } from '../cpu/csr-numbers.js';
import { Op } from '../isa/ir.js';
import { opClass } from '../isa/table.js';
import { OpClass } from '../isa/op-def.js';
import { Bus } from '../machine/bus.js';
import { ChaosPolicy } from './chaos.js';
import { PeerWatch } from './peer-watch.js';
import { stateHash } from './state-hash.js';
import { Clock } from '../shm/clock.js';
import { MachineControl } from '../shm/control.js';
import { HartSupervisor, insnLimitBudget } from './supervisor.js';

/** How many blocks run between two looks at the host clock for the timer interrupt. */
const TIMER_POLL_BLOCKS = 64;
/** Longest single sleep in WFI; bounded so a missed wake-up costs at most this much. */
const MAX_SLEEP_MS = 50;
/**
 * A WFI that returns at once because an enabled interrupt is pending but masked (mstatus.MIE/SIE
 * off) is a poll loop: OpenSBI's secondary harts wait for HSM start that way with MSIP pending
 * (QEMU spins there too). After this many in a row the hart naps between polls, so a waiting
 * hart leaves its host core to the harts doing the work (4 harts on 2 cores).
 */
const POLLING_WFIS_BEFORE_NAPS = 32;
/**
 * The nap: short at first, since the hart also wakes when kicked (IPI, interrupt line, ownership
 * request), then twice as long every POLLING_WFIS_PER_DOUBLING polls up to POLLING_WFI_NAP_MAX_MS.
 * OpenSBI's secondaries poll like this for the whole of Linux's boot until their HSM start, whose
 * IPI kicks them (Clint.write): at 0.2 ms naps the three idle harts of a 4-hart boot took ~15% of
 * a host core (7 ms of CPU per 50 ms on the thread holding two of them), host time the boot hart
 * waits for on 2 cores. A guest that polls memory this way without an IPI sees its wait end at
 * most the longest nap later, in host time only.
 */
const POLLING_WFI_NAP_MS = 0.2;
const POLLING_WFI_NAP_MAX_MS = 2;
const POLLING_WFIS_PER_DOUBLING = 8;
/**
 * Spinning (BlockExit.Spin: a PAUSE or a poll loop, exec/translate.ts): after this many spin blocks
 * in a row — none more than SPIN_GAP_INSNS instructions after the last — the hart naps between
 * spins when harts outnumber host cores, or when the spin has lasted LONG_SPIN_MS anyway (then
 * what it waits for is not running: another process holds the core). Like a CPU's pause-loop
 * exiting: the host core goes to the harts doing the work, e.g. OpenSBI's boot hart while three
 * others poll for it (4 harts on 2 cores), or a Linux lock holder while others spin in cpu_relax.
 */
const SPINS_BEFORE_NAPS = 32;
const SPIN_GAP_INSNS = 64;
const LONG_SPIN_MS = 2;
/** The nap: short. A hart with a thread of its own also wakes when kicked; on a shared thread the nap runs out (see parkedWake). */
const SPIN_NAP_MS = 0.1;
/**
 * With a PeerWatch: instructions between its checks (a check reads the clock; ~10-40 us of guest),
 * the most a call may run while the host is contended, and the nap a check may advise.
 */
const PEER_CHECK_INSNS = 8192;
const PEER_NAP_MS = 0.05;
/**
 * A hart spinning on a shared thread ends its turn after this many spin blocks in a row: the
 * sibling it waits for gets the thread then, not after the spin's turn or its 2 ms
 * (LONG_SPIN_MS). Linux's ticket spinlocks passed between two harts of one thread about once per
 * 2.5 ms (the kernel's slob_lock, 50 ms stretches in a 4-hart boot, `HINDSIGHT_HART_DUMP`).
 */
const SHARED_SPINS_BEFORE_YIELD = 8;
/**
 * A hart whose trap handler itself faults before retiring anything loops in exceptions; after this
 * many in a row it passes a safe point anyway, so it still answers ownership requests.
 */
const MAX_EXCEPTIONS_WITHOUT_SAFE_POINT = 1000;
/**
 * Halt detection (run and record, whose supervisors take HartSupervisor.noteHalted; not replay, nor
 * a debugger, which may change registers). A machine-mode hart that executes WFI with no interrupt
 * enabled (mie = 0) where the code from there on is only WFIs, NOPs and direct jumps back into it
 * (`halt: wfi; j halt`, and what compilers make of `for (;;) wfi();`) can never leave: WFI wakes
 * only for an enabled interrupt, the loop reads nothing, and no other agent can write its CSRs.
 * (Another hart could rewrite the loop's code, but a hart that runs no FENCE.I may keep executing
 * what it fetched; should this emulator's hart see the change and leave, it counts as running
 * again.) When every hart is halted the machine stops instead of sleeping for ever
 * (MachineControl.noteHalted). A hart whose machine-mode trap vector faults itself is halted as
 * well (Hart.trapsToItself: raw garbage run as a program, mtvec never set).
 */
const HALT_LOOP_BLOCKS = 8;
/** HINDSIGHT_HART_DUMP=SECONDS: every hart prints its pc, privilege and interrupt state that often (diagnosis of stalls). */
const DUMP_EVERY_NS = BigInt(Math.round(Number(process.env.HINDSIGHT_HART_DUMP ?? 0) * 1e9));
/**
 * HINDSIGHT_INSN_TRACE=HART:FROM:TO: that hart runs one instruction per block from icount FROM to
 * TO and prints each one's icount, pc, privilege and register hash (stateHash, what `check` events
 * compare) on stderr (diagnosis of
 * divergences: diff a parallel replay's lines against a serial replay's, or a replay's against
 * another recording's tier; the first differing hash is the first instruction that read
 * something else). Off, it costs one comparison per block.
 */
const INSN_TRACE = parseInsnTrace(process.env.HINDSIGHT_INSN_TRACE);

function parseInsnTrace(text: string | undefined): { hart: number; from: number; to: number } | null {
  if (!text) return null;
  const [hart, from, to] = text.split(':').map(Number);
  if (![hart, from, to].every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new Error(`HINDSIGHT_INSN_TRACE must be HART:FROM:TO (whole numbers), got '${text}'`);
  }
  return { hart, from, to };
}

function insnTraceLine(h: Hart): string {
  return `insn hart=${h.id} icount=${h.icount} pc=0x${BigInt.asUintN(64, h.pc).toString(16)} priv=${h.priv} hash=${stateHash(h).toString(16)}\n`;
}

export type SliceStatus = 'finished' | 'blocked' | 'yield' | 'paused';

/** The debugger's say in a slice (replay/timeline.ts). */
export interface RunProbe {
  /** Most instructions the next block may run; 0 pauses the hart before its next instruction. */
  limit(hart: Hart): number;
  /** Called after every block; true pauses the slice there (used after a watchpoint hit). */
  afterBlock?(hart: Hart): boolean;
}

/** Plain execution: device interrupt lines are sampled at block boundaries, time is the host's. */
export class RunSupervisor implements HartSupervisor {
  readonly realTime = true;

  constructor(private readonly control: MachineControl, private readonly clockNow: () => bigint, private readonly maxInsns: number) {}

  safePoint(hart: Hart): void {
    hart.observeLines(hart.hardwareMip());
  }

  budget(hart: Hart): number {
    return insnLimitBudget(hart, this.maxInsns, this.control);
  }

  readTime(): bigint {
    return this.clockNow();
  }

  noteHalted(_hart: Hart, halted: boolean): void {
    this.control.noteHalted(halted);
  }
}

/** What a runner hands to the next one when its hart moves to another thread (HartRunner.handOver). */
export interface RunnerHandover {
  afterException: boolean;
  exceptionsInARow: number;
  afterInterrupt: boolean;
  /** Idle in WFI (the new runner parks it too, instead of running on past the WFI at once). */
  parked: boolean;
}

/**
 * Drives one hart: safe point, interrupts, one block, timer poll, WFI sleep; leaves when the
 * machine stops or the supervisor's budget runs out.
 */
export class HartRunner {
  readonly executor: Executor;
  private blocks = 0;
  private nextDumpNs = 0n;
  /** The last block ended in an exception: the next stop is safePointAfterException, not a safe point (kept across slices). */
  private afterException = false;
  /**
   * The icount at which a safe point took an interrupt, while no instruction has retired since
   * (else -1). Replay applies all of an icount's events at one safe point, then takes the
   * interrupt: a recording hart that stops before the handler's first instruction (its slice
   * ended, or that instruction waits for a right) must not sample lines or take an interrupt at
   * the same icount again. It did: a 4-hart Linux recording took the timer interrupt, yielded its
   * turn, then took MSIP at the next safe point at that icount, on top; the replay took MSIP first
   * and then the IPI, and diverged.
   */
  private interruptTakenAt = -1;
  /** WFIs in a row that returned at once (see POLLING_WFIS_BEFORE_NAPS). */
  private pollingWfis = 0;
  /** Spin blocks in a row (see SPINS_BEFORE_NAPS), the icount after the last, and when the spin began (host ns). */
  private spins = 0;
  private lastSpinIcount = 0;
  private spinSinceNs = 0n;
  /**
   * The last slice ended with the hart waiting (parked, or spinning on a shared thread) rather
   * than out of instructions: hart migration's 'balance' counts only the others as wanting a core.
   */
  endedWaiting = false;
  /** Harts on threads of their own (--chaos): beat, and nap while one waits for this thread's core (engine/peer-watch.ts). */
  peerWatch: PeerWatch | null = null;
  private sincePeerCheck = 0;
  /** Harts outnumber the host's cores: a spinning hart naps at once (see SPINS_BEFORE_NAPS). */
  napWhenSpinning = false;
  /** The last slice was paused by a probe: the next one continues without a safe point first. */
  paused = false;
  /**
   * The hart shares its host thread with other harts (`--threads`): an idle WFI ends the slice
   * ('blocked') instead of sleeping the thread, and the scheduler's stall handling sleeps for all.
   */
  sharesThread = false;
  /** Where the next safe point may be (besides `paused`): the debugger's checkpoints keep it. */
  get exceptionState(): { afterException: boolean; exceptionsInARow: number; afterInterrupt: boolean } {
    return { afterException: this.afterException, exceptionsInARow: this.hart.trapsHere(), afterInterrupt: this.interruptTakenAt === this.hart.icount };
  }

  /** Restores it (after the hart's icount: `afterInterrupt` is relative to it). */
  set exceptionState(s: { afterException: boolean; exceptionsInARow: number; afterInterrupt: boolean }) {
    this.afterException = s.afterException;
    this.hart.setTrapsHere(s.exceptionsInARow);
    this.interruptTakenAt = s.afterInterrupt ? this.hart.icount : -1;
  }

  /**
   * Hart migration (engine/hart-migration.ts): the hart leaves this runner between turns. Null
   * while it cannot: paused inside a block, or counted as halted (the machine's halt count).
   */
  handOver(): RunnerHandover | null {
    if (this.paused || this.halted) return null;
    return { ...this.exceptionState, parked: this.parked === 'idle' };
  }

  /** The hart arrives from another thread's runner (after its state and TLB are in place). */
  takeOver(s: RunnerHandover): void {
    this.exceptionState = s;
    if (s.parked) this.parked = 'idle';
  }

  /** Shared thread: the hart is parked — idle in WFI, or polling in WFI or a spin (host ns it may look again). */
  private parked: 'no' | 'idle' | bigint = 'no';
  /**
   * The hart's wake word when it was parked polling in WFI: a kick since (an IPI, an interrupt
   * line, an ownership request) ends the nap early, as it ends a nap in Hart.sleep on a thread of
   * its own. Null for a spin's nap, which only its deadline ends: what a spin waits for is memory,
   * and while recording, a spinner kicked to give up its page would ask for it back at once.
   */
  private parkedWake: number | null = null;

  /**
   * Halt detection (see HALT_LOOP_BLOCKS): the icount where the hart was last in its loop (after a
   * WFI, or after a trap to itself), whether it counts as halted, and its loop's length (more
   * instructions since then: it left the loop).
   */
  private haltSeenIcount = -1;
  private halted = false;
  private haltLoopInsns = 0;

  /** `executor`: the execution tier (src/jit/tier.ts); the reference executor by default. `chaos`: --chaos. */
  constructor(private readonly hart: Hart, private readonly supervisor: HartSupervisor, executor?: Executor, private readonly chaos?: ChaosPolicy) {
    this.executor = executor ?? new Executor(hart, hart.bus);
  }

  run(): void {
    this.runSlice(Number.POSITIVE_INFINITY);
    this.finish();
  }

  /**
   * Runs until the hart has retired `until` instructions, the supervisor has nothing more for it
   * (budget 0: 'finished'), it is blocked on another hart ('blocked'), the machine stops, or the
   * debugger's `probe` pauses it ('paused'). Serial scheduling calls this repeatedly for each hart
   * in turn. A pause never adds a safe point: the next call resumes exactly as if the slice had
   * not been interrupted, so a debugger stop cannot change the replayed execution.
   */
  runSlice(until: number, probe?: RunProbe): SliceStatus {
    const h = this.hart;
    const sup = this.supervisor;
    const exec = this.executor;
    // Inside a block (a probe or budget cut it short): no stop at all before it goes on.
    let midBlock = this.paused;
    this.paused = false;
    this.endedWaiting = false;
    while (!h.exitRequested) {
      // An interrupt taken at this icount, and nothing retired since: the one kind of stop the
      // handler may still make is the one after an exception's (see interruptTakenAt).
      const afterInterrupt = this.interruptTakenAt === h.icount && sup.noSafePointAfterException === true;
      if (!midBlock && (this.afterException || afterInterrupt)) {
        sup.safePointAfterException?.(h);
        if (sup.blocked?.()) return 'blocked';
      } else if (!midBlock) {
        if (sup.ended?.(h)) return 'finished';
        sup.safePoint(h);
        if (sup.blocked?.()) return 'blocked';
        this.chaos?.safePoint(h.icount);
        if (this.parked !== 'no' && this.stillParked()) return this.waited('blocked');
        const irq = h.pendingInterrupt();
        if (irq >= 0) {
          h.takeInterrupt(irq);
          this.interruptTakenAt = h.icount;
          this.pollingWfis = 0;
        }
      }
      midBlock = false;
      if (h.icount >= until) return 'yield';
      const natural = Math.min(sup.budget(h), until - h.icount);
      if (natural <= 0) return 'finished';
      const limit = probe ? probe.limit(h) : natural;
      if (limit <= 0) {
        this.paused = true;
        return 'paused';
      }
      let budget = Math.min(natural, limit);
      if (INSN_TRACE !== null && h.id === INSN_TRACE.hart && h.icount <= INSN_TRACE.to) {
        if (h.icount < INSN_TRACE.from) budget = Math.min(budget, INSN_TRACE.from - h.icount);
        else {
          budget = 1;
          writeSync(2, insnTraceLine(h));
        }
      }
      // Contended (only a PeerWatch says so): a hart that may spin while the one it waits for queues for its core runs in short calls.
      if (h.hostContended && budget > PEER_CHECK_INSNS) budget = PEER_CHECK_INSNS;
      const exceptionsBefore = h.exceptionsTaken;
      const retired = exec.runBlock(budget);
      // Cut short by the probe or by the executor (short of a breakpoint), not by the supervisor's
      // budget: the recorded run had no block boundary (no safe point) here.
      const cut = (budget < natural || exec.cutShort) && exec.cutByBudget;
      if (this.halted && h.icount - this.haltSeenIcount > this.haltLoopInsns) this.noteHalted(false);
      else if (!this.halted && h.exceptionsTaken !== exceptionsBefore && sup.noteHalted && h.trapsToItself()) {
        this.haltSeenIcount = h.icount;
        this.haltLoopInsns = 0;
        this.noteHalted(true);
      }
      if (exec.lastExit === BlockExit.NeedsOwnership) {
        if (this.chaos?.takeYield()) sup.answerRequestsNow?.(h);
        else sup.waitForOwnership?.(h);
        continue;
      }
      if (sup.realTime) {
        if (++this.blocks % TIMER_POLL_BLOCKS === 0) this.pollTimer();
        const watch = this.peerWatch;
        if (watch !== null) {
          h.beat();
          this.sincePeerCheck += retired;
          if (this.sincePeerCheck >= PEER_CHECK_INSNS) {
            this.sincePeerCheck = 0;
            if (watch.shouldNap()) h.sleep(h.wakeWord(), PEER_NAP_MS);
            h.hostContended = watch.contended;
          }
        }
        if (exec.lastExit === BlockExit.Wfi) {
          if (sup.noteHalted) this.afterWfi();
          if (this.sharesThread) {
            if (this.parkInWfi()) return this.waited('blocked');
          } else this.waitForInterrupt();
        } else if (exec.lastExit === BlockExit.Spin) {
          const nap = this.spinning();
          if (this.sharesThread) {
            if (nap) {
              this.parkPolling(SPIN_NAP_MS, false);
              return this.waited('blocked');
            }
            // What it waits for may be a sibling's to give: a ticket lock passed between harts of
            // this thread (SHARED_SPINS_BEFORE_YIELD).
            if (this.spins % SHARED_SPINS_BEFORE_YIELD === 0) return this.waited('yield');
          } else if (nap) h.sleep(h.wakeWord(), SPIN_NAP_MS);
        }
      } else if (exec.lastExit === BlockExit.Wfi) {
        if (sup.noteHalted) this.afterWfi();
        if (sup.idle?.(h)) return 'blocked';
      }
      if (probe?.afterBlock?.(h)) {
        this.paused = cut;
        return 'paused';
      }
      if (sup.noSafePointAfterException) {
        // A handler that faults at once for ever (a broken guest) must still reach safe points.
        const traps = h.trapsHere();
        this.afterException = traps > 0 && traps < MAX_EXCEPTIONS_WITHOUT_SAFE_POINT;
      }
      midBlock = cut;
    }
    return 'finished';
  }

  /** The slice ends because the hart waits: parked in WFI, napping, or yielding its shared thread in a spin. */
  private waited(status: SliceStatus): SliceStatus {
    this.endedWaiting = true;
    return status;
  }

  /** Writes the hart's state back and lets the supervisor check the end. */
  finish(): void {
    this.hart.syncOut();
    this.supervisor.finish?.(this.hart);
    if (this.peerWatch !== null) {
      this.hart.markFinished();
      this.peerWatch.close();
    }
  }

  /** Raises MTIP (and Sstc's STIP) once the host clock passes this hart's deadlines; ns until the next. */
  private pollTimer(): bigint {
    const now = Clock.nowNs();
    if (DUMP_EVERY_NS > 0n && now >= this.nextDumpNs) this.dumpState(now);
    return this.hart.pollHostTimers(now);
  }

  private dumpState(now: bigint): void {
    const h = this.hart;
    if (this.nextDumpNs !== 0n) {
      const hex = (v: bigint | number) => '0x' + BigInt.asUintN(64, BigInt(v)).toString(16);
      // Straight to fd 2: a worker's process.stderr goes through the main thread, and a busy hart's
      // lines were lost at exit.
      writeSync(2, `hart-dump at_ms=${(Date.now() % 1e7).toString().padStart(7, '0')} hart=${h.id} icount=${h.icount} pc=${hex(h.pc)} priv=${h.priv} lines=${hex(h.hardwareMip())} mip=${hex(h.mip())} ` +
        `mie=${hex(h.mie())} mstatus=${hex(h.readMstatus())} ra=${hex(h.x[1])} sp=${hex(h.x[2])} timer_in_ms=${Number(h.timerDeadlineNs() - now) / 1e6} blocks=${this.blocks}\n`);
    }
    this.nextDumpNs = now + DUMP_EVERY_NS;
  }

  /** After a spin block: true when the hart should nap now (see SPINS_BEFORE_NAPS). */
  private spinning(): boolean {
    const icount = this.hart.icount;
    if (icount - this.lastSpinIcount > SPIN_GAP_INSNS) this.spins = 0;
    this.lastSpinIcount = icount;
    if (this.spins++ === 0) {
      this.spinSinceNs = Clock.nowNs();
      return false;
    }
    if (this.spins < SPINS_BEFORE_NAPS) return false;
    if (this.napWhenSpinning) return true;
    // Look at the clock only now and then: spinning alone on a core is the fastest way to wait.
    return this.spins % SPINS_BEFORE_NAPS === 0 && Clock.nowNs() - this.spinSinceNs >= BigInt(LONG_SPIN_MS * 1e6);
  }

  /** Run and record, after a WFI: is the hart in a halt loop now (see HALT_LOOP_BLOCKS)? */
  private afterWfi(): void {
    const h = this.hart;
    this.haltSeenIcount = h.icount;
    if (this.halted || h.mie() !== 0 || h.priv !== Priv.M) return;
    this.haltLoopInsns = haltLoopLength(h.bus, h.pc);
    if (this.haltLoopInsns > 0) this.noteHalted(true);
  }

  private noteHalted(halted: boolean): void {
    this.halted = halted;
    this.supervisor.noteHalted!(this.hart, halted);
  }

  /** Shared thread, after a WFI: park the hart (give the thread to the others) unless it can go on. */
  private parkInWfi(): boolean {
    const h = this.hart;
    this.pollTimer();
    if (h.exitRequested) return false;
    if (h.wakeable()) {
      if (++this.pollingWfis < POLLING_WFIS_BEFORE_NAPS) return false;
      this.parkPolling(this.pollingNapMs(), true);
      return true;
    }
    this.pollingWfis = 0;
    this.parked = 'idle';
    return true;
  }

  /** How long a polling WFI naps now (see POLLING_WFI_NAP_MS): longer the longer the hart has polled. */
  private pollingNapMs(): number {
    const doublings = (this.pollingWfis - POLLING_WFIS_BEFORE_NAPS) / POLLING_WFIS_PER_DOUBLING;
    return Math.min(POLLING_WFI_NAP_MAX_MS, POLLING_WFI_NAP_MS * 2 ** Math.floor(doublings));
  }

  /** Shared thread: park the hart for `ms` of host time (a polling WFI or a spin), or until kicked (`kickable`). */
  private parkPolling(ms: number, kickable: boolean): void {
    this.parked = Clock.nowNs() + BigInt(Math.round(ms * 1e6));
    this.parkedWake = kickable ? this.hart.wakeWord() : null;
  }

  /** Shared thread, at a safe point of a parked hart: true while nothing has come to wake it. */
  private stillParked(): boolean {
    const h = this.hart;
    const now = Clock.nowNs();
    this.pollTimer();
    const parked = this.parked;
    // A nap in a polling WFI also ends at a kick: the HSM start of an OpenSBI secondary polling on a
    // shared thread waited out the nap (up to POLLING_WFI_NAP_MAX_MS), though its IPI kicks it.
    const still = !h.exitRequested && (parked === 'idle' ? !h.wakeable()
      : now < (parked as bigint) && (this.parkedWake === null || h.wakeWord() === this.parkedWake));
    if (!still) this.parked = 'no';
    return still;
  }

  /** Shared thread: host ns until this parked hart must look again (its timer or its poll), null if not parked. */
  parkedForNs(): bigint | null {
    if (this.parked === 'no') return null;
    const timer = this.pollTimer();
    const poll = this.parked === 'idle' ? timer : (this.parked as bigint) - Clock.nowNs();
    return poll < timer ? poll : timer;
  }

  /**
   * WFI: sleep until an enabled interrupt line is up (regardless of global enables), the machine
   * stops, or someone kicks the hart (e.g. to ask for a page while recording).
   */
  private waitForInterrupt(): void {
    const h = this.hart;
    const seen = h.wakeWord();
    const untilTimer = this.pollTimer();
    if (h.exitRequested) return;
    if (h.wakeable()) {
      // Host time only: what the guest sees is a slower WFI, which the spec allows.
      if (++this.pollingWfis >= POLLING_WFIS_BEFORE_NAPS) h.sleep(seen, this.pollingNapMs());
      return;
    }
    this.pollingWfis = 0;
    const ms = untilTimer > 0n ? Math.min(MAX_SLEEP_MS, Number(untilTimer / 1_000_000n) + 1) : 0;
    h.sleep(seen, ms);
    // The loop goes back through safePoint, which samples the lines and answers requests; if no
    // interrupt is taken the hart simply continues after the WFI (allowed by the spec).
  }
}

/**
 * Whether the machine-mode code at `pc` (physical: M-mode fetches are not translated) is a halt
 * loop: following it from there meets only WFIs, NOPs and direct jumps, and comes back to an
 * instruction it has already passed. Its length in instructions, or 0.
 */
export function haltLoopLength(bus: Bus, pc: bigint): number {
  const seen = new Set<number>();
  let at = Number(pc);
  for (let b = 0; b < HALT_LOOP_BLOCKS; b++) {
    if (!Number.isSafeInteger(at) || !bus.isRam(at)) return 0;
    const block = translateBlock(bus, at);
    if (block.insns.length === 0) return 0;
    let next = at + Number(block.bytes);
    for (let i = 0; i < block.insns.length; i++) {
      const ins = block.insns[i];
      const insAt = at + Number(block.offsets[i]);
      if (seen.has(insAt)) return seen.size;
      seen.add(insAt);
      if (ins.op === Op.WFI || (ins.op === Op.ADDI && ins.rd === 0)) continue;
      if (opClass(ins.op) === OpClass.Jump && ins.rd === 0 && i === block.insns.length - 1) { next = insAt + Number(ins.imm); continue; }
      return 0;
    }
    at = next;
  }
  return 0;
}
