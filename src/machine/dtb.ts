import { buildFdt, FdtNode } from './fdt.js';
import {
  CLINT_BASE,
  CLINT_SIZE,
  PLIC_BASE,
  PLIC_NUM_SOURCES,
  PLIC_SIZE,
  TEST_DEVICE_BASE,
  TEST_DEVICE_SIZE,
  TIMEBASE_HZ,
  UART0_BASE,
  UART0_IRQ,
  UART0_SIZE,
  VIRTIO_BASE,
  VIRTIO_COUNT,
  VIRTIO_IRQ0,
  VIRTIO_STRIDE,
} from './memmap.js';

export interface VirtDtbConfig {
  harts: number;
  ramBase: number;
  ramSize: number;
  bootargs?: string;
  initrd?: { start: number; end: number };
  /** e.g. "rv64imac_zicsr_zifencei_zihintpause" */
  isa: string;
  /**
   * riscv,isa-base and riscv,isa-extensions (the newer binding, Linux 6.7+), e.g. ["i", "m", "a",
   * "c", "zicsr"]; left out when absent, as QEMU 7.2 does.
   */
  isaExtensions?: string[];
  /** e.g. "riscv,sv48" */
  mmuType: string;
  /** How many virtio-mmio transports to describe (QEMU always has 8). */
  virtioSlots: number;
}

const UART_CLOCK_HZ = 0x384000;
const SIFIVE_TEST_POWEROFF = 0x5555;
const SIFIVE_TEST_REBOOT = 0x7777;
/** Interrupt numbers on the per-hart interrupt controller (mip bits). */
const MSIP = 3;
const MTIP = 7;
const SEIP = 9;
const MEIP = 11;

const hex = (n: number): string => n.toString(16);

/** Emits cells for a 64-bit address or size in a node with #address-cells/#size-cells = 2. */
const reg64 = (...values: number[]): bigint[] => values.map((value) => BigInt(value));

/**
 * The device tree qemu-system-riscv64 7.2 builds for `-M virt`, without the flash, PCI, fw-cfg,
 * RTC, platform bus, PMU and rng-seed (hindsight must be deterministic). Node order, property
 * order and phandle numbering follow QEMU so guests enumerate devices in the same order (the
 * highest virtio slot comes first, as on QEMU).
 */
