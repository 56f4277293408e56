import { Op } from './ir.js';

/** Operand layout of a 32-bit encoding: tells the decoder which fields and immediate to extract. */
export const enum Fmt { R, I, S, B, U, J, Shift6, Shift5, Csr, CsrImm, Amo, None }

export interface InsnSpec {
  name: string;
  match: number;
  mask: number;
  fmt: Fmt;
  op: Op;
  ext: 'I' | 'M' | 'A' | 'Zicsr' | 'Zifencei' | 'Priv';
}

const R_MASK = 0xfe00707f;
const F3_MASK = 0x0000707f;
const SH6_MASK = 0xfc00707f;

function spec(name: string, match: number, mask: number, fmt: Fmt, op: Op, ext: InsnSpec['ext']): InsnSpec {
  return { name, match: match >>> 0, mask: mask >>> 0, fmt, op, ext };
}

/**
 * The one declarative table of 32-bit encodings (match/mask as in the ISA manual's opcode map).
 * The decoder, the disassembler names and the overlap check in the tests all derive from it.
 */
export const INSN_TABLE: readonly InsnSpec[] = [
  spec('lui', 0x37, 0x7f, Fmt.U, Op.LUI, 'I'),
  spec('auipc', 0x17, 0x7f, Fmt.U, Op.AUIPC, 'I'),
  spec('jal', 0x6f, 0x7f, Fmt.J, Op.JAL, 'I'),
  spec('jalr', 0x67, F3_MASK, Fmt.I, Op.JALR, 'I'),
  spec('beq', 0x0063, F3_MASK, Fmt.B, Op.BEQ, 'I'),
  spec('bne', 0x1063, F3_MASK, Fmt.B, Op.BNE, 'I'),
  spec('blt', 0x4063, F3_MASK, Fmt.B, Op.BLT, 'I'),
  spec('bge', 0x5063, F3_MASK, Fmt.B, Op.BGE, 'I'),
  spec('bltu', 0x6063, F3_MASK, Fmt.B, Op.BLTU, 'I'),
  spec('bgeu', 0x7063, F3_MASK, Fmt.B, Op.BGEU, 'I'),
  spec('lb', 0x0003, F3_MASK, Fmt.I, Op.LB, 'I'),
  spec('lh', 0x1003, F3_MASK, Fmt.I, Op.LH, 'I'),
  spec('lw', 0x2003, F3_MASK, Fmt.I, Op.LW, 'I'),
  spec('ld', 0x3003, F3_MASK, Fmt.I, Op.LD, 'I'),
  spec('lbu', 0x4003, F3_MASK, Fmt.I, Op.LBU, 'I'),
  spec('lhu', 0x5003, F3_MASK, Fmt.I, Op.LHU, 'I'),
  spec('lwu', 0x6003, F3_MASK, Fmt.I, Op.LWU, 'I'),
  spec('sb', 0x0023, F3_MASK, Fmt.S, Op.SB, 'I'),
  spec('sh', 0x1023, F3_MASK, Fmt.S, Op.SH, 'I'),
  spec('sw', 0x2023, F3_MASK, Fmt.S, Op.SW, 'I'),
  spec('sd', 0x3023, F3_MASK, Fmt.S, Op.SD, 'I'),
  spec('addi', 0x0013, F3_MASK, Fmt.I, Op.ADDI, 'I'),
  spec('slti', 0x2013, F3_MASK, Fmt.I, Op.SLTI, 'I'),
  spec('sltiu', 0x3013, F3_MASK, Fmt.I, Op.SLTIU, 'I'),
  spec('xori', 0x4013, F3_MASK, Fmt.I, Op.XORI, 'I'),
  spec('ori', 0x6013, F3_MASK, Fmt.I, Op.ORI, 'I'),
  spec('andi', 0x7013, F3_MASK, Fmt.I, Op.ANDI, 'I'),
  spec('slli', 0x1013, SH6_MASK, Fmt.Shift6, Op.SLLI, 'I'),
  spec('srli', 0x5013, SH6_MASK, Fmt.Shift6, Op.SRLI, 'I'),
  spec('srai', 0x40005013, SH6_MASK, Fmt.Shift6, Op.SRAI, 'I'),
  spec('add', 0x0033, R_MASK, Fmt.R, Op.ADD, 'I'),
  spec('sub', 0x40000033, R_MASK, Fmt.R, Op.SUB, 'I'),
  spec('sll', 0x1033, R_MASK, Fmt.R, Op.SLL, 'I'),
  spec('slt', 0x2033, R_MASK, Fmt.R, Op.SLT, 'I'),
  spec('sltu', 0x3033, R_MASK, Fmt.R, Op.SLTU, 'I'),
  spec('xor', 0x4033, R_MASK, Fmt.R, Op.XOR, 'I'),
  spec('srl', 0x5033, R_MASK, Fmt.R, Op.SRL, 'I'),
  spec('sra', 0x40005033, R_MASK, Fmt.R, Op.SRA, 'I'),
  spec('or', 0x6033, R_MASK, Fmt.R, Op.OR, 'I'),
  spec('and', 0x7033, R_MASK, Fmt.R, Op.AND, 'I'),
  spec('addiw', 0x001b, F3_MASK, Fmt.I, Op.ADDIW, 'I'),
  spec('slliw', 0x101b, R_MASK, Fmt.Shift5, Op.SLLIW, 'I'),
  spec('srliw', 0x501b, R_MASK, Fmt.Shift5, Op.SRLIW, 'I'),
  spec('sraiw', 0x4000501b, R_MASK, Fmt.Shift5, Op.SRAIW, 'I'),
  spec('addw', 0x003b, R_MASK, Fmt.R, Op.ADDW, 'I'),
  spec('subw', 0x4000003b, R_MASK, Fmt.R, Op.SUBW, 'I'),
  spec('sllw', 0x103b, R_MASK, Fmt.R, Op.SLLW, 'I'),
  spec('srlw', 0x503b, R_MASK, Fmt.R, Op.SRLW, 'I'),
  spec('sraw', 0x4000503b, R_MASK, Fmt.R, Op.SRAW, 'I'),
  spec('mul', 0x02000033, R_MASK, Fmt.R, Op.MUL, 'M'),
  spec('mulh', 0x02001033, R_MASK, Fmt.R, Op.MULH, 'M'),
  spec('mulhsu', 0x02002033, R_MASK, Fmt.R, Op.MULHSU, 'M'),
  spec('mulhu', 0x02003033, R_MASK, Fmt.R, Op.MULHU, 'M'),
  spec('div', 0x02004033, R_MASK, Fmt.R, Op.DIV, 'M'),
  spec('divu', 0x02005033, R_MASK, Fmt.R, Op.DIVU, 'M'),
  spec('rem', 0x02006033, R_MASK, Fmt.R, Op.REM, 'M'),
  spec('remu', 0x02007033, R_MASK, Fmt.R, Op.REMU, 'M'),
  spec('mulw', 0x0200003b, R_MASK, Fmt.R, Op.MULW, 'M'),
  spec('divw', 0x0200403b, R_MASK, Fmt.R, Op.DIVW, 'M'),
  spec('divuw', 0x0200503b, R_MASK, Fmt.R, Op.DIVUW, 'M'),
  spec('remw', 0x0200603b, R_MASK, Fmt.R, Op.REMW, 'M'),
  spec('remuw', 0x0200703b, R_MASK, Fmt.R, Op.REMUW, 'M'),
  ...amoSpecs(),
  spec('fence', 0x000f, F3_MASK, Fmt.None, Op.FENCE, 'I'),
  spec('fence.i', 0x100f, F3_MASK, Fmt.None, Op.FENCE_I, 'Zifencei'),
  spec('ecall', 0x00000073, 0xffffffff, Fmt.None, Op.ECALL, 'I'),
  spec('ebreak', 0x00100073, 0xffffffff, Fmt.None, Op.EBREAK, 'I'),
  spec('sret', 0x10200073, 0xffffffff, Fmt.None, Op.SRET, 'Priv'),
  spec('mret', 0x30200073, 0xffffffff, Fmt.None, Op.MRET, 'Priv'),
  spec('wfi', 0x10500073, 0xffffffff, Fmt.None, Op.WFI, 'Priv'),
  spec('sfence.vma', 0x12000073, 0xfe007fff, Fmt.R, Op.SFENCE_VMA, 'Priv'),
  spec('csrrw', 0x1073, F3_MASK, Fmt.Csr, Op.CSRRW, 'Zicsr'),
  spec('csrrs', 0x2073, F3_MASK, Fmt.Csr, Op.CSRRS, 'Zicsr'),
  spec('csrrc', 0x3073, F3_MASK, Fmt.Csr, Op.CSRRC, 'Zicsr'),
  spec('csrrwi', 0x5073, F3_MASK, Fmt.CsrImm, Op.CSRRWI, 'Zicsr'),
  spec('csrrsi', 0x6073, F3_MASK, Fmt.CsrImm, Op.CSRRSI, 'Zicsr'),
  spec('csrrci', 0x7073, F3_MASK, Fmt.CsrImm, Op.CSRRCI, 'Zicsr'),
];

