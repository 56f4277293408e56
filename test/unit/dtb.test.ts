import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildVirtDtb, type VirtDtbConfig } from '../../src/machine/dtb.js';
import { buildFdt, FdtNode } from '../../src/machine/fdt.js';
import { DEFAULT_CPU_FEATURES, isaExtensionsFor, isaStringFor } from '../../src/cpu/features.js';

const hasDtc = spawnSync('dtc', ['--version']).status === 0;
const hasQemu = spawnSync('qemu-system-riscv64', ['--version']).status === 0;
const workDir = mkdtempSync(join(tmpdir(), 'hindsight-dtb-'));

/** Decompiles a blob with dtc; returns the source and dtc's complaints. */
function decompile(blob: Uint8Array, name: string): { dts: string; stderr: string } {
  const path = join(workDir, name);
  writeFileSync(path, blob);
  const result = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', path], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return { dts: result.stdout, stderr: result.stderr };
}

const QEMU_ISA = 'rv64imac_zicsr_zifencei_zihintpause';
const baseConfig: VirtDtbConfig = {
  harts: 2,
  ramBase: 0x80000000,
  ramSize: 128 << 20,
  isa: QEMU_ISA,
  mmuType: 'riscv,sv48',
  virtioSlots: 8,
};

describe('FDT writer', () => {
  it('writes a valid header and deduplicated strings', () => {
    const root = new FdtNode('');
    root.setU32('#address-cells', 2).setString('model', 'x');
    root.addNode('a@1').setU32('#address-cells', 1).setEmpty('flag');
    const blob = buildFdt(root, { bootCpuidPhys: 3, reservations: [{ address: 0x80000000, size: 0x1000 }] });
    const view = new DataView(blob.buffer);
    expect(view.getUint32(0)).toBe(0xd00dfeed);
    expect(view.getUint32(4)).toBe(blob.length);
    expect(view.getUint32(20)).toBe(17);
    expect(view.getUint32(24)).toBe(16);
    expect(view.getUint32(28)).toBe(3);
    const strings = new TextDecoder().decode(blob.subarray(view.getUint32(12), view.getUint32(12) + view.getUint32(32)));
    expect(strings.split('#address-cells').length).toBe(2);
    expect(() => root.setU32('model', 1)).toThrow();
    expect(() => root.setU32('bad', -1)).toThrow(RangeError);
  });

  it.skipIf(!hasDtc)('round-trips through dtc, with the reservation block', () => {
    const root = new FdtNode('');
    root.setU32('#address-cells', 2).setU32('#size-cells', 2);
    root.addNode('node@0').setStrings('compatible', 'a,b', 'c').setU64('reg', 0, 0x1000).set('raw', new Uint8Array([1, 2, 3]));
    const { dts, stderr } = decompile(buildFdt(root, { reservations: [{ address: 0x80000000, size: 0x2000 }] }), 'small.dtb');
    expect(stderr).toBe('');
    expect(dts).toMatch(/\/memreserve\/\s+0x0000000080000000 0x0000000000002000;/);
    expect(dts).toContain('compatible = "a,b\\0c";');
    expect(dts).toContain('reg = <0x00 0x00 0x00 0x1000>;');
    expect(dts).toContain('raw = [01 02 03];');
  });
});

