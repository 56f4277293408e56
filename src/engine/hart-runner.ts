import { Hart } from '../cpu/hart.js';
import { MIP } from '../cpu/csr-numbers.js';
import { BlockExit, Executor } from '../exec/executor.js';
import { Clock } from './clock.js';
import { MachineControl } from './control.js';
import { StopReason } from './layout.js';

/** How many blocks run between two looks at the host clock for the timer interrupt. */
const TIMER_POLL_BLOCKS = 64;
/** Longest single sleep in WFI; bounded so a missed wake-up costs at most this much. */
const MAX_SLEEP_MS = 50;

export interface RunLimits {
  /** Stop the machine after this many instructions on this hart (--max-insns), or Infinity. */
  maxInsns: number;
}

/**
 * Drives one hart: takes interrupts at block boundaries, runs blocks, polls its timer, sleeps in
 * WFI until an interrupt can be pending, and leaves when the machine stops.
 */
export class HartRunner {
  readonly executor: Executor;

  constructor(private readonly hart: Hart, private readonly control: MachineControl, private readonly limits: RunLimits) {
    this.executor = new Executor(hart, hart.bus);
  }

  run(): void {
    const h = this.hart;
    const exec = this.executor;
    let blocks = 0;
    while (!h.exitRequested) {
      const irq = h.pendingInterrupt();
      if (irq >= 0) h.takeInterrupt(irq);
      const remaining = this.limits.maxInsns - h.icount;
      if (remaining <= 0) {
        this.control.requestStop(StopReason.InsnLimit, 0);
        break;
      }
      exec.runBlock(remaining < 1e9 ? remaining : 1e9);
      if (++blocks % TIMER_POLL_BLOCKS === 0) this.pollTimer();
      if (exec.lastExit === BlockExit.Wfi) this.waitForInterrupt();
    }
    h.syncOut();
  }

  /** Raises MTIP once the host clock passes this hart's mtimecmp deadline. */
  private pollTimer(): bigint {
    const now = Clock.nowNs();
    const deadline = this.hart.timerDeadlineNs();
    if (now >= deadline && !(this.hart.hardwareMip() & MIP.MTIP)) this.hart.setHardwareMip(MIP.MTIP, true);
    return deadline - now;
  }

  /** WFI: sleep until an enabled interrupt is pending (regardless of global enables), or exit. */
  private waitForInterrupt(): void {
    const h = this.hart;
    for (;;) {
      const seen = h.wakeWord();
      const untilTimer = this.pollTimer();
      if ((h.mip() & h.mie()) !== 0 || h.exitRequested) return;
      const ms = untilTimer > 0n ? Math.min(MAX_SLEEP_MS, Number(untilTimer / 1_000_000n) + 1) : 0;
      h.sleep(seen, ms);
    }
  }
}
