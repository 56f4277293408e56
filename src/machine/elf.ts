import { InputError } from '../errors.js';

export interface ElfSegment {
  /** Physical load address (p_paddr). */
  paddr: bigint;
  vaddr: bigint;
  /** The bytes from the file (p_filesz of them); the rest up to memsz is zero-filled. */
  data: Uint8Array;
  memsz: number;
}

export interface ElfImage {
  entry: bigint;
  segments: ElfSegment[];
  /** Defined symbols by name (global definitions win over local ones), e.g. `tohost`. */
  symbols: Map<string, bigint>;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_RISCV = 243;
const EHDR_BYTES = 64;
const PHDR_BYTES = 56;
const SHDR_BYTES = 64;
const SYM_BYTES = 24;
const PN_XNUM = 0xffff;
const PT_LOAD = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHN_UNDEF = 0;
const STB_LOCAL = 0;
const STT_SECTION = 3;
const STT_FILE = 4;
/** Larger segments cannot fit in any guest RAM hindsight supports. */
const MAX_SEGMENT_BYTES = 0x1_0000_0000;

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((byte, i) => bytes[i] === byte);
}

/** Parses a RISC-V ELF64 executable, rejecting anything malformed with an InputError. */
export function parseElf(bytes: Uint8Array, fileName: string): ElfImage {
  const fail = (problem: string): never => {
    throw new InputError(`${fileName}: ${problem}`);
  };
  if (!isElf(bytes)) fail('not an ELF file (bad magic)');
  if (bytes.length < EHDR_BYTES) fail('ELF header is truncated');
  if (bytes[4] !== ELFCLASS64) fail('not a 64-bit ELF file (RV64 needs ELFCLASS64)');
  if (bytes[5] !== ELFDATA2LSB) fail('not a little-endian ELF file');
  if (bytes[6] !== EV_CURRENT) fail(`unsupported ELF version ${bytes[6]}`);

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fileSize = BigInt(bytes.length);
  const u16 = (at: number): number => view.getUint16(at, true);
  const u32 = (at: number): number => view.getUint32(at, true);
  const u64 = (at: number): bigint => view.getBigUint64(at, true);
  /** Checks that [offset, offset+size) lies inside the file and returns offset as a number. */
  const inFile = (offset: bigint, size: bigint, what: string): number => {
    if (offset + size > fileSize) fail(`${what} extends past the end of the file`);
    return Number(offset);
  };

  const type = u16(16);
  if (type !== ET_EXEC && type !== ET_DYN) fail(`not an executable (ELF type ${type})`);
  const machine = u16(18);
  if (machine !== EM_RISCV) fail(`not a RISC-V ELF file (machine ${machine})`);

  const entry = u64(24);
  const phoff = u64(32);
  const shoff = u64(40);
  const phentsize = u16(54);
  const phnum = u16(56);
  const shentsize = u16(58);
  const shnum = u16(60);

  if (phnum === PN_XNUM) fail('uses extended program header numbering, which is not supported');
  if (phnum > 0 && phentsize < PHDR_BYTES) fail(`program header entry size ${phentsize} is too small`);
  const phTable = inFile(phoff, BigInt(phnum) * BigInt(phentsize), 'program header table');

  const segments: ElfSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phTable + i * phentsize;
    if (u32(at) !== PT_LOAD) continue;
    const offset = u64(at + 8);
    const vaddr = u64(at + 16);
    const paddr = u64(at + 24);
    const filesz = u64(at + 32);
    const memsz = u64(at + 40);
    if (filesz > memsz) fail(`ELF segment ${i} has a file size larger than its memory size`);
    if (memsz > BigInt(MAX_SEGMENT_BYTES)) fail(`ELF segment ${i} is too large (${memsz} bytes)`);
    if (memsz === 0n) continue;
    const start = inFile(offset, filesz, `ELF segment ${i}`);
    segments.push({ paddr, vaddr, data: bytes.subarray(start, start + Number(filesz)), memsz: Number(memsz) });
  }
  if (segments.length === 0) fail('has no loadable segments');

  return { entry, segments, symbols: readSymbols() };

  function readSymbols(): Map<string, bigint> {
    const symbols = new Map<string, bigint>();
    if (shoff === 0n || shnum === 0) return symbols; // stripped of section headers
    if (shentsize < SHDR_BYTES) fail(`section header entry size ${shentsize} is too small`);
    const shTable = inFile(shoff, BigInt(shnum) * BigInt(shentsize), 'section header table');
    const section = (index: number) => {
      const at = shTable + index * shentsize;
      return { type: u32(at + 4), offset: u64(at + 24), size: u64(at + 32), link: u32(at + 40), entsize: u64(at + 56) };
    };
    for (let i = 0; i < shnum; i++) {
      const symtab = section(i);
      if (symtab.type !== SHT_SYMTAB) continue;
      if (symtab.link >= shnum || section(symtab.link).type !== SHT_STRTAB) {
        fail(`symbol table in section ${i} has no string table`);
      }
      const strtab = section(symtab.link);
      const strStart = inFile(strtab.offset, strtab.size, `ELF section ${symtab.link}`);
      const strings = bytes.subarray(strStart, strStart + Number(strtab.size));
      const entsize = symtab.entsize === 0n ? SYM_BYTES : Number(symtab.entsize);
      if (entsize < SYM_BYTES) fail(`symbol table in section ${i} has entries of ${entsize} bytes`);
      const symStart = inFile(symtab.offset, symtab.size, `ELF section ${i}`);
      const count = Math.floor(Number(symtab.size) / entsize);
      for (let s = 1; s < count; s++) {
        const at = symStart + s * entsize;
        const info = bytes[at + 4]!;
        const kind = info & 0xf;
        if (u16(at + 6) === SHN_UNDEF || kind === STT_SECTION || kind === STT_FILE) continue;
        const name = cString(strings, u32(at));
        if (name === undefined) fail(`symbol ${s} has a name outside its string table`);
        if (name === '') continue;
        const isLocal = info >> 4 === STB_LOCAL;
        if (isLocal && symbols.has(name!)) continue;
        symbols.set(name!, u64(at + 8));
      }
    }
    return symbols;
  }
}

const latin1 = new TextDecoder('latin1');

/** The NUL-terminated string at `offset`, or undefined if it is not inside the table. */
function cString(table: Uint8Array, offset: number): string | undefined {
  if (offset >= table.length) return undefined;
  const end = table.indexOf(0, offset);
  if (end < 0) return undefined;
  return latin1.decode(table.subarray(offset, end));
}
