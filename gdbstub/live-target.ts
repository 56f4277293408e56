import { ConsoleIo, RunOptions } from '../src/host/coordinator.js';
import { consoleInRing } from '../src/shm/byte-ring.js';
import { buildMachine, powerOn } from '../src/engine/machine-factory.js';
import { scheduleHart } from '../src/engine/schedule-hart.js';
import { StopReason } from '../src/shm/layout.js';
import { LiveSerialSupervisor } from '../src/engine/live-supervisor.js';
import { SerialEngine } from '../src/engine/serial-engine.js';
import { RoundRobin, SERIAL_QUANTUM } from '../src/engine/serial-scheduler.js';
import { DEFAULT_TIER } from '../src/jit/tier.js';
import { Board } from '../src/machine/board.js';
import { MachineTarget } from './machine-target.js';
import { ResumeAction, StopEvent } from './target.js';

/** Longest wait while every hart idles, so console input and Ctrl-C are seen promptly. */
const IDLE_WAIT_MS = 5;

/**
 * `hindsight run --gdb`: a live machine under GDB, forward only. All harts run on one thread in
 * the serial engine, so an all-stop is exact (every hart stops between two instructions). The
 * guest clock is the host's and keeps running while GDB holds the machine, as on hardware
 * stopped by a JTAG debugger. Registers, memory, break/watchpoints and stop reasons come from
 * MachineTarget; this class adds only forward motion, console input and its monitor commands.
 */
export class LiveTarget extends MachineTarget {
  private readonly board: Board;
  private pendingInput: number[] = [];
  private unsubscribe: () => void = () => {};

  constructor(opts: RunOptions, private readonly io: ConsoleIo) {
    const machine = buildMachine(opts);
    const board = machine.board;
    powerOn(board);
    board.consoleSink = (byte) => io.write(Uint8Array.of(byte));
    const slots = board.harts.map((hart) => scheduleHart(hart, new LiveSerialSupervisor(board, opts.maxInsns), opts.tier ?? DEFAULT_TIER, machine.memory));
    super(board.harts, board.bus, new SerialEngine(board, slots, { policy: new RoundRobin(SERIAL_QUANTUM), stalled: () => 'wait' }));
    this.board = board;
  }

  /** Starts taking console input from the host (call once the server listens). */
  start(): void {
    this.unsubscribe = this.io.onInput?.((bytes) => { for (const b of bytes) this.pendingInput.push(b); }, () => this.board.control.requestStop(StopReason.Interrupted, 0)) ?? (() => {});
  }

  close(): void {
    this.unsubscribe();
  }

  get exitCode(): number {
    return this.board.control.exitCode;
  }

  async resume(actions: ResumeAction[], interrupt: AbortSignal): Promise<StopEvent> {
    if (this.stop.kind === 'exited') return this.stop;
    const stepHart = this.steppingHart(actions);
    const e = this.engine;
    const end = await e.run({
      target: Number.POSITIVE_INFINITY,
      stepHart: stepHart !== null ? { hart: stepHart, icount: e.harts[stepHart].icount + 1 } : undefined,
      detect: true,
      ignoreBreakpointsAt: e.step,
      onHit: () => true,
      exactWatch: true,
    }, interrupt, {
      between: () => this.feedInput(),
      whenStalled: () => new Promise((resolve) => setTimeout(resolve, IDLE_WAIT_MS)),
    });
    this.stop = this.stopFor(end, stepHart ?? e.current);
    return this.stop;
  }

  async monitor(command: string): Promise<string> {
    const verb = command.trim().split(/\s+/)[0];
    if (verb === 'when') return `live machine: ${this.engine.harts.map((h) => `hart ${h.id}: ${h.icount}`).join(', ')}\n`;
    if (verb === 'help' || verb === '') return 'hindsight monitor commands (live machine):\n  monitor when            every hart\'s instruction count\n(time travel needs a trace: hindsight record, then hindsight debug)\n';
    throw new Error(`unknown monitor command '${verb}' (try 'monitor help')`);
  }

  /** Called when a client leaves after the guest has exited: nothing is left to debug. */
  onDone: () => void = () => {};

  override detach(): void {
    // The machine stays stopped where it is until the next client resumes it.
    if (this.stop.kind === 'exited') this.onDone();
  }

  protected endStop(): StopEvent {
    return { kind: 'exited', code: this.board.control.exitCode };
  }

  private feedInput(): void {
    const ring = consoleInRing(this.board.memory);
    let pushed = 0;
    while (pushed < this.pendingInput.length && ring.push(this.pendingInput[pushed])) pushed++;
    if (pushed > 0) this.pendingInput = this.pendingInput.slice(pushed);
    if (ring.available() > 0) this.board.uart.pollInput();
  }
}
