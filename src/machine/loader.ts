import { readFileSync, statSync } from 'node:fs';
import { type CpuFeatures, DEFAULT_CPU_FEATURES, isaExtensionsFor, isaStringFor } from '../cpu/features.js';
import { RAM_OFFSET, RAM_WRITTEN_BASE } from '../shm/layout.js';
import { InputError } from '../errors.js';
import { BoardConfig, DiskConfig } from './config.js';
import { buildVirtDtb } from './dtb.js';
import { ElfImage, isElf, parseElf } from './elf.js';
import { PAGE_SHIFT } from './bus.js';
import { BOOT_ROM_SIZE, KERNEL_OFFSET_WITH_BIOS, RAM_BASE, VIRTIO_COUNT } from './memmap.js';

export interface BootOptions {
  harts: number;
  ramBytes: number;
  /** Firmware loaded at RAM_BASE and entered at reset; null = `--bios none`. */
  bios: string | null;
  kernel: string | null;
  initrd: string | null;
  append: string;
  /** virtio-blk disks in command-line order (slots are assigned by `assignDiskSlots`). */
  disks: DiskSpec[];
  diskWritable: boolean;
  /** The extensions the harts implement (default DEFAULT_CPU_FEATURES); misa and the device tree follow. */
  cpu?: Readonly<CpuFeatures>;
  /** false: no riscv,isa-extensions in the device tree (replaying traces recorded before it was there). */
  isaExtensionsInDtb?: boolean;
  /** Where image bytes come from: the files by default; a trace's embedded copies on replay. */
  readImage?: (role: string, path: string) => Uint8Array;
}

/** A `--disk FILE[,slot=N]`: slot null = the highest free virtio slot. */
export interface DiskSpec {
  path: string;
  slot: number | null;
}

/**
 * Gives every disk its virtio-mmio slot: explicit slots first (each at most once), then the
 * others from the highest free slot down, as QEMU places `-drive if=virtio`.
 */
export function assignDiskSlots(disks: DiskSpec[]): number[] {
  if (disks.length > VIRTIO_COUNT) throw new InputError(`too many disks: the virt board has ${VIRTIO_COUNT} virtio slots`);
  const taken = new Map<number, string>();
  for (const d of disks) {
    if (d.slot === null) continue;
    if (!Number.isInteger(d.slot) || d.slot < 0 || d.slot >= VIRTIO_COUNT) throw new InputError(`disk '${d.path}': slot ${d.slot} is not a virtio slot (0-${VIRTIO_COUNT - 1})`);
    const other = taken.get(d.slot);
    if (other !== undefined) throw new InputError(`--disk '${d.path}': virtio slot ${d.slot} is already taken by '${other}'`);
    taken.set(d.slot, d.path);
  }
  let next = VIRTIO_COUNT - 1;
  return disks.map((d) => {
    if (d.slot !== null) return d.slot;
    while (taken.has(next)) next--;
    taken.set(next, d.path);
    return next;
  });
}

/** The trace image role of the k-th disk (the first keeps the plain 'disk' older traces have). */
export function diskRole(index: number): string {
  return index === 0 ? 'disk' : `disk${index + 1}`;
}

/** An image placed in guest memory, kept so a trace can embed exactly what ran. */
export interface LoadedImage {
  role: 'bios' | 'kernel' | 'initrd' | 'dtb' | string;
  path: string | null;
  bytes: Uint8Array;
  loadAddress: number;
}

export interface PreparedMachine {
  config: BoardConfig;
  images: LoadedImage[];
  /** Address the boot ROM jumps to. */
  entry: number;
  /** The ELF symbols of the kernel (or bios when no kernel), for HTIF and the debugger. */
  symbols: Map<string, bigint>;
}

const FW_DYNAMIC_MAGIC = 0x4942534fn; // "OSBI"
const FW_DYNAMIC_VERSION = 2n;
const NEXT_MODE_S = 1n;

export function readImageFile(role: string, path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new InputError(`${role} '${path}' is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${role} '${path}': ${code === 'ENOENT' ? 'no such file' : code ?? String(err)}`);
  }
  if (size === 0) throw new InputError(`${role} '${path}' is empty`);
  // A plain view of the Buffer readFileSync made, not a copy: copying a kernel Image's 2.2 MB cost
  // ~5 ms of start-up, faulting fresh pages in (~10 us each here).
  const bytes = readFileSync(path);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