export function buildVirtDtb(cfg: VirtDtbConfig): Uint8Array {
  if (!Number.isInteger(cfg.harts) || cfg.harts < 1) throw new RangeError(`bad hart count ${cfg.harts}`);
  if (!Number.isInteger(cfg.virtioSlots) || cfg.virtioSlots < 0 || cfg.virtioSlots > VIRTIO_COUNT) {
    throw new RangeError(`bad virtio slot count ${cfg.virtioSlots}`);
  }

  // QEMU hands out phandles from the last CPU down, then the PLIC, then the test device.
  let nextPhandle = 1;
  const cpuPhandle: number[] = [];
  const intcPhandle: number[] = [];
  for (let hart = cfg.harts - 1; hart >= 0; hart--) {
    cpuPhandle[hart] = nextPhandle++;
    intcPhandle[hart] = nextPhandle++;
  }
  const plicPhandle = nextPhandle++;
  const testPhandle = nextPhandle++;
  const perHart = (a: number, b: number): number[] =>
    intcPhandle.flatMap((intc) => [intc, a, intc, b]);

  const root = new FdtNode('');
  root.setU32('#address-cells', 2).setU32('#size-cells', 2);
  root.setString('compatible', 'riscv-virtio').setString('model', 'riscv-virtio,qemu');

  const chosen = root.addNode('chosen');
  if (cfg.initrd) {
    setAddressCell(chosen, 'linux,initrd-end', cfg.initrd.end);
    setAddressCell(chosen, 'linux,initrd-start', cfg.initrd.start);
  }
  if (cfg.bootargs !== undefined) chosen.setString('bootargs', cfg.bootargs);
  chosen.setString('stdout-path', `/soc/serial@${hex(UART0_BASE)}`);

  root
    .addNode('poweroff')
    .setU32('value', SIFIVE_TEST_POWEROFF)
    .setU32('offset', 0)
    .setU32('regmap', testPhandle)
    .setString('compatible', 'syscon-poweroff');
  root
    .addNode('reboot')
    .setU32('value', SIFIVE_TEST_REBOOT)
    .setU32('offset', 0)
    .setU32('regmap', testPhandle)
    .setString('compatible', 'syscon-reboot');

  root
    .addNode(`memory@${hex(cfg.ramBase)}`)
    .setString('device_type', 'memory')
    .setU64('reg', ...reg64(cfg.ramBase, cfg.ramSize));

  addCpus(root, cfg, cpuPhandle, intcPhandle);

  const soc = root.addNode('soc');
  soc.setU32('#address-cells', 2).setU32('#size-cells', 2).setString('compatible', 'simple-bus').setEmpty('ranges');
  soc
    .addNode(`serial@${hex(UART0_BASE)}`)
    .setU32('interrupts', UART0_IRQ)
    .setU32('interrupt-parent', plicPhandle)
    .setU32('clock-frequency', UART_CLOCK_HZ)
    .setU64('reg', ...reg64(UART0_BASE, UART0_SIZE))
    .setString('compatible', 'ns16550a');
  soc
    .addNode(`test@${hex(TEST_DEVICE_BASE)}`)
    .setU32('phandle', testPhandle)
    .setU64('reg', ...reg64(TEST_DEVICE_BASE, TEST_DEVICE_SIZE))
    .setStrings('compatible', 'sifive,test1', 'sifive,test0', 'syscon');
  for (let slot = cfg.virtioSlots - 1; slot >= 0; slot--) {
    const base = VIRTIO_BASE + slot * VIRTIO_STRIDE;
    soc
      .addNode(`virtio_mmio@${hex(base)}`)
      .setU32('interrupts', VIRTIO_IRQ0 + slot)
      .setU32('interrupt-parent', plicPhandle)
      .setU64('reg', ...reg64(base, VIRTIO_STRIDE))
      .setString('compatible', 'virtio,mmio');
  }
  soc
    .addNode(`plic@${hex(PLIC_BASE)}`)
    .setU32('phandle', plicPhandle)
    .setU32('riscv,ndev', PLIC_NUM_SOURCES - 1)
    .setU64('reg', ...reg64(PLIC_BASE, PLIC_SIZE))
    .setU32('interrupts-extended', ...perHart(MEIP, SEIP))
    .setEmpty('interrupt-controller')
    .setStrings('compatible', 'sifive,plic-1.0.0', 'riscv,plic0')
    .setU32('#address-cells', 0)
    .setU32('#interrupt-cells', 1);
  soc
    .addNode(`clint@${hex(CLINT_BASE)}`)
    .setU32('interrupts-extended', ...perHart(MSIP, MTIP))
    .setU64('reg', ...reg64(CLINT_BASE, CLINT_SIZE))
    .setStrings('compatible', 'sifive,clint0', 'riscv,clint0');

  return buildFdt(root);
}

function addCpus(root: FdtNode, cfg: VirtDtbConfig, cpuPhandle: number[], intcPhandle: number[]): void {
  const cpus = root.addNode('cpus');
  cpus.setU32('#address-cells', 1).setU32('#size-cells', 0).setU32('timebase-frequency', TIMEBASE_HZ);
  for (let hart = 0; hart < cfg.harts; hart++) {
    const cpu = cpus
      .addNode(`cpu@${hex(hart)}`)
      .setU32('phandle', cpuPhandle[hart]!)
      .setString('device_type', 'cpu')
      .setU32('reg', hart)
      .setString('status', 'okay')
      .setString('compatible', 'riscv')
      .setString('riscv,isa', cfg.isa);
    if (cfg.isaExtensions) cpu.setString('riscv,isa-base', 'rv64i').setStrings('riscv,isa-extensions', ...cfg.isaExtensions);
    cpu.setString('mmu-type', cfg.mmuType);
    cpu
      .addNode('interrupt-controller')
      // Not in QEMU 7.2's tree; dtc warns about interrupt providers without it.
      .setU32('#address-cells', 0)
      .setU32('#interrupt-cells', 1)
      .setEmpty('interrupt-controller')
      .setString('compatible', 'riscv,cpu-intc')
      .setU32('phandle', intcPhandle[hart]!);
  }
  const cluster = cpus.addNode('cpu-map').addNode('cluster0');
  for (let hart = 0; hart < cfg.harts; hart++) {
    cluster.addNode(`core${hart}`).setU32('cpu', cpuPhandle[hart]!);
  }
}

/** QEMU writes initrd bounds as one cell; a second cell is only needed above 4 GiB. */
function setAddressCell(node: FdtNode, name: string, address: number): void {
  if (address <= 0xffffffff) node.setU32(name, address);
  else node.setU64(name, address);
}
