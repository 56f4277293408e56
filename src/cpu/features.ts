/**
 * Which optional ISA extensions a hart implements. One value per machine, chosen by `--cpu`
 * (QEMU-style switches) and written into traces, so a trace replays with the configuration it was
 * recorded with whatever the default is. misa, the device tree's ISA string and the decoder all
 * derive from it.
 */
export interface CpuFeatures {
  /** F: single-precision floating point (misa bit 5) */
  f: boolean;
  /** D: double-precision floating point (misa bit 3); requires f */
  d: boolean;
  /** Sstc: stimecmp, enabled per privilege by menvcfg.STCE */
  sstc: boolean;
  zba: boolean;
  zbb: boolean;
  zbs: boolean;
}

/** What a machine implements when `--cpu` is not given. F/D and the bit-manipulation and Sstc
 * extensions are switched on here as they land in both tiers. */
export const DEFAULT_CPU_FEATURES: Readonly<CpuFeatures> = Object.freeze({
  f: true, d: true, sstc: false, zba: false, zbb: false, zbs: false,
});

const MISA_MXL_64 = 2n << 62n;
const misaBit = (letter: string): bigint => 1n << BigInt(letter.charCodeAt(0) - 'A'.charCodeAt(0));

/** misa for a feature set: RV64 with I, M, A, C, S, U always; F and D when enabled. */
export function misaFor(features: Readonly<CpuFeatures>): bigint {
  let misa = MISA_MXL_64;
  for (const letter of ['I', 'M', 'A', 'C', 'S', 'U']) misa |= misaBit(letter);
  if (features.f) misa |= misaBit('F');
  if (features.d) misa |= misaBit('D');
  return misa;
}
