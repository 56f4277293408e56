/**
 * Compiling page modules off the hart's thread. V8 compiles a module's bytes into machine code once
 * per process for as long as one module of those bytes is alive (its native-module cache, shared by
 * every isolate), so another thread that compiles the same bytes leaves the code for the hart: the
 * hart's own `new WebAssembly.Module` of them then takes well under a millisecond instead of the
 * ~2-5 ms of V8's compile. The hart posts the bytes it made (or read from the module cache) with a
 * ticket, runs the page on the reference executor meanwhile, and installs the module at an entry
 * after the board says the ticket is done (jit-executor.ts). The main thread serves the tickets
 * (host/compile-service.ts), between the modules the last run used, which it compiles ahead.
 * Only speed depends on it: a module is exact whichever thread compiled it and whenever it is
 * installed (docs/ARCHITECTURE.md, the JIT).
 *
 * The board is a shared Int32Array: slot 0 hands out tickets (Atomics.add), slot t holds ticket t's
 * state. The modules the last run used (page-module-cache.ts keys, listed in the profile) have the
 * first tickets, in their order: the main thread marks each done as it compiles it ahead, so a hart
 * that reads one of those files from the cache compiles it at once when it is done (V8 hands it the
 * code), and otherwise asks for it like any other. When the board is full a hart compiles on its
 * own thread, as it does without a board.
 */

export const enum TicketState { Pending = 0, Done = 1, Failed = 2 }

/** Tickets per board (a Linux boot uses ~100-200; each is one Int32). */
export const BOARD_TICKETS = 1 << 16;

/** A board whose first `listed` tickets are the listed modules'. */
export function newCompileBoard(listed: number): Int32Array {
  const board = new Int32Array(new SharedArrayBuffer(4 * (BOARD_TICKETS + 1)));
  board[0] = Math.min(listed, BOARD_TICKETS);
  return board;
}

/** What `submit` answers besides a ticket. */
export const enum Submitted {
  /** Compile here: no board, or it is full. */
  HereNow = -1,
  /** Compile here: the module was compiled ahead, V8 has its code. */
  Ready = -2,
}

/** A hart thread's side: hands bytes to the compiling thread and reads their tickets' states. */
export class RemoteCompiler {
  private readonly listed = new Map<string, number>();

  /** `listed`: the module keys the main thread compiles ahead, in ticket order. */
  constructor(private readonly board: Int32Array, listed: readonly string[], private readonly post: (ticket: number, bytes: Uint8Array<ArrayBuffer>) => void) {
    listed.forEach((key, i) => { if (i < BOARD_TICKETS) this.listed.set(key, i + 1); });
  }

  /** The ticket for compiling `bytes` (of the module-cache file `key`, if any) elsewhere, or a Submitted answer. */
  submit(bytes: Uint8Array<ArrayBuffer>, key: string | null): number {
    let ticket = key === null ? undefined : this.listed.get(key);
    if (ticket !== undefined && this.state(ticket) === TicketState.Done) return Submitted.Ready;
    ticket ??= Atomics.add(this.board, 0, 1) + 1;
    if (ticket > BOARD_TICKETS) return Submitted.HereNow;
    this.post(ticket, bytes);
    return ticket;
  }

  state(ticket: number): TicketState {
    return Atomics.load(this.board, ticket) as TicketState;
  }
}
