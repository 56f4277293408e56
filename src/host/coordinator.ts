import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Board } from '../machine/board.js';
import { BootOptions, PreparedMachine } from '../machine/loader.js';
import { buildMachine, powerOn } from '../engine/machine-factory.js';
import { ByteRing, consoleInRing, consoleOutRing, sleepUntilBumped } from '../shm/byte-ring.js';
import { RamHashScheme, finalStateHashes } from '../engine/state-hash.js';
import { HartWorkerInit, HartWorkerResult } from './hart-worker-run.js';
import { hartWorker } from './worker-pool.js';
import { WorkerMode } from './worker-plugin.js';
import { CTRL_BASE, Ctrl, StopReason, jitPublishedCounter, sharedBuffer } from '../shm/layout.js';
import { DEFAULT_TIER, Tier } from '../jit/tier.js';
import { ChaosSettings } from '../engine/chaos.js';
import type { HotPageList } from '../jit/hot-pages.js';
import type { UsedModule } from '../jit/page-module-cache.js';
import { JitCache, profileShape } from './jit-cache.js';
import { CompileService, compileServiceEnabled } from './compile-service.js';
import { JitBacklog, ListedModulePoster } from '../jit/jit-share.js';
import { migrationTableBytes } from '../engine/hart-migration.js';

export interface RunOptions extends BootOptions {
  timeoutSeconds: number | null;
  maxInsns: number;
  /** Execution tier of every hart (default: DEFAULT_TIER, the JIT). */
  tier?: Tier;
  /** --chaos: perturb the schedule of parallel harts (src/engine/chaos.ts). */
  chaos?: ChaosSettings | null;
  /** --threads: host threads for parallel harts (default one per hart); fewer makes harts share them. */
  threads?: number;
  /**
   * Plain runs with fewer threads than harts (engine/start-together.ts): every hart starts on
   * thread 0, and the other threads start only once the harts spread to them
   * (engine/hart-migration.ts 'balance'). Sessions (record, replay) never set it.
   */
  balance?: boolean;
}

/** Where the guest console goes and comes from. */
export interface ConsoleIo {
  write(bytes: Uint8Array): void;
  /** Subscribes to host input; returns an unsubscribe function. Ctrl-A X handling is the caller's. */
  onInput?(push: (bytes: Uint8Array) => void, quit: () => void): () => void;
}

/**
 * What a session adds to plain running: per-hart worker modes, where console input goes, and a
 * hook the coordinator calls whenever it wakes (recording drains event rings there).
 */
export interface SessionHooks {
  workerMode(hartId: number): WorkerMode;
  /** Console input from the host; return false to let the coordinator feed the UART directly. */
  input?(bytes: Uint8Array): boolean;
  console?(bytes: Uint8Array): void;
  poll?(): void;
  /** How long the coordinator may sleep between polls (ms). */
  pollIntervalMs?: number;
  /** Serial scheduling: one worker runs every hart. */
  serial?: boolean;
  /** The command, for the JIT's profile (host/jit-cache.ts profileShape; default `run`). */
  command?: 'record' | 'replay';
  /** How harts share fewer threads than there are harts (hartGroups; default 'contiguous'). */
  groupLayout?: HartGroupLayout;
  /**
   * Every hart starts on thread 0, and the other threads start when its worker asks ('spawn'):
   * the session's plug-in moves the harts (a recording's collapse, engine/start-together.ts).
   */
  startTogether?: boolean;
}

export interface RunResult {
  exitCode: number;
  reason: StopReason;
  icounts: number[];
  /** Safe points each hart passed at its final icount, as published by its supervisor (serial recording; 0 otherwise). */
  finalSafePoints: number[];
  wallSeconds: number;
  fatal: string | null;
  /** First divergence (exit 3) or damaged-trace (exit 2) error reported by a hart, if any. */
  divergence: { message: string; exitCode: number } | null;
  /**
   * Per-hart fingerprints of the final state (engine/state-hash.ts), RAM covered as `scheme` says.
   * Computed on demand: plain runs need not pay for reading guest RAM.
   */
  finalStateHashes(scheme: RamHashScheme): string[];
}

export const STOP_REASON_NAMES: Record<StopReason, string> = {
  [StopReason.None]: 'none',
  [StopReason.Poweroff]: 'poweroff',
  [StopReason.Reboot]: 'reboot',
  [StopReason.Fatal]: 'fatal',
  [StopReason.Timeout]: 'timeout',
  [StopReason.Interrupted]: 'interrupted',
  [StopReason.InsnLimit]: 'insn-limit',
  [StopReason.Halted]: 'halted',
};