function amoSpecs(): InsnSpec[] {
  const amos: [string, number, Op, Op][] = [
    ['amoadd', 0b00000, Op.AMOADD_W, Op.AMOADD_D],
    ['amoswap', 0b00001, Op.AMOSWAP_W, Op.AMOSWAP_D],
    ['sc', 0b00011, Op.SC_W, Op.SC_D],
    ['amoxor', 0b00100, Op.AMOXOR_W, Op.AMOXOR_D],
    ['amoor', 0b01000, Op.AMOOR_W, Op.AMOOR_D],
    ['amoand', 0b01100, Op.AMOAND_W, Op.AMOAND_D],
    ['amomin', 0b10000, Op.AMOMIN_W, Op.AMOMIN_D],
    ['amomax', 0b10100, Op.AMOMAX_W, Op.AMOMAX_D],
    ['amominu', 0b11000, Op.AMOMINU_W, Op.AMOMINU_D],
    ['amomaxu', 0b11100, Op.AMOMAXU_W, Op.AMOMAXU_D],
  ];
  const out: InsnSpec[] = [
    spec('lr.w', (0b00010 << 27) | 0x202f, 0xf9f0707f, Fmt.Amo, Op.LR_W, 'A'),
    spec('lr.d', (0b00010 << 27) | 0x302f, 0xf9f0707f, Fmt.Amo, Op.LR_D, 'A'),
  ];
  for (const [name, funct5, w, d] of amos) {
    out.push(spec(`${name}.w`, (funct5 << 27) | 0x202f, 0xf800707f, Fmt.Amo, w, 'A'));
    out.push(spec(`${name}.d`, (funct5 << 27) | 0x302f, 0xf800707f, Fmt.Amo, d, 'A'));
  }
  return out;
}

/** Names by op, for disassembly and diagnostics. */
export const OP_NAMES: ReadonlyMap<Op, string> = new Map(INSN_TABLE.map((s) => [s.op, s.name]));
