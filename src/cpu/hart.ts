import { HartBlock as HartLayout, hartBase } from '../shm/layout.js';
import { Bus } from '../machine/bus.js';
import { DeviceEnv } from '../machine/device.js';
import { ALL_INTERRUPTS, Cause, MIP, MSTATUS, Priv, Slot } from './csr-numbers.js';
import { CSR_TABLE, CsrDef, stimecmpDrivesStip } from './csr.js';
import { Clock } from '../shm/clock.js';
import { Mmu } from './mmu.js';
import { type CpuFeatures, DEFAULT_CPU_FEATURES } from './features.js';

const INTERRUPT_BIT = 1n << 63n;
/** A host-time deadline that never comes (as the CLINT's). */
export const NEVER_NS = 1n << 62n;
/** HINDSIGHT_TRAP_LOG=1: every trap taken, on stderr (diagnosis of divergences: compare a recording's with its replay's). */
const TRAP_LOG = process.env.HINDSIGHT_TRAP_LOG === '1';
/** Interrupt priority order of the privileged spec: MEI, MSI, MTI, SEI, SSI, STI. */
const INTERRUPT_PRIORITY = [11, 3, 7, 9, 1, 5];

/**
 * Architectural state of one hart and the privileged machinery around it (CSRs, traps,
 * interrupts, xRET). Registers and CSRs live in the hart's block of the shared memory (layout in
 * shm/layout.ts) so the coordinator, the debugger and checkpoints can read them while the hart
 * is parked; pc, privilege and the retired-instruction count are mirrored in fields while running
 * and written back by `syncOut()`.
 */
export class Hart {
  readonly x: BigInt64Array;
  /** f0..f31 as raw bits (F/D; singles NaN-boxed). */
  readonly f: BigInt64Array;
  /** The same registers as binary64 numbers (the FP fast paths: reading a NaN loses its payload, writing a number does not). */
  readonly fNum: Float64Array;
  /** The CSR slots as Int32 words (slot n's low word is 2n): FS, frm and fflags without BigInt. */
  readonly csrWords: Int32Array;
  readonly csr: BigInt64Array;
  private readonly words: Int32Array;
  private readonly longs: BigInt64Array;
  private readonly base: number;
  readonly mmu: Mmu;
  pc = 0n;
  priv: Priv = Priv.M;
  icount = 0;
  /** Exception raised by the current instruction (-1 = none) and its tval. */
  trapCause = -1;
  trapValue = 0n;
  /** mie and the software-writable mip bits as numbers: read at every block boundary, so no BigInt. */
  private mieBits = 0;
  private mipSoftwareBits = 0;
  /**
   * Which sampled lines and which software bits make up mip: with Sstc's STCE set, STIP is the
   * stimecmp comparator's line (the software bit does not count), else the software bit (and the
   * comparator's line, which the hart keeps up to date whenever it has Sstc, does not count).
   */
  private lineMask = ~MIP.STIP;
  private softwareMask = ~0;
  /**
   * The device-driven interrupt lines as this hart last sampled them at a safe point. Interrupt
   * decisions use this, never the live shared word, so when lines change is pinned to a block
   * boundary (and, while recording, logged there).
   */
  private observedLines = 0;
  /** Guest-visible clock reads (time CSR, CLINT mtime): set by the hart's supervisor. */
  timeSource: () => bigint;

  constructor(
    readonly id: number,
    readonly bus: Bus,
    readonly env: DeviceEnv,
    readonly features: Readonly<CpuFeatures> = DEFAULT_CPU_FEATURES,
  ) {
    this.base = hartBase(id);
    const mem = bus.memory;
    this.x = new BigInt64Array(mem, this.base + HartLayout.X, 32);
    this.f = new BigInt64Array(mem, this.base + HartLayout.F, 32);
    this.fNum = new Float64Array(mem, this.base + HartLayout.F, 32);
    this.csr = new BigInt64Array(mem, this.base + HartLayout.CSRS, HartLayout.CSR_SLOTS);
    this.csrWords = new Int32Array(mem, this.base + HartLayout.CSRS, HartLayout.CSR_SLOTS * 2);
    this.words = new Int32Array(mem, this.base, HartLayout.CSRS / 4);
    this.longs = new BigInt64Array(mem, this.base, HartLayout.CSRS / 8);
    this.mmu = new Mmu(this, bus);
    this.timeSource = () => env.mtime();
    this.clock = new Clock(bus.memory);
  }

