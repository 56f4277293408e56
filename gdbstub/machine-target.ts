import { Hart } from '../src/cpu/hart.js';
import { RunEnd, SerialEngine } from '../src/engine/serial-engine.js';
import { Bus } from '../src/machine/bus.js';
import { MachineView } from './machine-view.js';
import { DebugTarget, ResumeAction, StopEvent, WatchKind } from './target.js';

/**
 * What every debug target over an emulated machine shares: threads (harts), registers and memory
 * through MachineView, breakpoints and watchpoints in the serial engine, the last stop, and the
 * translation of the engine's run results into stop events. The live and replay targets add only
 * how the machine moves (resume; reverse execution for traces) and their monitor commands.
 */
export abstract class MachineTarget implements DebugTarget {
  readonly harts: number;
  readonly csrs;
  readonly fpu: boolean;
  /** Set by `k` / `vKill`. */
  killed = false;
  protected readonly view: MachineView;
  protected stop: StopEvent = { kind: 'step', hart: 0 };

  constructor(harts: Hart[], bus: Bus, protected readonly engine: SerialEngine) {
    this.harts = harts.length;
    this.view = new MachineView(harts, bus);
    this.csrs = this.view.csrs;
    this.fpu = this.view.fpu;
  }

  abstract resume(actions: ResumeAction[], interrupt: AbortSignal): Promise<StopEvent>;
  abstract monitor(command: string, interrupt: AbortSignal): Promise<string>;
  /** The stop to report when a run reached the end: the guest exited (live) or the recording ended (replay). */
  protected abstract endStop(): StopEvent;

  currentHart(): number {
    return 'hart' in this.stop ? this.stop.hart : 0;
  }

  lastStop(): StopEvent {
    return this.stop;
  }

  readRegister(hart: number, regnum: number): bigint | null {
    return this.view.readRegister(hart, regnum);
  }

  writeRegister(hart: number, regnum: number, value: bigint): boolean {
    return this.view.writeRegister(hart, regnum, value);
  }

  readMemory(hart: number, addr: bigint, length: number): Uint8Array {
    return this.view.readMemory(hart, addr, length);
  }

  writeMemory(hart: number, addr: bigint, data: Uint8Array): boolean {
    return this.view.writeMemory(hart, addr, data);
  }

  insertBreakpoint(addr: bigint, _kind: number, hart = 0): boolean {
    this.engine.addBreakpoint(addr, hart);
    return true;
  }

  removeBreakpoint(addr: bigint): boolean {
    this.engine.removeBreakpoint(addr);
    return true;
  }

  insertWatchpoint(access: WatchKind, addr: bigint, length: number, hart: number): true | string {
    return this.engine.addWatchpoint(access, addr, length, hart) ?? true;
  }

  removeWatchpoint(access: WatchKind, addr: bigint, length: number): boolean {
    this.engine.removeWatchpoint(access, addr, length);
    return true;
  }

  threadExtraInfo(hart: number): string {
    return this.view.describeHart(hart);
  }

  detach(): void {
    // The machine stays stopped where it is until the next client moves it.
  }

  kill(): void {
    this.killed = true;
  }

  /** All-stop on one engine: the hart asked to step (null: none), every other hart runs as scheduled. */
  protected steppingHart(actions: ResumeAction[]): number | null {
    const stepping = actions.find((a) => a.action === 'step');
    if (!stepping) return null;
    return stepping.hart >= 0 ? stepping.hart : this.currentHart();
  }

  /** The stop event for how a run ended; `hart` is the one a completed step is reported for. A hit's hart becomes current. */
  protected stopFor(end: RunEnd, hart: number): StopEvent {
    switch (end.kind) {
      case 'hit': {
        const h = end.hit;
        this.engine.current = h.hart;
        return h.kind === 'breakpoint' ? { kind: 'breakpoint', hart: h.hart } : { kind: 'watch', hart: h.hart, access: h.access, addr: h.addr };
      }
      case 'end':
        return this.endStop();
      case 'interrupted':
        return { kind: 'interrupted', hart: this.engine.current };
      default:
        return { kind: 'step', hart };
    }
  }
}
