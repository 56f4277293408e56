import { describe, expect, test } from 'vitest';
import { OP_COUNT, Op } from '../../src/isa/ir.js';
import { Fmt, JitMode, NEXT, OpClass, OpDef } from '../../src/isa/op-def.js';
import { OP_DEFS, OP_TABLE, endsBlock, jitInline, opClass } from '../../src/isa/table.js';
import { checkOpCoverage } from '../../src/jit/op-coverage.js';

/**
 * A store-shaped encoding the decoder produces with rd = 0 (the hazard of issue 9), in the
 * custom-0 opcode space so it overlaps no real op (it was FSD's before F/D existed).
 */
const FSD_ENCODING = { match: 0x300b, mask: 0x707f, fmt: Fmt.S };
const DUMMY_OP = OP_COUNT as Op;
const SD = OP_DEFS[Op.SD];

/** A copy of the table with one extra op (one past the enum's last). */
function withDummy(dummy: Partial<OpDef>): { table: OpDef[]; opCount: number } {
  const row: OpDef = { ...SD, name: 'fsd.dummy', op: DUMMY_OP, encoding: FSD_ENCODING, ...dummy };
  return { table: [...OP_TABLE, row], opCount: OP_COUNT + 1 };
}

/**
 * The F/D ops the JIT leaves to the reference executor: none (loads and stores are wasm, the rest
 * call out to their interpreter semantics from compiled code).
 */
const FP_BAILS: string[] = [];

describe('instruction table coverage (both tiers)', () => {
  test('every op has interpreter semantics and is either emitted inline by the JIT or explicitly bails', () => {
    expect(checkOpCoverage(OP_TABLE)).toEqual([]);
    expect(OP_TABLE.length).toBe(OP_COUNT);
    const inline = OP_TABLE.filter((d) => d.jit === JitMode.Inline);
    const bail = OP_TABLE.filter((d) => d.jit === JitMode.Bail);
    expect(inline.length + bail.length).toBe(OP_COUNT);
    for (const d of inline) expect(typeof d.emit, d.name).toBe('function');
    for (const d of bail) expect(d.emit, d.name).toBeNull();
    for (const d of OP_TABLE) expect(typeof d.exec, d.name).toBe('function');
    // What the JIT bails on today: CSR access, traps, xRET, WFI, the fences that flush state,
    // illegal, and the F/D ops listed in FP_BAILS.
    const fp = (d: OpDef) => d.ext === 'F' || d.ext === 'D';
    expect(bail.filter(fp).map((d) => d.name).sort()).toEqual([...FP_BAILS].sort());
    expect(bail.filter((d) => !fp(d)).map((d) => d.name).sort()).toEqual(
      ['csrrc', 'csrrci', 'csrrs', 'csrrsi', 'csrrw', 'csrrwi', 'ebreak', 'ecall', 'fence.i', 'illegal', 'mret', 'sfence.vma', 'sret', 'wfi']);
  });

  test('the derived facts are the table columns', () => {
    for (let op = 0 as Op; op < OP_COUNT; op++) {
      const d = OP_DEFS[op];
      expect(d.op).toBe(op);
      expect(endsBlock(op), d.name).toBe(d.endsBlock);
      expect(jitInline(op), d.name).toBe(d.jit === JitMode.Inline);
      expect(opClass(op), d.name).toBe(d.cls);
    }
    expect(OP_DEFS[Op.LB]).toMatchObject({ cls: OpClass.Load, memSize: 1, memSigned: true });
    expect(OP_DEFS[Op.LWU]).toMatchObject({ cls: OpClass.Load, memSize: 4, memSigned: false });
    expect(OP_DEFS[Op.AMOMAXU_D]).toMatchObject({ cls: OpClass.Amo, memSize: 8 });
    expect(OP_DEFS[Op.SC_W]).toMatchObject({ cls: OpClass.Sc, memSize: 4 });
    expect(endsBlock(Op.ADD)).toBe(false);
    expect(endsBlock(Op.CSRRW)).toBe(true);
  });

  test('a dummy op added without codegen is caught', () => {
    const { table, opCount } = withDummy({ jit: JitMode.Inline, emit: null });
    const problems = checkOpCoverage(table, opCount);
    expect(problems).toEqual([expect.stringMatching(/^fsd\.dummy .*inline but no wasm emitter/)]);
    // The same op declared as an explicit bail is sound.
    expect(checkOpCoverage(withDummy({ jit: JitMode.Bail, emit: null }).table, opCount)).toEqual([]);
  });

  test('a store-shaped dummy op whose emitter does nothing when rd is x0 is caught (no silent no-op)', () => {
    // The old code generator's shape: a pure register op emits nothing for rd = 0, and FSD decodes with rd = 0.
    const aluShaped: OpDef['emit'] = (g, ins) => { if (ins.rd !== 0) { g.readReg(ins.rs2); g.writeReg(ins.rd); } return false; };
    const { table, opCount } = withDummy({ emit: aluShaped });
    expect(checkOpCoverage(table, opCount)).toEqual([expect.stringMatching(/^fsd\.dummy .*produces no code/)]);
    // With the store generator (SD's emitter) it is sound.
    expect(checkOpCoverage(withDummy({}).table, opCount)).toEqual([]);
  });

  test('an op without interpreter semantics, an op missing from the table, and a CSR op the JIT claims are caught', () => {
    const noExec = withDummy({ exec: undefined as unknown as OpDef['exec'] });
    expect(checkOpCoverage(noExec.table, noExec.opCount)).toEqual([expect.stringMatching(/^fsd\.dummy .*no interpreter semantics/)]);
    const missing = OP_TABLE.filter((d) => d.op !== Op.MULW);
    expect(checkOpCoverage(missing)).toEqual([`op ${Op.MULW}: no row in the instruction table`]);
    const csr = OP_DEFS[Op.CSRRW];
    const claimed = OP_TABLE.map((d) => (d === csr ? { ...csr, jit: JitMode.Inline, emit: () => false } : d));
    expect(checkOpCoverage(claimed).join('\n')).toMatch(/csrrw .*must bail/);
  });

  test('interpreter semantics run against the Interp contract alone (ADDI on a scratch register file)', () => {
    const x = new BigInt64Array(32);
    x[2] = 40n;
    const e = { x } as never;
    const addi = { op: Op.ADDI, rd: 1, rs1: 2, rs2: 0, imm: 2n, immN: 2, len: 4, raw: 0 };
    expect(OP_DEFS[Op.ADDI].exec(e, addi, 0)).toBe(NEXT);
    expect(x[1]).toBe(42n);
  });
});
