import { Hart } from '../src/cpu/hart.js';
import { jitMirrorStorePages } from '../src/jit/jit-executor.js';
import { HindsightError } from '../src/errors.js';
import { CTRL_BASE, DEVICE_REGIONS, HART_BLOCK_BYTES, RAM_OFFSET, hartBase } from '../src/shm/layout.js';
import { buildMachine, powerOn } from '../src/engine/machine-factory.js';
import { scheduleHart } from '../src/engine/schedule-hart.js';
import { DEFAULT_TIER, Tier } from '../src/jit/tier.js';
import { RoundRobin, SchedState, skipToNextTimer, traceQuantum } from '../src/engine/serial-scheduler.js';
import { Hit, RunEnd, RunSpec, SerialEngine, Step } from '../src/engine/serial-engine.js';
import { Board } from '../src/machine/board.js';
import { PAGE_SIZE } from '../src/machine/bus.js';
import { isElf } from '../src/machine/elf.js';
import { RAM_BASE, VIRTIO_COUNT } from '../src/machine/memmap.js';
import { TraceEvent } from '../traces/events.js';
import { VirtualClock } from '../src/engine/virtual-time.js';
import { SerialReplayer } from './serial-replayer.js';
import { TraceReader, saveCheckpoints } from '../traces/trace-reader.js';
import { decodeCheckpoint, encodeCheckpoint, SavedCheckpoint, SerialPosition, SnapshotShape, TimelineState } from './checkpoint-codec.js';
import { CheckpointStore, Checkpoint } from './checkpoints.js';
import { DivergenceError } from './divergence.js';
import { HartReplayer, ReplayerPosition } from './hart-replayer.js';
import { checkSameMachine, recordedSetup } from './recorded-machine.js';
import { ReplayProgress } from './replay-progress.js';
import { JitCache, profileShape } from '../src/host/jit-cache.js';

/**
 * A checkpoint's page copy costs about as much as running this many instructions (measured: ~4 us
 * a page; the JIT runs ~350 MIPS on the timeline, the reference tier ~20).
 */
const PAGE_COPY_STEPS: Record<Tier, number> = { jit: 6000, reference: 80 };
/**
 * A step back that re-runs more than twice this many steps leaves a checkpoint this far before
 * where it lands: gdb steps back one instruction at a time (reverse-stepi, and reverse-step/next
 * issue one `bs` per instruction), and each would otherwise re-run up to a whole interval again.
 * About 1.5 ms of re-running on either tier.
 */
export const NEAR_CHECKPOINT_STEPS: Record<Tier, number> = { jit: 500_000, reference: 30_000 };
/** Share of the running time automatic captures may cost before the interval widens. */
const CAPTURE_SHARE = 0.25;
/** Widening stops at this multiple of the configured interval (reverse-stepi re-runs up to one interval). */
const MAX_INTERVAL_WIDENING = 8;
export interface TimelineOptions {
  /** Steps between automatic checkpoints (it doubles whenever the memory bound forces thinning). */
  checkpointInterval: number;
  /** Whether costly captures widen the interval (default true; see capture). */
  widenInterval?: boolean;
  /** Memory bound for checkpoints, bytes. */
  checkpointBytes: number;
  /** Guest console bytes, each shown once (re-running a stretch of the timeline does not repeat them). */
  console?(bytes: Uint8Array): void;
  /** Long operations report progress (done/total steps) here, then `progressEnd` once they finish. */
  progress?(what: string, done: number, total: number): void;
  progressEnd?(): void;
  /**
   * Execution tier (default: the JIT). Either lands exactly: budgets are exact in both, and the
   * serial engine makes the JIT run block by block where it must (breakpoint pages, watchpoints).
   */
  tier?: Tier;
  /** How near a step back leaves a checkpoint to where it lands (default NEAR_CHECKPOINT_STEPS of the tier). */
  nearCheckpointSteps?: number;
}