class RamWriter {
  /** What was placed where: an image that lands on another one is refused, as QEMU refuses overlapping ROM regions. */
  private readonly placed: { role: string; path: string; start: number; end: number }[] = [];

  constructor(private readonly ram: Uint8Array, private readonly written: Uint8Array) {}

  place(role: string, path: string, address: number, bytes: Uint8Array, memsz = bytes.length): void {
    const off = address - RAM_BASE;
    const end = address + memsz;
    const hex = (a: number) => `0x${a.toString(16)}`;
    if (off < 0 || off + memsz > this.ram.length) {
      throw new InputError(`${role} '${path}' does not fit in guest RAM (needs ${hex(address)}..${hex(end)}; RAM is ${hex(RAM_BASE)}..${hex(RAM_BASE + this.ram.length)})`);
    }
    // Segments of one ELF may sit side by side; different images may not share a byte.
    const other = this.placed.find((p) => p.role !== role && address < p.end && p.start < end);
    if (other) {
      throw new InputError(`${role} '${path}' (${hex(address)}..${hex(end)}) overlaps ${other.role} '${other.path}' (${hex(other.start)}..${hex(other.end)}) in guest RAM`);
    }
    if (memsz > 0) this.placed.push({ role, path, start: address, end });
    this.ram.set(bytes, off);
    this.ram.fill(0, off + bytes.length, off + memsz);
    if (memsz > 0) this.written.fill(1, off >>> PAGE_SHIFT, ((off + memsz - 1) >>> PAGE_SHIFT) + 1);
  }
}

/** Loads an ELF's segments at their physical addresses, or a raw image at `rawAddress`. Returns the entry. */
function loadProgram(w: RamWriter, role: string, path: string, bytes: Uint8Array, rawAddress: number): { entry: number; elf: ElfImage | null } {
  if (isElf(bytes)) {
    const elf = parseElf(bytes, path);
    for (const seg of elf.segments) {
      if (seg.memsz === 0) continue;
      w.place(role, path, Number(seg.paddr), seg.data, seg.memsz);
    }
    return { entry: Number(BigInt.asUintN(64, elf.entry)), elf };
  }
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) parseElf(bytes, path); // throws a precise ELF error
  w.place(role, path, rawAddress, bytes);
  return { entry: rawAddress, elf: null };
}

/** The reset code at 0x1000, the same convention as QEMU's virt board: a0 = hartid, a1 = DTB, a2 = fw_dynamic info. */
export function buildBootRom(entry: number, dtbAddress: number, kernelEntry: number): Uint8Array {
  const rom = new Uint8Array(BOOT_ROM_SIZE);
  const dv = new DataView(rom.buffer);
  const code = [
    0x00000297, // auipc t0, 0
    0x02828613, // addi  a2, t0, 40     (fw_dynamic_info)
    0xf1402573, // csrr  a0, mhartid
    0x0202b583, // ld    a1, 32(t0)     (DTB address)
    0x0182b283, // ld    t0, 24(t0)     (entry)
    0x00028067, // jr    t0
  ];
  code.forEach((insn, i) => dv.setUint32(i * 4, insn, true));
  dv.setBigUint64(24, BigInt(entry), true);
  dv.setBigUint64(32, BigInt(dtbAddress), true);
  // struct fw_dynamic_info { magic, version, next_addr, next_mode, options, boot_hart }
  const info = [FW_DYNAMIC_MAGIC, FW_DYNAMIC_VERSION, BigInt(kernelEntry), NEXT_MODE_S, 0n, (1n << 64n) - 1n];
  info.forEach((v, i) => dv.setBigUint64(40 + i * 8, v, true));
  return rom;
}

/**
 * Places firmware, kernel, initrd and DTB in guest RAM as qemu-system-riscv64 -M virt does, and
 * returns the configuration every thread builds its board from.
 */
