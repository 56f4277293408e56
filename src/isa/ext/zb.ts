/**
 * Zba, Zbb, Zbs: the bit-manipulation extensions (RISC-V Bit-Manipulation ISA-extensions 1.0.0),
 * RV64 forms. Every op is register/immediate in, register out, and exact in wasm (i64 clz, ctz,
 * popcnt, rotl/rotr and the sign-extension operators exist), so all are emitted inline. Whether a
 * hart has them is decided at decode (isa/decode.ts decoderFor): a disabled extension's encodings
 * decode as ILLEGAL.
 */
import { W } from '../../jit/wasm-emitter.js';
import { Insn, Op } from '../ir.js';
import { Emitter, Encoding, ExecFn, Ext, Fmt, OpDef } from '../op-def.js';
import { R_MASK, SH6_MASK, a32, a64, alu, asI, asU, b32, b64, enc, sx, wr } from './common.js';

/** R-type with rs2 fixed (unary ops: clz, sext.b, ...): rs2 is part of the opcode. */
const UNARY_MASK = 0xfff0707f;
const R = (match: number) => enc(match, R_MASK, Fmt.R);
const U = (match: number) => enc(match, UNARY_MASK, Fmt.R);
const SH6 = (match: number) => enc(match, SH6_MASK, Fmt.Shift6);
const SH5 = (match: number) => enc(match, R_MASK, Fmt.Shift5);

const op = (ext: Ext) => (o: Op, name: string, encoding: Encoding, exec: ExecFn, emit: (g: Emitter, ins: Insn) => void): OpDef =>
  alu(o, name, ext, encoding, exec, emit);
const zba = op('Zba');
const zbb = op('Zbb');
const zbs = op('Zbs');

// --- interpreter helpers (plain numbers where a 32-bit half suffices) ----------------------------
const lo32 = (x: bigint): number => Number(asU(32, x));
const hi32 = (x: bigint): number => Number(asU(32, x >> 32n));
const ctz32 = (v: number): number => (v === 0 ? 32 : 31 - Math.clz32(v & -v));
function pop32(v: number): number {
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}
function clz64(x: bigint): number {
  const hi = hi32(x);
  return hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo32(x));
}
function ctz64(x: bigint): number {
  const lo = lo32(x);
  return lo !== 0 ? ctz32(lo) : 32 + ctz32(hi32(x));
}
function rotl64(x: bigint, s: bigint): bigint {
  const u = asU(64, x);
  return asI(64, (u << s) | (u >> ((64n - s) & 63n)));
}
function rotl32(x: bigint, s: bigint): bigint {
  const u = asU(32, x);
  return asI(32, (u << s) | (u >> ((32n - s) & 31n)));
}
function orcB(x: bigint): bigint {
  let r = 0n;
  for (let b = 0n; b < 64n; b += 8n) if ((x >> b) & 0xffn) r |= 0xffn << b;
  return asI(64, r);
}
function rev8(x: bigint): bigint {
  let r = 0n;
  for (let b = 0n; b < 64n; b += 8n) r = (r << 8n) | ((x >> b) & 0xffn);
  return asI(64, r);
}
const bit = (s: bigint): bigint => 1n << (s & 63n);

// --- emitter helpers ---------------------------------------------------------------------------
/** rs1's low word zero-extended (the .uw operand). */
const aUw = (g: Emitter, ins: Insn): void => { a32(g, ins); g.c.op(W.i64_extend_i32_u); };
/** 1 << (rs2 & 63) as i64 (wasm shifts take the count modulo 64, as RISC-V does). */
const bitOfRs2 = (g: Emitter, ins: Insn): void => { g.c.i64(1n); b64(g, ins); g.c.op(W.i64_shl); };
/** Picks rs1 or rs2 by `cmp` (rs1 cmp rs2 true -> rs1). */
function select(g: Emitter, ins: Insn, cmp: W): void {
  a64(g, ins); g.c.set(g.T); b64(g, ins); g.c.set(g.T2);
  g.c.get(g.T).get(g.T2).get(g.T).get(g.T2).op(cmp).op(W.select);
}
const M55 = 0x00ff00ff00ff00ffn;
const M33 = 0x0000ffff0000ffffn;
const M7F = 0x7f7f7f7f7f7f7f7fn;
const M80 = asI(64, 0x8080808080808080n);