/**
 * The debugger's view of a trace: one canonical, deterministic interleaving of all harts (the
 * serial replay's), addressed by global step, that can be entered at any step. Forward motion is
 * replay on one thread; backward motion restores the nearest earlier checkpoint and replays
 * forward to exactly the wanted instruction. Pausing never perturbs the replay (HartRunner
 * resumes a paused block without adding a safe point), so every session sees the same timeline.
 */
export class ReplayTimeline {
  readonly board: Board;
  readonly harts: Hart[];
  readonly endStep: Step;
  readonly finals: number[];
  readonly parallelTrace: boolean;
  /** The guest ELF embedded in the trace, if any (for GDB's symbols). */
  readonly elf: Uint8Array | null;
  readonly tracePath: string;
  /** Runs the harts; owns breakpoints, watchpoints and the scheduler state. */
  readonly engine: SerialEngine;
  private readonly events: TraceEvent[][];
  private readonly progressState: ReplayProgress | null;
  private readonly clock: VirtualClock;
  private readonly store: CheckpointStore<TimelineState>;
  private interval: number;
  private consoleBytes = 0;
  private consoleShown = 0;

  /** Checkpoints that came from the trace (saved by an earlier session). */
  readonly loadedCheckpoints: number;
  /** Why the checkpoints saved in the trace were not used, if they were not (for the user). */
  ignoredCheckpoints: string | null = null;
  private readonly snapshotShape: SnapshotShape;
  private readonly memory: SharedArrayBuffer;
  /** The JIT's cache between runs (host/jit-cache.ts): saved when a pass first reaches the trace's end. */
  private jitCache: ReturnType<JitCache['executorCache']> | null;

  private constructor(reader: TraceReader, private readonly opts: TimelineOptions) {
    this.tracePath = reader.path;
    const setup = recordedSetup(reader, reader.path);
    const m = setup.machine;
    const machine = buildMachine(setup.options, (prepared) => checkSameMachine(prepared, setup, reader));
    const { board, buffer: memory } = machine;
    this.memory = memory;
    this.board = board;
    this.harts = board.harts;
    this.finals = setup.finals;
    this.endStep = setup.finals.reduce((a, b) => a + b, 0);
    this.parallelTrace = reader.header.sched !== 'serial';
    const kernel = setup.images.get('kernel') ?? setup.images.get('bios');
    this.elf = kernel && isElf(kernel.bytes) ? kernel.bytes : null;
    this.events = board.harts.map((h) => [...reader.events(h.id)]);

    powerOn(board);
    board.guestStopsMachine = false;
    board.consoleSink = (byte) => this.emitConsole(byte);
    board.bus.dirtyPages = new Uint8Array(m.ramBytes / PAGE_SIZE);

    this.clock = new VirtualClock(board.harts);
    this.progressState = this.parallelTrace ? ReplayProgress.create(m.harts) : null;
    const tier = opts.tier ?? DEFAULT_TIER;
    this.jitCache = tier === 'jit' ? JitCache.open(machine.prepared.images, [profileShape(m.harts, 'debug'), profileShape(m.harts, 'replay'), profileShape(m.harts, 'run')])?.executorCache() ?? null : null;
    const jit = this.jitCache ? { hotPages: this.jitCache.hotPages, pageCache: this.jitCache.pageCache } : {};
    const slots = board.harts.map((hart) => {
      const supervisor = this.parallelTrace
        ? new HartReplayer(hart, { [Symbol.iterator]: () => this.eventsFrom(hart.id, 0) }, setup.finals[hart.id], this.progressState!, board.uart, true, m.releaseInvalidates ?? 'tlb')
        : new SerialReplayer(hart, this.clock, board.clint, board.uart, { [Symbol.iterator]: () => this.eventsFrom(hart.id, 0) }, setup.finals[hart.id], reader.summary?.finalSafePoints?.[hart.id] ?? null);
      return scheduleHart(hart, supervisor, tier, machine.memory, undefined, jit);
    });
    const progress = this.progressState;
    this.engine = new SerialEngine(board, slots, {
      policy: new RoundRobin(traceQuantum(m.serialQuantum)),
      releasedCount: progress ? (hart) => progress.releasedCount(hart) : undefined,
      stalled: (live) => {
        if (skipToNextTimer(live, this.clock)) return 'continue';
        const h = live[0].hart;
        throw new DivergenceError(h.id, h.icount, h.pc, 'every remaining hart waits for a release no other hart can make');
      },
    });
    this.interval = opts.checkpointInterval;

    const hartsRegion = { offset: hartBase(0), length: m.harts * HART_BLOCK_BYTES };
    const devicesEnd = DEVICE_REGIONS.virtio.offset + VIRTIO_COUNT * DEVICE_REGIONS.virtio.size;
    this.store = new CheckpointStore<TimelineState>(memory, RAM_OFFSET, m.ramBytes,
      [hartsRegion, { offset: CTRL_BASE, length: devicesEnd - CTRL_BASE }], board.bus.dirtyPages, opts.checkpointBytes,
      (page) => board.bus.noteRamWrite(RAM_BASE + page * PAGE_SIZE, PAGE_SIZE), board.bus.ramWritten);
    this.snapshotShape = { regionPages: (hartsRegion.length + devicesEnd - CTRL_BASE) / PAGE_SIZE, ramPages: m.ramBytes / PAGE_SIZE };
    this.capture();
    this.loadedCheckpoints = this.loadCheckpoints(reader.checkpointBlobs());
  }

