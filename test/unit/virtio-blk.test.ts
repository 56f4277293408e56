import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtioBlk, VirtioMmioEmpty, type VirtioBlkOptions } from '../../src/machine/virtio-blk.js';
import { fakeEnv, FakeIrqSink } from './fake-machine.js';
import { assignDiskSlots } from '../../src/machine/loader.js';
import { InputError } from '../../src/errors.js';

const SLOT = 7;
const IRQ = 1 + SLOT;
const QUEUE_SIZE = 8;
const SECTORS = 16;
/** Guest-physical layout of the fake driver's queue and buffers (RAM starts at 0x80000000). */
const RAM_BASE = 0x80000000;
const DESC = 0x1000;
const AVAIL = 0x2000;
const USED = 0x3000;
const HEADER = 0x4000;
const DATA = 0x5000;
const STATUS = 0x6000;

const T_IN = 0;
const T_OUT = 1;
const T_FLUSH = 4;
const T_GET_ID = 8;
const NEXT = 1;
const WRITE = 2;

function diskImage(): SharedArrayBuffer {
  const disk = new SharedArrayBuffer(SECTORS * 512);
  const bytes = new Uint8Array(disk);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 9)) & 0xff;
  return disk;
}

/** A minimal virtio driver over fake RAM. */
function setup(opts: VirtioBlkOptions = {}, disk = diskImage()) {
  const env = fakeEnv(1);
  const irq = new FakeIrqSink();
  const dev = new VirtioBlk(env, irq, SLOT, disk, opts);
  const ram = new DataView(env.ram.buffer, env.ram.byteOffset, env.ram.byteLength);
  const rd = (offset: number, width = 4) => Number(dev.read(offset, width, 0));
  const wr = (offset: number, value: number) => dev.write(offset, 4, BigInt(value), 0);
  let availIdx = 0;

  /** `writeHighFeatures: false` drives the device like xv6: only the low feature word, no VERSION_1. */
  const init = (queueAt = { desc: DESC, avail: AVAIL, used: USED }, writeHighFeatures = true) => {
    wr(0x70, 0);
    env.ram.fill(0, DESC, HEADER); // fresh rings, as a driver allocates them
    availIdx = 0;
    wr(0x70, 1 | 2); // ACKNOWLEDGE | DRIVER
    wr(0x14, 0);
    const low = rd(0x10);
    wr(0x24, 0);
    wr(0x20, low);
    if (writeHighFeatures) {
      wr(0x24, 1);
      wr(0x20, 1); // VERSION_1
    }
    wr(0x70, 1 | 2 | 8);
    expect(rd(0x70) & 8).toBe(8);
    wr(0x30, 0);
    expect(rd(0x34)).toBe(256);
    wr(0x38, QUEUE_SIZE);
    const phys = (offset: number) => RAM_BASE + offset;
    wr(0x80, phys(queueAt.desc));
    wr(0x84, 0);
    wr(0x90, phys(queueAt.avail));
    wr(0x94, 0);
    wr(0xa0, phys(queueAt.used));
    wr(0xa4, 0);
    wr(0x44, 1);
    wr(0x70, 1 | 2 | 4 | 8);
  };

  const setDesc = (index: number, offset: number, length: number, flags: number, next = 0, high = 0) => {
    const at = DESC + 16 * index;
    ram.setUint32(at, (RAM_BASE + offset) >>> 0, true);
    ram.setUint32(at + 4, high, true);
    ram.setUint32(at + 8, length, true);
    ram.setUint16(at + 12, flags, true);
    ram.setUint16(at + 14, next, true);
  };

  /** Queues header + data + status as a three-descriptor chain and notifies. */
  const request = (type: number, sector: number, dataLength: number, dataWritable: boolean) => {
    ram.setUint32(HEADER, type, true);
    ram.setUint32(HEADER + 4, 0, true);
    ram.setBigUint64(HEADER + 8, BigInt(sector), true);
    env.ram[STATUS] = 0xff;
    setDesc(0, HEADER, 16, NEXT, 1);
    if (dataLength > 0) {
      setDesc(1, DATA, dataLength, NEXT | (dataWritable ? WRITE : 0), 2);
      setDesc(2, STATUS, 1, WRITE);
    } else {
      setDesc(1, STATUS, 1, WRITE);
    }
    return submit(0);
  };

  const submit = (head: number) => {
    ram.setUint16(AVAIL + 4 + 2 * (availIdx % QUEUE_SIZE), head, true);
    availIdx++;
    ram.setUint16(AVAIL + 2, availIdx, true);
    wr(0x50, 0);
    const usedIdx = ram.getUint16(USED + 2, true);
    const element = USED + 4 + 8 * ((usedIdx - 1) % QUEUE_SIZE);
    return { usedIdx, id: ram.getUint32(element, true), len: ram.getUint32(element + 4, true), status: env.ram[STATUS] };
  };

  return { env, irq, dev, ram, rd, wr, init, request, submit, setDesc, disk: new Uint8Array(disk) };
}

