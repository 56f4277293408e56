/**
 * Layout of the one shared WebAssembly.Memory every thread maps.
 *
 *   0x0000_0000  hart state blocks, HART_BLOCK_BYTES each (MAX_HARTS of them)
 *   0x0040_0000  machine control block (run state, exit code, time epoch, ...)
 *   0x0040_1000  console rings (guest -> host output, host -> guest input)
 *   0x0042_0000  device state regions (one per MMIO device, see DEVICE_REGIONS)
 *   0x0080_0000  per-RAM-page tables (code-page generation counters, code-page flags, heat), JIT chain tables
 *   0x0100_0000  guest RAM (physical RAM_BASE maps here)
 *
 * Offsets are bytes from the start of the memory. The wasm JIT addresses the same bytes, so every
 * offset here is part of the contract between execution tiers: change it only here.
 */
export const MAX_HARTS = 64;
/**
 * Entries of each soft TLB (per access kind; src/cpu/mmu.ts) and of the JIT's mirrors of them.
 * 1,024: bench_compute's working set (~300 pages) thrashed 256 direct-mapped entries, one
 * fill (a call out of wasm) per ~5,000 instructions (docs/ARCHITECTURE.md).
 */
export const JIT_TLB_ENTRIES = 1024;
export const HART_BLOCK_BYTES = 0x10000;
export const HARTS_BASE = 0;

export const CTRL_BASE = HARTS_BASE + MAX_HARTS * HART_BLOCK_BYTES;
export const CTRL_BYTES = 0x1000;
/** Int32 word indices inside the control block. */
export const Ctrl = {
  /** 0 running, 1 halting (poweroff/fatal/timeout requested), 2 all harts stopped. */
  RunState: 0,
  /** Guest exit code once RunState != 0. */
  ExitCode: 1,
  /** Why the machine stopped: see StopReason. */
  StopReason: 2,
  /** Number of harts still executing (decremented by each worker as it leaves its loop). */
  LiveHarts: 3,
  /** Bumped whenever console output is appended; the coordinator waits on it. */
  ConsoleSeq: 4,
  /** Number of harts in the machine. */
  NumHarts: 5,
  /**
   * Hart workers that have not reached the start line yet (MachineControl.arriveAtStart): the harts
   * of a machine start together, however long each worker took to load (one started ahead of time,
   * host/worker-pool.ts, is ready ~100 ms before a fresh one, which would change how guests race).
   */
  StartingWorkers: 6,
  /**
   * 1 while the coordinator is about to sleep or sleeps on ConsoleSeq (wakeCoordinator): a
   * producer notifies only then, instead of a futex wake per console byte (3% of a hart's time on
   * a Linux boot, and a main-thread wake and a write(2) per byte).
   */
  CoordinatorSleeping: 7,
  /** Compiled pages the harts have published to each other (jit/jit-share.ts). */
  JitPublished: 10,
  /** Harts halted for good (HartRunner's halt detection): when all are, the machine stops (StopReason.Halted). */
  HaltedHarts: 11,
  /** 1 while the command still works on the machine's results: finished hart workers wait before they wind down (MachineControl.holdWorkers). */
  HoldWorkers: 12,
  /** Int64 index (not Int32!) of the host monotonic time (ns) at which mtime was 0. */
  EpochNs64: 4,
  /**
   * Int64 index (Int32 words 14-15) of the host monotonic time (ns) at which the harts started
   * (MachineControl.arriveAtStart; 0 before): the run's wall time counts from there, not from the
   * workers' loading (a plain run's ~50 ms wait for its workers was in its MIPS, a recording's not).
   */
  StartedNs64: 7,
} as const;

export const enum StopReason {
  None = 0,
  Poweroff = 1,
  Reboot = 2,
  Fatal = 3,
  Timeout = 4,
  Interrupted = 5,
  InsnLimit = 6,
  /** Every hart sits in `wfi` + a jump back with no interrupt enabled: nothing can ever wake one (HartRunner). */
  Halted = 7,
}

export const CONSOLE_BASE = CTRL_BASE + 0x1000;
export const CONSOLE_RING_BYTES = 0x8000; // power of two
/** Each ring: Int32 head (bytes ever written) at +0, Int32 tail (bytes ever read) at +4, data at +64. */
export const CONSOLE_OUT = CONSOLE_BASE;
export const CONSOLE_IN = CONSOLE_BASE + 64 + CONSOLE_RING_BYTES;

