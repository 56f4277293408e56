/**
 * What the GDB remote stub needs from the thing it debugs: a live machine (forward only) or a
 * replay timeline (forward and backward). The stub's protocol layer (gdbstub/session.ts) speaks only
 * to this interface. Optional abilities are optional capability objects (the Rust gdbstub crate's
 * opt-in traits): `reverse` is there or not, and qSupported is derived from that (capabilities.ts).
 *
 * Threads are harts: GDB thread id = hart index + 1 (the protocol layer converts). Everything here
 * uses hart indices (0-based). All-stop: every call is made while the whole machine is stopped,
 * except `resume`/`reverse*`, which run it and resolve when it has stopped again.
 */

/** Why the machine stopped; `hart` is the hart the stop is reported for (it becomes the current thread). */
export type StopEvent =
  /** A single step of `hart` completed. */
  | { kind: 'step'; hart: number }
  /** `hart` is about to execute an instruction at a breakpoint address. */
  | { kind: 'breakpoint'; hart: number }
  /** `hart` has just executed an instruction that accessed a watched range (post-access state). */
  | { kind: 'watch'; hart: number; access: WatchKind; addr: bigint }
  /** Stopped on request (Ctrl-C / 0x03). */
  | { kind: 'interrupted'; hart: number }
  /** Replay only: going backwards reached the start of the recording. */
  | { kind: 'history-begin'; hart: number }
  /** Replay only: going forwards reached the end of the recording. */
  | { kind: 'history-end'; hart: number }
  /** Live machine only: the guest powered off (or the machine stopped for good) with this code. */
  | { kind: 'exited'; code: number }
  /** Replay only: the replay left the recording (e.g. after the user changed memory); message for the user. */
  | { kind: 'error'; hart: number; message: string };

export type WatchKind = 'write' | 'read' | 'access';

/** One vCont action: `hart` = -1 means "every hart not named by an earlier action". */
export interface ResumeAction {
  hart: number;
  action: 'continue' | 'step';
}

/** Register numbers as GDB's RISC-V target description numbers them. */
export const REG_PC = 32;
/** f0..f31 are GDB registers 33..64 (fflags, frm, fcsr are CSRs 1..3: FIRST_CSR_REGNUM + 1..3). */
export const FIRST_FREG = 33;
/** CSR number n is GDB register FIRST_CSR_REGNUM + n (GDB's riscv-tdep convention). */
export const FIRST_CSR_REGNUM = 65;
/** The 1-byte `priv` register of feature org.gnu.gdb.riscv.virtual. */
export const REG_PRIV = FIRST_CSR_REGNUM + 4096;

/** The reverse-execution capability: both motions or neither. Resolves when the machine stopped. */
export interface ReverseExecution {
  /** Undo the last instruction `hart` executed (`bs`). */
  step(hart: number, interrupt: AbortSignal): Promise<StopEvent>;
  /** Run backwards to the last breakpoint/watchpoint hit strictly before now (`bc`). */
  cont(interrupt: AbortSignal): Promise<StopEvent>;
}

export interface DebugTarget {
  /** Number of harts (threads). */
  readonly harts: number;
  /** Present when the target can run backwards (a trace): `bs`/`bc` work and `history-*` stops can happen. */
  readonly reverse?: ReverseExecution;
  /** CSRs to describe in target.xml (number and name), in table order. */
  readonly csrs: ReadonlyArray<{ num: number; name: string }>;
  /** True when the harts have F and D: target.xml then has the fpu feature (f0-f31, fflags, frm, fcsr). */
  readonly fpu?: boolean;

  /** The hart the last stop was reported for (GDB's current thread right after a stop). */
  currentHart(): number;
  /** Why the machine is stopped right now (answer to `?`). */
  lastStop(): StopEvent;

  /** A register as an unsigned value, or null when unavailable (GDB shows it as <unavailable>). */
  readRegister(hart: number, regnum: number): bigint | null;
  /** False when the register cannot be written. */
  writeRegister(hart: number, regnum: number, value: bigint): boolean;
  /**
   * Reads guest memory at a virtual address as `hart` sees it now (no side effects: no A/D bits,
   * no device reads). Returns the readable prefix (possibly empty).
   */
  readMemory(hart: number, addr: bigint, length: number): Uint8Array;
  /** Writes guest memory as `hart` sees it; false if any byte is not writable RAM. */
  writeMemory(hart: number, addr: bigint, data: Uint8Array): boolean;

  /** Breakpoints match on the pc (no guest memory is patched); idempotent. `kind` is GDB's length (2 or 4). */
  /** `hart` (GDB's current thread) decides the address space when harts page (see SerialEngine.addBreakpoint). */
  insertBreakpoint(addr: bigint, kind: number, hart: number): boolean;
  removeBreakpoint(addr: bigint, kind: number): boolean;
  /**
   * Watches virtual addresses as `hart` (GDB's current thread) translates them now; true, or why
   * not in a sentence (e.g. no hart maps the address).
   */
  insertWatchpoint(access: WatchKind, addr: bigint, length: number, hart: number): true | string;
  removeWatchpoint(access: WatchKind, addr: bigint, length: number): boolean;

  /**
   * Runs forward. Actions are already resolved by the protocol layer in vCont order (leftmost wins).
   * Resolves when the machine stopped. `interrupt` aborts when GDB sends 0x03.
   */
  resume(actions: ResumeAction[], interrupt: AbortSignal): Promise<StopEvent>;
  /** `monitor ...` (qRcmd): returns the text to show; throws an Error with a message for bad commands. */
  monitor(command: string, interrupt: AbortSignal): Promise<string>;
  /** Free text for `info threads` (qThreadExtraInfo). */
  threadExtraInfo(hart: number): string;

  /** The client detached (`D`) or disconnected: the target stays as it is for the next connection. */
  detach(): void;
  /** `k` / `vKill`: end the debugging session. */
  kill(): void;
}