export const ZBA: readonly OpDef[] = [
  zba(Op.ADD_UW, 'add.uw', R(0x0800003b), (e, a) => wr(e, a, asI(64, asU(32, e.x[a.rs1]) + e.x[a.rs2])), (g, a) => { aUw(g, a); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SH1ADD, 'sh1add', R(0x20002033), (e, a) => wr(e, a, asI(64, (e.x[a.rs1] << 1n) + e.x[a.rs2])), (g, a) => { a64(g, a); g.c.i64(1n).op(W.i64_shl); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SH2ADD, 'sh2add', R(0x20004033), (e, a) => wr(e, a, asI(64, (e.x[a.rs1] << 2n) + e.x[a.rs2])), (g, a) => { a64(g, a); g.c.i64(2n).op(W.i64_shl); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SH3ADD, 'sh3add', R(0x20006033), (e, a) => wr(e, a, asI(64, (e.x[a.rs1] << 3n) + e.x[a.rs2])), (g, a) => { a64(g, a); g.c.i64(3n).op(W.i64_shl); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SH1ADD_UW, 'sh1add.uw', R(0x2000203b), (e, a) => wr(e, a, asI(64, (asU(32, e.x[a.rs1]) << 1n) + e.x[a.rs2])), (g, a) => { aUw(g, a); g.c.i64(1n).op(W.i64_shl); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SH2ADD_UW, 'sh2add.uw', R(0x2000403b), (e, a) => wr(e, a, asI(64, (asU(32, e.x[a.rs1]) << 2n) + e.x[a.rs2])), (g, a) => { aUw(g, a); g.c.i64(2n).op(W.i64_shl); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SH3ADD_UW, 'sh3add.uw', R(0x2000603b), (e, a) => wr(e, a, asI(64, (asU(32, e.x[a.rs1]) << 3n) + e.x[a.rs2])), (g, a) => { aUw(g, a); g.c.i64(3n).op(W.i64_shl); b64(g, a); g.c.op(W.i64_add); }),
  zba(Op.SLLI_UW, 'slli.uw', enc(0x0800101b, SH6_MASK, Fmt.Shift6), (e, a) => wr(e, a, asI(64, asU(32, e.x[a.rs1]) << a.imm)), (g, a) => { aUw(g, a); g.c.i64(a.imm).op(W.i64_shl); }),
];

export const ZBB: readonly OpDef[] = [
  zbb(Op.ANDN, 'andn', R(0x40007033), (e, a) => wr(e, a, e.x[a.rs1] & ~e.x[a.rs2]), (g, a) => { a64(g, a); b64(g, a); g.c.i64(-1n).op(W.i64_xor).op(W.i64_and); }),
  zbb(Op.ORN, 'orn', R(0x40006033), (e, a) => wr(e, a, e.x[a.rs1] | ~e.x[a.rs2]), (g, a) => { a64(g, a); b64(g, a); g.c.i64(-1n).op(W.i64_xor).op(W.i64_or); }),
  zbb(Op.XNOR, 'xnor', R(0x40004033), (e, a) => wr(e, a, ~(e.x[a.rs1] ^ e.x[a.rs2])), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_xor).i64(-1n).op(W.i64_xor); }),
  zbb(Op.CLZ, 'clz', U(0x60001013), (e, a) => wr(e, a, BigInt(clz64(e.x[a.rs1]))), (g, a) => { a64(g, a); g.c.op(W.i64_clz); }),
  zbb(Op.CLZW, 'clzw', U(0x6000101b), (e, a) => wr(e, a, BigInt(Math.clz32(lo32(e.x[a.rs1])))), (g, a) => { a32(g, a); g.c.op(W.i32_clz).op(W.i64_extend_i32_u); }),
  zbb(Op.CTZ, 'ctz', U(0x60101013), (e, a) => wr(e, a, BigInt(ctz64(e.x[a.rs1]))), (g, a) => { a64(g, a); g.c.op(W.i64_ctz); }),
  zbb(Op.CTZW, 'ctzw', U(0x6010101b), (e, a) => wr(e, a, BigInt(ctz32(lo32(e.x[a.rs1])))), (g, a) => { a32(g, a); g.c.op(W.i32_ctz).op(W.i64_extend_i32_u); }),
  zbb(Op.CPOP, 'cpop', U(0x60201013), (e, a) => wr(e, a, BigInt(pop32(lo32(e.x[a.rs1])) + pop32(hi32(e.x[a.rs1])))), (g, a) => { a64(g, a); g.c.op(W.i64_popcnt); }),
  zbb(Op.CPOPW, 'cpopw', U(0x6020101b), (e, a) => wr(e, a, BigInt(pop32(lo32(e.x[a.rs1])))), (g, a) => { a32(g, a); g.c.op(W.i32_popcnt).op(W.i64_extend_i32_u); }),
  zbb(Op.MAX, 'max', R(0x0a006033), (e, a) => wr(e, a, e.x[a.rs1] > e.x[a.rs2] ? e.x[a.rs1] : e.x[a.rs2]), (g, a) => select(g, a, W.i64_gt_s)),
  zbb(Op.MAXU, 'maxu', R(0x0a007033), (e, a) => wr(e, a, asU(64, e.x[a.rs1]) > asU(64, e.x[a.rs2]) ? e.x[a.rs1] : e.x[a.rs2]), (g, a) => select(g, a, W.i64_gt_u)),
  zbb(Op.MIN, 'min', R(0x0a004033), (e, a) => wr(e, a, e.x[a.rs1] < e.x[a.rs2] ? e.x[a.rs1] : e.x[a.rs2]), (g, a) => select(g, a, W.i64_lt_s)),
  zbb(Op.MINU, 'minu', R(0x0a005033), (e, a) => wr(e, a, asU(64, e.x[a.rs1]) < asU(64, e.x[a.rs2]) ? e.x[a.rs1] : e.x[a.rs2]), (g, a) => select(g, a, W.i64_lt_u)),
  zbb(Op.SEXT_B, 'sext.b', U(0x60401013), (e, a) => wr(e, a, asI(8, e.x[a.rs1])), (g, a) => { a64(g, a); g.c.op(W.i64_extend8_s); }),
  zbb(Op.SEXT_H, 'sext.h', U(0x60501013), (e, a) => wr(e, a, asI(16, e.x[a.rs1])), (g, a) => { a64(g, a); g.c.op(W.i64_extend16_s); }),
  zbb(Op.ZEXT_H, 'zext.h', U(0x0800403b), (e, a) => wr(e, a, asU(16, e.x[a.rs1])), (g, a) => { a64(g, a); g.c.i64(0xffffn).op(W.i64_and); }),
  zbb(Op.ROL, 'rol', R(0x60001033), (e, a) => wr(e, a, rotl64(e.x[a.rs1], e.x[a.rs2] & 63n)), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_rotl); }),
  zbb(Op.ROLW, 'rolw', R(0x6000103b), (e, a) => wr(e, a, rotl32(e.x[a.rs1], e.x[a.rs2] & 31n)), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_rotl); sx(g); }),
  zbb(Op.ROR, 'ror', R(0x60005033), (e, a) => wr(e, a, rotl64(e.x[a.rs1], (64n - (e.x[a.rs2] & 63n)) & 63n)), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_rotr); }),
  zbb(Op.RORI, 'rori', SH6(0x60005013), (e, a) => wr(e, a, rotl64(e.x[a.rs1], (64n - a.imm) & 63n)), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_rotr); }),
  zbb(Op.RORIW, 'roriw', SH5(0x6000501b), (e, a) => wr(e, a, rotl32(e.x[a.rs1], (32n - a.imm) & 31n)), (g, a) => { a32(g, a); g.c.i32(Number(a.imm)).op(W.i32_rotr); sx(g); }),
  zbb(Op.RORW, 'rorw', R(0x6000503b), (e, a) => wr(e, a, rotl32(e.x[a.rs1], (32n - (e.x[a.rs2] & 31n)) & 31n)), (g, a) => { a32(g, a); b32(g, a); g.c.op(W.i32_rotr); sx(g); }),
  zbb(Op.ORC_B, 'orc.b', U(0x28705013), (e, a) => wr(e, a, orcB(e.x[a.rs1])), (g, a) => {
    // high bit of each byte of ((x & 0x7f..) + 0x7f..) | x is set exactly when the byte is nonzero
    const { c, T } = g;
    a64(g, a); c.set(T);
    c.get(T).i64(M7F).op(W.i64_and).i64(M7F).op(W.i64_add).get(T).op(W.i64_or)
      .i64(M80).op(W.i64_and).i64(7n).op(W.i64_shr_u).i64(0xffn).op(W.i64_mul);
  }),
  zbb(Op.REV8, 'rev8', U(0x6b805013), (e, a) => wr(e, a, rev8(e.x[a.rs1])), (g, a) => {
    // swap adjacent bytes, then adjacent halfwords, then the two words
    const { c, T } = g;
    a64(g, a); c.set(T);
    c.get(T).i64(8n).op(W.i64_shr_u).i64(M55).op(W.i64_and).get(T).i64(M55).op(W.i64_and).i64(8n).op(W.i64_shl).op(W.i64_or).set(T);
    c.get(T).i64(16n).op(W.i64_shr_u).i64(M33).op(W.i64_and).get(T).i64(M33).op(W.i64_and).i64(16n).op(W.i64_shl).op(W.i64_or);
    c.i64(32n).op(W.i64_rotl);
  }),
];