  /**
   * Adopts the checkpoints saved in the trace; returns how many. If any cannot be used (another
   * format or hindsight version, or damaged), none are, and `ignoredCheckpoints` says why.
   */
  private loadCheckpoints(blobs: Uint8Array[]): number {
    let previous: Uint8Array[] | null = null;
    let lastStep = -1;
    const usable: SavedCheckpoint[] = [];
    for (const blob of blobs) {
      const decoded = decodeCheckpoint(blob, previous, this.snapshotShape, this.events);
      if (decoded.kind === 'ignored') return this.ignoreSavedCheckpoints(blobs.length, decoded.reason);
      const cp = decoded.checkpoint;
      if (cp.step <= lastStep) return this.ignoreSavedCheckpoints(blobs.length, `they are not in step order (step ${cp.step} after ${lastStep})`);
      if (cp.state.harts.some((h) => ('times' in h.position) !== this.parallelTrace)) {
        return this.ignoreSavedCheckpoints(blobs.length, `they hold event positions of a ${this.parallelTrace ? 'serial' : 'parallel'} trace`);
      }
      previous = cp.regionPages;
      lastStep = cp.step;
      usable.push(cp);
    }
    for (const cp of usable) if (cp.step !== 0) this.store.adopt(cp.step, cp.state, cp.regionPages, cp.ramDelta); // step 0: the same as the one just captured
    return usable.filter((cp) => cp.step !== 0).length;
  }

  private ignoreSavedCheckpoints(count: number, reason: string): 0 {
    const which = count === 1 ? 'the checkpoint saved in the trace was' : `the ${count} checkpoints saved in the trace were`;
    this.ignoredCheckpoints = `${which} ignored: ${reason} ('monitor checkpoints save' replaces them)`;
    return 0;
  }

  /** Saves every checkpoint into the trace file, so the next session starts with them. */
  saveCheckpoints(): void {
    let previous: Uint8Array[] | null = null;
    const rows = this.store.all.map((cp) => {
      const blob = encodeCheckpoint(cp, previous, this.events);
      previous = cp.regionPages;
      return { icounts: cp.state.harts.map((h) => h.icount), blob };
    });
    saveCheckpoints(this.tracePath, rows);
  }

  static open(tracePath: string, opts: TimelineOptions): ReplayTimeline {
    const reader = TraceReader.open(tracePath);
    try {
      return new ReplayTimeline(reader, opts);
    } finally {
      reader.close();
    }
  }