  /** The host-time clock behind mtime, for the Sstc comparator's deadline. */
  private readonly clock: Clock;

  /** Architectural reset: M-mode, pc = reset vector, mstatus with UXL/SXL = 64-bit. */
  reset(pc: bigint): void {
    this.x.fill(0n);
    this.f.fill(0n);
    this.csr.fill(0n);
    this.csr[Slot.mstatus] = (2n << 32n) | (2n << 34n);
    this.csr[Slot.stimecmp] = -1n; // no supervisor timer until software arms one
    this.pc = pc;
    this.priv = Priv.M;
    this.icount = 0;
    this.trapIcount = -1;
    this.trapsAtIcount = 0;
    Atomics.store(this.words, HartLayout.MIP >> 2, 0);
    this.observedLines = 0;
    this.words[HartLayout.OBSERVED_LINES >> 2] = 0;
    Atomics.store(this.words, HartLayout.RES_VALID >> 2, 0);
    Atomics.store(this.words, HartLayout.SLEEPING >> 2, 0); // markFinished's mark from a run before
    this.mmu.flush();
    this.refreshInterruptMirrors();
    this.syncOut();
  }

  /** Writes the mirrored fields into the shared hart block. */
  syncOut(): void {
    this.longs[HartLayout.PC >> 3] = this.pc;
    this.longs[HartLayout.ICOUNT >> 3] = BigInt(this.icount);
    this.words[HartLayout.PRIV >> 2] = this.priv;
  }

  /** The retired-instruction count as last published by syncOut() (readable from any thread). */
  publishedIcount(): number {
    return Number(Atomics.load(this.longs, HartLayout.ICOUNT >> 3));
  }

  /** Publishes the retired-instruction count alone (cheap progress reporting while running). */
  /** Serial recording: how many safe points this hart passed at its final icount (read by the main thread at the end). */
  publishSafePoints(count: number): void {
    Atomics.store(this.longs, HartLayout.SAFE_POINTS >> 3, BigInt(count));
  }

  publishedSafePoints(): number {
    return Number(Atomics.load(this.longs, HartLayout.SAFE_POINTS >> 3));
  }

  publishIcount(): void {
    Atomics.store(this.longs, HartLayout.ICOUNT >> 3, BigInt(this.icount));
  }

  /** Reads the mirrored fields back (after the debugger or a checkpoint restore changed them). */
  syncIn(): void {
    this.pc = this.longs[HartLayout.PC >> 3];
    this.icount = Number(this.longs[HartLayout.ICOUNT >> 3]);
    this.priv = this.words[HartLayout.PRIV >> 2] as Priv;
    this.mmu.flush();
    this.refreshInterruptMirrors();
  }

  /** Must follow every write to mie or the software mip bits (CSR instructions, debugger, restore). */
  refreshInterruptMirrors(): void {
    this.mieBits = Number(this.csr[Slot.mie] & 0xfffn);
    this.mipSoftwareBits = Number(this.csr[Slot.mipSoftware] & 0xfffn);
    const stce = stimecmpDrivesStip(this);
    this.lineMask = stce ? ~0 : ~MIP.STIP;
    this.softwareMask = stce ? ~MIP.STIP : ~0;
  }

  /** mie as a number. */
  mie(): number {
    return this.mieBits;
  }

  // --- shared control words -------------------------------------------------------------------
  get exitRequested(): boolean {
    return Atomics.load(this.words, HartLayout.EXIT_REQ >> 2) !== 0;
  }

  /** Device-driven interrupt lines (MSIP, MTIP, MEIP, SEIP), set atomically by any thread. */
  hardwareMip(): number {
    return Atomics.load(this.words, HartLayout.MIP >> 2);
  }

  setHardwareMip(mask: number, level: boolean): void {
    if (level) Atomics.or(this.words, HartLayout.MIP >> 2, mask);
    else Atomics.and(this.words, HartLayout.MIP >> 2, ~mask);
  }

  /** Samples the device-driven lines (at a safe point). Returns true when they changed. */
  observeLines(lines: number): boolean {
    if (lines === this.observedLines) return false;
    this.observedLines = lines;
    this.words[HartLayout.OBSERVED_LINES >> 2] = lines;
    return true;
  }

  get lines(): number {
    return this.observedLines;
  }

  /** Effective mip: the sampled device lines OR the software-writable bits (SSIP, STIP, SEIP). */
  mip(): number {
    return (this.observedLines & this.lineMask) | (this.mipSoftwareBits & this.softwareMask);
  }

