/**
 * A DebugTarget for the GDB stub tests: N harts with registers, a small RAM at MEM_BASE (hart h
 * starts at CODE_BASE + h * 0x100), recorded
 * breakpoints/watchpoints and a resume that "runs" by advancing pc by 4 per step until a breakpoint
 * address is reached or `maxSteps` steps have passed. No emulator involved.
 */
import { DebugTarget, FIRST_CSR_REGNUM, REG_PC, REG_PRIV, ResumeAction, ReverseExecution, StopEvent, WatchKind } from '../../gdbstub/target.js';

export const MEM_BASE = 0x8000_0000n;
export const MEM_SIZE = 0x1000;
/** RAM below CODE_BASE holds the byte pattern i & 0xff; from CODE_BASE on, 4-byte nops. */
const CODE_OFFSET = 0x800;
export const CODE_BASE = MEM_BASE + BigInt(CODE_OFFSET);
const NOP = Uint8Array.of(0x13, 0, 0, 0);
export const CSRS = [
  { num: 0x300, name: 'mstatus' },
  { num: 0x341, name: 'mepc' },
  { num: 0xc00, name: 'cycle' }, // reads as unavailable
];
const CSR_UNAVAILABLE = 0xc00;

export interface FakeTargetOptions {
  harts?: number;
  /** Gives the target the reverse-execution capability (like a trace). */
  reversible?: boolean;
  /** Steps a continue runs before stopping on its own (reported as history-end / exited). */
  maxSteps?: number;
}

export class FakeTarget implements DebugTarget {
  readonly harts: number;
  readonly reverse?: ReverseExecution;
  readonly csrs = CSRS;
  readonly memory = new Uint8Array(MEM_SIZE);
  /** Per hart: x0..x31, pc, then CSRs by number and priv. */
  readonly regs: Array<Map<number, bigint>> = [];
  readonly breakpoints = new Map<bigint, number>();
  readonly watchpoints: Array<{ access: WatchKind; addr: bigint; length: number }> = [];
  readonly resumes: ResumeAction[][] = [];
  readonly monitorCommands: string[] = [];
  detachCount = 0;
  killCount = 0;
  /** When set, resume/reverse calls run until aborted and then report `interrupted`. */
  hangUntilAborted = false;
  /** Resolves whenever a resume starts (tests wait for it before sending 0x03 or vanishing). */
  onResume: (() => void) | null = null;
  /** When set, the next resume stops with this event instead of running. */
  nextStop: StopEvent | null = null;
  /** When set, the next target call throws this message (exercises the stub's error path). */
  throwNext: string | null = null;
  private readonly maxSteps: number;
  private current = 0;
  private last: StopEvent = { kind: 'interrupted', hart: 0 };

  constructor(opts: FakeTargetOptions = {}) {
    this.harts = opts.harts ?? 2;
    if (opts.reversible) this.reverse = { step: (hart, interrupt) => this.reverseStep(hart, interrupt), cont: (interrupt) => this.reverseContinue(interrupt) };
    this.maxSteps = opts.maxSteps ?? 100;
    for (let hart = 0; hart < this.harts; hart++) {
      const regs = new Map<number, bigint>();
      for (let x = 1; x < 32; x++) regs.set(x, BigInt(hart * 0x100 + x));
      regs.set(REG_PC, CODE_BASE + BigInt(hart * 0x100));
      regs.set(FIRST_CSR_REGNUM + 0x300, 0xa00000000n);
      regs.set(FIRST_CSR_REGNUM + 0x341, 0x1234n);
      regs.set(REG_PRIV, 3n);
      this.regs.push(regs);
    }
    for (let i = 0; i < CODE_OFFSET; i++) this.memory[i] = i & 0xff;
    for (let i = CODE_OFFSET; i < MEM_SIZE; i += 4) this.memory.set(NOP, i);
  }

  private maybeThrow(): void {
    const message = this.throwNext;
    if (message !== null) {
      this.throwNext = null;
      throw new Error(message);
    }
  }

  pc(hart: number): bigint {
    return this.regs[hart]!.get(REG_PC)!;
  }

  currentHart(): number {
    return this.current;
  }

  lastStop(): StopEvent {
    return this.last;
  }

  readRegister(hart: number, regnum: number): bigint | null {
    this.maybeThrow();
    if (regnum === 0) return 0n;
    if (regnum === FIRST_CSR_REGNUM + CSR_UNAVAILABLE) return null;
    return this.regs[hart]!.get(regnum) ?? null;
  }

  writeRegister(hart: number, regnum: number, value: bigint): boolean {
    if (regnum === 0) return true;
    if (!this.regs[hart]!.has(regnum)) return false;
    this.regs[hart]!.set(regnum, value);
    return true;
  }

  private offset(addr: bigint): number | null {
    return addr >= MEM_BASE && addr < MEM_BASE + BigInt(MEM_SIZE) ? Number(addr - MEM_BASE) : null;
  }

