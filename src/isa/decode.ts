import { type CpuFeatures } from '../cpu/features.js';
import { Insn, Op } from './ir.js';
import { Ext, Fmt } from './op-def.js';
import { INSN_TABLE, InsnSpec } from './table.js';

function bits(x: number, hi: number, lo: number): number {
  return (x >>> lo) & ((1 << (hi - lo + 1)) - 1);
}

function sext(value: number, width: number): bigint {
  const shift = 32 - width;
  return BigInt((value << shift) >> shift);
}

function make(op: Op, rd: number, rs1: number, rs2: number, imm: bigint, len: number, raw: number): Insn {
  return { op, rd, rs1, rs2, imm, immN: Number(imm), len, raw };
}

const illegal = (raw: number, len: number): Insn => make(Op.ILLEGAL, 0, 0, 0, 0n, len, raw);

/**
 * Decoded records are shared: a decoder returns the same Insn for the same word every time, so
 * translation blocks hold one record per distinct encoding, never a copy (callers must not modify
 * them). A Linux boot translates ~30,000 blocks; a record (and its immediate's BigInt) per
 * instruction of each was most of what the hart threads' young-generation GC copied and promoted
 * (V8 heap profile: ~30 of the 37 MB promoted per 1-hart boot were translations).
 *
 * A 32-bit decoder over a set of encodings (the instruction table's, or a modified copy's in the
 * table checks). Entries are grouped by major opcode (bits 6:0), so decoding scans a handful.
 */
export function decoder32(specs: readonly InsnSpec[]): (raw: number) => Insn {
  const byOpcode: InsnSpec[][] = Array.from({ length: 128 }, () => []);
  for (const s of specs) byOpcode[s.match & 0x7f].push(s);
  const known = new Map<number, Insn>();
  return (raw) => {
    // Keyed by the signed word: always a small integer to V8 (raw >>> 0 above 2^31 is a heap
    // number, whose Map lookups measured several times slower).
    const key = raw | 0;
    let insn = known.get(key);
    if (insn === undefined) {
      if (known.size >= MAX_KNOWN_WORDS) known.clear(); // a guest executing random words: bounded memory
      insn = decodeWith(byOpcode, raw);
      known.set(key, insn);
    }
    return insn;
  };
}

/** Distinct 32-bit words a decoder remembers before it starts over. */
const MAX_KNOWN_WORDS = 1 << 18;

/** Decodes one 32-bit instruction (low two bits 11) of any extension in the table. */
export const decode32 = decoder32(INSN_TABLE);

/** Whether a hart with `features` implements the optional extension `ext` (the base ones always). */
export function extensionEnabled(ext: Ext, features: Readonly<CpuFeatures>): boolean {
  switch (ext) {
    case 'Zba': return features.zba;
    case 'Zbb': return features.zbb;
    case 'Zbs': return features.zbs;
    default: return true;
  }
}

const decodersByFeatures = new Map<string, (raw: number) => Insn>();

/**
 * The 32-bit decoder of a hart with `features`: a disabled extension's encodings are simply not
 * in its table, so they decode as ILLEGAL (and trap) at no cost on the decode path. One decoder
 * per distinct feature set, shared by every executor of the thread.
 */
export function decoder32For(features: Readonly<CpuFeatures>): (raw: number) => Insn {
  const key = JSON.stringify(features);
  let d = decodersByFeatures.get(key);
  if (!d) {
    d = decoder32(INSN_TABLE.filter((s) => extensionEnabled(s.ext, features)));
    decodersByFeatures.set(key, d);
  }
  return d;
}