export function prepareMachine(memory: SharedArrayBuffer, opts: BootOptions): PreparedMachine {
  const readImage = opts.readImage ?? readImageFile;
  const ram = new Uint8Array(memory, RAM_OFFSET, opts.ramBytes);
  const w = new RamWriter(ram, new Uint8Array(memory, RAM_WRITTEN_BASE, opts.ramBytes >>> PAGE_SHIFT));
  const images: LoadedImage[] = [];
  let entry: number;
  let kernelEntry = RAM_BASE + KERNEL_OFFSET_WITH_BIOS;
  let symbols = new Map<string, bigint>();
  let kernelEnd = RAM_BASE;

  if (opts.bios) {
    const bytes = readImage('firmware', opts.bios);
    const fw = loadProgram(w, 'firmware', opts.bios, bytes, RAM_BASE);
    images.push({ role: 'bios', path: opts.bios, bytes, loadAddress: RAM_BASE });
    entry = fw.entry;
    if (fw.elf) symbols = fw.elf.symbols;
    if (opts.kernel) {
      const kbytes = readImage('kernel', opts.kernel);
      const k = loadProgram(w, 'kernel', opts.kernel, kbytes, RAM_BASE + KERNEL_OFFSET_WITH_BIOS);
      images.push({ role: 'kernel', path: opts.kernel, bytes: kbytes, loadAddress: k.entry });
      kernelEntry = k.entry;
      kernelEnd = k.entry + kbytes.length;
      if (k.elf) symbols = k.elf.symbols;
    }
  } else {
    if (!opts.kernel) throw new InputError('nothing to run: give a kernel (or --bios FILE)');
    const kbytes = readImage('kernel', opts.kernel);
    const k = loadProgram(w, 'kernel', opts.kernel, kbytes, RAM_BASE);
    images.push({ role: 'kernel', path: opts.kernel, bytes: kbytes, loadAddress: k.entry });
    entry = k.entry;
    kernelEntry = k.entry;
    kernelEnd = k.entry + kbytes.length;
    if (k.elf) symbols = k.elf.symbols;
  }

  let initrd: { start: number; end: number } | undefined;
  if (opts.initrd) {
    const bytes = readImage('initrd', opts.initrd);
    // QEMU: halfway into RAM (at most 512 MiB in), so an uncompressing kernel will not overwrite it.
    let start = RAM_BASE + Math.min(opts.ramBytes / 2, 512 * 1024 * 1024);
    start = Math.max(start, Math.ceil(kernelEnd / 4096) * 4096);
    w.place('initrd', opts.initrd, start, bytes);
    images.push({ role: 'initrd', path: opts.initrd, bytes, loadAddress: start });
    initrd = { start, end: start + bytes.length };
  }

  const cpu = opts.cpu ?? DEFAULT_CPU_FEATURES;
  const dtb = buildVirtDtb({
    harts: opts.harts, ramBase: RAM_BASE, ramSize: opts.ramBytes, bootargs: opts.append || undefined,
    initrd, isa: isaStringFor(cpu), isaExtensions: opts.isaExtensionsInDtb === false ? undefined : isaExtensionsFor(cpu), mmuType: 'riscv,sv48', virtioSlots: VIRTIO_COUNT,
  });
  // QEMU: the DTB goes at the end of RAM (below 3 GiB), aligned down to 2 MiB.
  const ramEnd = Math.min(RAM_BASE + opts.ramBytes, 0xc0000000);
  const dtbAddress = Math.floor((ramEnd - dtb.length) / 0x200000) * 0x200000;
  w.place('device tree', '(generated)', dtbAddress, dtb);
  images.push({ role: 'dtb', path: null, bytes: dtb, loadAddress: dtbAddress });

  const slots = assignDiskSlots(opts.disks);
  const disks: DiskConfig[] = opts.disks.map((spec, index) => {
    const bytes = readImage(index === 0 ? 'disk image' : `disk image ${index + 1}`, spec.path);
    const buffer = new SharedArrayBuffer(bytes.length);
    new Uint8Array(buffer).set(bytes);
    images.push({ role: diskRole(index), path: spec.path, bytes, loadAddress: 0 });
    return { slot: slots[index], buffer, readOnly: false, writeThroughPath: opts.diskWritable ? spec.path : null };
  });

  const tohost = symbols.get('tohost');
  const fromhost = symbols.get('fromhost');
  const config: BoardConfig = {
    harts: opts.harts,
    ramBytes: opts.ramBytes,
    rom: buildBootRom(entry, dtbAddress, kernelEntry),
    tohost: tohost !== undefined ? Number(tohost) : null,
    fromhost: fromhost !== undefined ? Number(fromhost) : null,
    disks,
    cpu: { ...cpu },
  };
  return { config, images, entry, symbols };
}

