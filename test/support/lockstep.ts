import { MIP, Slot } from '../../src/cpu/csr-numbers.js';
import { BlockExit, Executor } from '../../src/exec/executor.js';
import { consoleOutRing } from '../../src/shm/byte-ring.js';
import { HartBlock as HL, createSharedMemory, hartBase, sharedBuffer } from '../../src/shm/layout.js';
import { Board } from '../../src/machine/board.js';
import { prepareMachine } from '../../src/machine/loader.js';
import { BOOT_ROM_BASE } from '../../src/machine/memmap.js';
import { JitExecutor, JitOptions } from '../../src/jit/jit-executor.js';
import { Hart } from '../../src/cpu/hart.js';

/**
 * One single-hart machine in this thread on virtual time (one mtime tick per retired
 * instruction, plus whatever WFI skipped), so two of them (one per tier) execute identically.
 */
export class SoloMachine {
  readonly board: Board;
  readonly hart: Hart;
  readonly exec: Executor;
  readonly memory: WebAssembly.Memory;
  skipped = 0n;
  private readonly console = [] as number[];
  private readonly out;

  constructor(elf: string, append: string, tier: 'reference' | 'jit', jit: JitOptions = {}) {
    const ramBytes = 64 * 1024 * 1024;
    this.memory = createSharedMemory(ramBytes);
    const sab = sharedBuffer(this.memory);
    const prepared = prepareMachine(sab, { harts: 1, ramBytes, bios: null, kernel: elf, initrd: null, append, disks: [], diskWritable: false });
    this.board = new Board(sab, prepared.config);
    this.board.control.init();
    this.board.clint.reset();
    this.hart = this.board.harts[0];
    this.hart.reset(BigInt(BOOT_ROM_BASE));
    const now = () => BigInt(this.hart.icount) + this.skipped;
    this.board.timeSource = now;
    this.hart.timeSource = now;
    this.exec = tier === 'jit' ? new JitExecutor(this.hart, this.board.bus, this.memory, { strict: true, ...jit }) : new Executor(this.hart, this.board.bus);
    if (this.exec instanceof JitExecutor) this.exec.checkIcount = true;
    this.out = consoleOutRing(sab);
  }

  get stopped(): boolean {
    return this.hart.exitRequested;
  }

  now(): bigint {
    return BigInt(this.hart.icount) + this.skipped;
  }

  /** Instructions until the timer fires (virtual time), or Infinity. */
  untilTimer(): number {
    const now = this.now();
    let until = Number.POSITIVE_INFINITY;
    for (const cmp of this.compares()) if (cmp > now && Number(cmp - now) < until) until = Number(cmp - now);
    return until;
  }

  /** Armed timer compare values: the CLINT's mtimecmp, and stimecmp when it drives STIP (Sstc). */
  private compares(): bigint[] {
    const out = [this.board.clint.compareValue(0)];
    const s = this.hart.supervisorTimerCompare();
    if (s !== null) out.push(s);
    return out.filter((c) => c < (1n << 62n));
  }

  /** Safe point: sample lines (MTIP and Sstc's STIP from virtual time) and take a pending interrupt. */
  safePoint(): void {
    const h = this.hart;
    const due = this.now() >= this.board.clint.compareValue(0);
    const s = h.supervisorTimerCompare();
    const sDue = s !== null && this.now() >= s;
    h.observeLines((h.hardwareMip() & ~(MIP.MTIP | MIP.STIP)) | (due ? MIP.MTIP : 0) | (sDue ? MIP.STIP : 0));
    const irq = h.pendingInterrupt();
    if (irq >= 0) h.takeInterrupt(irq);
  }

  /** After a WFI with nothing pending: jump virtual time to the timer. False if nothing can wake the hart. */
  idleSkip(): boolean {
    const h = this.hart;
    if ((h.mip() & h.mie()) !== 0) return true;
    const armed = this.compares();
    if (armed.length === 0) return false;
    const ahead = armed.filter((c) => c > this.now());
    if (ahead.length > 0) this.skipped += ahead.reduce((a, b) => (a < b ? a : b)) - this.now();
    return true;
  }

