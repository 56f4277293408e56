import { describe, expect, test } from 'vitest';
import { DEFAULT_CPU_FEATURES, describeCpuFeatures, isaExtensionsFor, isaStringFor, misaFor, parseCpuFeatures } from '../../src/cpu/features.js';
import { decoder32For } from '../../src/isa/decode.js';
import { Op } from '../../src/isa/ir.js';

const NONE = { f: false, d: false, sstc: false, zba: false, zbb: false, zbs: false, zihintpause: false };
const ALL = { f: true, d: true, sstc: true, zba: true, zbb: true, zbs: true, zihintpause: true };

describe('CPU features', () => {
  test('QEMU-style strings parse from the defaults; the description parses back to the same set', () => {
    expect(parseCpuFeatures('rv64')).toEqual({ ...DEFAULT_CPU_FEATURES });
    expect(parseCpuFeatures('rv64,zba=false,zbb=off,sstc=true', NONE)).toEqual({ ...NONE, sstc: true });
    expect(parseCpuFeatures('rv64,f=on,d=true', NONE)).toEqual({ ...NONE, f: true, d: true });
    for (const set of [NONE, ALL, { ...NONE, zbb: true, sstc: true }]) expect(parseCpuFeatures(describeCpuFeatures(set), NONE)).toEqual(set);
    expect(parseCpuFeatures('rv64,f=off', ALL)).toMatch(/d=true needs f=true/); // d from the defaults
    expect(parseCpuFeatures('rv64,')).toMatch(/is not NAME=on/);
  });

  test('riscv,isa and riscv,isa-extensions in QEMU\'s order; misa letters', () => {
    expect(isaStringFor(NONE)).toBe('rv64imac_zicntr_zicsr_zifencei');
    expect(isaStringFor(ALL)).toBe('rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc');
    expect(isaStringFor({ ...NONE, zbs: true, sstc: true })).toBe('rv64imac_zicntr_zicsr_zifencei_zbs_sstc');
    expect(isaExtensionsFor(ALL)).toEqual(['i', 'm', 'a', 'f', 'd', 'c', 'zicntr', 'zicsr', 'zifencei', 'zihintpause', 'zba', 'zbb', 'zbs', 'sstc']);
    expect(misaFor(ALL) ^ misaFor(NONE)).toBe((1n << 3n) | (1n << 5n)); // D and F only: Z* and Sstc have no misa bit
  });

  test('a trace without the zihintpause switch (recorded before it existed) keeps its device tree', () => {
    const before = parseCpuFeatures('rv64,f=on,d=on,zba=on,zbb=on,zbs=on,sstc=on', NONE);
    expect(before).toEqual({ ...ALL, zihintpause: false });
    expect(isaStringFor(before as typeof ALL)).toBe('rv64imafdc_zicntr_zicsr_zifencei_zba_zbb_zbs_sstc');
  });

  test('a disabled extension\'s encodings decode as ILLEGAL, the others as themselves', () => {
    const andn = 0x40c5f533; // andn a0, a1, a2
    const shadd = 0x20c5a533; // sh1add a0, a1, a2
    const bset = 0x28c59533; // bset a0, a1, a2
    const noZbb = decoder32For({ ...ALL, zbb: false });
    expect(noZbb(andn).op).toBe(Op.ILLEGAL);
    expect(noZbb(shadd).op).toBe(Op.SH1ADD);
    expect(noZbb(bset).op).toBe(Op.BSET);
    expect(decoder32For(ALL)(andn)).toMatchObject({ op: Op.ANDN, rd: 10, rs1: 11, rs2: 12 });
    expect(decoder32For(NONE)(bset).op).toBe(Op.ILLEGAL);
    expect(decoder32For({ ...ALL })).toBe(decoder32For(ALL)); // one decoder per feature set
  });
});
