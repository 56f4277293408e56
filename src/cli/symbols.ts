import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InputError } from '../errors.js';
import { isElf } from '../machine/elf.js';

/** A symbol file for GDB (`--symbols FILE[@ADDR]`): vmlinux, a user program, firmware. */
export interface SymbolFile {
  path: string;
  /** Where its .text goes (GDB's add-symbol-file ADDR); null: the addresses the ELF was linked at. */
  textAddress: bigint | null;
}

/** Parses one `--symbols FILE[@ADDR]`; a missing or non-ELF file or an unparsable address is the user's error. */
export function parseSymbolFile(spec: string): SymbolFile {
  const at = spec.lastIndexOf('@');
  const file = at > 0 ? spec.slice(0, at) : spec;
  const addrText = at > 0 ? spec.slice(at + 1) : null;
  let textAddress: bigint | null = null;
  if (addrText !== null) {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(addrText)) throw new InputError(`--symbols ${spec}: '${addrText}' is not an address (use hex like 0xffffffff80000000 or decimal)`);
    textAddress = BigInt(addrText);
    if (textAddress >= 1n << 64n) throw new InputError(`--symbols ${spec}: address ${addrText} does not fit in 64 bits`);
  }
  if (!existsSync(file)) throw new InputError(`--symbols: ${file} does not exist`);
  if (!statSync(file).isFile()) throw new InputError(`--symbols: ${file} is not a file`);
  if (!isElfFile(file)) throw new InputError(`--symbols: ${file} is not an ELF file`);
  return { path: resolve(file), textAddress };
}

/** commander's collector for a repeatable --symbols. */
export function collectSymbolFiles(spec: string, previous: SymbolFile[] = []): SymbolFile[] {
  return [...previous, parseSymbolFile(spec)];
}

/**
 * GDB arguments that load the symbol files: the first becomes the main file when there is none yet
 * (a trace of firmware + a raw kernel Image carries no ELF), the rest are added with add-symbol-file.
 */
export function gdbSymbolArgs(mainFile: string | null, extra: SymbolFile[]): { main: string | null; commands: string[] } {
  let main = mainFile;
  const commands: string[] = [];
  for (const s of extra) {
    if (main === null && s.textAddress === null) {
      main = s.path;
      continue;
    }
    commands.push('-ex', `add-symbol-file ${quote(s.path)}${s.textAddress !== null ? ` 0x${s.textAddress.toString(16)}` : ''}`);
  }
  return { main, commands };
}

function quote(path: string): string {
  return /[\s"'\\]/.test(path) ? `"${path.replace(/(["\\])/g, '\\$1')}"` : path;
}

/** The file starts with the ELF magic (only its first bytes are read: a vmlinux is large). */
export function isElfFile(file: string): boolean {
  return isElf(firstBytes(file, 4));
}

/** The first `n` bytes of a file (a vmlinux is large: no need to read it all to see its magic). */
function firstBytes(file: string, n: number): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const buf = new Uint8Array(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
