import type { CpuFeatures } from '../cpu/features.js';

/**
 * Everything a thread needs to build its view of the machine. Plain data (structured-cloneable),
 * so the coordinator can hand it to every worker.
 */
export interface BoardConfig {
  harts: number;
  ramBytes: number;
  /** Boot ROM bytes (reset vector + boot info), identical in every thread. */
  rom: Uint8Array;
  /** Physical address of the HTIF `tohost` word, when the loaded ELF has one. */
  tohost: number | null;
  fromhost: number | null;
  /** virtio-blk disks, each in its own virtio-mmio slot. */
  disks: DiskConfig[];
  /** The extensions every hart implements. */
  cpu: CpuFeatures;
}

export interface DiskConfig {
  /** virtio-mmio slot 0..7 (QEMU's virtio-mmio-bus.N). */
  slot: number;
  /** Disk content; shared by all threads. */
  buffer: SharedArrayBuffer;
  readOnly: boolean;
  /** When set (--disk-writable), writes go through to this file. */
  writeThroughPath: string | null;
}
