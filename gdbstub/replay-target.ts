import { ReplayTimeline, isReplayError } from '../replayer/timeline.js';
import { RunEnd } from '../src/engine/serial-engine.js';
import { MachineView } from './machine-view.js';
import { DebugTarget, ResumeAction, StopEvent, WatchKind } from './target.js';

/**
 * GDB's view of a trace: the replay timeline as a reversible target. Every position is a global
 * step of the canonical interleaving; stops report the hart that caused them. Register and
 * memory writes change only the present: moving in time (or a divergence they cause) discards them.
 */
export class ReplayTarget implements DebugTarget {
  readonly reversible = true;
  readonly harts: number;
  readonly csrs;
  private readonly view: MachineView;
  private stop: StopEvent = { kind: 'step', hart: 0 };
  /** The user changed registers or memory since the last move. */
  private edited = false;
  killed = false;

  constructor(readonly timeline: ReplayTimeline) {
    this.harts = timeline.harts.length;
    this.view = new MachineView(timeline.harts, timeline.board.bus);
    this.csrs = this.view.csrs;
  }

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
    this.edited = true;
    return this.view.writeRegister(hart, regnum, value);
  }

  readMemory(hart: number, addr: bigint, length: number): Uint8Array {
    return this.view.readMemory(hart, addr, length);
  }

  writeMemory(hart: number, addr: bigint, data: Uint8Array): boolean {
    this.edited = true;
    return this.view.writeMemory(hart, addr, data);
  }

  insertBreakpoint(addr: bigint): boolean {
    this.timeline.engine.addBreakpoint(addr);
    return true;
  }

  removeBreakpoint(addr: bigint): boolean {
    this.timeline.engine.removeBreakpoint(addr);
    return true;
  }

  insertWatchpoint(access: WatchKind, addr: bigint, length: number): boolean {
    this.timeline.engine.addWatchpoint(access, addr, length);
    return true;
  }

  removeWatchpoint(access: WatchKind, addr: bigint, length: number): boolean {
    this.timeline.engine.removeWatchpoint(access, addr, length);
    return true;
  }

  async resume(actions: ResumeAction[], interrupt: AbortSignal): Promise<StopEvent> {
    // All-stop on one timeline: a hart asked to step steps; everyone else runs as the timeline says.
    const stepping = actions.find((a) => a.action === 'step');
    const stepHart = stepping ? (stepping.hart >= 0 ? stepping.hart : this.currentHart()) : null;
    return this.move(async () => {
      const end = stepHart !== null ? await this.timeline.stepForward(stepHart, interrupt) : await this.timeline.continueForward(interrupt);
      return this.stopFor(end, stepHart ?? this.timeline.current);
    });
  }

  async reverseStep(hart: number, interrupt: AbortSignal): Promise<StopEvent> {
    return this.move(async () => {
      const end = await this.timeline.stepBackward(hart, interrupt);
      if (end === null) return { kind: 'history-begin', hart };
      return this.stopFor(end, hart);
    });
  }

  async reverseContinue(interrupt: AbortSignal): Promise<StopEvent> {
    return this.move(async () => {
      const end = await this.timeline.reverseContinue(interrupt);
      if (end === null) return { kind: 'history-begin', hart: this.timeline.current };
      return this.stopFor(end, this.timeline.current);
    });
  }

  async monitor(command: string, interrupt: AbortSignal): Promise<string> {
    const [verb, ...args] = command.trim().split(/\s+/);
    const tl = this.timeline;
    switch (verb) {
      case 'when':
        return `${this.when()}\n`;
      case 'seek': {
        const target = Number(args[0]);
        if (args.length !== 1 || !Number.isSafeInteger(target) || target < 0) throw new Error(`usage: monitor seek STEP (0..${tl.endStep})`);
        const stop = await this.move(async () => {
          const end = await tl.seek(target, interrupt);
          return this.stopFor(end, tl.current);
        });
        const note = stop.kind === 'error' ? `${stop.message}\n` : '';
        return `${note}${this.when()}\n(GDB still shows the old registers: run 'flushregs' to see the new ones)\n`;
      }
      case 'checkpoint': {
        const made = tl.checkpointHere();
        return `${made ? 'checkpoint saved' : 'a checkpoint already exists'} at step ${tl.step}; ${tl.checkpointCount} checkpoints, ${(tl.checkpointBytes / 1048576).toFixed(1)} MiB\n`;
      }
      case 'checkpoints':
        if (args[0] === 'save') {
          tl.saveCheckpoints();
          return `saved ${tl.checkpointCount} checkpoints into ${tl.tracePath}; the next session starts with them\n`;
        }
        if (args.length > 0) throw new Error('usage: monitor checkpoints [save]');
        return `${tl.checkpointCount} checkpoints (${(tl.checkpointBytes / 1048576).toFixed(1)} MiB) at steps ${tl.checkpointSteps.join(', ')}\n`;
      case 'help':
      case undefined:
        return [
          'hindsight monitor commands:',
          '  monitor when            current global step and every hart\'s instruction count',
          '  monitor seek STEP       go to global step STEP (then: flushregs)',
          '  monitor checkpoint      save a checkpoint at the current step',
          '  monitor checkpoints     list the checkpoints and their memory',
          '  monitor checkpoints save  save them into the trace (the next session seeks fast)',
          '',
        ].join('\n');
      default:
        throw new Error(`unknown monitor command '${verb}' (try 'monitor help')`);
    }
  }

  threadExtraInfo(hart: number): string {
    const done = this.timeline.isFinished(hart) || this.timeline.harts[hart].icount >= this.timeline.finals[hart] ? ', end of its recording' : '';
    return `${this.view.describeHart(hart)}${done}`;
  }

  detach(): void {
    // The timeline stays where it is for the next client.
  }

  kill(): void {
    this.killed = true;
  }

  private when(): string {
    const tl = this.timeline;
    const harts = tl.harts.map((h) => `hart ${h.id}: ${h.icount}`).join(', ');
    return `step ${tl.step} of ${tl.endStep} (${harts})`;
  }

  /** Runs a motion; a replay error (divergence after an edit, damaged trace) goes back to where we were. */
  private async move(motion: () => Promise<StopEvent>): Promise<StopEvent> {
    const from = this.timeline.step;
    const wasEdited = this.edited;
    this.edited = false;
    try {
      this.stop = await motion();
    } catch (err) {
      if (!isReplayError(err)) throw err;
      await this.timeline.seek(from);
      const why = wasEdited ? ' (after registers or memory were changed by the debugger; the changes are discarded)' : '';
      this.stop = { kind: 'error', hart: this.timeline.current, message: `hindsight: the replay left the recording${why}: ${err.message}` };
    }
    return this.stop;
  }

  private stopFor(end: RunEnd, hart: number): StopEvent {
    switch (end.kind) {
      case 'hit':
        return end.hit.kind === 'breakpoint'
          ? { kind: 'breakpoint', hart: end.hit.hart }
          : { kind: 'watch', hart: end.hit.hart, access: end.hit.access, addr: end.hit.addr };
      case 'end':
        return { kind: 'history-end', hart: this.timeline.current };
      case 'interrupted':
        return { kind: 'interrupted', hart: this.timeline.current };
      default:
        return { kind: 'step', hart };
    }
  }
}
