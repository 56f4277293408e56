/**
 * Whether compiled code may compute fmadd.d and friends with one host fused multiply-add.
 *
 * Wasm's only FMA is relaxed SIMD's f64x2.relaxed_madd, which the spec lets an engine compute
 * fused or unfused. Fused, it is IEEE 754 fusedMultiplyAdd: one rounding of a*b+c, the exact RNE
 * result RISC-V requires, bit for bit the same as our software emulation (softfloat.ts fastFma64,
 * ~60 dependent wasm ops). Unfused it would be wrong, so we probe: a product whose rounding error
 * is the whole answer (a = 1+2^-30, b = 1-2^-30, c = -1: fused -2^-60, unfused 0) and a second
 * case at another scale, both in a module compiled by the same tier that compiles guest pages (V8
 * uses one macro-assembler sequence, vfmadd231pd with FMA3, for both its tiers). Same answer on
 * every host that passes: traces stay portable, the choice only changes speed.
 *
 * Node 20's V8 (11.3) keeps relaxed SIMD behind --experimental-wasm-relaxed-simd; the flag is
 * process-wide and read at compile time, so setting it here, before any page is compiled, covers
 * every thread. HINDSIGHT_HOST_FMA=0 turns the fast path off (the emulation is then always used).
 */
import { setFlagsFromString } from 'node:v8';

/** Opcodes after the 0xfd (SIMD) prefix. */
export const enum Simd { f64x2_splat = 0x14, f64x2_extract_lane = 0x21, f64x2_relaxed_madd = 0x107 }

let cached: boolean | undefined;

/** (func (param f64 f64 f64) (result f64)): lane 0 of relaxed_madd(splat a, splat b, splat c). */
function probeModule(): Uint8Array<ArrayBuffer> {
  const body = [0x00,
    0x20, 0, 0xfd, Simd.f64x2_splat, 0x20, 1, 0xfd, Simd.f64x2_splat, 0x20, 2, 0xfd, Simd.f64x2_splat,
    0xfd, 0x87, 0x02, // f64x2.relaxed_madd (0x107, LEB128)
    0xfd, Simd.f64x2_extract_lane, 0, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    1, 8, 1, 0x60, 3, 0x7c, 0x7c, 0x7c, 1, 0x7c, // type: (f64 f64 f64) -> f64
    3, 2, 1, 0,
    7, 5, 1, 1, 0x66, 0, 0, // export "f"
    10, body.length + 2, 1, body.length, ...body]);
}

/** True when f64x2.relaxed_madd is available and fused on this host (computed once per thread). */
export function hostFusedMadd(): boolean {
  if (cached !== undefined) return cached;
  cached = false;
  if (process.env.HINDSIGHT_HOST_FMA === '0') return false;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
    const f = new WebAssembly.Instance(new WebAssembly.Module(probeModule())).exports.f as (a: number, b: number, c: number) => number;
    const e = 2 ** -30;
    cached = f(1 + e, 1 - e, -1) === -(2 ** -60) && f(3 * (1 + e), 1 - e, -3) === -3 * 2 ** -60;
  } catch {
    cached = false; // no relaxed SIMD in this engine
  }
  return cached;
}
