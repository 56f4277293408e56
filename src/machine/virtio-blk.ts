import * as fs from 'node:fs';
import { DEVICE_REGIONS } from '../shm/layout.js';
import type { DeviceEnv, DmaPage, IrqSink, MmioDevice } from './device.js';
import { VIRTIO_BASE, VIRTIO_COUNT, VIRTIO_IRQ0, VIRTIO_STRIDE } from './memmap.js';

/** Ownership granularity of RAM while recording in parallel (a page). */
const PAGE_BYTES = 4096;

/** virtio-mmio version 2 register offsets (virtio 1.1, section 4.2.2). */
const Reg = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceId: 0x008,
  VendorId: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  QueueSel: 0x030,
  QueueNumMax: 0x034,
  QueueNum: 0x038,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptAck: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  ShmLenLow: 0x0b0,
  ShmLenHigh: 0x0b4,
  ConfigGeneration: 0x0fc,
  Config: 0x100,
} as const;

const MAGIC = 0x74726976; // "virt"
const VERSION = 2;
const VENDOR_QEMU = 0x554d4551; // "QEMU", as QEMU reports it
const DEVICE_ID_BLOCK = 2;
const QUEUE_NUM_MAX = 256;

const STATUS_FEATURES_OK = 0x08;
const STATUS_DEVICE_NEEDS_RESET = 0x40;
const INT_USED_BUFFER = 0x1;
const INT_CONFIG_CHANGE = 0x2;

/** Feature bits (virtio 1.1 section 5.2.3 and 6). */
const F_BLK_SEG_MAX = 1 << 2;
const F_BLK_RO = 1 << 5;
const F_BLK_BLK_SIZE = 1 << 6;
const F_BLK_FLUSH = 1 << 9;
const F_HIGH_VERSION_1 = 1 << 0; // VIRTIO_F_VERSION_1 is bit 32: bit 0 of the high word

const DESC_F_NEXT = 1;
const DESC_F_WRITE = 2;
const DESC_F_INDIRECT = 4;

const BLK_T_IN = 0;
const BLK_T_OUT = 1;
const BLK_T_FLUSH = 4;
const BLK_T_GET_ID = 8;
const BLK_S_OK = 0;
const BLK_S_IOERR = 1;
const BLK_S_UNSUPP = 2;
const BLK_ID_BYTES = 20;
const BLK_DEVICE_ID = 'hindsight';
const SECTOR_BYTES = 512;
const REQUEST_HEADER_BYTES = 16;
const SEG_MAX = QUEUE_NUM_MAX - 2; // a request also needs its header and status descriptors

/** Int32 word indices in the slot's shared state region (word 0 is the lock). */
const W = {
  Status: 1,
  DeviceFeaturesSel: 2,
  DriverFeaturesSel: 3,
  DriverFeaturesLow: 4,
  DriverFeaturesHigh: 5,
  QueueSel: 6,
  QueueNum: 7,
  QueueReady: 8,
  DescLow: 9,
  DescHigh: 10,
  DriverLow: 11,
  DriverHigh: 12,
  DeviceLow: 13,
  DeviceHigh: 14,
  InterruptStatus: 15,
  LastAvailIdx: 16,
  UsedIdx: 17,
  IrqLevel: 18,
} as const;
const STATE_WORDS = 19;

function slotRegion(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= VIRTIO_COUNT) throw new RangeError(`bad virtio slot ${slot}`);
  return DEVICE_REGIONS.virtio.offset + slot * DEVICE_REGIONS.virtio.size;
}

/** A virtio-mmio slot with no device behind it: the guest sees device id 0 and moves on. */
export class VirtioMmioEmpty implements MmioDevice {
  readonly name: string;
  readonly base: number;
  readonly size = VIRTIO_STRIDE;
  readonly stateOffset: number;

  constructor(readonly slot: number) {
    this.stateOffset = slotRegion(slot);
    this.base = VIRTIO_BASE + slot * VIRTIO_STRIDE;
    this.name = `virtio${slot}`;
  }