  /** The current global step. */
  get step(): Step {
    return this.engine.step;
  }

  /** The hart whose turn it is, or that the last stop was about. */
  get current(): number {
    return this.engine.current;
  }

  set current(hart: number) {
    this.engine.current = hart;
  }

  get checkpointCount(): number {
    return this.store.count;
  }

  get checkpointBytes(): number {
    return this.store.bytes;
  }

  get checkpointSteps(): Step[] {
    return this.store.all.map((c) => c.step);
  }

  /**
   * The guest's clock (ticks of its 10 MHz timebase) at the current step: a serial trace's virtual
   * clock, or for a parallel trace the latest value any hart has read from it so far (the trace
   * records clock reads, not the clock); null before the first read.
   */
  guestTicks(): bigint | null {
    if (!this.parallelTrace) return this.clock.now();
    let latest: bigint | null = null;
    this.engine.slots.forEach((s, id) => {
      const pos = (s.supervisor as HartReplayer).snapshot();
      const list = this.events[id];
      for (let i = pos.consumed - 1; i >= 0; i--) {
        const e = list[i];
        if (e.kind !== 'time' || e.icount >= s.hart.icount) continue;
        if (latest === null || e.value > latest) latest = e.value;
        break;
      }
    });
    return latest;
  }

  isFinished(hart: number): boolean {
    return this.engine.finished[hart];
  }

  // --- motion --------------------------------------------------------------------------------------
  /** Moves to `step` (clamped to the trace), forwards or via the nearest checkpoint. */
  async seek(target: Step, interrupt?: AbortSignal): Promise<RunEnd> {
    target = Math.max(0, Math.min(target, this.endStep));
    const cp = this.store.atOrBefore(target)!;
    const pos = this.step;
    if (!(pos <= target && pos >= cp.step)) this.restore(cp);
    return this.run({ target, detect: false, ignoreBreakpointsAt: -1 }, interrupt, 'seeking');
  }

  /** Runs forward until a breakpoint/watchpoint hit (reported in its stop state), the end, or an interrupt. */
  async continueForward(interrupt?: AbortSignal): Promise<RunEnd> {
    const start = this.step;
    const end = await this.run({ target: this.endStep, detect: true, ignoreBreakpointsAt: start, onHit: () => true }, interrupt, 'running');
    if (end.kind === 'hit' && end.hit.kind === 'watch') await this.seek(end.hit.step); // the block ran on past the access
    if (end.kind === 'hit') this.current = end.hit.hart;
    return end;
  }

  /** Runs until `hart` has retired one more instruction (other harts run as the timeline says). */
  async stepForward(hart: number, interrupt?: AbortSignal): Promise<RunEnd> {
    if (this.engine.finished[hart] || this.harts[hart].icount >= this.finals[hart]) return { kind: 'end' };
    const start = this.step;
    const end = await this.run({ target: this.endStep, stepHart: { hart, icount: this.harts[hart].icount + 1 }, detect: true, ignoreBreakpointsAt: start, onHit: () => true }, interrupt, 'stepping');
    if (end.kind === 'hit' && end.hit.kind === 'watch') await this.seek(end.hit.step);
    if (end.kind === 'hit') this.current = end.hit.hart;
    if (end.kind === 'step') this.current = hart;
    return end;
  }