  readMemory(_hart: number, addr: bigint, length: number): Uint8Array {
    this.maybeThrow();
    const offset = this.offset(addr);
    return offset === null ? new Uint8Array(0) : this.memory.slice(offset, Math.min(MEM_SIZE, offset + length));
  }

  writeMemory(_hart: number, addr: bigint, data: Uint8Array): boolean {
    const offset = this.offset(addr);
    if (offset === null || offset + data.length > MEM_SIZE) return false;
    this.memory.set(data, offset);
    return true;
  }

  insertBreakpoint(addr: bigint, kind: number): boolean {
    this.breakpoints.set(addr, kind);
    return true;
  }

  removeBreakpoint(addr: bigint): boolean {
    this.breakpoints.delete(addr);
    return true;
  }

  insertWatchpoint(access: WatchKind, addr: bigint, length: number): true | string {
    this.watchpoints.push({ access, addr, length });
    return true;
  }

  removeWatchpoint(access: WatchKind, addr: bigint, length: number): boolean {
    const i = this.watchpoints.findIndex((w) => w.access === access && w.addr === addr && w.length === length);
    if (i >= 0) this.watchpoints.splice(i, 1);
    return i >= 0;
  }

  private stop(event: StopEvent): StopEvent {
    if (event.kind !== 'exited') this.current = event.hart;
    this.last = event;
    return event;
  }

  private waitForAbort(interrupt: AbortSignal): Promise<StopEvent> {
    this.onResume?.();
    return new Promise((resolve) => {
      const done = () => resolve(this.stop({ kind: 'interrupted', hart: this.current }));
      if (interrupt.aborted) done();
      else interrupt.addEventListener('abort', done, { once: true });
    });
  }

  async resume(actions: ResumeAction[], interrupt: AbortSignal): Promise<StopEvent> {
    this.maybeThrow();
    this.resumes.push(actions);
    if (this.hangUntilAborted) return this.waitForAbort(interrupt);
    if (this.nextStop !== null) {
      const event = this.nextStop;
      this.nextStop = null;
      return this.stop(event);
    }
    const action = (hart: number) => actions.find((a) => a.hart === hart || a.hart === -1)?.action;
    const running = Array.from({ length: this.harts }, (_, hart) => hart).filter((hart) => action(hart) !== undefined);
    const advance = (hart: number) => this.regs[hart]!.set(REG_PC, this.pc(hart) + 4n);
    const stepper = running.find((hart) => action(hart) === 'step');
    if (stepper !== undefined) {
      for (const hart of running) advance(hart);
      return this.stop({ kind: 'step', hart: stepper });
    }
    for (let step = 0; step < this.maxSteps; step++) {
      for (const hart of running) {
        advance(hart);
        const watch = this.watchpoints[0];
        if (watch !== undefined) {
          // The hart "executed" an access to the watched address; a write changes the value.
          const offset = this.offset(watch.addr);
          if (watch.access !== 'read' && offset !== null) this.memory[offset]!++;
          return this.stop({ kind: 'watch', hart, access: watch.access, addr: watch.addr });
        }
        if (this.breakpoints.has(this.pc(hart))) return this.stop({ kind: 'breakpoint', hart });
      }
    }
    return this.stop(this.reverse ? { kind: 'history-end', hart: this.current } : { kind: 'exited', code: 0 });
  }

  private async reverseStep(hart: number, interrupt: AbortSignal): Promise<StopEvent> {
    if (this.hangUntilAborted) return this.waitForAbort(interrupt);
    const pc = this.pc(hart);
    if (pc - 4n < CODE_BASE) return this.stop({ kind: 'history-begin', hart });
    this.regs[hart]!.set(REG_PC, pc - 4n);
    return this.stop({ kind: 'step', hart });
  }

  private async reverseContinue(interrupt: AbortSignal): Promise<StopEvent> {
    if (this.hangUntilAborted) return this.waitForAbort(interrupt);
    this.regs[this.current]!.set(REG_PC, CODE_BASE);
    return this.stop({ kind: 'history-begin', hart: this.current });
  }

  async monitor(command: string, interrupt: AbortSignal): Promise<string> {
    this.monitorCommands.push(command);
    if (command === 'hello') return 'hello from the fake target\n';
    if (command === 'wait') {
      await new Promise((resolve) => interrupt.addEventListener('abort', resolve, { once: true }));
      return 'interrupted\n';
    }
    if (command === 'big') return 'x'.repeat(50_000);
    throw new Error(`unknown monitor command "${command}"`);
  }

  threadExtraInfo(hart: number): string {
    return `hart ${hart} M-mode`;
  }

  detach(): void {
    this.detachCount++;
  }

  kill(): void {
    this.killCount++;
  }

  /** Makes `event` the current stop (as if the machine had stopped there). */
  setStop(event: StopEvent): void {
    this.stop(event);
  }
}
