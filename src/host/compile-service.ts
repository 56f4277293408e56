/**
 * The main thread compiles page modules for the harts while they run (jit/remote-compile.ts): the
 * modules harts ask for (tickets on the board, first), and between them the modules the last run
 * of these images used, in the order it first used them (host/jit-cache.ts `ahead`). Each compile
 * is `new WebAssembly.Module`, one per event-loop turn so the console keeps flowing; the modules
 * are held until the run ends, which keeps their machine code in V8's per-process cache for the
 * harts to take. `HINDSIGHT_JIT_PRECOMPILE=0` turns it off (every hart compiles on its own thread).
 */
import type { ListedModule } from '../jit/jit-share.js';
import type { CachedPage } from '../jit/page-module-cache.js';
import { TicketState, newCompileBoard } from '../jit/remote-compile.js';

/** A listed module file as the main thread read it (host/jit-cache.ts `ahead`). */
export interface AheadModule {
  key: string;
  page: CachedPage;
}

/** What the service did, for HINDSIGHT_JIT_STATS. */
export interface CompileServiceStats {
  /** Tickets the harts asked for, and those whose bytes did not compile. */
  served: number;
  failed: number;
  /** Modules of the last run compiled ahead, and listed files that could not be used. */
  precompiled: number;
  unusable: number;
  /** This thread's time compiling, ms. */
  compileMs: number;
}

export function compileServiceEnabled(): boolean {
  return process.env.HINDSIGHT_JIT_PRECOMPILE !== '0';
}

export class CompileService {
  readonly board: Int32Array;
  private readonly requests: { ticket: number; bytes: Uint8Array<ArrayBuffer> }[] = [];
  private held: WebAssembly.Module[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  /** Listed modules (by ticket) whose file could not be used: no use listing them again. */
  readonly unusable = new Set<number>();
  private readonly stats: CompileServiceStats = { served: 0, failed: 0, precompiled: 0, unusable: 0, compileMs: 0 };

  /**
   * `ahead`: the listed module files (tickets 1..listed, null: a file that could not be read),
   * compiled in that order when no hart is waiting; `compiledAhead` hands each module compiled so
   * to the harts (jit/jit-share.ts ListedModulePoster).
   */
  constructor(listed: number, private readonly ahead: Iterator<AheadModule | null> | null, private readonly compiledAhead?: (listed: ListedModule) => void) {
    this.board = newCompileBoard(listed);
  }

  /** A hart's ticket (its worker's message). */
  request(ticket: number, bytes: Uint8Array<ArrayBuffer>): void {
    this.requests.push({ ticket, bytes });
    this.wake?.();
  }

  /** Ends `serve` and lets V8 drop the modules compiled here. */
  close(): void {
    this.closed = true;
    this.wake?.();
    this.held = [];
  }

  /** Compiles until `close`. */
  async serve(): Promise<CompileServiceStats> {
    // The workers' V8 flags (wasm compiled eagerly by Liftoff; relaxed SIMD where the host FMA is
    // used): process-wide and set by the workers already, set again here so this thread cannot
    // compile first under other ones. Loaded now, not at start-up, where loading node:v8 delayed
    // the workers.
    await import('../jit/v8-tuning.js');
    (await import('../jit/host-fma.js')).hostFusedMadd();
    let ahead = this.ahead;
    let aheadTicket = 0;
    while (!this.closed) {
      const request = this.requests.shift();
      if (request) {
        const ok = this.compile(request.bytes) !== null;
        this.stats.served++;
        if (!ok) this.stats.failed++;
        Atomics.store(this.board, request.ticket, ok ? TicketState.Done : TicketState.Failed);
      } else if (ahead) {
        const next = ahead.next();
        aheadTicket++;
        const file = next.done ? null : next.value;
        const module = file ? this.compile(file.page.bytes) : null;
        if (next.done) {
          ahead = null;
        } else if (file && module) {
          this.stats.precompiled++;
          Atomics.store(this.board, aheadTicket, TicketState.Done);
          this.compiledAhead?.({ key: file.key, entries: file.page.entries, offsets: file.page.offsets, tails: file.page.tails, module });
        } else {
          this.stats.unusable++; // its ticket stays pending: a hart that has the bytes asks for it
          this.unusable.add(aheadTicket);
        }
      } else {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = null;
        continue;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.stats.compileMs = Math.round(this.stats.compileMs);
    return this.stats;
  }

  /** The module of `bytes`, held until the run ends; null when they do not compile. */
  private compile(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module | null {
    const t0 = performance.now();
    try {
      const module = new WebAssembly.Module(bytes);
      this.held.push(module);
      return module;
    } catch {
      return null;
    } finally {
      this.stats.compileMs += performance.now() - t0;
    }
  }
}