export const ZBS: readonly OpDef[] = [
  zbs(Op.BCLR, 'bclr', R(0x48001033), (e, a) => wr(e, a, asI(64, e.x[a.rs1] & ~bit(e.x[a.rs2]))), (g, a) => { a64(g, a); bitOfRs2(g, a); g.c.i64(-1n).op(W.i64_xor).op(W.i64_and); }),
  zbs(Op.BCLRI, 'bclri', SH6(0x48001013), (e, a) => wr(e, a, asI(64, e.x[a.rs1] & ~bit(a.imm))), (g, a) => { a64(g, a); g.c.i64(asI(64, ~bit(a.imm))).op(W.i64_and); }),
  zbs(Op.BEXT, 'bext', R(0x48005033), (e, a) => wr(e, a, (e.x[a.rs1] >> (e.x[a.rs2] & 63n)) & 1n), (g, a) => { a64(g, a); b64(g, a); g.c.op(W.i64_shr_u).i64(1n).op(W.i64_and); }),
  zbs(Op.BEXTI, 'bexti', SH6(0x48005013), (e, a) => wr(e, a, (e.x[a.rs1] >> a.imm) & 1n), (g, a) => { a64(g, a); g.c.i64(a.imm).op(W.i64_shr_u).i64(1n).op(W.i64_and); }),
  zbs(Op.BINV, 'binv', R(0x68001033), (e, a) => wr(e, a, asI(64, e.x[a.rs1] ^ bit(e.x[a.rs2]))), (g, a) => { a64(g, a); bitOfRs2(g, a); g.c.op(W.i64_xor); }),
  zbs(Op.BINVI, 'binvi', SH6(0x68001013), (e, a) => wr(e, a, asI(64, e.x[a.rs1] ^ bit(a.imm))), (g, a) => { a64(g, a); g.c.i64(asI(64, bit(a.imm))).op(W.i64_xor); }),
  zbs(Op.BSET, 'bset', R(0x28001033), (e, a) => wr(e, a, asI(64, e.x[a.rs1] | bit(e.x[a.rs2]))), (g, a) => { a64(g, a); bitOfRs2(g, a); g.c.op(W.i64_or); }),
  zbs(Op.BSETI, 'bseti', SH6(0x28001013), (e, a) => wr(e, a, asI(64, e.x[a.rs1] | bit(a.imm))), (g, a) => { a64(g, a); g.c.i64(asI(64, bit(a.imm))).op(W.i64_or); }),
];