describe('virt device tree', () => {
  it.skipIf(!hasDtc)('is accepted by dtc without warnings and describes the machine', () => {
    const { dts, stderr } = decompile(
      buildVirtDtb({ ...baseConfig, harts: 4, bootargs: 'console=ttyS0 earlycon', initrd: { start: 0x84000000, end: 0x84001388 } }),
      'virt.dtb',
    );
    expect(stderr).toBe('');
    expect(dts).toContain('bootargs = "console=ttyS0 earlycon";');
    expect(dts).toContain('linux,initrd-start = <0x84000000>;');
    expect(dts).toContain('linux,initrd-end = <0x84001388>;');
    expect(dts).toContain('stdout-path = "/soc/serial@10000000";');
    expect(dts).toContain('cpu@3 {');
    expect(dts).toContain('core3 {');
    expect(dts).toContain('timebase-frequency = <0x989680>;');
    expect(dts).toContain('compatible = "sifive,plic-1.0.0\\0riscv,plic0";');
    expect(dts).toContain('riscv,ndev = <0x5f>;');
    // Hart 3 gets phandles 1 (cpu) and 2 (intc); the PLIC comes after all CPUs.
    expect(dts).toContain('interrupts-extended = <0x08 0x0b 0x08 0x09 0x06 0x0b 0x06 0x09 0x04 0x0b 0x04 0x09 0x02 0x0b 0x02 0x09>;');
    expect(dts).toMatch(/plic@c000000 \{\s+phandle = <0x09>;/);
    expect(dts).toContain('regmap = <0x0a>;');
    expect(dts.indexOf('virtio_mmio@10008000')).toBeLessThan(dts.indexOf('virtio_mmio@10001000'));
  });

  it.skipIf(!hasDtc)('describes the CPU extensions in riscv,isa and riscv,isa-extensions (the newer binding)', () => {
    const { dts, stderr } = decompile(buildVirtDtb({
      ...baseConfig, isa: isaStringFor(DEFAULT_CPU_FEATURES), isaExtensions: isaExtensionsFor({ ...DEFAULT_CPU_FEATURES, zbb: false }),
    }), 'ext.dtb');
    expect(stderr).toBe('');
    expect(dts).toContain(`riscv,isa = "${isaStringFor(DEFAULT_CPU_FEATURES)}";`);
    expect(dts).toContain('riscv,isa-base = "rv64i";');
    expect(dts).toMatch(/riscv,isa-extensions = "i\\0m\\0a\\0(f\\0d\\0)?c\\0zicntr\\0zicsr\\0zifencei\\0zihintpause\\0zba\\0zbs\\0sstc";/);
  });

  it.skipIf(!hasDtc || !hasQemu)('matches qemu-system-riscv64 -M virt apart from the devices hindsight omits', () => {
    const qemuBlob = join(workDir, 'qemu.dtb');
    const qemu = spawnSync(
      'qemu-system-riscv64',
      [
        '-M', `virt,dumpdtb=${qemuBlob}`, '-smp', '2', '-m', '128M', '-nographic',
        '-cpu', 'rv64,f=false,d=false,v=false,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false',
      ],
      { encoding: 'utf8' },
    );
    expect(qemu.status).toBe(0);
    const qemuDts = decompile(readFileSync(qemuBlob), 'qemu-copy.dtb').dts;
    const mine = decompile(buildVirtDtb(baseConfig), 'mine.dtb').dts;
    expect(normalise(mine, false)).toBe(normalise(qemuDts, true));
  });
});

/** Drops what hindsight deliberately leaves out or changes, so the rest must be identical. */
function normalise(dts: string, fromQemu: boolean): string {
  const omittedNodes = ['pmu', 'fw-cfg@10100000', 'flash@20000000', 'platform-bus@4000000', 'rtc@101000', 'pci@30000000'];
  let text = dts;
  for (const node of omittedNodes) {
    text = text.replace(new RegExp(`\\n(\\t+)${node.replace(/[.]/g, '\\.')} \\{\\n[\\s\\S]*?\\n\\1\\};\\n`), '\n');
  }
  text = text.replace(/\t+rng-seed = .*;\n/, '');
  if (fromQemu) {
    // QEMU 7.2 counts sources 0..95 in riscv,ndev; hindsight gives the number of real sources.
    text = text.replace('riscv,ndev = <0x60>;', 'riscv,ndev = <0x5f>;');
  } else {
    text = text.replace(/\t+#address-cells = <0x00>;\n(?=\t+#interrupt-cells = <0x01>;\n\t+interrupt-controller;\n\t+compatible = "riscv,cpu-intc")/g, '');
  }
  return text.replace(/\n\s*\n/g, '\n');
}
