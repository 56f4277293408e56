import { CTRL_BASE, Ctrl, HartBlock, MAX_HARTS, StopReason, hartBase } from './layout.js';
import { wakeCoordinator } from './byte-ring.js';
import { HartLines } from '../machine/device.js';
import { Clock } from './clock.js';

/**
 * The machine-wide control words (run state, exit code, stop reason) and the per-hart wake-up
 * words, as one object any thread can build over the shared memory.
 */
export class MachineControl implements HartLines {
  private readonly ctrl: Int32Array;
  private readonly ctrl64: BigInt64Array;
  private readonly words: Int32Array;

  constructor(memory: SharedArrayBuffer, readonly numHarts: number) {
    if (numHarts < 1 || numHarts > MAX_HARTS) throw new RangeError(`harts must be 1..${MAX_HARTS}`);
    this.ctrl = new Int32Array(memory, CTRL_BASE, 64);
    this.ctrl64 = new BigInt64Array(memory, CTRL_BASE, 32);
    this.words = new Int32Array(memory);
  }

  init(): void {
    Atomics.store(this.ctrl, Ctrl.RunState, 0);
    Atomics.store(this.ctrl, Ctrl.ExitCode, 0);
    Atomics.store(this.ctrl, Ctrl.StopReason, StopReason.None);
    Atomics.store(this.ctrl, Ctrl.NumHarts, this.numHarts);
    Atomics.store(this.ctrl, Ctrl.HaltedHarts, 0);
    Atomics.store(this.ctrl64, Ctrl.StartedNs64, 0n);
  }

  /**
   * A hart entered (`halted`) or left the halt loop HartRunner detects. When every hart is in it
   * the guest can never continue (only an interrupt could move a hart, and none is enabled), so
   * the machine stops with StopReason.Halted and exit code 1.
   */
  noteHalted(halted: boolean): void {
    if (!halted) { Atomics.sub(this.ctrl, Ctrl.HaltedHarts, 1); return; }
    if (Atomics.add(this.ctrl, Ctrl.HaltedHarts, 1) + 1 === this.numHarts) this.requestStop(StopReason.Halted, 1);
  }

  /**
   * Hart workers that have reported 'closed' wait before their threads wind down, until
   * releaseWorkers or for at most `maxMs` (lingerWhileHeld). A worker's teardown (its isolate's
   * heap, its modules) took a core from the main thread right when it hashes the final RAM and
   * writes the trace: a bench_parallel recording's final hash took 6-12 ms instead of ~3.5, its
   * trace's summary and close 4-15 ms instead of ~5.
   */
  holdWorkers(): void {
    Atomics.store(this.ctrl, Ctrl.HoldWorkers, 1);
  }

  releaseWorkers(): void {
    Atomics.store(this.ctrl, Ctrl.HoldWorkers, 0);
    Atomics.notify(this.ctrl, Ctrl.HoldWorkers);
  }

  /** A hart worker done with its machine: waits while the command holds the workers (holdWorkers). */
  lingerWhileHeld(maxMs: number): void {
    Atomics.wait(this.ctrl, Ctrl.HoldWorkers, 1, maxMs);
  }

  /** Host monotonic time (ns) at which the harts started (arriveAtStart); null while they have not. */
  startedNs(): bigint | null {
    const ns = Atomics.load(this.ctrl64, Ctrl.StartedNs64);
    return ns === 0n ? null : ns;
  }

  /** Before starting `count` hart workers: each must arrive at the start line before any hart runs. */
  expectWorkers(count: number): void {
    Atomics.store(this.ctrl, Ctrl.StartingWorkers, count);
  }

  /**
   * A hart worker whose harts are ready to run: waits until every worker of the machine is (or the
   * machine is stopping, say because one of them failed while loading).
   */
  arriveAtStart(): void {
    if (Atomics.sub(this.ctrl, Ctrl.StartingWorkers, 1) === 1) {
      Atomics.store(this.ctrl64, Ctrl.StartedNs64, Clock.nowNs()); // the machine's clock: the same in every thread
      Atomics.notify(this.ctrl, Ctrl.StartingWorkers);
      return;
    }
    for (;;) {
      const left = Atomics.load(this.ctrl, Ctrl.StartingWorkers);
      if (left <= 0 || Atomics.load(this.ctrl, Ctrl.RunState) !== 0) return;
      Atomics.wait(this.ctrl, Ctrl.StartingWorkers, left, 50);
    }
  }

  private hartWord(hart: number, byteOffset: number): number {
    return (hartBase(hart) + byteOffset) >> 2;
  }

  setPending(hart: number, mask: number, level: boolean): void {
    const idx = this.hartWord(hart, HartBlock.MIP);
    if (level) {
      const before = Atomics.or(this.words, idx, mask);
      if ((before & mask) !== mask) this.kick(hart);
    } else {
      Atomics.and(this.words, idx, ~mask);
    }
  }

  kick(hart: number): void {
    this.bump(hart);
    // One hop only: with hart migration a moved thread anchor's WAKE_ALSO may point back here.
    const also = Atomics.load(this.words, this.hartWord(hart, HartBlock.WAKE_ALSO));
    if (also !== 0 && also - 1 !== hart) this.bump(also - 1);
  }

  private bump(hart: number): void {
    const idx = this.hartWord(hart, HartBlock.WAKE);
    Atomics.add(this.words, idx, 1);
    Atomics.notify(this.words, idx);
  }

  /** Harts sharing one host thread: a kick of `hart` also wakes `leader`, the hart the thread sleeps on. */
  shareWakeUps(hart: number, leader: number): void {
    Atomics.store(this.words, this.hartWord(hart, HartBlock.WAKE_ALSO), leader + 1);
  }

  get stopping(): boolean {
    return Atomics.load(this.ctrl, Ctrl.RunState) !== 0;
  }

  get stopReason(): StopReason {
    return Atomics.load(this.ctrl, Ctrl.StopReason);
  }

  get exitCode(): number {
    return Atomics.load(this.ctrl, Ctrl.ExitCode);
  }

  /** First caller wins: records why and with which code the machine stops, and asks every hart to leave. */
  requestStop(reason: StopReason, exitCode: number): void {
    if (Atomics.compareExchange(this.ctrl, Ctrl.RunState, 0, 1) === 0) {
      Atomics.store(this.ctrl, Ctrl.StopReason, reason);
      Atomics.store(this.ctrl, Ctrl.ExitCode, exitCode);
    }
    for (let h = 0; h < this.numHarts; h++) {
      Atomics.store(this.words, this.hartWord(h, HartBlock.EXIT_REQ), 1);
      this.kick(h);
    }
    this.ringDoorbell();
  }

  /**
   * Remembers why and with which code the guest ended without stopping any hart: on replay every
   * hart runs to the position the recording stopped it at, whatever the guest asked for.
   */
  noteGuestExit(reason: StopReason, exitCode: number): void {
    if (Atomics.compareExchange(this.ctrl, Ctrl.StopReason, StopReason.None, reason) === StopReason.None) {
      Atomics.store(this.ctrl, Ctrl.ExitCode, exitCode);
    }
    this.ringDoorbell();
  }

  /** Wakes the coordinator (it waits on ConsoleSeq for console output and stop requests alike). */
  ringDoorbell(): void {
    wakeCoordinator(this.ctrl);
  }

  doorbellIndex(): { array: Int32Array; index: number } {
    return { array: this.ctrl, index: Ctrl.ConsoleSeq };
  }
}