function decodeWith(byOpcode: readonly InsnSpec[][], raw: number): Insn {
  raw >>>= 0;
  for (const s of byOpcode[raw & 0x7f]) {
    if (((raw & s.mask) >>> 0) !== s.match) continue;
    const rd = bits(raw, 11, 7);
    const rs1 = bits(raw, 19, 15);
    const rs2 = bits(raw, 24, 20);
    switch (s.fmt) {
      case Fmt.R:
      case Fmt.Amo:
      case Fmt.None:
        return make(s.op, rd, rs1, rs2, 0n, 4, raw);
      case Fmt.I:
        return make(s.op, rd, rs1, 0, BigInt(raw >> 20), 4, raw);
      case Fmt.S:
        return make(s.op, 0, rs1, rs2, BigInt(((raw >> 25) << 5) | bits(raw, 11, 7)), 4, raw);
      case Fmt.B: {
        const imm = (bits(raw, 31, 31) << 12) | (bits(raw, 7, 7) << 11) | (bits(raw, 30, 25) << 5) | (bits(raw, 11, 8) << 1);
        return make(s.op, 0, rs1, rs2, sext(imm, 13), 4, raw);
      }
      case Fmt.U:
        return make(s.op, rd, 0, 0, BigInt(raw & 0xfffff000) << 32n >> 32n, 4, raw);
      case Fmt.J: {
        const imm = (bits(raw, 31, 31) << 20) | (bits(raw, 19, 12) << 12) | (bits(raw, 20, 20) << 11) | (bits(raw, 30, 21) << 1);
        return make(s.op, rd, 0, 0, sext(imm, 21), 4, raw);
      }
      case Fmt.Shift6:
        return make(s.op, rd, rs1, 0, BigInt(bits(raw, 25, 20)), 4, raw);
      case Fmt.Shift5:
        return make(s.op, rd, rs1, 0, BigInt(bits(raw, 24, 20)), 4, raw);
      case Fmt.Csr:
      case Fmt.CsrImm:
        return make(s.op, rd, rs1, 0, BigInt(bits(raw, 31, 20)), 4, raw);
    }
  }
  return illegal(raw, 4);
}

/**
 * Expands one 16-bit RVC instruction into the base instruction it stands for (RV64C).
 * Reserved encodings decode as illegal; C.FLD/C.FSD/C.FLDSP/C.FSDSP expand to FLD/FSD (whose
 * semantics check that the hart has D and FP is enabled).
 */
export function decode16(raw: number): Insn {
  raw &= 0xffff;
  return (KNOWN16[raw] ??= expand16(raw));
}

/** decode16's records by encoding (see decoder32: shared, never modified). */
const KNOWN16: (Insn | undefined)[] = new Array<Insn | undefined>(0x10000).fill(undefined);