  /**
   * Goes back to just before the last instruction `hart` executed. Returns 'end' kind 'target'
   * when done, or null when the hart has not executed anything yet (start of its history).
   */
  async stepBackward(hart: number, interrupt?: AbortSignal): Promise<RunEnd | null> {
    const n = this.harts[hart].icount;
    if (n === 0) return null;
    const here = this.step;
    const cp = this.store.atOrBefore(here - 1, (c) => c.state.harts[hart].icount <= n - 1)!;
    this.restore(cp);
    const stepHart = { hart, icount: n - 1 };
    const near = this.opts.nearCheckpointSteps ?? NEAR_CHECKPOINT_STEPS[this.opts.tier ?? DEFAULT_TIER];
    const spec = (target: number): RunSpec => ({ target, stepHart, detect: false, ignoreBreakpointsAt: -1 });
    let end: RunEnd = { kind: 'target' };
    if (here - cp.step > 2 * near) {
      end = await this.run(spec(here - near), interrupt, 'stepping back');
      if (end.kind === 'step' && this.step - cp.step > 2 * near) {
        // The hart's previous instruction lay further back than `near` (it waited while the others
        // ran): run again to leave a checkpoint near it, or the next step back re-runs all this.
        // Running twice, once, costs less than capturing every `near` steps on the way.
        const landing = this.step;
        this.restore(cp);
        end = await this.run(spec(landing - near), interrupt, 'stepping back');
      }
      if (end.kind === 'target') this.checkpointHere();
    }
    if (end.kind === 'target') end = await this.run(spec(here), interrupt, 'stepping back');
    if (end.kind === 'interrupted') {
      await this.seek(here);
      return end;
    }
    this.current = hart;
    return end;
  }

  /**
   * Finds the last breakpoint or watchpoint hit strictly before the current step by re-running
   * the windows between checkpoints backwards, and goes there. Null: no hit back to the start
   * (the timeline is then at step 0).
   */
  async reverseContinue(interrupt?: AbortSignal): Promise<RunEnd | null> {
    const here = this.step;
    let hi = here;
    while (hi > 0) {
      const cp = this.store.atOrBefore(hi - 1)!;
      this.restore(cp);
      const found: { hit: Hit | null } = { hit: null };
      const end = await this.run({ target: hi, detect: true, ignoreBreakpointsAt: -1, onHit: (hit) => { if (hit.step < here) found.hit = hit; return false; } },
        interrupt, 'searching backwards');
      if (end.kind === 'interrupted') {
        await this.seek(here);
        return end;
      }
      if (found.hit) {
        const hit = found.hit;
        await this.seek(hit.step);
        this.current = hit.hart;
        return { kind: 'hit', hit };
      }
      hi = cp.step;
    }
    await this.seek(0);
    return null;
  }

  /** Saves a checkpoint at the current step (no-op if one exists). */
  checkpointHere(): boolean {
    if (this.store.has(this.step)) return false;
    this.capture();
    return true;
  }

  /** Runs the engine, taking a checkpoint at every multiple of the interval on the way. */
  private run(spec: RunSpec, interrupt: AbortSignal | undefined, what: string): Promise<RunEnd> {
    const { progress, progressEnd } = this.opts;
    return this.engine.run(spec, interrupt, {
      sliceEnd: (pos) => (Math.floor(pos / this.interval) + 1) * this.interval,
      between: () => {
        if (this.step % this.interval === 0 && !this.store.has(this.step)) this.capture(true);
      },
      progress: progress ? { update: (done, total) => progress(what, done, total), end: () => progressEnd?.() } : undefined,
    }).then((end) => {
      // The first pass to the end compiled what the trace needs: the next session starts with it.
      if (this.step === this.endStep && this.jitCache) {
        this.jitCache.save();
        this.jitCache = null;
      }
      return end;
    });
  }

  // --- checkpoints -------------------------------------------------------------------------------------
  /** `automatic`: on the interval's grid, which may widen when captures cost too much (see below). */
  private capture(automatic = false): void {
    for (const h of this.harts) h.syncOut();
    const cp = this.store.capture(this.step, this.snapshot());
    this.markCachedStorePages();
    if (this.store.thin(this.interval) === 'uniform') this.interval *= 2;
    // A guest that rewrites much memory makes every capture copy many pages: widen the spacing
    // until copying costs at most CAPTURE_SHARE of running the interval (a page copy costs about
    // as much as PAGE_COPY_STEPS instructions of the tier; counted in pages, not time, so the
    // timeline stays the same from run to run). Bounded so reverse steps stay short.
    if (automatic && this.opts.widenInterval !== false && cp.step > 0 && cp.ramDelta.size * PAGE_COPY_STEPS[this.opts.tier ?? DEFAULT_TIER] > CAPTURE_SHARE * this.interval
      && this.interval < this.opts.checkpointInterval * MAX_INTERVAL_WIDENING) this.interval *= 2;
  }

