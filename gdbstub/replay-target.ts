import { ReplayTimeline, isReplayError } from '../replayer/timeline.js';
import { MachineTarget } from './machine-target.js';
import { TIMEBASE_HZ } from '../src/machine/memmap.js';
import { ResumeAction, ReverseExecution, StopEvent } from './target.js';

/**
 * GDB's view of a trace: the replay timeline as a reversible target. Every position is a global
 * step of the canonical interleaving; stops report the hart that caused them. Register and
 * memory writes change only the present: moving in time (or a divergence they cause) discards them.
 * MachineTarget supplies registers, memory, break/watchpoints and stop reasons; this class adds
 * the timeline's motions (forward, and `reverse`) and its monitor commands.
 */
export class ReplayTarget extends MachineTarget {
  /** The user changed registers or memory since the last move. */
  private edited = false;

  readonly reverse: ReverseExecution = {
    step: (hart, interrupt) => this.move(async () => {
      const end = await this.timeline.stepBackward(hart, interrupt);
      if (end === null) return { kind: 'history-begin', hart };
      return this.stopFor(end, hart);
    }),
    cont: (interrupt) => this.move(async () => {
      const end = await this.timeline.reverseContinue(interrupt);
      if (end === null) return { kind: 'history-begin', hart: this.timeline.current };
      return this.stopFor(end, this.timeline.current);
    }),
  };

  constructor(readonly timeline: ReplayTimeline) {
    super(timeline.harts, timeline.board.bus, timeline.engine);
  }

  override writeRegister(hart: number, regnum: number, value: bigint): boolean {
    this.edited = true;
    return super.writeRegister(hart, regnum, value);
  }

  override writeMemory(hart: number, addr: bigint, data: Uint8Array): boolean {
    this.edited = true;
    return super.writeMemory(hart, addr, data);
  }

  async resume(actions: ResumeAction[], interrupt: AbortSignal): Promise<StopEvent> {
    // All-stop on one timeline: a hart asked to step steps; everyone else runs as the timeline says.
    const stepHart = this.steppingHart(actions);
    return this.move(async () => {
      const end = stepHart !== null ? await this.timeline.stepForward(stepHart, interrupt) : await this.timeline.continueForward(interrupt);
      return this.stopFor(end, stepHart ?? this.timeline.current);
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

  override threadExtraInfo(hart: number): string {
    const done = this.timeline.isFinished(hart) || this.timeline.harts[hart].icount >= this.timeline.finals[hart] ? ', end of its recording' : '';
    return `${super.threadExtraInfo(hart)}${done}`;
  }

  protected endStop(): StopEvent {
    return { kind: 'history-end', hart: this.timeline.current };
  }

  private when(): string {
    const tl = this.timeline;
    const harts = tl.harts.map((h) => `hart ${h.id}: ${h.icount}`).join(', ');
    const ticks = tl.guestTicks();
    const clock = ticks === null ? 'guest clock not read yet' : `guest clock ${ticks} ticks (${(Number(ticks) / TIMEBASE_HZ).toFixed(7)} s)`;
    return `step ${tl.step} of ${tl.endStep} (${harts}); ${clock}`;
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
}