  read(offset: number, _width: number, _hart: number): bigint {
    switch (offset) {
      case Reg.MagicValue:
        return BigInt(MAGIC);
      case Reg.Version:
        return BigInt(VERSION);
      case Reg.VendorId:
        return BigInt(VENDOR_QEMU);
      default:
        return 0n;
    }
  }

  write(): void {}
}

/** One buffer of a descriptor chain: where it is in env.ram (-1 if outside RAM) and its length. */
interface Segment {
  ramOffset: number;
  length: number;
}

/** Thrown when the driver breaks the queue itself; the device then needs a reset. */
class QueueError extends Error {}

export interface VirtioBlkOptions {
  readOnly?: boolean;
  /** With --disk-writable: sectors the guest writes are also written to this file. */
  writeThroughPath?: string;
}

/** virtio-blk behind a virtio-mmio v2 transport, with one split virtqueue. */
export class VirtioBlk implements MmioDevice {
  readonly name: string;
  readonly base: number;
  readonly size = VIRTIO_STRIDE;
  readonly stateOffset: number;
  private readonly state: Int32Array;
  private readonly ram: Uint8Array;
  private readonly ramView: DataView;
  private readonly ram16: Uint16Array;
  private readonly disk: Uint8Array;
  private readonly capacitySectors: number;
  private readonly readOnly: boolean;
  private readonly config: Uint8Array;
  private readonly irqSource: number;
  /** This thread's handle on the write-through file, opened on first write. */
  private writeThroughFd: number | undefined;

  constructor(
    private readonly env: DeviceEnv,
    private readonly irq: IrqSink,
    readonly slot: number,
    disk: SharedArrayBuffer,
    private readonly opts: VirtioBlkOptions = {},
  ) {
    this.stateOffset = slotRegion(slot);
    this.base = VIRTIO_BASE + slot * VIRTIO_STRIDE;
    this.name = `virtio${slot}`;
    this.irqSource = VIRTIO_IRQ0 + slot;
    this.state = new Int32Array(env.memory, this.stateOffset, STATE_WORDS);
    this.ram = env.ram;
    this.ramView = new DataView(env.ram.buffer, env.ram.byteOffset, env.ram.byteLength);
    this.ram16 = new Uint16Array(env.ram.buffer, env.ram.byteOffset, env.ram.byteLength >> 1);
    this.disk = new Uint8Array(disk);
    this.capacitySectors = Math.floor(disk.byteLength / SECTOR_BYTES);
    this.readOnly = opts.readOnly === true;
    this.config = this.buildConfig();
  }

  /** struct virtio_blk_config, little-endian. */
  private buildConfig(): Uint8Array {
    const config = new Uint8Array(0x24);
    const view = new DataView(config.buffer);
    view.setBigUint64(0x00, BigInt(this.capacitySectors), true); // capacity
    view.setUint32(0x0c, SEG_MAX, true); // seg_max
    view.setUint32(0x14, SECTOR_BYTES, true); // blk_size
    view.setUint16(0x22, 1, true); // num_queues
    return config;
  }

  private deviceFeatures(selector: number): number {
    if (selector === 0) return F_BLK_SEG_MAX | F_BLK_BLK_SIZE | F_BLK_FLUSH | (this.readOnly ? F_BLK_RO : 0);
    if (selector === 1) return F_HIGH_VERSION_1;
    return 0;
  }

  read(offset: number, width: number, _hart: number): bigint {
    if (offset >= Reg.Config) return this.readConfig(offset - Reg.Config, width);
    const s = this.state;
    const queue0 = s[W.QueueSel] === 0;
    switch (offset) {
      case Reg.MagicValue:
        return BigInt(MAGIC);
      case Reg.Version:
        return BigInt(VERSION);
      case Reg.DeviceId:
        return BigInt(DEVICE_ID_BLOCK);
      case Reg.VendorId:
        return BigInt(VENDOR_QEMU);
      case Reg.DeviceFeatures:
        return BigInt(this.deviceFeatures(s[W.DeviceFeaturesSel]!) >>> 0);
      case Reg.QueueNumMax:
        return queue0 ? BigInt(QUEUE_NUM_MAX) : 0n;
      case Reg.QueueReady:
        return queue0 ? BigInt(s[W.QueueReady]!) : 0n;
      case Reg.InterruptStatus:
        return BigInt(s[W.InterruptStatus]!);
      case Reg.Status:
        return BigInt(s[W.Status]!);
      case Reg.ShmLenLow:
      case Reg.ShmLenHigh:
        return 0xffffffffn; // no shared memory regions
      case Reg.ConfigGeneration:
        return 0n;
      default:
        return 0n;
    }
  }

