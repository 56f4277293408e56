/** The data a trace holds besides its event streams. */

/** A file the machine was started with (firmware, kernel, disk image, ...). */
export interface TraceImage {
  /** What the image is for: 'firmware', 'kernel', 'disk', ... (unique within a trace by convention, not enforced). */
  role: string;
  /** Where it was read from when recording (informative only: replay uses the stored bytes). */
  path: string | null;
  /** Guest physical load address (0 for images not loaded into memory, e.g. disks). */
  loadAddress: number;
  bytes: Uint8Array;
}

export interface TraceHeader {
  /** Version of hindsight that recorded the trace. */
  toolVersion: string;
  sched: 'parallel' | 'serial';
  /** The machine configuration (JSON-serialisable). */
  machine: Record<string, unknown>;
  images: TraceImage[];
}

export interface TraceSummary {
  exitCode: number;
  stopReason: string;
  /** Retired-instruction count of each hart at the end, indexed by hart. */
  icounts: number[];
  /**
   * Serial traces: safe points each hart passed at its final icount. Replay stops a hart there
   * before its next one, so a hart stopped with an interrupt pending ends exactly as recorded
   * (on any tier). Absent in older traces.
   */
  finalSafePoints?: number[];
  /** Hash of each hart's final register state and RAM (as text, e.g. hex), indexed by hart. */
  finalStateHashes: string[];
  /** How those hashes cover RAM (engine/state-hash.ts RamHashScheme); absent: 'all' (older traces). */
  ramHash?: 'all' | 'written';
  wallSeconds: number;
  consoleBytes: number;
  /**
   * Acquire events of all harts: with icounts, what a replay without --sched decides by
   * (replayer/replay-plan.ts), without counting the events. Absent in older traces.
   */
  acquires?: number;
  truncated?: boolean;
  truncatedReason?: string;
}

/** A run of console output bytes written by one hart (console_positions table). */
export interface ConsolePosition {
  /** Offset of the run's first byte in the whole console output. */
  offset: number;
  hart: number;
  /** The hart's icount at the store that wrote the run's first byte. */
  icount: number;
  count: number;
}

/** What replay needs to rebuild the same machine; stored as the trace header's machine config. */
export interface RecordedMachine {
  harts: number;
  ramBytes: number;
  append: string;
  /** Serial traces may carry a disk (copy-on-write: replay starts from the recorded image). */
  disk: boolean;
  /** The virtio slot of each disk, in image order (roles 'disk', 'disk2', ...); absent in older traces (one disk, slot 7). */
  diskSlots?: number[];
  /** Serial traces: instructions per hart turn (the schedule replay must repeat). */
  serialQuantum: number | null;
  maxInsns: number | null;
  /** Which embedded image plays which part. */
  bios: boolean;
  kernel: boolean;
  initrd: boolean;
  /** --chaos seed the recording ran with (information only: replay needs nothing from it). */
  chaos?: { seed: number } | null;
  /**
   * The harts' extensions as a complete `--cpu` string (every switch spelled out, e.g.
   * `rv64,f=off,d=off,zba=on,zbb=on,zbs=on,sstc=on`), so replay builds the same CPU whatever the
   * default is. Absent in traces from before --cpu: the fixed rv64imac set (every switch off).
   */
  cpu?: string;
  /**
   * What a hart's release empties of its TLB (parallel traces): 'page-or-devices', the translations
   * that lead to the released page (for the device bus, those to any page that is not RAM);
   * 'page' (traces before 2026-12-03), the same but the whole TLB for the device bus; absent in
   * older traces, the whole TLB. TLB contents are guest-visible, so replay must drop exactly what
   * the recording dropped.
   */
  releaseInvalidates?: 'page-or-devices' | 'page';
  /**
   * What SFENCE.VMA with an address empties of the TLB: 'address', the translations of that
   * address (Mmu.flushAddress); absent in traces recorded before 2026-12-04, everything.
   */
  sfence?: 'address';
}