  /** Moves console output out of the ring (a guest printing more than the ring holds would wait for it). */
  pumpConsole(): void {
    for (;;) {
      const b = this.out.drain();
      if (b.length === 0) break;
      for (const byte of b) this.console.push(byte);
    }
  }

  drainConsole(): string {
    this.pumpConsole();
    return Buffer.from(this.console).toString('latin1');
  }

  /** Everything architectural: x, f, pc, icount, priv, CSR slots (fcsr among them), reservation. */
  state(): string {
    const h = this.hart;
    const csr = [...h.csr.slice(0, Slot.count)].map((v) => v.toString(16));
    const base = hartBase(h.id);
    const words = new Int32Array(this.memory.buffer, base, 512 / 4);
    return JSON.stringify({
      pc: h.pc.toString(16), icount: h.icount, priv: h.priv,
      x: [...h.x].map((v) => v.toString(16)), f: [...h.f].map((v) => v.toString(16)), csr,
      res: [words[HL.RES_VALID >> 2], new BigInt64Array(this.memory.buffer, base + HL.RES_ADDR, 2).join(',')],
    });
  }
}

export interface LockstepResult {
  steps: number;
  icount: number;
  console: string;
  referenceConsole: string;
  jitStats: JitExecutor['stats'];
  divergence: string | null;
}

/**
 * Runs the JIT (A) and the reference executor (B) side by side: after each JIT runBlock (which may
 * span many blocks), B runs to the same icount, and the complete hart state is compared.
 */
/** Longest stretch the lockstep loop keeps the test worker's event loop blocked (see below). */
const YIELD_EVERY_MS = 200;

export async function lockstep(elf: string, append: string, opts: { maxInsns: number; jit?: JitOptions; budget?: number }): Promise<LockstepResult> {
  const a = new SoloMachine(elf, append, 'jit', opts.jit);
  const b = new SoloMachine(elf, append, 'reference');
  const jit = a.exec as JitExecutor;
  let steps = 0;
  let divergence: string | null = null;
  const maxBudget = opts.budget ?? 100_000;
  let yielded = performance.now();
  while (!a.stopped && a.hart.icount < opts.maxInsns) {
    // vitest's worker RPC times out when a test blocks its event loop for a minute, which a long
    // lockstep run on a loaded machine does: let the loop breathe now and then.
    if ((steps & 0xff) === 0 && performance.now() - yielded > YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
    }
    a.safePoint();
    b.safePoint();
    a.pumpConsole();
    b.pumpConsole();
    const budget = Math.max(1, Math.min(maxBudget, a.untilTimer(), opts.maxInsns - a.hart.icount));
    const before = a.hart.icount;
    const n = a.exec.runBlock(budget);
    steps++;
    if (a.hart.icount - before !== n) { divergence = `step ${steps}: jit returned ${n} but icount moved ${a.hart.icount - before}`; break; }
    if (n > budget) { divergence = `step ${steps}: jit ran ${n} > budget ${budget}`; break; }
    let lastB = BlockExit.Normal;
    while (b.hart.icount < a.hart.icount && !b.stopped) {
      b.exec.runBlock(a.hart.icount - b.hart.icount);
      lastB = b.exec.lastExit;
    }
    if (a.exec.lastExit === BlockExit.NeedsOwnership) { divergence = 'ownership exit without recording'; break; }
    const sa = a.state();
    let sb = b.state();
    if (sa !== sb && !b.stopped) {
      // A trap the JIT's reference tail took at this icount: B reaches it with one more step, retiring nothing.
      b.exec.runBlock(1);
      lastB = b.exec.lastExit;
      sb = b.state();
    }
    if (sa !== sb) { divergence = `step ${steps} (icount ${a.hart.icount}): state differs\n jit: ${sa}\n ref: ${sb}`; break; }
    if (a.exec.lastExit === BlockExit.Wfi || lastB === BlockExit.Wfi) {
      if (a.exec.lastExit !== lastB) { divergence = `step ${steps}: WFI exit differs`; break; }
      if (!a.idleSkip()) break;
      b.idleSkip();
    }
    if (a.stopped !== b.stopped) { divergence = `step ${steps}: one machine stopped`; break; }
  }
  return { steps, icount: a.hart.icount, console: a.drainConsole(), referenceConsole: b.drainConsole(), jitStats: jit.stats, divergence };
}