  /** An enabled interrupt is pending on the live lines or in mip (what ends a WFI sleep). */
  wakeable(): boolean {
    return (((this.hardwareMip() & this.lineMask) | this.mip()) & this.mieBits) !== 0;
  }

  wakeWord(): number {
    return Atomics.load(this.words, HartLayout.WAKE >> 2);
  }

  /** The host's cores are taken (engine/peer-watch.ts): a hart waiting for a right sleeps sooner. */
  hostContended = false;

  /** The hart's thread is running it (see HartBlock.HEARTBEAT): a plain store, only this thread writes it. */
  beat(): void {
    this.words[HartLayout.HEARTBEAT >> 2]++;
  }

  /** The hart is done for good: other harts must not wait for its heartbeat (see HartBlock.SLEEPING). */
  markFinished(): void {
    Atomics.store(this.words, HartLayout.SLEEPING >> 2, 2);
  }

  /** Sleeps until kicked or until timeoutMs passes; `seen` is the wake word read before deciding to sleep. */
  sleep(seen: number, timeoutMs: number): void {
    this.words[HartLayout.SLEPT_ON >> 2] = seen;
    Atomics.store(this.words, HartLayout.SLEEPING >> 2, 1);
    Atomics.wait(this.words, HartLayout.WAKE >> 2, seen, timeoutMs);
    Atomics.store(this.words, HartLayout.SLEEPING >> 2, 0);
  }

  // --- LR/SC reservation (cmpxchg scheme: remember address and value) -----------------------------
  setReservation(pa: number, value: bigint): void {
    this.longs[HartLayout.RES_ADDR >> 3] = BigInt(pa);
    this.longs[HartLayout.RES_VALUE >> 3] = value;
    this.words[HartLayout.RES_VALID >> 2] = 1;
  }

  /** Returns the value LR saw if a reservation for `pa` is held, else null; always clears it. */
  takeReservation(pa: number): bigint | null {
    const valid = this.words[HartLayout.RES_VALID >> 2] === 1 && this.longs[HartLayout.RES_ADDR >> 3] === BigInt(pa);
    this.words[HartLayout.RES_VALID >> 2] = 0;
    return valid ? this.longs[HartLayout.RES_VALUE >> 3] : null;
  }

  clearReservation(): void {
    this.words[HartLayout.RES_VALID >> 2] = 0;
  }

  // --- counters ---------------------------------------------------------------------------------
  instret(): bigint {
    return BigInt.asIntN(64, BigInt(this.icount) + this.csr[Slot.instretOffset]);
  }

  cycle(): bigint {
    return BigInt.asIntN(64, BigInt(this.icount) + this.csr[Slot.cycleOffset]);
  }

  // --- CSRs -------------------------------------------------------------------------------------
  readMstatus(): bigint {
    return this.csr[Slot.mstatus];
  }

  readSatp(): bigint {
    return this.csr[Slot.satp];
  }

  writeMstatus(value: bigint): void {
    this.csr[Slot.mstatus] = value;
    this.mmu.regimeChanged(); // privilege (set by the caller before), MPRV, MPP, SUM and MXR select the translations
  }

  /**
   * Checks a CSR instruction's access. Returns the CSR's definition, or null after raising
   * illegal-instruction (unknown CSR, insufficient privilege, write to a read-only CSR).
   */
  csrLookup(num: number, write: boolean, raw: number): CsrDef | null {
    const def = CSR_TABLE.get(num);
    const minPriv = (num >> 8) & 3;
    const readOnly = ((num >> 10) & 3) === 3;
    if (!def || this.priv < minPriv || (write && (readOnly || !def.write)) || (def.allowed && !def.allowed(this))) {
      this.raise(Cause.IllegalInsn, BigInt(raw >>> 0));
      return null;
    }
    return def;
  }

  // --- traps ------------------------------------------------------------------------------------
  /** Exceptions taken so far (host-side count; see HartSupervisor.noSafePointAfterException). */
  exceptionsTaken = 0;
  /** The icount of the last exception, and how many were taken at that icount (an exception retires nothing). */
  private trapIcount = -1;
  private trapsAtIcount = 0;

  /**
   * Exceptions taken since the last retired instruction: 0 before an instruction, 1 once it
   * trapped, 2 if the handler's first instruction trapped too... With the icount this is a
   * hart's exact position (the `trap` trace event).
   */
  trapsHere(): number {
    return this.icount === this.trapIcount ? this.trapsAtIcount : 0;
  }

