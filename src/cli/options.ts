import { InvalidArgumentError } from 'commander';
import { MAX_HARTS, MAX_RAM_BYTES } from '../shm/layout.js';
import type { DiskSpec } from '../machine/loader.js';
import { VIRTIO_COUNT } from '../machine/memmap.js';
import { type CpuFeatures, parseCpuFeatures } from '../cpu/features.js';

/** Parses a memory size the way QEMU's -m does: plain number = MiB, or a K/M/G suffix. */
export function parseMemorySize(text: string): number {
  const m = /^(\d+)([kKmMgG]?)[bB]?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`'${text}' is not a memory size (examples: 128M, 1G)`);
  const n = Number(m[1]);
  const unit = m[2].toUpperCase();
  const bytes = unit === 'K' ? n * 1024 : unit === 'G' ? n * 1024 ** 3 : n * 1024 ** 2;
  if (bytes < 16 * 1024 * 1024) throw new InvalidArgumentError(`memory size ${text} is too small (at least 16M)`);
  if (bytes > MAX_RAM_BYTES) throw new InvalidArgumentError(`memory size ${text} is too large (at most ${Math.floor(MAX_RAM_BYTES / 1024 ** 2)}M)`);
  if (bytes % 4096 !== 0) throw new InvalidArgumentError(`memory size ${text} is not a multiple of 4K`);
  return bytes;
}

export function parseHarts(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_HARTS) throw new InvalidArgumentError(`harts must be a whole number from 1 to ${MAX_HARTS}`);
  return n;
}

export function parseThreads(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_HARTS) throw new InvalidArgumentError(`threads must be a whole number from 1 to ${MAX_HARTS}`);
  return n;
}

export function parsePositiveNumber(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`'${text}' is not a positive number`);
  return n;
}

export function parseCount(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`'${text}' is not a positive whole number`);
  }
  return Number(text);
}

export function parsePort(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new InvalidArgumentError(`'${text}' is not a TCP port (0-65535)`);
  return n;
}

/**
 * One `--disk FILE[,slot=N]`, collected into the list of disks. Slot N is QEMU's
 * virtio-mmio-bus.N (0x10001000 + N * 0x1000, PLIC source 1 + N); without it the disk takes the
 * highest free slot, as QEMU's `-drive if=virtio` does.
 */
export function collectDisk(text: string, previous: DiskSpec[] = []): DiskSpec[] {
  const m = /^(.*),slot=([^,]*)$/.exec(text);
  const path = m ? m[1] : text;
  if (path === '') throw new InvalidArgumentError(`'${text}' names no disk image`);
  let slot: number | null = null;
  if (m) {
    if (!/^\d+$/.test(m[2]) || Number(m[2]) >= VIRTIO_COUNT) {
      throw new InvalidArgumentError(`slot '${m[2]}' is not a virtio slot (0-${VIRTIO_COUNT - 1})`);
    }
    slot = Number(m[2]);
  }
  return [...previous, { path, slot }];
}

/** `--chaos=SEED`: a 32-bit unsigned seed, or `random` (what a bare `--chaos` means). */
export function parseChaosSeed(text: string): number | 'random' {
  if (text === 'random') return 'random';
  if (!/^\d+$/.test(text) || Number(text) > 0xffffffff) {
    throw new InvalidArgumentError(`'${text}' is not a chaos seed (a whole number from 0 to 4294967295; write --chaos=SEED)`);
  }
  return Number(text);
}

/** `--fail-on-exit 1,3,124`. */
export function parseExitCodes(text: string): number[] {
  const codes = text.split(',').map((s) => s.trim());
  if (codes.length === 0 || codes.some((c) => !/^\d+$/.test(c) || Number(c) > 255)) {
    throw new InvalidArgumentError(`'${text}' is not a comma-separated list of exit codes (0-255)`);
  }
  return codes.map(Number);
}

/** `--fail-on REGEX` (JavaScript syntax, matched against the whole console output). */
export function parseRegex(text: string): RegExp {
  try {
    return new RegExp(text, 'm');
  } catch (err) {
    throw new InvalidArgumentError(`'${text}' is not a regular expression: ${(err as Error).message}`);
  }
}

/** `--cpu rv64[,EXT=on|off]...`: the extensions the harts implement (QEMU's -cpu switches). */
export function parseCpu(text: string): CpuFeatures {
  const parsed = parseCpuFeatures(text);
  if (typeof parsed === 'string') throw new InvalidArgumentError(parsed);
  return parsed;
}