  write(offset: number, _width: number, value: bigint, _hart: number): void {
    if (offset >= Reg.Config) return; // no writable config fields are offered
    const s = this.state;
    const v = Number(value & 0xffffffffn) | 0;
    const queue0 = s[W.QueueSel] === 0;
    switch (offset) {
      case Reg.DeviceFeaturesSel:
        s[W.DeviceFeaturesSel] = v;
        return;
      case Reg.DriverFeaturesSel:
        s[W.DriverFeaturesSel] = v;
        return;
      case Reg.DriverFeatures:
        if (s[W.DriverFeaturesSel] === 0) s[W.DriverFeaturesLow] = v;
        else if (s[W.DriverFeaturesSel] === 1) s[W.DriverFeaturesHigh] = v;
        return;
      case Reg.QueueSel:
        s[W.QueueSel] = v;
        return;
      case Reg.QueueNum:
        if (queue0 && v >= 1 && v <= QUEUE_NUM_MAX) s[W.QueueNum] = v;
        return;
      case Reg.QueueReady:
        if (queue0) s[W.QueueReady] = v & 1;
        return;
      case Reg.QueueDescLow:
      case Reg.QueueDescHigh:
      case Reg.QueueDriverLow:
      case Reg.QueueDriverHigh:
      case Reg.QueueDeviceLow:
      case Reg.QueueDeviceHigh:
        // Three 64-bit addresses 0x10 apart, each as a low and a high word.
        if (queue0) s[W.DescLow + ((offset - Reg.QueueDescLow) >> 4) * 2 + ((offset >> 2) & 1)] = v;
        return;
      case Reg.QueueNotify:
        if (v === 0) this.processQueue();
        return;
      case Reg.InterruptAck:
        s[W.InterruptStatus] = s[W.InterruptStatus]! & ~v;
        this.updateIrq();
        return;
      case Reg.Status:
        this.writeStatus(v & 0xff);
        return;
    }
  }

  dmaPages(offset: number, _width: number, value: bigint): DmaPage[] | null {
    if (offset !== Reg.QueueNotify || value !== 0n) return null;
    const s = this.state;
    const queue = this.queue();
    if (typeof queue === 'string') return null; // processQueue does nothing, or only flags the device
    const { num, desc, avail, used } = queue;
    const pages = new Map<number, boolean>();
    const add = (ramOffset: number, length: number, write: boolean) => {
      if (ramOffset < 0 || length <= 0) return;
      for (let p = Math.floor(ramOffset / PAGE_BYTES); p <= Math.floor((ramOffset + length - 1) / PAGE_BYTES); p++) pages.set(p, write || (pages.get(p) ?? false));
    };
    add(desc, 16 * num, false);
    add(avail, 6 + 2 * num, false);
    add(used, 6 + 8 * num, true);
    const availIdx = Atomics.load(this.ram16, (avail + 2) >> 1);
    if (((availIdx - s[W.LastAvailIdx]!) & 0xffff) <= num) {
      try {
        for (let i = s[W.LastAvailIdx]!; i !== availIdx; i = (i + 1) & 0xffff) {
          const { readable, writable } = this.readChain(desc, num, this.ramView.getUint16(avail + 4 + 2 * (i % num), true));
          for (const seg of readable) add(seg.ramOffset, seg.length, false);
          for (const seg of writable) add(seg.ramOffset, seg.length, true);
        }
      } catch (error) {
        if (!(error instanceof QueueError)) throw error; // the real run stops at the same request
      }
    }
    return [...pages].map(([page, write]) => ({ page, write }));
  }