  /** Restores trapsHere() at the current icount (debugger checkpoints). */
  setTrapsHere(count: number): void {
    this.trapIcount = count > 0 ? this.icount : -1;
    this.trapsAtIcount = count;
  }

  /** Records an exception raised by the current instruction; the executor calls takeTrap(). */
  raise(cause: Cause, tval: bigint): void {
    this.trapCause = cause;
    this.trapValue = tval;
  }

  /**
   * The last exception was a machine-mode instruction access fault whose handler is where it
   * faulted (mtvec points at nothing executable): this hart takes that trap for ever, retiring
   * nothing (trap entry masks interrupts, and what is not memory never becomes memory).
   */
  trapsToItself(): boolean {
    return this.priv === Priv.M && this.csr[Slot.mcause] === BigInt(Cause.InsnAccessFault) && this.csr[Slot.mepc] === this.pc;
  }

  /** Enters the trap handler for the pending exception, with epc = pc of the faulting instruction. */
  takeTrap(epc: bigint): void {
    this.exceptionsTaken++;
    if (this.trapIcount !== this.icount) {
      this.trapIcount = this.icount;
      this.trapsAtIcount = 0;
    }
    this.trapsAtIcount++;
    const cause = this.trapCause;
    this.trapCause = -1;
    this.enterTrap(BigInt(cause), this.trapValue, epc, false);
  }

  private enterTrap(cause: bigint, tval: bigint, epc: bigint, interrupt: boolean): void {
    if (TRAP_LOG) process.stderr.write(`trap hart=${this.id} icount=${this.icount} ${interrupt ? 'irq' : 'exc'}=${cause} epc=${BigInt.asUintN(64, epc).toString(16)} tval=${BigInt.asUintN(64, tval).toString(16)}\n`);
    const deleg = interrupt ? this.csr[Slot.mideleg] : this.csr[Slot.medeleg];
    const causeValue = interrupt ? cause | INTERRUPT_BIT : cause;
    let status = this.csr[Slot.mstatus];
    if (this.priv <= Priv.S && ((deleg >> cause) & 1n)) {
      this.csr[Slot.scause] = BigInt.asIntN(64, causeValue);
      this.csr[Slot.sepc] = epc;
      this.csr[Slot.stval] = tval;
      status = (status & ~(MSTATUS.SPP | MSTATUS.SPIE | MSTATUS.SIE)) |
        (this.priv === Priv.S ? MSTATUS.SPP : 0n) | ((status & MSTATUS.SIE) ? MSTATUS.SPIE : 0n);
      this.priv = Priv.S;
      this.pc = this.vectorTarget(this.csr[Slot.stvec], cause, interrupt);
    } else {
      this.csr[Slot.mcause] = BigInt.asIntN(64, causeValue);
      this.csr[Slot.mepc] = epc;
      this.csr[Slot.mtval] = tval;
      status = (status & ~(MSTATUS.MPP | MSTATUS.MPIE | MSTATUS.MIE)) |
        (BigInt(this.priv) << 11n) | ((status & MSTATUS.MIE) ? MSTATUS.MPIE : 0n);
      this.priv = Priv.M;
      this.pc = this.vectorTarget(this.csr[Slot.mtvec], cause, interrupt);
    }
    this.writeMstatus(status);
  }

  private vectorTarget(tvec: bigint, cause: bigint, interrupt: boolean): bigint {
    const base = tvec & ~3n;
    return interrupt && (tvec & 3n) === 1n ? BigInt.asIntN(64, base + 4n * cause) : base;
  }

  /** The interrupt to take now, or -1: pending & enabled, respecting delegation and global enables. */
  pendingInterrupt(): number {
    const pending = this.mip() & this.mieBits & ALL_INTERRUPTS;
    if (pending === 0) return -1;
    const status = this.csr[Slot.mstatus];
    const mideleg = Number(this.csr[Slot.mideleg]);
    const mEnabled = this.priv < Priv.M || (status & MSTATUS.MIE) !== 0n;
    const sEnabled = this.priv < Priv.S || (this.priv === Priv.S && (status & MSTATUS.SIE) !== 0n);
    const mPending = mEnabled ? pending & ~mideleg : 0;
    const sPending = sEnabled ? pending & mideleg : 0;
    const take = mPending !== 0 ? mPending : sPending;
    if (take === 0) return -1;
    for (const bit of INTERRUPT_PRIORITY) if (take & (1 << bit)) return bit;
    return -1;
  }

