import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { isElf, parseElf } from '../../src/machine/elf.js';

const hello = new Uint8Array(readFileSync(new URL('../guests/bin/hello.elf', import.meta.url)));

function patched(edit: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = hello.slice();
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

function rejection(bytes: Uint8Array): string {
  try {
    parseElf(bytes, 'x.elf');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return (error as Error).message;
  }
  throw new Error('parseElf accepted a bad file');
}

describe('ELF loader', () => {
  it('loads hello.elf: entry, code and data PT_LOAD segments and its symbols', () => {
    expect(isElf(hello)).toBe(true);
    const image = parseElf(hello, 'hello.elf');
    expect(image.entry).toBe(0x80000000n);
    expect(image.segments).toHaveLength(2);
    const [segment, data] = image.segments;
    expect(segment!.paddr).toBe(0x80000000n);
    expect(segment!.vaddr).toBe(0x80000000n);
    expect(segment!.data.length).toBe(0x4fd);
    expect(segment!.memsz).toBe(0x4fd);
    expect(data!.paddr).toBe(0x80001000n);
    expect(data!.data.length).toBe(0x1008);
    expect(data!.memsz).toBe(0x1010);
    expect(Array.from(segment!.data.subarray(0, 4))).toEqual(Array.from(hello.subarray(0x1000, 0x1004)));
    expect(image.symbols.get('tohost')).toBe(0x80001008n);
    expect(image.symbols.get('_start')).toBe(0x80000000n);
    expect(image.symbols.has('.text')).toBe(false);
  });

  it('rejects garbage, truncated and foreign files with one clear sentence', () => {
    expect(isElf(new TextEncoder().encode('#!/bin/sh\n'))).toBe(false);
    expect(rejection(new TextEncoder().encode('hello world, not an elf'))).toBe('x.elf: not an ELF file (bad magic)');
    expect(rejection(hello.subarray(0, 3))).toBe('x.elf: not an ELF file (bad magic)');
    expect(rejection(hello.subarray(0, 40))).toBe('x.elf: ELF header is truncated');
    expect(rejection(hello.subarray(0, 100))).toBe('x.elf: program header table extends past the end of the file');
    expect(rejection(hello.subarray(0, 0x1200))).toBe('x.elf: ELF segment 1 extends past the end of the file');
    expect(rejection(hello.subarray(0, 0x4000))).toBe('x.elf: section header table extends past the end of the file');
    expect(rejection(patched((v) => v.setUint8(4, 1)))).toMatch(/not a 64-bit ELF file/);
    expect(rejection(patched((v) => v.setUint8(5, 2)))).toBe('x.elf: not a little-endian ELF file');
    expect(rejection(patched((v) => v.setUint16(18, 62, true)))).toBe('x.elf: not a RISC-V ELF file (machine 62)');
    expect(rejection(patched((v) => v.setUint16(16, 1, true)))).toBe('x.elf: not an executable (ELF type 1)');
    // Segment 1's filesz (at phoff 64 + 56 + 32) made larger than its memsz.
    expect(rejection(patched((v) => v.setBigUint64(64 + 56 + 32, 0x1000n, true)))).toBe(
      'x.elf: ELF segment 1 has a file size larger than its memory size',
    );
    expect(rejection(patched((v) => v.setBigUint64(32, 0xffff_ffff_ffffn, true)))).toBe(
      'x.elf: program header table extends past the end of the file',
    );
  });
});