/**
 * After console output the coordinator polls every CONSOLE_POLL_MS for CONSOLE_LINGER_MS instead of
 * sleeping until woken: a hart that prints wakes a sleeping coordinator with a futex notify per
 * byte, and the coordinator then woke per byte too (OpenSBI's banner: ~17 ms of the printing hart's
 * time in notifies, docs/ARCHITECTURE.md). Output reaches the terminal at most ~1 ms later.
 */
const CONSOLE_LINGER_MS = 20;
const CONSOLE_POLL_MS = 1;

/**
 * The coordinator (main thread): builds the machine in shared memory, starts one worker thread per
 * hart, moves console bytes between the host and the UART rings, enforces --timeout, and collects
 * the result when every hart has stopped.
 */
export class Coordinator {
  readonly memory: WebAssembly.Memory;
  readonly prepared: PreparedMachine;
  readonly board: Board;
  private readonly out: ByteRing;
  private readonly input: ByteRing;
  private pendingInput: number[] = [];
  /** Input reached the ring but the UART was busy when we tried to raise its interrupt. */
  private inputIrqPending = false;
  /** This machine's channel for compiled pages (jit/jit-share.ts): unique, since a process may run several machines. */
  private readonly jitChannel = `hindsight-jit-${randomUUID()}`;
  /** The JIT's cache between runs of these images (host/jit-cache.ts); null: not kept. */
  private readonly jitCache: JitCache | null = null;

  /** Without hooks: a plain run, whose harts share threads interleaved (hartGroups). */
  constructor(private readonly opts: RunOptions, private readonly io: ConsoleIo, private readonly hooks: SessionHooks = { workerMode: () => ({ module: null }), groupLayout: 'interleaved' }) {
    const machine = buildMachine(opts);
    this.memory = machine.memory;
    this.prepared = machine.prepared;
    this.board = machine.board;
    const sab = machine.buffer;
    this.out = consoleOutRing(sab);
    this.input = consoleInRing(sab);
    if ((opts.tier ?? DEFAULT_TIER) === 'jit') this.jitCache = JitCache.open(this.prepared.images, [profileShape(this.prepared.config.harts, hooks.command ?? 'run'), profileShape(this.prepared.config.harts, 'run')]);
  }

  /** Stops the machine from outside (SIGINT, Ctrl-A X). */
  stop(reason: StopReason, exitCode: number): void {
    this.board.control.requestStop(reason, exitCode);
  }