export const DEVICE_BASE = CTRL_BASE + 0x20000;
/** Byte offset and size of each device's state region. The first Int32 of every region is its lock. */
export const DEVICE_REGIONS = {
  uart0: { offset: DEVICE_BASE, size: 0x1000 },
  plic: { offset: DEVICE_BASE + 0x1000, size: 0x10000 },
  clint: { offset: DEVICE_BASE + 0x11000, size: 0x1000 },
  test: { offset: DEVICE_BASE + 0x12000, size: 0x100 },
  htif: { offset: DEVICE_BASE + 0x12100, size: 0x100 },
  /** virtio slot n: offset + n * 0x1000 */
  virtio: { offset: DEVICE_BASE + 0x13000, size: 0x1000 },
} as const;

export const PAGE_TABLES_BASE = 0x800000;
/** Uint32 per 4 KiB RAM page: bumped on every write to a page that holds translated code. */
export const CODE_GEN_BASE = PAGE_TABLES_BASE;
/** Uint8 per 4 KiB RAM page: nonzero once any hart has translated code from the page. */
export const CODE_FLAG_BASE = PAGE_TABLES_BASE + 0x200000;
/** Int32 per 4 KiB RAM page: block executions of the page's code, all harts together, towards the JIT's hotness (jit/jit-share.ts). */
export const CODE_HEAT_BASE = PAGE_TABLES_BASE + 0x280000;

/**
 * The wasm JIT's page chaining (src/jit/chain.ts), JIT_CHAIN_STRIDE bytes per hart: a cache of
 * host-side state, outside the snapshot regions (checkpoints never hold it; the MMU empties it on
 * a TLB restore). Entry tables rebuild themselves from JS entries.
 */
export const JIT_CHAIN_BASE = PAGE_TABLES_BASE + 0x480000;
export const JIT_CHAIN_STRIDE = 0x8000;
export const JitChain = {
  /** JIT_TLB_ENTRIES entries of 16 bytes: Int64 tag (vaddr >> 12), Int32 MMU epoch, Int32 table slot (a fetch TLB mirror). */
  ENTRIES: 0,
  /** JIT_CHAIN_SLOTS slots of 8 bytes: Int32 RAM page, Int32 code generation of the module in that table slot. */
  SLOTS: 16 * JIT_TLB_ENTRIES,
  /** Int32: page calls made by the dispatcher itself (statistics). */
  CHAINED: 16 * JIT_TLB_ENTRIES + 0x1004,
} as const;
export const JIT_CHAIN_SLOTS = 512;

/**
 * Uint8 per 4 KiB RAM page: nonzero once anything may have written the page — the loader, a store
 * translation cached by any hart's MMU (so every store, compiled or not), DMA, a checkpoint
 * restore. A page never marked still holds the zeros of a fresh memory, so the final state hash
 * reads only marked pages (engine/state-hash.ts): reading a never-touched page makes the host
 * fault it in, ~11 us a page on these VMs, 0.37 s for 128 MiB.
 */
export const RAM_WRITTEN_BASE = JIT_CHAIN_BASE + MAX_HARTS * JIT_CHAIN_STRIDE;

export function jitChainBase(hart: number): number {
  return JIT_CHAIN_BASE + hart * JIT_CHAIN_STRIDE;
}

export const RAM_OFFSET = 0x1000000;
export const MAX_RAM_BYTES = 0x7f000000 - RAM_OFFSET; // keeps the memory under 2 GiB
if (RAM_WRITTEN_BASE + (MAX_RAM_BYTES >>> 12) > RAM_OFFSET || CODE_HEAT_BASE + 4 * 0x80000 > JIT_CHAIN_BASE) throw new Error('layout: the per-page tables and JIT chain blocks overlap');
export const WASM_PAGE = 65536;

