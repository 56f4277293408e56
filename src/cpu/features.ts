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
  /**
   * Zihintpause, advertised in the device tree (the PAUSE hint itself is a FENCE encoding, which
   * every hart executes anyway). Linux's cpu_relax() then emits PAUSE in its spin-waits, which the
   * runner takes as "this hart waits for another" (exec/translate.ts, Spin).
   */
  zihintpause: boolean;
  /**
   * Not an extension and no `--cpu` switch: whether SFENCE.VMA with an address drops only that
   * address's translations (Mmu.flushAddress; true when absent) or the whole TLB, as hindsight did
   * before 2026-12-04. TLB contents are guest-visible (A/D updates, stale translations), so a
   * trace replays with what it was recorded with (RecordedMachine.sfence).
   */
  sfenceByAddress?: boolean;
}

/** What a machine implements when `--cpu` is not given. F/D and the bit-manipulation and Sstc
 * extensions are switched on here as they land in both tiers. */
export const DEFAULT_CPU_FEATURES: Readonly<CpuFeatures> = Object.freeze({
  f: true, d: true, sstc: true, zba: true, zbb: true, zbs: true, zihintpause: true,
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

/** The optional extensions in the order QEMU 7.2 names them in riscv,isa (after the single letters). */
const NAMED_EXTENSIONS: readonly (keyof CpuFeatures)[] = ['zihintpause', 'zba', 'zbb', 'zbs', 'sstc'];

/** Every extension in the device tree's riscv,isa-extensions list (lower case, QEMU's order). */
export function isaExtensionsFor(features: Readonly<CpuFeatures>): string[] {
  const letters = ['i', 'm', 'a', ...(features.f ? ['f'] : []), ...(features.d ? ['d'] : []), 'c'];
  return [...letters, 'zicntr', 'zicsr', 'zifencei', ...NAMED_EXTENSIONS.filter((name) => features[name])];
}

/** The device tree's riscv,isa string, e.g. rv64imac_zicntr_zicsr_zifencei or rv64imafdc_..._zba_zbb_zbs_sstc. */
export function isaStringFor(features: Readonly<CpuFeatures>): string {
  const [i, m, a, ...rest] = isaExtensionsFor(features);
  const single = rest.filter((e) => e.length === 1).join('');
  const multi = rest.filter((e) => e.length > 1);
  return [`rv64${i}${m}${a}${single}`, ...multi].join('_');
}

/** Every switch `--cpu` accepts, in the order they are printed. */
export const CPU_FEATURE_NAMES: readonly (keyof CpuFeatures)[] = ['f', 'd', 'zba', 'zbb', 'zbs', 'sstc', 'zihintpause'];

/** A feature set as a `--cpu` string that would produce it (what `trace info` prints). */
export function describeCpuFeatures(features: Readonly<CpuFeatures>): string {
  return ['rv64', ...CPU_FEATURE_NAMES.map((name) => `${name}=${features[name] ? 'on' : 'off'}`)].join(',');
}

/**
 * Parses a QEMU-style CPU string, `rv64[,NAME=on|off|true|false]...` (e.g. `rv64,f=false,d=false`
 * or `rv64,zbb=off`), starting from the defaults. Returns the features, or a one-line reason the
 * string is wrong (unknown model or switch, bad value, a switch given twice, D without F).
 */
export function parseCpuFeatures(text: string, defaults: Readonly<CpuFeatures> = DEFAULT_CPU_FEATURES): CpuFeatures | string {
  const [model, ...switches] = text.split(',');
  if (model !== 'rv64') return `CPU model '${model}' is not supported (only rv64, e.g. rv64,zba=true,sstc=false)`;
  const features: CpuFeatures = { ...defaults };
  const given = new Set<string>();
  for (const sw of switches) {
    const m = /^([a-z0-9]+)=(on|off|true|false)$/.exec(sw);
    if (!m) return `'${sw}' is not NAME=on|off|true|false`;
    const name = m[1] as keyof CpuFeatures;
    if (!CPU_FEATURE_NAMES.includes(name)) return `unknown CPU extension '${m[1]}' (known: ${CPU_FEATURE_NAMES.join(', ')})`;
    if (given.has(name)) return `CPU extension '${name}' is set twice`;
    given.add(name);
    features[name] = m[2] === 'on' || m[2] === 'true';
  }
  if (features.d && !features.f) return "d=true needs f=true (the D extension depends on F)";
  return features;
}