  async run(): Promise<RunResult> {
    const { board, opts, hooks } = this;
    powerOn(board);

    const started = process.hrtime.bigint();
    const timer = opts.timeoutSeconds !== null
      ? setTimeout(() => this.stop(StopReason.Timeout, 124), opts.timeoutSeconds * 1000)
      : null;

    let fatal: string | null = null;
    let divergence: RunResult['divergence'] = null;
    const allHarts = board.harts.map((h) => h.id);
    const groups = hooks.serial ? [allHarts] : hartGroups(allHarts, opts.threads, hooks.groupLayout);
    // Balancing, every hart starts on thread 0 and the other threads start when they spread
    // (the worker asks, 'spawn'); `groups` are where the harts go then.
    const balance = opts.balance
      ? { table: new SharedArrayBuffer(migrationTableBytes(allHarts.length, groups.length)), channel: `hindsight-balance-${randomUUID()}` }
      : null;
    const together = balance !== null || hooks.startTogether === true;
    const backlog = together && (opts.tier ?? DEFAULT_TIER) === 'jit' ? new JitBacklog(this.jitChannel) : null;
    board.control.expectWorkers(together ? 1 : groups.length);
    // While the workers start and run, this thread compiles page modules for them (compile-service.ts).
    // What it compiles ahead goes to the harts by key with its header (jit/jit-share.ts): no second read of those files.
    const poster = (opts.tier ?? DEFAULT_TIER) === 'jit' && compileServiceEnabled() ? new ListedModulePoster({ channel: this.jitChannel, published: jitPublishedCounter(this.memory) }) : null;
    const compiler = poster ? new CompileService(this.jitCache?.listed.length ?? 0, this.jitCache?.ahead() ?? null, (listed) => poster.post(listed)) : null;
    const learned: HotPageList = [];
    const modules: UsedModule[] = [];
    const closed: Promise<void>[] = [];
    let spawned = false;
    const watch = (w: Worker, id: number): void => void closed.push(new Promise<void>((resolve) => {
      w.on('message', (msg: HartWorkerResult) => {
        if (msg.kind === 'compile') compiler?.request(msg.ticket, msg.bytes);
        else if (msg.kind === 'spawn') {
          if (spawned || board.control.stopping) return;
          spawned = true;
          const jitBacklog = backlog?.messages();
          backlog?.close();
          for (let thread = 1; thread < groups.length; thread++) watch(this.startWorker(groups, [], thread, compiler?.board ?? null, balance, jitBacklog), thread);
        }
        else if (msg.kind === 'done' || msg.kind === 'learned') {
          if (msg.hotPages) learned.push(...msg.hotPages);
          if (msg.modules) modules.push(...msg.modules);
        } else if (msg.kind === 'divergence') divergence ??= { message: msg.message, exitCode: msg.exitCode };
        else if (msg.kind === 'fatal') fatal ??= `hart ${msg.hartId}: ${msg.message}${process.env.HINDSIGHT_DEBUG ? `\n${msg.stack}` : ''}`;
        else if (msg.kind === 'closed') resolve(); // its thread's teardown need not hold up saving and reporting
      });
      w.on('error', (err) => {
        fatal ??= `hart ${id} worker failed: ${err.message}`;
        board.control.requestStop(StopReason.Fatal, 1);
      });
      w.on('exit', () => resolve());
    }));
    if (together) watch(this.startWorker(groups, allHarts, 0, compiler?.board ?? null, balance), 0);
    else groups.forEach((_, thread) => watch(this.startWorker(groups, groups[thread], thread, compiler?.board ?? null, null), thread));
    // The host's stdin once the workers have their machines: setting up process.stdin (~3 ms of a
    // profile) would otherwise hold up the first instruction of a recording, whose main thread is
    // its start-up's critical path (docs/BENCHMARKS.md). Input waits in the pipe meanwhile.
    const unsubscribe = this.io.onInput?.((bytes) => this.pushInput(bytes), () => this.stop(StopReason.Interrupted, 0)) ?? (() => {});
    // Every worker closed, those started late included.
    const finished = (async () => {
      for (let n = 0; n !== closed.length;) {
        n = closed.length;
        await Promise.all(closed);
      }
    })();
    let allDone = false;
    void finished.then(() => { allDone = true; board.control.ringDoorbell(); });
    const served = compiler?.serve();

    const ctrl = new Int32Array(sharedBuffer(this.memory), CTRL_BASE, 64);
    const idleMs = hooks.pollIntervalMs ?? 1000;
    let lingerUntil = 0;
    while (!allDone) {
      const seen = Atomics.load(ctrl, Ctrl.ConsoleSeq);
      if (this.drainConsole()) lingerUntil = performance.now() + CONSOLE_LINGER_MS;
      this.flushPendingInput();
      hooks.poll?.();
      if (allDone) break;
      // While output flows, poll without saying we sleep, so the printing hart never notifies us.
      if (performance.now() < lingerUntil) await new Promise((resolve) => setTimeout(resolve, CONSOLE_POLL_MS));
      else await sleepUntilBumped(ctrl, seen, this.pendingInput.length || this.inputIrqPending ? 5 : idleMs);
    }
    await finished;
    backlog?.close();
    compiler?.close();
    const compiled = await served;
    poster?.close();
    if (compiled && process.env.HINDSIGHT_JIT_STATS === '1') process.stderr.write(`main thread jit: ${JSON.stringify(compiled)}\n`);
    this.jitCache?.save(learned, modules, [...compiler?.unusable ?? []].map((ticket) => this.jitCache!.listed[ticket - 1]));
    this.drainConsole();
    hooks.poll?.();
    if (timer) clearTimeout(timer);
    unsubscribe();

    // From the harts' start: the workers' loading before it is no part of the guest's time.
    const wallSeconds = Number(process.hrtime.bigint() - (board.control.startedNs() ?? started)) / 1e9;
    const hashes = new Map<RamHashScheme, string[]>();
    for (const h of board.harts) h.syncIn();
    const reason = board.control.stopReason;
    const exitCode = fatal ? 1 : board.control.exitCode;
    return { exitCode, reason, icounts: board.harts.map((h) => h.icount), finalSafePoints: board.harts.map((h) => h.publishedSafePoints()), wallSeconds, fatal, divergence, finalStateHashes: (scheme: RamHashScheme) => {
      let h = hashes.get(scheme);
      if (!h) hashes.set(scheme, h = finalStateHashes(board, scheme));
      return h;
    } };
  }

