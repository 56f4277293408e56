import { describe, expect, test } from 'vitest';
import { decode16, decode32 } from '../../src/isa/decode.js';
import { Op } from '../../src/isa/ir.js';
import { INSN_TABLE } from '../../src/isa/table.js';

describe('the instruction table', () => {
  test('no two encodings overlap', () => {
    const overlaps: string[] = [];
    for (let i = 0; i < INSN_TABLE.length; i++) {
      for (let j = i + 1; j < INSN_TABLE.length; j++) {
        const a = INSN_TABLE[i];
        const b = INSN_TABLE[j];
        const common = (a.mask & b.mask) >>> 0;
        if (((a.match & common) >>> 0) === ((b.match & common) >>> 0)) overlaps.push(`${a.name} / ${b.name}`);
      }
    }
    expect(overlaps).toEqual([]);
  });

  test('every entry decodes to its own op', () => {
    for (const s of INSN_TABLE) expect(decode32(s.match).op).toBe(s.op);
  });

  test('immediates decode with the right sign and scale', () => {
    expect(decode32(0xfff00093)).toMatchObject({ op: Op.ADDI, rd: 1, rs1: 0, imm: -1n }); // addi ra, zero, -1
    expect(decode32(0xfe000ee3)).toMatchObject({ op: Op.BEQ, imm: -4n });                 // beq zero, zero, -4
    expect(decode32(0x800000ef)).toMatchObject({ op: Op.JAL, rd: 1, imm: -(1n << 20n) }); // jal ra, -1 MiB
    expect(decode32(0xfffff537)).toMatchObject({ op: Op.LUI, rd: 10, imm: -4096n });      // lui a0, 0xfffff
    expect(decode32(0xfe113c23)).toMatchObject({ op: Op.SD, rs1: 2, rs2: 1, imm: -8n });  // sd ra, -8(sp)
  });
});

describe('compressed instructions expand to base ops', () => {
  test.each([
    [0x4501, { op: Op.ADDI, rd: 10, rs1: 0, imm: 0n }],     // c.li a0, 0
    [0x1141, { op: Op.ADDI, rd: 2, rs1: 2, imm: -16n }],    // c.addi sp, -16
    [0x7139, { op: Op.ADDI, rd: 2, rs1: 2, imm: -64n }],    // c.addi16sp sp, -64
    [0x0028, { op: Op.ADDI, rd: 10, rs1: 2, imm: 8n }],     // c.addi4spn a0, sp, 8
    [0xe406, { op: Op.SD, rs1: 2, rs2: 1, imm: 8n }],       // c.sdsp ra, 8(sp)
    [0x60a2, { op: Op.LD, rd: 1, rs1: 2, imm: 8n }],        // c.ldsp ra, 8(sp)
    [0x8082, { op: Op.JALR, rd: 0, rs1: 1, imm: 0n }],      // c.jr ra (ret)
    [0x9002, { op: Op.EBREAK }],                            // c.ebreak
    [0x852e, { op: Op.ADD, rd: 10, rs1: 0, rs2: 11 }],      // c.mv a0, a1
    [0x9d2d, { op: Op.ADDW, rd: 10, rs1: 10, rs2: 11 }],    // c.addw a0, a1
    [0xbffd, { op: Op.JAL, rd: 0, imm: -2n }],              // c.j -2
  ])('%s', (raw, expected) => {
    expect(decode16(raw)).toMatchObject({ ...expected, len: 2 });
  });

  test('reserved encodings are illegal; the double-precision loads and stores expand to FLD/FSD', () => {
    expect(decode16(0x0000).op).toBe(Op.ILLEGAL);   // all zeros
    expect(decode16(0x2000)).toMatchObject({ op: Op.FLD, rd: 8, rs1: 8, imm: 0n });      // c.fld fs0, 0(s0)
    expect(decode16(0x6002 | (1 << 7)).op).toBe(Op.LD); // c.ldsp ra
    expect(decode16(0x2002)).toMatchObject({ op: Op.FLD, rd: 0, rs1: 2, imm: 0n });      // c.fldsp ft0, 0(sp)
    expect(decode16(0x3422)).toMatchObject({ op: Op.FLD, rd: 8, rs1: 2, imm: 40n });     // c.fldsp fs0, 40(sp)
    expect(decode16(0xa42a)).toMatchObject({ op: Op.FSD, rs1: 2, rs2: 10, imm: 8n });    // c.fsdsp fa0, 8(sp)
    expect(decode16(0xa404)).toMatchObject({ op: Op.FSD, rs1: 8, rs2: 9, imm: 8n });     // c.fsd fs1, 8(s0)
  });
});