describe('virtio-mmio transport', () => {
  it('identifies a version 2 block device and its features and config', () => {
    const { rd, wr } = setup();
    expect(rd(0x000)).toBe(0x74726976);
    expect(rd(0x004)).toBe(2);
    expect(rd(0x008)).toBe(2);
    expect(rd(0x00c)).toBe(0x554d4551);
    wr(0x14, 1);
    expect(rd(0x10)).toBe(1); // VIRTIO_F_VERSION_1
    wr(0x14, 0);
    expect(rd(0x10) & (1 << 9)).not.toBe(0); // FLUSH
    expect(rd(0x10) & (1 << 5)).toBe(0); // not read-only
    expect(rd(0x100)).toBe(SECTORS); // capacity low word
    expect(rd(0x104)).toBe(0);
    expect(Number((setup().dev.read(0x100, 8, 0)))).toBe(SECTORS);
    expect(rd(0x114)).toBe(512); // blk_size
  });

  // QEMU's behaviour, which xv6's driver relies on: no VERSION_1, no feature validation.
  it('accepts FEATURES_OK from a driver that never writes the high feature word, dropping unoffered bits', () => {
    const { rd, wr } = setup();
    wr(0x70, 3);
    wr(0x24, 0);
    wr(0x20, 0xffffffff); // more than offered: QEMU masks, it does not refuse
    wr(0x70, 3 | 8);
    expect(rd(0x70) & 8).toBe(8);
  });

  it('still refuses FEATURES_OK when a VERSION_1 driver accepts a feature that was not offered', () => {
    const { rd, wr } = setup({ readOnly: false });
    wr(0x70, 3);
    wr(0x24, 0);
    wr(0x20, 1 << 5); // RO: not offered on a writable disk
    wr(0x24, 1);
    wr(0x20, 1);
    wr(0x70, 3 | 8);
    expect(rd(0x70) & 8).toBe(0);
  });

  it('shows empty slots as device id 0', () => {
    const empty = new VirtioMmioEmpty(3);
    expect(empty.base).toBe(0x10004000);
    expect(Number(empty.read(0, 4, 0))).toBe(0x74726976);
    expect(Number(empty.read(4, 4, 0))).toBe(2);
    expect(Number(empty.read(8, 4, 0))).toBe(0);
  });
});