  private snapshot(): TimelineState {
    return {
      sched: copySched(this.engine.sched),
      harts: this.engine.slots.map((s, id) => ({
        paused: s.runner.paused,
        ...s.runner.exceptionState,
        tlb: s.hart.mmu.saveTlb(),
        finished: this.engine.finished[id],
        lines: s.hart.lines,
        icount: s.hart.icount,
        position: (s.supervisor as HartReplayer | SerialReplayer).snapshot(),
      })),
      progress: this.progressState ? new Uint8Array(this.progressState.buffer).slice() : null,
      clockSkipped: this.clock.skippedTicks,
      consoleBytes: this.consoleBytes,
      current: this.current,
    };
  }

  private restore(cp: Checkpoint<TimelineState>): void {
    this.store.restore(cp);
    const st = cp.state;
    this.engine.sched = copySched(st.sched);
    this.engine.finished = st.harts.map((h) => h.finished);
    this.engine.slots.forEach((s, id) => {
      const saved = st.harts[id];
      s.hart.syncIn();
      s.hart.mmu.restoreTlb(saved.tlb);
      s.hart.observeLines(saved.lines);
      s.runner.paused = saved.paused;
      s.runner.exceptionState = saved;
      const pos = saved.position;
      const events = this.eventsFrom(id, pos.consumed);
      if (s.supervisor instanceof HartReplayer) s.supervisor.restore(pos as ReplayerPosition, events);
      else (s.supervisor as SerialReplayer).restore(pos as SerialPosition, events);
    });
    if (this.progressState && st.progress) new Uint8Array(this.progressState.buffer).set(st.progress);
    this.clock.skippedTicks = st.clockSkipped;
    this.consoleBytes = st.consoleBytes;
    this.current = st.current;
    this.markCachedStorePages();
  }

  /**
   * Checkpoint deltas come from the pages marked dirty since the last capture or restore, and a
   * store marks its page when it fills a TLB entry. The TLBs stay filled across checkpoints (they
   * are guest-visible), so every page a cached store translation points at counts as written.
   */
  private markCachedStorePages(): void {
    const dirty = this.board.bus.dirtyPages!;
    const mark = (ramIndex: number) => { if (ramIndex >= 0 && ramIndex < dirty.length) dirty[ramIndex] = 1; };
    for (const h of this.harts) {
      for (const pa of h.mmu.cachedStorePages()) if (this.board.bus.isRam(pa)) mark(Math.floor((pa - RAM_BASE) / PAGE_SIZE));
      for (const index of jitMirrorStorePages(this.memory, h.id)) mark(Math.floor((index - RAM_OFFSET) / PAGE_SIZE));
    }
  }

  private eventsFrom(hart: number, index: number): Iterator<TraceEvent> {
    const list = this.events[hart];
    let i = index;
    return { next: () => (i < list.length ? { value: list[i++], done: false } : { value: undefined, done: true }) };
  }

  private emitConsole(byte: number): void {
    if (this.consoleBytes++ < this.consoleShown) return;
    this.consoleShown++;
    this.opts.console?.(Uint8Array.of(byte));
  }
}

function copySched(s: SchedState): SchedState {
  return { ...s, live: s.live.slice(), turn: s.turn ? { ...s.turn } : null };
}

/** Errors that end a timeline operation with a message for the user (divergence, damaged trace). */
export function isReplayError(err: unknown): err is HindsightError {
  return err instanceof HindsightError;
}