  private readConfig(offset: number, width: number): bigint {
    let value = 0n;
    for (let i = width - 1; i >= 0; i--) {
      const byte = offset + i < this.config.length ? this.config[offset + i]! : 0;
      value = (value << 8n) | BigInt(byte);
    }
    return value;
  }

  private writeStatus(status: number): void {
    const s = this.state;
    if (status === 0) {
      this.reset();
      return;
    }
    if (status & STATUS_FEATURES_OK && !(s[W.Status]! & STATUS_FEATURES_OK) && !this.featuresAcceptable()) {
      status &= ~STATUS_FEATURES_OK; // the driver reads Status back and gives up
    }
    s[W.Status] = status | (s[W.Status]! & STATUS_DEVICE_NEEDS_RESET);
  }

  /**
   * A driver that negotiates VIRTIO_F_VERSION_1 may only accept offered features. A driver that
   * never sets it (it never writes the high feature word, like xv6's) is treated as QEMU does:
   * its feature bits are not validated, bits the device did not offer are dropped, and
   * FEATURES_OK sticks. Nothing else changes for it: the split queue, the request layout and
   * the (little-endian) config space are the same either way on this transport.
   */
  private featuresAcceptable(): boolean {
    const s = this.state;
    const offeredLow = this.deviceFeatures(0);
    const offeredHigh = this.deviceFeatures(1);
    if ((s[W.DriverFeaturesHigh]! & F_HIGH_VERSION_1) === 0) {
      s[W.DriverFeaturesLow] = s[W.DriverFeaturesLow]! & offeredLow;
      s[W.DriverFeaturesHigh] = s[W.DriverFeaturesHigh]! & offeredHigh;
      return true;
    }
    return (s[W.DriverFeaturesLow]! & ~offeredLow) === 0 && (s[W.DriverFeaturesHigh]! & ~offeredHigh) === 0;
  }

  private reset(): void {
    this.state.fill(0, 1); // everything but the lock
    this.irq.setIrq(this.irqSource, false);
  }

  /** After a notification or an acknowledgement: asserts the line again while InterruptStatus is set (QEMU's virtio_notify does), reports a drop once. */
  private updateIrq(): void {
    const level = this.state[W.InterruptStatus] !== 0 ? 1 : 0;
    if (level === 0 && this.state[W.IrqLevel] === 0) return;
    this.state[W.IrqLevel] = level;
    this.irq.setIrq(this.irqSource, level === 1);
  }

  /** Guest physical address -> offset in env.ram, or -1 unless [addr, addr+length) is all RAM. */
  private ramOffset(addressLow: number, addressHigh: number, length: number): number {
    const address = (addressHigh >>> 0) * 0x1_0000_0000 + (addressLow >>> 0);
    const offset = address - this.env.ramBase;
    return offset >= 0 && offset + length <= this.ram.length ? offset : -1;
  }

  private needsReset(): void {
    this.state[W.Status] = this.state[W.Status]! | STATUS_DEVICE_NEEDS_RESET;
    this.state[W.InterruptStatus] = this.state[W.InterruptStatus]! | INT_CONFIG_CHANGE;
    this.updateIrq();
  }

  /** Serves every request the driver has made available, then interrupts once. */
  /** The queue's size and rings (offsets in RAM); 'idle' when not set up, 'broken' when its rings are not usable RAM. */
  private queue(): { num: number; desc: number; avail: number; used: number } | 'idle' | 'broken' {
    const s = this.state;
    const num = s[W.QueueNum]!;
    if (!s[W.QueueReady] || num === 0 || s[W.Status]! & STATUS_DEVICE_NEEDS_RESET) return 'idle';
    const desc = this.ramOffset(s[W.DescLow]!, s[W.DescHigh]!, 16 * num);
    const avail = this.ramOffset(s[W.DriverLow]!, s[W.DriverHigh]!, 6 + 2 * num);
    const used = this.ramOffset(s[W.DeviceLow]!, s[W.DeviceHigh]!, 6 + 8 * num);
    if (desc < 0 || avail < 0 || used < 0 || (avail & 1) !== 0 || (used & 3) !== 0) return 'broken';
    return { num, desc, avail, used };
  }

