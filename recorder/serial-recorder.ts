import { Hart } from '../src/cpu/hart.js';
import { MachineControl } from '../src/shm/control.js';
import { ByteRing } from '../src/shm/byte-ring.js';
import { insnLimitBudget } from '../src/engine/supervisor.js';
import { VirtualClock, VirtualTimeSupervisor } from '../src/engine/virtual-time.js';
import { stateHash } from '../src/engine/state-hash.js';
import { Clint } from '../src/machine/clint.js';
import { Uart } from '../src/machine/uart.js';
import { EventRing } from './event-ring.js';

/** Console input bytes hart 0 takes in at one safe point. */
export const INPUT_CHUNK = 16;

export interface SerialRecorderOptions {
  ring: EventRing;
  stagedInput: ByteRing;
  checkInterval: number;
  maxInsns: number;
  control: MachineControl;
}

/**
 * Serial recording (`record --sched serial`): all harts run on one thread in the serial scheduler's
 * order over virtual time, so the only nondeterminism left is console input, which hart 0 takes in
 * at a safe point and logs. Register hashes are logged as in parallel mode. Its mirror is
 * replayer/serial-replayer.ts.
 */
export class SerialRecorder extends VirtualTimeSupervisor {
  private nextCheck: number;
  private safePoints = 0;

  constructor(clock: VirtualClock, clint: Clint, private readonly uart: Uart, private readonly opts: SerialRecorderOptions) {
    super(clock, clint);
    this.nextCheck = opts.checkInterval;
  }

  safePoint(h: Hart): void {
    if ((++this.safePoints & 0x3ff) === 0) h.publishIcount(); // for a progress line
    this.countSafePoint(h); // for the trace's end: serial-replayer.ts stops each hart after as many
    this.sampleLines(h);
    const { ring, stagedInput } = this.opts;
    if (h.id === 0 && stagedInput.available() > 0) {
      const bytes: number[] = [];
      while (bytes.length < INPUT_CHUNK && stagedInput.available() > 0) bytes.push(stagedInput.pop());
      const chunk = Uint8Array.from(bytes);
      ring.write({ kind: 'input', icount: h.icount, bytes: chunk });
      this.uart.receive(chunk);
      this.sampleLines(h);
    }
    if (h.icount >= this.nextCheck) {
      ring.write({ kind: 'check', icount: h.icount, hash: stateHash(h) });
      this.nextCheck += this.opts.checkInterval;
    }
  }

  noteHalted(_h: Hart, halted: boolean): void {
    this.opts.control.noteHalted(halted);
  }

  finish(h: Hart): void {
    h.publishSafePoints(this.safePointsAt(h.icount));
  }

  budget(h: Hart): number {
    return insnLimitBudget(h, this.opts.maxInsns, this.opts.control, Math.min(this.nextCheck - h.icount, this.untilTimer(h)));
  }
}