/** Hart state block: byte offsets inside one hart's block. */
export const HartBlock = {
  /** x0..x31, Int64 each */
  X: 0,
  PC: 256,
  /** Int64: retired instructions */
  ICOUNT: 264,
  /** Int32: current privilege (0 U, 1 S, 3 M) */
  PRIV: 272,
  /** Int32: interrupt-pending bits written by devices and other harts (atomically) */
  MIP: 276,
  /** Int32: exit request; nonzero makes the hart leave its execution loop at the next block */
  EXIT_REQ: 280,
  /** Int32: futex word the hart sleeps on in WFI; bumped (and notified) to wake it */
  WAKE: 284,
  /** Int32: 1 while the hart's thread sleeps for it (WFI, a wait for a right, a nap); 2 once it has finished (engine/peer-watch.ts) */
  SLEEPING: 288,
  /** Int32: 1 while an LR reservation is held */
  RES_VALID: 292,
  /** Int64: reserved address; Int64 value seen by LR (cmpxchg scheme) */
  RES_ADDR: 296,
  RES_VALUE: 304,
  /** Int64: host monotonic ns deadline of this hart's mtimecmp (or max) */
  TIMER_DEADLINE: 312,
  /** Int64: safe points the hart passed at its final icount (serial recording: published at its end, for the trace) */
  SAFE_POINTS: 320,
  /**
   * Int32: 1 + the id of a hart whose wake word a kick of this hart also bumps (0: none). Harts
   * sharing one host thread point at the first of them, so a sleeping thread wakes for any of its harts.
   */
  WAKE_ALSO: 328,
  /**
   * Int32: the device lines as the hart last observed them at a safe point (Hart.observeLines):
   * unlike MIP, the same at the same icount in a recording and its replay, so compiled code may
   * decide on it (isa/ext/zicsr.ts).
   */
  OBSERVED_LINES: 332,
  /**
   * Int32: bumped by the hart's thread as it runs the hart (each block, each spin of a wait), so
   * other harts can tell a hart whose thread waits for a core from one that runs (engine/peer-watch.ts).
   */
  HEARTBEAT: 336,
  /** Int32: the wake word's value the hart last went to sleep on (a kick since makes it runnable; engine/peer-watch.ts) */
  SLEPT_ON: 340,
  /** CSR storage: CSR_SLOTS Int64 slots, numbered by the CSR table (src/cpu/csr.ts) */
  CSRS: 512,
  CSR_SLOTS: 192,
  /**
   * The wasm JIT's soft-TLB mirrors (src/jit/): JIT_TLB_ENTRIES direct-mapped entries of 16 bytes
   * each for loads and for stores: Int64 tag (vaddr >> 12) at +0, Int32 MMU flush epoch at +8,
   * Int32 addend at +12 (memory index = low 32 bits of vaddr + addend). Only RAM pages the fast
   * path may touch are entered; a stale epoch means empty.
   */
  JIT_TLB_LOAD: 0x4000,
  JIT_TLB_STORE: 0x4000 + 16 * JIT_TLB_ENTRIES,
  /** f0..f31 (F/D), raw bits, Int64 each; singles NaN-boxed as the ISA stores them */
  F: 0x3000,
  /** Int32: the JIT's FP call-out reports here whether the op must trap instead (src/jit/) */
  FP_STATUS: 0x3100,
} as const;

if (HartBlock.JIT_TLB_STORE + 16 * JIT_TLB_ENTRIES > HART_BLOCK_BYTES || JitChain.CHAINED + 4 > JIT_CHAIN_STRIDE || DEVICE_BASE + 0x20000 > PAGE_TABLES_BASE) {
  throw new Error('layout: a hart block, JIT chain block or the device regions outgrew their space');
}

export function hartBase(hart: number): number {
  return HARTS_BASE + hart * HART_BLOCK_BYTES;
}

export function totalMemoryBytes(ramBytes: number): number {
  const bytes = RAM_OFFSET + ramBytes;
  return Math.ceil(bytes / WASM_PAGE) * WASM_PAGE;
}

/** Creates the shared memory for a machine with the given RAM size. */
export function createSharedMemory(ramBytes: number): WebAssembly.Memory {
  const pages = totalMemoryBytes(ramBytes) / WASM_PAGE;
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/**
 * A zero-filled SharedArrayBuffer of at least `bytes` bytes (rounded up to 64 KiB) on fresh pages.
 * `new SharedArrayBuffer` takes calloc's memory; served from free heap memory rather than a fresh
 * mapping (as in a process that has run a while), glibc zeroes it with memset, faulting in every
 * page: a recording's 2.8 MB of tables took 7-19 ms to allocate that way in the CLI, 0.1-0.2 ms
 * as wasm memory, whose pages the kernel zeroes only when first touched.
 */
export function freshSharedBuffer(bytes: number): SharedArrayBuffer {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE));
  return sharedBuffer(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }));
}

/** The SharedArrayBuffer behind a shared memory (typed as ArrayBuffer by the DOM lib). */
export function sharedBuffer(memory: WebAssembly.Memory): SharedArrayBuffer {
  return memory.buffer as unknown as SharedArrayBuffer;
}

/** The machine's count of posts on its jit-share channel (Ctrl.JitPublished), as jit/jit-share.ts takes it. */
export function jitPublishedCounter(memory: WebAssembly.Memory): Int32Array {
  return new Int32Array(sharedBuffer(memory), CTRL_BASE + 4 * Ctrl.JitPublished, 1);
}