  private processQueue(): void {
    const s = this.state;
    const queue = this.queue();
    if (queue === 'broken') this.needsReset();
    if (typeof queue === 'string') return;
    const { num, desc, avail, used } = queue;
    const availIdx = Atomics.load(this.ram16, (avail + 2) >> 1);
    let lastAvail = s[W.LastAvailIdx]!;
    let usedIdx = s[W.UsedIdx]!;
    if (((availIdx - lastAvail) & 0xffff) > num) {
      this.needsReset(); // the driver claims more new requests than the queue holds
      return;
    }
    let served = 0;
    try {
      while (lastAvail !== availIdx) {
        const head = this.ramView.getUint16(avail + 4 + 2 * (lastAvail % num), true);
        const written = this.serveRequest(desc, num, head);
        const element = used + 4 + 8 * (usedIdx % num);
        this.ramView.setUint32(element, head, true);
        this.ramView.setUint32(element + 4, written, true);
        this.env.ramWritten(element, 8);
        usedIdx = (usedIdx + 1) & 0xffff;
        lastAvail = (lastAvail + 1) & 0xffff;
        // Publishing the index atomically orders it after the data and used element above.
        Atomics.store(this.ram16, (used + 2) >> 1, usedIdx);
        this.env.ramWritten(used + 2, 2);
        served++;
      }
    } catch (error) {
      if (!(error instanceof QueueError)) throw error;
      this.needsReset();
    }
    s[W.LastAvailIdx] = lastAvail;
    s[W.UsedIdx] = usedIdx;
    if (served > 0) {
      s[W.InterruptStatus] = s[W.InterruptStatus]! | INT_USED_BUFFER;
      this.updateIrq();
    }
  }

  /** Walks a descriptor chain into driver-readable and device-writable segments. */
  private readChain(desc: number, num: number, head: number): { readable: Segment[]; writable: Segment[] } {
    const readable: Segment[] = [];
    const writable: Segment[] = [];
    let index = head;
    for (let count = 0; ; count++) {
      if (index >= num || count >= num) throw new QueueError('bad descriptor chain');
      const at = desc + 16 * index;
      const length = this.ramView.getUint32(at + 8, true);
      const flags = this.ramView.getUint16(at + 12, true);
      if (flags & DESC_F_INDIRECT) throw new QueueError('indirect descriptors were not offered');
      const ramOffset = this.ramOffset(this.ramView.getUint32(at, true), this.ramView.getUint32(at + 4, true), length);
      (flags & DESC_F_WRITE ? writable : readable).push({ ramOffset, length });
      if (!(flags & DESC_F_NEXT)) break;
      index = this.ramView.getUint16(at + 14, true);
    }
    return { readable, writable };
  }

