import { Hart } from '../cpu/hart.js';
import { Board } from '../machine/board.js';
import { Clock } from '../shm/clock.js';
import { HartSupervisor, insnLimitBudget } from './supervisor.js';

/**
 * A live machine debugged from GDB (`hindsight run --gdb`): every hart on one thread (the serial
 * engine), on the host clock. Unlike RunSupervisor it never sleeps in WFI itself: an idle hart
 * gives its turn away, and the engine waits only when every hart is idle.
 */
export class LiveSerialSupervisor implements HartSupervisor {
  readonly realTime = false;

  constructor(private readonly board: Board, private readonly maxInsns: number) {}

  safePoint(h: Hart): void {
    h.pollHostTimers(Clock.nowNs());
    h.observeLines(h.hardwareMip());
  }

  budget(h: Hart): number {
    return insnLimitBudget(h, this.maxInsns, this.board.control);
  }

  readTime(): bigint {
    return this.board.clock.mtime();
  }

  idle(h: Hart): boolean {
    this.safePoint(h);
    return (h.mip() & h.mie()) === 0;
  }
}
