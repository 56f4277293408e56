import { Hart } from '../cpu/hart.js';
import { MachineControl } from '../shm/control.js';
import { StopReason } from '../shm/layout.js';

/**
 * What makes run, record and replay differ, seen from a hart's execution loop. The loop calls
 * `safePoint()` at every block boundary (the only place where asynchronous influences are
 * applied), runs at most `budget()` instructions, and asks the supervisor what to do when an
 * instruction could not get an ownership right (record) or when WFI wants to sleep.
 */
export interface HartSupervisor {
  /** Applies what is due at the current icount: interrupt lines, releases, input, checks. */
  safePoint(hart: Hart): void;
  /** The most instructions the next block may retire, so the next safe point lands exactly. 0 = done. */
  budget(hart: Hart): number;
  /** Guest-visible clock reads (time CSR, CLINT mtime) go through here. */
  readTime(hart: Hart): bigint;
  /** Whether the loop polls the host clock for timer interrupts and sleeps in WFI (not in replay). */
  readonly realTime: boolean;
  /**
   * Parallel record and replay: no safe point between an exception and the next retired
   * instruction. Their events are placed by icount alone, and an exception retires nothing, so a
   * safe point right after it would share its icount with the one before the trapping instruction:
   * replay would apply there, before the trap, what the recording saw after it (an ecall that the
   * recording took before a timer interrupt, replayed after it).
   */
  readonly noSafePointAfterException?: boolean;
  /**
   * With `noSafePointAfterException`: the one kind of stop a hart still makes there, after each
   * exception (and after its trap handler's first instruction could not get a right). Recording
   * answers other harts' requests there (two waiting harts would deadlock otherwise) but observes
   * no interrupt lines and takes no interrupt; what it logs there follows a `trap` event
   * (Hart.trapsHere), and replay applies it here, after the same exceptions.
   */
  safePointAfterException?(hart: Hart): void;
  /**
   * Halt detection (HartRunner, HALT_LOOPS): the hart entered (`halted`) or left a halt loop; the
   * machine stops once every hart is in one (MachineControl.noteHalted). Run and record only.
   */
  noteHalted?(hart: Hart, halted: boolean): void;
  /** Called when the last instruction was abandoned for want of an ownership right (record only). */
  waitForOwnership?(hart: Hart): void;
  /** --chaos made the hart yield (its last instruction was abandoned): give away what others asked for, tenure or not (record only). */
  answerRequestsNow?(hart: Hart): void;
  /**
   * Serial scheduling: true when the hart cannot go on until another hart makes progress (replay:
   * an acquire whose releases have not happened yet). The scheduler then runs someone else.
   */
  blocked?(): boolean;
  /** Serial scheduling: the hart executed WFI and nothing can wake it yet, so the scheduler may move on. */
  idle?(hart: Hart): boolean;
  /**
   * Serial scheduling over virtual time: the virtual time at which this hart's timer fires (null:
   * none armed). When every hart idles, the scheduler moves the clock to the earliest deadline.
   */
  virtualTimerDeadline?(hart: Hart): bigint | null;
  /**
   * Serial replay: the hart has passed every safe point the recording passed, so it stops before
   * the next one, exactly where the recording stopped it (before any interrupt that is pending).
   */
  ended?(hart: Hart): boolean;
  /** Called after the hart leaves its loop. */
  finish?(hart: Hart): void;
}

/** Largest budget handed out at once (keeps icount arithmetic in small-integer range). */
const MAX_BUDGET = 1e9;

/**
 * The `--max-insns` limit, the same for every supervisor: instructions this hart may still run
 * (capped by `also`), or 0 after asking the machine to stop once the limit is reached.
 */
export function insnLimitBudget(h: Hart, maxInsns: number, control: MachineControl, also = Number.POSITIVE_INFINITY): number {
  const remaining = maxInsns - h.icount;
  if (remaining <= 0) {
    control.requestStop(StopReason.InsnLimit, 0);
    return 0;
  }
  return Math.min(remaining, also, MAX_BUDGET);
}