  /** Handles one request; returns the number of bytes written into the chain (used.len). */
  private serveRequest(desc: number, num: number, head: number): number {
    const { readable, writable } = this.readChain(desc, num, head);
    const writableBytes = totalLength(writable);
    if (writableBytes === 0) throw new QueueError('request without a status byte');
    const statusAt = locate(writable, writableBytes - 1);
    if (statusAt < 0) throw new QueueError('status byte outside RAM');
    const finish = (status: number, dataBytes: number): number => {
      this.ram[statusAt] = status;
      this.env.ramWritten(statusAt, 1);
      return dataBytes + 1;
    };
    if ([...readable, ...writable].some((segment) => segment.ramOffset < 0)) return finish(BLK_S_IOERR, 0);

    const header = new Uint8Array(REQUEST_HEADER_BYTES);
    if (totalLength(readable) < REQUEST_HEADER_BYTES) return finish(BLK_S_IOERR, 0);
    forEachChunk(readable, 0, REQUEST_HEADER_BYTES, (ram, length, at) => {
      header.set(this.ram.subarray(ram, ram + length), at);
    });
    const headerView = new DataView(header.buffer);
    const type = headerView.getUint32(0, true);
    const sector = headerView.getBigUint64(8, true);
    const dataIn = writableBytes - 1;

    switch (type) {
      case BLK_T_IN: {
        const diskOffset = this.diskRange(sector, dataIn);
        if (diskOffset < 0) return finish(BLK_S_IOERR, 0);
        forEachChunk(writable, 0, dataIn, (ram, length, at) => {
          this.ram.set(this.disk.subarray(diskOffset + at, diskOffset + at + length), ram);
          this.env.ramWritten(ram, length);
        });
        return finish(BLK_S_OK, dataIn);
      }
      case BLK_T_OUT: {
        const dataOut = totalLength(readable) - REQUEST_HEADER_BYTES;
        const diskOffset = this.diskRange(sector, dataOut);
        if (this.readOnly || diskOffset < 0) return finish(BLK_S_IOERR, 0);
        forEachChunk(readable, REQUEST_HEADER_BYTES, dataOut, (ram, length, at) => {
          this.disk.set(this.ram.subarray(ram, ram + length), diskOffset + at);
        });
        return finish(this.writeThrough(diskOffset, dataOut) ? BLK_S_OK : BLK_S_IOERR, 0);
      }
      case BLK_T_FLUSH:
        return finish(this.flush() ? BLK_S_OK : BLK_S_IOERR, 0);
      case BLK_T_GET_ID: {
        const id = new Uint8Array(BLK_ID_BYTES);
        id.set(new TextEncoder().encode(BLK_DEVICE_ID));
        const length = Math.min(BLK_ID_BYTES, dataIn);
        forEachChunk(writable, 0, length, (ram, chunk, at) => {
          this.ram.set(id.subarray(at, at + chunk), ram);
          this.env.ramWritten(ram, chunk);
        });
        return finish(BLK_S_OK, length);
      }
      default:
        return finish(BLK_S_UNSUPP, 0);
    }
  }

  /** Byte offset of a whole-sector transfer in the disk, or -1 if misaligned or out of range. */
  private diskRange(sector: bigint, length: number): number {
    if (length % SECTOR_BYTES !== 0) return -1;
    const sectors = BigInt(length / SECTOR_BYTES);
    if (sector + sectors > BigInt(this.capacitySectors)) return -1;
    return Number(sector) * SECTOR_BYTES;
  }

  private writeThrough(diskOffset: number, length: number): boolean {
    if (this.opts.writeThroughPath === undefined || length === 0) return true;
    try {
      this.writeThroughFd ??= fs.openSync(this.opts.writeThroughPath, 'r+');
      fs.writeSync(this.writeThroughFd, this.disk, diskOffset, length, diskOffset);
      return true;
    } catch {
      return false;
    }
  }

  private flush(): boolean {
    if (this.writeThroughFd === undefined) return true;
    try {
      fs.fsyncSync(this.writeThroughFd);
      return true;
    } catch {
      return false;
    }
  }

  /** Closes this thread's write-through file handle, if one was opened. */
  close(): void {
    if (this.writeThroughFd === undefined) return;
    fs.closeSync(this.writeThroughFd);
    this.writeThroughFd = undefined;
  }
}

function totalLength(segments: Segment[]): number {
  return segments.reduce((sum, segment) => sum + segment.length, 0);
}

/** RAM offset of byte `position` of the chain's stream, or -1. */
function locate(segments: Segment[], position: number): number {
  for (const segment of segments) {
    if (position < segment.length) return segment.ramOffset < 0 ? -1 : segment.ramOffset + position;
    position -= segment.length;
  }
  return -1;
}

/** Visits the RAM pieces of bytes [start, start+length) of a segment stream. */
function forEachChunk(
  segments: Segment[],
  start: number,
  length: number,
  visit: (ramOffset: number, chunkLength: number, position: number) => void,
): void {
  let skip = start;
  let done = 0;
  for (const segment of segments) {
    if (done >= length) return;
    if (skip >= segment.length) {
      skip -= segment.length;
      continue;
    }
    const chunk = Math.min(segment.length - skip, length - done);
    visit(segment.ramOffset + skip, chunk, done);
    done += chunk;
    skip = 0;
  }
}