describe('virtio-blk requests', () => {
  it('serves a driver that negotiated without VERSION_1 (xv6 style) exactly like a modern one', () => {
    const { env, rd, init, request, disk } = setup();
    init(undefined, false);
    expect(rd(0x70) & 8).toBe(8);
    const result = request(T_IN, 2, 512, true);
    expect(result).toEqual({ usedIdx: 1, id: 0, len: 513, status: 0 });
    expect(Array.from(env.ram.subarray(DATA, DATA + 512))).toEqual(Array.from(disk.subarray(2 * 512, 3 * 512)));
  });

  it('reads sectors into guest RAM and interrupts', () => {
    const { env, irq, rd, wr, init, request, disk } = setup();
    init();
    const result = request(T_IN, 3, 1024, true);
    expect(result).toEqual({ usedIdx: 1, id: 0, len: 1025, status: 0 });
    expect(Array.from(env.ram.subarray(DATA, DATA + 1024))).toEqual(Array.from(disk.subarray(3 * 512, 5 * 512)));
    expect(rd(0x60)).toBe(1);
    expect(irq.level(IRQ)).toBe(true);
    wr(0x64, 1);
    expect(rd(0x60)).toBe(0);
    expect(irq.level(IRQ)).toBe(false);
  });

  it('writes sectors (copy-on-write into the shared image) and flushes', () => {
    const { env, init, request, disk } = setup();
    init();
    env.ram.fill(0xab, DATA, DATA + 512);
    expect(request(T_OUT, 2, 512, false)).toMatchObject({ len: 1, status: 0 });
    expect(disk.subarray(2 * 512, 3 * 512).every((b) => b === 0xab)).toBe(true);
    expect(disk[3 * 512]).not.toBe(0xab);
    expect(request(T_FLUSH, 0, 0, false)).toMatchObject({ usedIdx: 2, status: 0 });
  });

  it('writes through to the image file with --disk-writable', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hindsight-blk-')), 'disk.img');
    const image = diskImage();
    writeFileSync(path, new Uint8Array(image));
    const { env, dev, init, request } = setup({ writeThroughPath: path }, image);
    init();
    env.ram.fill(0x5a, DATA, DATA + 1024);
    expect(request(T_OUT, 14, 1024, false).status).toBe(0);
    expect(request(T_FLUSH, 0, 0, false).status).toBe(0);
    dev.close();
    const file = readFileSync(path);
    expect(file.subarray(14 * 512).every((b) => b === 0x5a)).toBe(true);
    expect(file[14 * 512 - 1]).toBe(new Uint8Array(diskImage())[14 * 512 - 1]);
  });

  it('fails out-of-range, misaligned and read-only transfers with IOERR', () => {
    const { init, request } = setup();
    init();
    expect(request(T_IN, SECTORS - 1, 1024, true)).toMatchObject({ status: 1, len: 1 });
    expect(request(T_IN, 0, 100, true).status).toBe(1);
    expect(request(T_OUT, 2 ** 40, 512, false).status).toBe(1);
    const readOnly = setup({ readOnly: true });
    expect(readOnly.rd(0x10) & (1 << 5)).not.toBe(0);
    readOnly.init();
    expect(readOnly.request(T_OUT, 0, 512, false).status).toBe(1);
  });

  it('answers GET_ID and rejects unknown request types', () => {
    const { env, init, request } = setup();
    init();
    expect(request(T_GET_ID, 0, 20, true)).toMatchObject({ status: 0, len: 21 });
    expect(new TextDecoder().decode(env.ram.subarray(DATA, DATA + 9))).toBe('hindsight');
    expect(env.ram[DATA + 9]).toBe(0);
    expect(request(99, 0, 0, false).status).toBe(2);
  });

  it('accepts a header and data split over descriptors in any arrangement', () => {
    const { env, init, setDesc, submit, ram, disk } = setup();
    init();
    ram.setUint32(HEADER, T_IN, true);
    ram.setBigUint64(HEADER + 8, 1n, true);
    setDesc(4, HEADER, 8, NEXT, 5);
    setDesc(5, HEADER + 8, 8, NEXT, 6);
    setDesc(6, DATA, 300, NEXT | WRITE, 7);
    setDesc(7, DATA + 300, 213, WRITE); // 212 data bytes + the status byte
    const result = submit(4);
    expect(result.id).toBe(4);
    expect(result.len).toBe(513);
    expect(env.ram[DATA + 512]).toBe(0);
    expect(Array.from(env.ram.subarray(DATA, DATA + 512))).toEqual(Array.from(disk.subarray(512, 1024)));
  });

  it('survives descriptors outside RAM and broken queues', () => {
    const { env, rd, init, setDesc, submit, request } = setup();
    init();
    setDesc(0, HEADER, 16, NEXT, 1);
    setDesc(1, 0x7000_0000, 512, NEXT | WRITE, 2); // far outside the 1 MiB RAM
    setDesc(2, STATUS, 1, WRITE);
    ram(env).setUint32(HEADER, T_IN, true);
    expect(submit(0).status).toBe(1);
    setDesc(0, HEADER, 16, NEXT, 0); // a loop
    submit(0);
    expect(rd(0x70) & 0x40).toBe(0x40); // DEVICE_NEEDS_RESET
    expect(rd(0x60) & 2).toBe(2);

    const fresh = setup();
    fresh.init({ desc: 0x7fff_f000, avail: AVAIL, used: USED }); // descriptor table outside RAM
    fresh.request(T_IN, 0, 512, true);
    expect(fresh.rd(0x70) & 0x40).toBe(0x40);
    expect(() => request(T_IN, 0, 512, true)).not.toThrow();
  });

  it('resets all transport state when Status is written with 0', () => {
    const { irq, rd, wr, init, request } = setup();
    init();
    request(T_IN, 0, 512, true);
    expect(irq.level(IRQ)).toBe(true);
    wr(0x70, 0);
    expect(rd(0x70)).toBe(0);
    expect(rd(0x60)).toBe(0);
    expect(rd(0x44)).toBe(0);
    expect(irq.level(IRQ)).toBe(false);
    init();
    expect(request(T_IN, 0, 512, true).usedIdx).toBe(1); // the used index restarted at 0
  });
});

function ram(env: ReturnType<typeof fakeEnv>): DataView {
  return new DataView(env.ram.buffer, env.ram.byteOffset, env.ram.byteLength);
}

describe('disk placement (--disk FILE[,slot=N])', () => {
  const d = (slot: number | null, path = 'x.img') => ({ path, slot });

  it('puts disks without a slot from the highest free slot down, as QEMU -drive if=virtio', () => {
    expect(assignDiskSlots([d(null), d(null), d(null)])).toEqual([7, 6, 5]);
  });

  it('honours explicit slots first, whatever their order on the command line', () => {
    expect(assignDiskSlots([d(null), d(7), d(0), d(null)])).toEqual([6, 7, 0, 5]);
    expect(assignDiskSlots([d(0)])).toEqual([0]);
  });

  it('refuses a slot twice, a slot outside 0-7 and more than 8 disks', () => {
    expect(() => assignDiskSlots([d(3, 'a.img'), d(3, 'b.img')])).toThrow(/--disk 'b.img': virtio slot 3 is already taken by 'a.img'/);
    expect(() => assignDiskSlots([d(8)])).toThrow(InputError);
    expect(() => assignDiskSlots(Array.from({ length: 9 }, () => d(null)))).toThrow(/too many disks/);
  });
});