function expand16(raw: number): Insn {
  const q = raw & 3;
  const f3 = bits(raw, 15, 13);
  const rdp = bits(raw, 4, 2) + 8;  // rd' / rs2'
  const rs1p = bits(raw, 9, 7) + 8; // rs1' / rd'
  const rd = bits(raw, 11, 7);
  const rs2 = bits(raw, 6, 2);
  const imm6 = sext((bits(raw, 12, 12) << 5) | bits(raw, 6, 2), 6);
  const c = (op: Op, d: number, s1: number, s2: number, imm: bigint) => make(op, d, s1, s2, imm, 2, raw);
  if (raw === 0) return illegal(raw, 2);
  if (q === 0) {
    switch (f3) {
      case 0: { // c.addi4spn
        const nz = (bits(raw, 12, 11) << 4) | (bits(raw, 10, 7) << 6) | (bits(raw, 6, 6) << 2) | (bits(raw, 5, 5) << 3);
        return nz === 0 ? illegal(raw, 2) : c(Op.ADDI, rdp, 2, 0, BigInt(nz));
      }
      case 1: return c(Op.FLD, rdp, rs1p, 0, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6)));
      case 2: return c(Op.LW, rdp, rs1p, 0, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 6, 6) << 2) | (bits(raw, 5, 5) << 6)));
      case 3: return c(Op.LD, rdp, rs1p, 0, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6)));
      case 5: return c(Op.FSD, 0, rs1p, rdp, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6)));
      case 6: return c(Op.SW, 0, rs1p, rdp, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 6, 6) << 2) | (bits(raw, 5, 5) << 6)));
      case 7: return c(Op.SD, 0, rs1p, rdp, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 6, 5) << 6)));
      default: return illegal(raw, 2); // reserved
    }
  }
  if (q === 1) {
    switch (f3) {
      case 0: return c(Op.ADDI, rd, rd, 0, imm6);
      case 1: return rd === 0 ? illegal(raw, 2) : c(Op.ADDIW, rd, rd, 0, imm6);
      case 2: return c(Op.ADDI, rd, 0, 0, imm6);
      case 3: {
        if (rd === 2) {
          const nz = (bits(raw, 12, 12) << 9) | (bits(raw, 6, 6) << 4) | (bits(raw, 5, 5) << 6) | (bits(raw, 4, 3) << 7) | (bits(raw, 2, 2) << 5);
          return nz === 0 ? illegal(raw, 2) : c(Op.ADDI, 2, 2, 0, sext(nz, 10));
        }
        const nz = (bits(raw, 12, 12) << 17) | (bits(raw, 6, 2) << 12);
        return nz === 0 ? illegal(raw, 2) : c(Op.LUI, rd, 0, 0, sext(nz, 18));
      }
      case 4: {
        const f2 = bits(raw, 11, 10);
        const shamt = BigInt((bits(raw, 12, 12) << 5) | bits(raw, 6, 2));
        if (f2 === 0) return c(Op.SRLI, rs1p, rs1p, 0, shamt);
        if (f2 === 1) return c(Op.SRAI, rs1p, rs1p, 0, shamt);
        if (f2 === 2) return c(Op.ANDI, rs1p, rs1p, 0, imm6);
        const sub = bits(raw, 6, 5);
        if (bits(raw, 12, 12) === 0) {
          const ops = [Op.SUB, Op.XOR, Op.OR, Op.AND];
          return c(ops[sub], rs1p, rs1p, rdp, 0n);
        }
        if (sub === 0) return c(Op.SUBW, rs1p, rs1p, rdp, 0n);
        if (sub === 1) return c(Op.ADDW, rs1p, rs1p, rdp, 0n);
        return illegal(raw, 2);
      }
      case 5: {
        const off = (bits(raw, 12, 12) << 11) | (bits(raw, 11, 11) << 4) | (bits(raw, 10, 9) << 8) | (bits(raw, 8, 8) << 10) |
          (bits(raw, 7, 7) << 6) | (bits(raw, 6, 6) << 7) | (bits(raw, 5, 3) << 1) | (bits(raw, 2, 2) << 5);
        return c(Op.JAL, 0, 0, 0, sext(off, 12));
      }
      default: { // 6 c.beqz, 7 c.bnez
        const off = (bits(raw, 12, 12) << 8) | (bits(raw, 11, 10) << 3) | (bits(raw, 6, 5) << 6) | (bits(raw, 4, 3) << 1) | (bits(raw, 2, 2) << 5);
        return c(f3 === 6 ? Op.BEQ : Op.BNE, 0, rs1p, 0, sext(off, 9));
      }
    }
  }
  if (q === 2) {
    switch (f3) {
      case 0: return c(Op.SLLI, rd, rd, 0, BigInt((bits(raw, 12, 12) << 5) | bits(raw, 6, 2)));
      case 1: return c(Op.FLD, rd, 2, 0, BigInt((bits(raw, 12, 12) << 5) | (bits(raw, 6, 5) << 3) | (bits(raw, 4, 2) << 6)));
      case 2: return rd === 0 ? illegal(raw, 2) : c(Op.LW, rd, 2, 0, BigInt((bits(raw, 12, 12) << 5) | (bits(raw, 6, 4) << 2) | (bits(raw, 3, 2) << 6)));
      case 3: return rd === 0 ? illegal(raw, 2) : c(Op.LD, rd, 2, 0, BigInt((bits(raw, 12, 12) << 5) | (bits(raw, 6, 5) << 3) | (bits(raw, 4, 2) << 6)));
      case 4: {
        if (bits(raw, 12, 12) === 0) {
          if (rs2 === 0) return rd === 0 ? illegal(raw, 2) : c(Op.JALR, 0, rd, 0, 0n);
          return c(Op.ADD, rd, 0, rs2, 0n);
        }
        if (rs2 === 0) return rd === 0 ? c(Op.EBREAK, 0, 0, 0, 0n) : c(Op.JALR, 1, rd, 0, 0n);
        return c(Op.ADD, rd, rd, rs2, 0n);
      }
      case 5: return c(Op.FSD, 0, 2, rs2, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 9, 7) << 6)));
      case 6: return c(Op.SW, 0, 2, rs2, BigInt((bits(raw, 12, 9) << 2) | (bits(raw, 8, 7) << 6)));
      case 7: return c(Op.SD, 0, 2, rs2, BigInt((bits(raw, 12, 10) << 3) | (bits(raw, 9, 7) << 6)));
      default: return illegal(raw, 2);
    }
  }
  return illegal(raw, 2);
}

/** Length in bytes of the instruction whose first 16 bits are `lo16`. */
export function insnLength(lo16: number): number {
  return (lo16 & 3) === 3 ? 4 : 2;
}