  /** Takes an interrupt at the current pc (a block boundary). */
  takeInterrupt(cause: number): void {
    this.clearReservation();
    this.enterTrap(BigInt(cause), 0n, this.pc, true);
  }

  /** MRET/SRET. Returns false (after raising illegal) when not permitted. */
  xret(fromMachine: boolean, raw: number): boolean {
    let status = this.csr[Slot.mstatus];
    if (fromMachine) {
      if (this.priv !== Priv.M) { this.raise(Cause.IllegalInsn, BigInt(raw >>> 0)); return false; }
      const mpp = Number((status & MSTATUS.MPP) >> 11n) as Priv;
      status = (status & ~(MSTATUS.MIE | MSTATUS.MPP)) | ((status & MSTATUS.MPIE) ? MSTATUS.MIE : 0n) | MSTATUS.MPIE;
      if (mpp !== Priv.M) status &= ~MSTATUS.MPRV;
      this.priv = mpp;
      this.pc = this.csr[Slot.mepc];
    } else {
      if (this.priv < Priv.S || (this.priv === Priv.S && (status & MSTATUS.TSR))) {
        this.raise(Cause.IllegalInsn, BigInt(raw >>> 0));
        return false;
      }
      const spp = (status & MSTATUS.SPP) ? Priv.S : Priv.U;
      status = (status & ~(MSTATUS.SIE | MSTATUS.SPP | MSTATUS.MPRV)) | ((status & MSTATUS.SPIE) ? MSTATUS.SIE : 0n) | MSTATUS.SPIE;
      this.priv = spp;
      this.pc = this.csr[Slot.sepc];
    }
    this.clearReservation();
    this.writeMstatus(status);
    return true;
  }

  /** True when WFI must trap as illegal (U-mode, or S-mode with mstatus.TW). */
  wfiTraps(): boolean {
    if (this.priv === Priv.U) return true;
    return this.priv === Priv.S && (this.csr[Slot.mstatus] & MSTATUS.TW) !== 0n;
  }

  /** True when SFENCE.VMA must trap (U-mode, or S-mode with mstatus.TVM). */
  sfenceTraps(): boolean {
    if (this.priv === Priv.U) return true;
    return this.priv === Priv.S && (this.csr[Slot.mstatus] & MSTATUS.TVM) !== 0n;
  }

  /** Timer deadline (host monotonic ns) stored by the CLINT for this hart; used to sleep in WFI. */
  timerDeadlineNs(): bigint {
    return this.longs[HartLayout.TIMER_DEADLINE >> 3];
  }

  /**
   * Sstc: after a stimecmp write, sets the comparator's line (STIP in the device-driven word) to
   * mtime >= stimecmp, as the CLINT does for mtimecmp and MTIP; `pollHostTimers` raises it later.
   * The line is sampled at safe points like every device line, so recording logs it and replay
   * applies it; virtual time computes it from stimecmp instead (engine/virtual-time.ts).
   */
  updateSupervisorTimer(): void {
    if (!this.features.sstc) return;
    this.setHardwareMip(MIP.STIP, this.clock.mtime() >= BigInt.asUintN(64, this.csr[Slot.stimecmp]));
  }

  /** stimecmp (unsigned) when it drives STIP (Sstc with menvcfg.STCE), else null: for virtual time. */
  supervisorTimerCompare(): bigint | null {
    return stimecmpDrivesStip(this) ? BigInt.asUintN(64, this.csr[Slot.stimecmp]) : null;
  }

  /**
   * Host-clock timers (CLINT mtimecmp, Sstc stimecmp): raises each line whose deadline `now` has
   * passed. Returns ns until the nearest deadline whose line is not up yet (NEVER_NS: none), how
   * long a WFI may sleep.
   */
  pollHostTimers(now: bigint): bigint {
    let next = NEVER_NS;
    const lines = this.hardwareMip();
    const m = this.longs[HartLayout.TIMER_DEADLINE >> 3];
    if (!(lines & MIP.MTIP)) {
      if (now >= m) this.setHardwareMip(MIP.MTIP, true);
      else next = m - now;
    }
    if (this.features.sstc && !(lines & MIP.STIP)) {
      // stimecmp's host deadline from the current mtime epoch, so a guest's mtime write moves it
      const s = this.clock.hostNsAt(BigInt.asUintN(64, this.csr[Slot.stimecmp]));
      if (now >= s) this.setHardwareMip(MIP.STIP, true);
      else if (s - now < next) next = s - now;
    }
    return next;
  }
}