  /** `hartIds`: the harts it starts with (`groups[thread]`, unless they move: HartWorkerInit.balance). */
  private startWorker(groups: number[][], hartIds: number[], thread: number, compileBoard: Int32Array | null, balance: HartWorkerInit['balance'], jitBacklog?: HartWorkerInit['jitBacklog']): Worker {
    // One worker per hart in parallel mode, or per group of harts sharing a thread (--threads).
    const init: HartWorkerInit = { memory: this.memory, config: this.prepared.config, hartIds, maxInsns: this.opts.maxInsns, mode: this.hooks.workerMode(groups[thread][0]), tier: this.opts.tier ?? DEFAULT_TIER, balance, jitBacklog,
      chaos: hartIds.length === 1 ? this.opts.chaos ?? null : null, hostThreads: groups.length, jitChannel: this.jitChannel, thread, threadGroups: groups,
      hotPages: this.jitCache ? { list: this.jitCache.known, moduleDir: this.jitCache.moduleDir, buildId: this.jitCache.buildId } : null,
      compiling: compileBoard ? { board: compileBoard, listed: this.jitCache?.listed ?? [] } : null };
    return hartWorker(init);
  }

  /** Writes out what the harts printed; true if there was anything. */
  private drainConsole(): boolean {
    for (let any = false; ; any = true) {
      const bytes = this.out.drain();
      if (bytes.length === 0) return any;
      this.hooks.console?.(bytes);
      this.io.write(bytes);
    }
  }

  private pushInput(bytes: Uint8Array): void {
    if (this.hooks.input?.(bytes)) return;
    for (const b of bytes) this.pendingInput.push(b);
    this.flushPendingInput();
  }

  private flushPendingInput(): void {
    let pushed = 0;
    while (pushed < this.pendingInput.length && this.input.push(this.pendingInput[pushed])) pushed++;
    if (pushed > 0) {
      this.pendingInput = this.pendingInput.slice(pushed);
      this.inputIrqPending = true;
    }
    // pollInput only tries the UART lock (a hart may hold it while waiting for us to drain output).
    if (this.inputIrqPending) this.inputIrqPending = !this.board.uart.pollInput();
  }
}

/** How many host threads `harts` parallel harts run on, given `--threads` (default: one each). */
export function hostThreadCount(harts: number, threads = harts): number {
  return Math.max(1, Math.min(threads, harts));
}

export type HartGroupLayout = 'contiguous' | 'interleaved';

/**
 * Harts split over `threads` host threads, hart 0 (the boot hart of bare-metal guests) on thread 0.
 * Neighbouring harts often work as pairs (hart 0 and 1 of a 2-hart test run on `--harts 4`).
 * Recording and replay keep such a pair on one thread ('contiguous': [0,1],[2,3]), where a parked
 * hart hands its pages over on the spot: smp_mp_litmus on 4 harts and 2 threads recorded in 0.94
 * s against 1.40 s interleaved, smp_sb_litmus 1.10 against 1.65 s. A plain run puts them on
 * different threads ('interleaved': [0,2],[1,3]): two harts that spin on each other on one thread
 * hand over once per turn (20,000 instructions, SHARED_THREAD_QUANTUM) unless the spin is a pure
 * poll loop (exec/translate.ts Spin), and the litmus guests' waits count their spins: on the JIT
 * smp_mp_litmus took 2.25 s against 0.35 s, smp_sb_litmus 1.46 against 0.36 s, and on the
 * reference tier more than 30 s against 0.35-0.41 s. The 4-hart Linux boot, whose boot hart is
 * whichever wins OpenSBI's lottery, ran as fast either way (949 against 963 ms, medians of 15).
 */
export function hartGroups(harts: number[], threads = harts.length, layout: HartGroupLayout = 'contiguous'): number[][] {
  const n = hostThreadCount(harts.length, threads);
  const groups: number[][] = Array.from({ length: n }, () => []);
  if (layout === 'interleaved') harts.forEach((id, i) => groups[i % n].push(id));
  else harts.forEach((id, i) => groups[Math.floor((i * n) / harts.length)].push(id));
  return groups;
}
