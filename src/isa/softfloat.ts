/**
 * IEEE 754 binary32/binary64 arithmetic as RISC-V F and D define it: every rounding mode, exact
 * accrued flags (NX, UF with tininess detected after rounding, OF, DZ, NV), canonical NaNs.
 *
 * Two paths (docs/ARCHITECTURE.md, "Floating point"):
 * - the exact path: operands unpacked into integer significands (BigInt) and a binary exponent,
 *   the operation computed exactly (add, mul, fma) or with enough quotient/root bits plus a sticky
 *   bit (div, sqrt), then one rounding by `roundPack`, which derives NX/UF/OF from the rounding
 *   itself. It is the specification, written once for both formats.
 * - fast paths with JS numbers for round-to-nearest-even where the result is a normal number far
 *   from the overflow and underflow thresholds, and the inexact flag is decided by an exact error
 *   term (TwoSum, Dekker's product); everything else falls back to the exact path.
 *
 * Values are passed as raw bits in unsigned BigInts of the format's width. Flags accumulate in
 * `fpFlags.value`; the caller clears it before an instruction and ORs it into fflags after.
 */

export const enum Flag { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 }
export const enum Rm { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4 }

export interface FloatFormat {
  /** Precision in bits including the hidden bit. */
  readonly p: number;
  readonly width: number;
  readonly bias: number;
  readonly emin: number;
  readonly emax: number;
  readonly canonicalNaN: bigint;
  readonly signBit: bigint;
  readonly fracBits: bigint;
  readonly expMask: bigint;
  readonly fracMask: bigint;
  readonly maxFinite: bigint;
  readonly inf: bigint;
}

function format(p: number, expBits: number): FloatFormat {
  const width = p + expBits;
  const bias = (1 << (expBits - 1)) - 1;
  const fracBits = BigInt(p - 1);
  const expMask = (1n << BigInt(expBits)) - 1n;
  const inf = expMask << fracBits;
  return {
    p, width, bias, emin: 1 - bias, emax: bias,
    canonicalNaN: inf | (1n << (fracBits - 1n)),
    signBit: 1n << BigInt(width - 1), fracBits, expMask, fracMask: (1n << fracBits) - 1n,
    maxFinite: inf - 1n, inf,
  };
}

export const F32: FloatFormat = format(24, 8);
export const F64: FloatFormat = format(53, 11);

/** Accrued exception flags of the operation in progress. */
export const fpFlags = { value: 0 };

const enum Kind { Zero, Finite, Inf, QNaN, SNaN }

interface Unpacked {
  kind: Kind;
  sign: boolean;
  /** value = sig * 2^exp (Finite only) */
  sig: bigint;
  exp: number;
}

function unpack(bits: bigint, f: FloatFormat): Unpacked {
  const sign = (bits & f.signBit) !== 0n;
  const e = Number((bits >> f.fracBits) & f.expMask);
  const frac = bits & f.fracMask;
  const fracBits = f.p - 1;
  if (e === Number(f.expMask)) {
    if (frac === 0n) return { kind: Kind.Inf, sign, sig: 0n, exp: 0 };
    return { kind: (frac >> (f.fracBits - 1n)) & 1n ? Kind.QNaN : Kind.SNaN, sign, sig: 0n, exp: 0 };
  }
  if (e === 0) {
    if (frac === 0n) return { kind: Kind.Zero, sign, sig: 0n, exp: 0 };
    return { kind: Kind.Finite, sign, sig: frac, exp: f.emin - fracBits };
  }
  return { kind: Kind.Finite, sign, sig: frac | (1n << f.fracBits), exp: e - f.bias - fracBits };
}

const isNaN_ = (u: Unpacked): boolean => u.kind === Kind.QNaN || u.kind === Kind.SNaN;

export function bitLength(x: bigint): number {
  let n = 0;
  while (x >= 0x10000000000000000n) { x >>= 64n; n += 64; }
  const hi = Number(x >> 32n);
  if (hi) return n + 64 - Math.clz32(hi);
  return n + 32 - Math.clz32(Number(x));
}

/** Result of the last `roundInt`: whether it discarded nonzero bits. */
let lastInexact = false;

/**
 * Rounds sig / 2^k to an integer in mode rm for a value of the given sign (k may be <= 0: exact).
 * Sets lastInexact.
 */
function roundInt(sig: bigint, k: number, negative: boolean, rm: Rm): bigint {
  if (k <= 0) { lastInexact = false; return sig << BigInt(-k); }
  const K = BigInt(k);
  let m = sig >> K;
  const rest = sig - (m << K);
  lastInexact = rest !== 0n;
  if (!lastInexact) return m;
  const half = 1n << (K - 1n);
  switch (rm) {
    case Rm.RNE: if (rest > half || (rest === half && (m & 1n))) m++; break;
    case Rm.RTZ: break;
    case Rm.RDN: if (negative) m++; break;
    case Rm.RUP: if (!negative) m++; break;
    case Rm.RMM: if (rest >= half) m++; break;
  }
  return m;
}

function signed(f: FloatFormat, negative: boolean, magnitude: bigint): bigint {
  return negative ? magnitude | f.signBit : magnitude;
}

function overflowResult(f: FloatFormat, negative: boolean, rm: Rm): bigint {
  const toInf = rm === Rm.RNE || rm === Rm.RMM || (rm === Rm.RUP && !negative) || (rm === Rm.RDN && negative);
  return signed(f, negative, toInf ? f.inf : f.maxFinite);
}

/**
 * The one rounding: (-1)^negative * sig * 2^exp (sig > 0, exact) to format f in mode rm, with the
 * flags IEEE 754 and RISC-V define (underflow = tiny after rounding and inexact).
 */
export function roundPack(negative: boolean, sig: bigint, exp: number, f: FloatFormat, rm: Rm): bigint {
  const p = f.p;
  const E = exp + bitLength(sig) - 1; // sig * 2^exp lies in [2^E, 2^(E+1))
  let q = Math.max(E, f.emin) - p + 1; // exponent of the last significand bit kept
  let m = roundInt(sig, q - exp, negative, rm);
  const inexact = lastInexact;
  if (inexact) {
    fpFlags.value |= Flag.NX;
    // Tininess after rounding: rounded to p bits with an unbounded exponent, below 2^emin?
    if (E < f.emin - 1) fpFlags.value |= Flag.UF;
    else if (E === f.emin - 1) {
      const unbounded = roundInt(sig, E - p + 1 - exp, negative, rm);
      if (unbounded < (1n << BigInt(p))) fpFlags.value |= Flag.UF;
    }
  }
  if (m >= (1n << BigInt(p))) { m >>= 1n; q++; } // carry out of the significand: exactly 2^p
  if (m < (1n << f.fracBits)) return signed(f, negative, m); // subnormal or zero (q = emin - p + 1)
  const e = q + p - 1;
  if (e > f.emax) {
    fpFlags.value |= Flag.OF | Flag.NX;
    return overflowResult(f, negative, rm);
  }
  return signed(f, negative, (BigInt(e + f.bias) << f.fracBits) | (m & f.fracMask));
}

/** Canonical NaN result; NV when any input is a signalling NaN. */
function nanResult(f: FloatFormat, ...ins: Unpacked[]): bigint {
  for (const u of ins) if (u.kind === Kind.SNaN) fpFlags.value |= Flag.NV;
  return f.canonicalNaN;
}

function invalid(f: FloatFormat): bigint {
  fpFlags.value |= Flag.NV;
  return f.canonicalNaN;
}

/** An exactly-zero sum: +0, or -0 when both addends were -0 or (with unlike signs) in RDN. */
function zeroSum(f: FloatFormat, signA: boolean, signB: boolean, rm: Rm): bigint {
  if (signA === signB) return signed(f, signA, 0n);
  return signed(f, rm === Rm.RDN, 0n);
}

/** Exact sum of two finite nonzero-or-zero values given as (sign, sig, exp), rounded. */
function addExact(f: FloatFormat, sa: boolean, ma: bigint, ea: number, sb: boolean, mb: bigint, eb: number, rm: Rm): bigint {
  const e = Math.min(ea, eb);
  const a = (ma << BigInt(ea - e)) * (sa ? -1n : 1n);
  const b = (mb << BigInt(eb - e)) * (sb ? -1n : 1n);
  const s = a + b;
  if (s === 0n) return zeroSum(f, sa, sb, rm);
  return roundPack(s < 0n, s < 0n ? -s : s, e, f, rm);
}

// --- exact path ------------------------------------------------------------------------------------

export function addSlow(a: bigint, b: bigint, negateB: boolean, f: FloatFormat, rm: Rm): bigint {
  const x = unpack(a, f);
  const y = unpack(b, f);
  if (negateB) y.sign = !y.sign;
  if (isNaN_(x) || isNaN_(y)) return nanResult(f, x, y);
  if (x.kind === Kind.Inf) {
    if (y.kind === Kind.Inf && y.sign !== x.sign) return invalid(f);
    return signed(f, x.sign, f.inf);
  }
  if (y.kind === Kind.Inf) return signed(f, y.sign, f.inf);
  if (x.kind === Kind.Zero && y.kind === Kind.Zero) return zeroSum(f, x.sign, y.sign, rm);
  return addExact(f, x.sign, x.sig, x.exp, y.sign, y.sig, y.exp, rm);
}

export function mulSlow(a: bigint, b: bigint, f: FloatFormat, rm: Rm): bigint {
  const x = unpack(a, f);
  const y = unpack(b, f);
  const sign = x.sign !== y.sign;
  if (isNaN_(x) || isNaN_(y)) return nanResult(f, x, y);
  if (x.kind === Kind.Inf || y.kind === Kind.Inf) {
    if (x.kind === Kind.Zero || y.kind === Kind.Zero) return invalid(f);
    return signed(f, sign, f.inf);
  }
  if (x.kind === Kind.Zero || y.kind === Kind.Zero) return signed(f, sign, 0n);
  return roundPack(sign, x.sig * y.sig, x.exp + y.exp, f, rm);
}

/** (-1)^negateProduct * a * b + (-1)^negateAddend * c with one rounding. */
export function fmaSlow(a: bigint, b: bigint, c: bigint, negateProduct: boolean, negateAddend: boolean, f: FloatFormat, rm: Rm): bigint {
  const x = unpack(a, f);
  const y = unpack(b, f);
  const z = unpack(c, f);
  const infTimesZero = (x.kind === Kind.Inf && y.kind === Kind.Zero) || (x.kind === Kind.Zero && y.kind === Kind.Inf);
  if (isNaN_(x) || isNaN_(y) || isNaN_(z)) {
    if (infTimesZero) fpFlags.value |= Flag.NV; // even with a quiet NaN addend (the ISA manual says so)
    return nanResult(f, x, y, z);
  }
  if (infTimesZero) return invalid(f);
  const ps = (x.sign !== y.sign) !== negateProduct;
  const zs = z.sign !== negateAddend;
  if (x.kind === Kind.Inf || y.kind === Kind.Inf) {
    if (z.kind === Kind.Inf && zs !== ps) return invalid(f);
    return signed(f, ps, f.inf);
  }
  if (z.kind === Kind.Inf) return signed(f, zs, f.inf);
  const productZero = x.kind === Kind.Zero || y.kind === Kind.Zero;
  if (productZero && z.kind === Kind.Zero) return zeroSum(f, ps, zs, rm);
  if (productZero) return signed(f, zs, c & ~f.signBit); // c exactly (already in the format)
  if (z.kind === Kind.Zero) return roundPack(ps, x.sig * y.sig, x.exp + y.exp, f, rm);
  return addExact(f, ps, x.sig * y.sig, x.exp + y.exp, zs, z.sig, z.exp, rm);
}

export function divSlow(a: bigint, b: bigint, f: FloatFormat, rm: Rm): bigint {
  const x = unpack(a, f);
  const y = unpack(b, f);
  const sign = x.sign !== y.sign;
  if (isNaN_(x) || isNaN_(y)) return nanResult(f, x, y);
  if (x.kind === Kind.Inf) return y.kind === Kind.Inf ? invalid(f) : signed(f, sign, f.inf);
  if (y.kind === Kind.Inf) return signed(f, sign, 0n);
  if (y.kind === Kind.Zero) {
    if (x.kind === Kind.Zero) return invalid(f);
    fpFlags.value |= Flag.DZ;
    return signed(f, sign, f.inf);
  }
  if (x.kind === Kind.Zero) return signed(f, sign, 0n);
  // p + 2 quotient bits at least, then a sticky bit for a nonzero remainder: rounding sees the
  // exact quotient's position relative to every rounding boundary.
  const shift = Math.max(0, f.p + 2 + bitLength(y.sig) - bitLength(x.sig));
  const num = x.sig << BigInt(shift);
  let q = num / y.sig;
  let exp = x.exp - y.exp - shift;
  if (q * y.sig !== num) { q = (q << 1n) | 1n; exp--; }
  return roundPack(sign, q, exp, f, rm);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrtSlow(a: bigint, f: FloatFormat, rm: Rm): bigint {
  const x = unpack(a, f);
  if (isNaN_(x)) return nanResult(f, x);
  if (x.kind === Kind.Zero) return a;
  if (x.sign) return invalid(f);
  if (x.kind === Kind.Inf) return a;
  let sig = x.sig;
  let exp = x.exp;
  if (exp & 1) { sig <<= 1n; exp--; }
  const k = Math.max(0, Math.ceil((2 * (f.p + 2) - bitLength(sig)) / 2));
  const n = sig << BigInt(2 * k);
  let r = isqrt(n);
  let rexp = exp / 2 - k;
  if (r * r !== n) { r = (r << 1n) | 1n; rexp--; }
  return roundPack(false, r, rexp, f, rm);
}

// --- comparisons, min/max, classification -----------------------------------------------------------

const scratch = new DataView(new ArrayBuffer(8));

/** A non-NaN value as a JS number (exact for both formats). */
export function toNumber(bits: bigint, f: FloatFormat): number {
  if (f === F64) { scratch.setBigUint64(0, bits); return scratch.getFloat64(0); }
  scratch.setUint32(0, Number(bits)); return scratch.getFloat32(0);
}

/** Bits of a non-NaN JS number known to be representable in f. */
export function fromNumber(v: number, f: FloatFormat): bigint {
  if (f === F64) { scratch.setFloat64(0, v); return scratch.getBigUint64(0); }
  scratch.setFloat32(0, v); return BigInt(scratch.getUint32(0));
}

/** feq (quiet: NV only for signalling NaNs) or flt/fle (signalling: NV for any NaN). 1 or 0. */
export function compare(a: bigint, b: bigint, f: FloatFormat, op: 'eq' | 'lt' | 'le'): bigint {
  const x = unpack(a, f);
  const y = unpack(b, f);
  if (isNaN_(x) || isNaN_(y)) {
    if (op !== 'eq' || x.kind === Kind.SNaN || y.kind === Kind.SNaN) fpFlags.value |= Flag.NV;
    return 0n;
  }
  const u = toNumber(a, f);
  const v = toNumber(b, f);
  return (op === 'eq' ? u === v : op === 'lt' ? u < v : u <= v) ? 1n : 0n;
}

/** fmin/fmax: IEEE 754-2019 minimumNumber/maximumNumber; -0 < +0; NV for signalling NaN inputs. */
export function minMax(a: bigint, b: bigint, f: FloatFormat, max: boolean): bigint {
  const x = unpack(a, f);
  const y = unpack(b, f);
  if (x.kind === Kind.SNaN || y.kind === Kind.SNaN) fpFlags.value |= Flag.NV;
  if (isNaN_(x) && isNaN_(y)) return f.canonicalNaN;
  if (isNaN_(x)) return b;
  if (isNaN_(y)) return a;
  const u = toNumber(a, f);
  const v = toNumber(b, f);
  if (u === v) return max ? (x.sign ? b : a) : (x.sign ? a : b); // differs only for signed zeros
  return (u < v) !== max ? a : b;
}

export function classify(a: bigint, f: FloatFormat): bigint {
  const x = unpack(a, f);
  const subnormal = x.kind === Kind.Finite && (a & (f.expMask << f.fracBits)) === 0n;
  switch (x.kind) {
    case Kind.Inf: return x.sign ? 1n : 1n << 7n;
    case Kind.Zero: return x.sign ? 1n << 3n : 1n << 4n;
    case Kind.Finite: return x.sign ? (subnormal ? 1n << 2n : 1n << 1n) : (subnormal ? 1n << 5n : 1n << 6n);
    case Kind.SNaN: return 1n << 8n;
    default: return 1n << 9n;
  }
}

// --- conversions ---------------------------------------------------------------------------------

/**
 * Float to integer of `bits` width, signed or not: rounded in rm; NaN and too-large values
 * saturate with NV (and no NX); otherwise NX when inexact. Returns the integer as a BigInt.
 */
export function toInt(a: bigint, f: FloatFormat, bits: number, isSigned: boolean, rm: Rm): bigint {
  const x = unpack(a, f);
  const max = isSigned ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  const min = isSigned ? -(1n << BigInt(bits - 1)) : 0n;
  if (isNaN_(x)) { fpFlags.value |= Flag.NV; return max; }
  if (x.kind === Kind.Inf) { fpFlags.value |= Flag.NV; return x.sign ? min : max; }
  if (x.kind === Kind.Zero) return 0n;
  const m = roundInt(x.sig, -x.exp, x.sign, rm);
  const inexact = lastInexact;
  const v = x.sign ? -m : m;
  if (v > max) { fpFlags.value |= Flag.NV; return max; }
  if (v < min) { fpFlags.value |= Flag.NV; return min; }
  if (inexact) fpFlags.value |= Flag.NX;
  return v;
}

/** Integer (as an exact BigInt) to format f, rounded in rm. */
export function fromInt(v: bigint, f: FloatFormat, rm: Rm): bigint {
  if (v === 0n) return 0n;
  return roundPack(v < 0n, v < 0n ? -v : v, 0, f, rm);
}

/** Between formats: exact when widening, rounded when narrowing; NaNs become the canonical NaN. */
export function convert(a: bigint, from: FloatFormat, to: FloatFormat, rm: Rm): bigint {
  const x = unpack(a, from);
  if (isNaN_(x)) return nanResult(to, x);
  if (x.kind === Kind.Inf) return signed(to, x.sign, to.inf);
  if (x.kind === Kind.Zero) return signed(to, x.sign, 0n);
  return roundPack(x.sign, x.sig, x.exp, to, rm);
}

// --- fast paths (round to nearest even, results well inside the normal range) -----------------------

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp)
/**
 * Operand and result magnitudes inside which Dekker's product and TwoSum are exact (no over- or
 * underflow in the products, error terms at least 2^-906, far above the subnormal range).
 */
const SAFE_HI = 2 ** 400;
const SAFE_LO = 2 ** -400;
const F32_MIN_NORMAL = 2 ** -126;
const F32_MAX = 3.4028234663852886e38;
const F64_MIN_NORMAL = 2 ** -1022;

/** The bounds of the fast paths, for the JIT's wasm versions of them (src/isa/ext/fd.ts). */
export const FAST = { SPLITTER, SAFE_HI, SAFE_LO, ADD_MIN: F64_MIN_NORMAL * 2 ** 60 } as const;

const safe = (v: number): boolean => { const m = Math.abs(v); return m < SAFE_HI && m > SAFE_LO; };

/** The rounding error of a * b (Dekker's TwoProduct, exact for safe operands): 0 iff the product is exact. */
function productError(a: number, b: number, p: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/**
 * binary64 add/sub/mul/div/sqrt in round-to-nearest-even with JS numbers when the operands and the
 * result are safe (see above): the JS result is then the correctly rounded one, cannot be tiny or
 * overflow, and inexactness is decided exactly. Returns null to ask for the exact path.
 */
export function fastF64(op: number, a: number, b: number): number | null {
  let r: number;
  let inexact: boolean;
  switch (op) {
    case 0: case 1: { // add, sub
      if (op === 1) b = -b;
      r = a + b;
      if (!(Math.abs(r) > F64_MIN_NORMAL * 2 ** 60 && Math.abs(r) < SAFE_HI && Math.abs(a) < SAFE_HI && Math.abs(b) < SAFE_HI)) return null;
      const bv = r - a; // TwoSum
      inexact = (a - (r - bv)) + (b - bv) !== 0;
      break;
    }
    case 2: // mul
      if (!safe(a) || !safe(b)) return null;
      r = a * b;
      inexact = productError(a, b, r) !== 0;
      break;
    case 3: { // div
      if (!safe(a) || !safe(b)) return null;
      r = a / b;
      if (!safe(r)) return null; // Dekker's product below must be exact
      const p = r * b; // a = r*b + rest exactly; inexact iff rest != 0
      inexact = p !== a || productError(r, b, p) !== 0;
      break;
    }
    default: { // sqrt
      if (!(a > SAFE_LO && a < SAFE_HI)) return null;
      r = Math.sqrt(a);
      const p = r * r;
      inexact = p !== a || productError(r, r, p) !== 0;
    }
  }
  if (inexact) fpFlags.value |= Flag.NX;
  return r;
}

/**
 * binary32 add/sub/mul/div/sqrt in RNE: the binary64 operation followed by Math.fround is
 * correctly rounded (53 >= 2*24 + 2, so the double rounding is innocuous); exactness is checked in
 * binary64, where the single-precision products involved are exact. Null asks for the exact path
 * (results subnormal or overflowing, non-finite operands).
 */
export function fastF32(op: number, a: number, b: number): number | null {
  let d: number;
  let inexact: boolean;
  switch (op) {
    case 0: case 1: {
      if (op === 1) b = -b;
      d = a + b;
      if (!Number.isFinite(d)) return null;
      const bv = d - a;
      inexact = (a - (d - bv)) + (b - bv) !== 0; // a + b is not exact in binary64
      break;
    }
    case 2:
      d = a * b; // exact: 24 + 24 bits
      inexact = false;
      break;
    case 3:
      if (b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null;
      d = a / b;
      break;
    default:
      if (!(a > 0) || !Number.isFinite(a)) return null;
      d = Math.sqrt(a);
  }
  const r = Math.fround(d);
  const m = Math.abs(r);
  if (!(m > F32_MIN_NORMAL && m <= F32_MAX)) return null;
  if (op === 3) inexact = r * b !== a; // r*b exact (24+24 bits)
  else if (op === 4) inexact = r * r !== a;
  else inexact = inexact! || r !== d;
  if (inexact) fpFlags.value |= Flag.NX;
  return r;
}

const f64Scratch = new Float64Array(1);
const u32Scratch = new Uint32Array(f64Scratch.buffer);

/** The double next to s (nonzero, finite) away from zero (up) or towards it. */
function nextMagnitude(s: number, up: boolean): number {
  f64Scratch[0] = s;
  let lo = u32Scratch[0];
  let hi = u32Scratch[1];
  if (up) { lo = (lo + 1) >>> 0; if (lo === 0) hi++; } else { if (lo === 0) hi--; lo = (lo - 1) >>> 0; }
  u32Scratch[0] = lo;
  u32Scratch[1] = hi;
  return f64Scratch[0];
}

/**
 * a * b + c in binary64 with one rounding to nearest even, for safe operands and results (no
 * overflow or underflow anywhere): Boldo and Melquiond's emulation ("Emulation of FMA and
 * correctly rounded sums: proved algorithms using rounding to odd", IEEE TC 2008):
 * a*b = uh + ul exactly (Dekker), c + uh = th + tl exactly (TwoSum), v = RO(tl + ul) rounded to
 * odd, result = RN(th + v). Inexact iff tl + ul was inexact or th + v is (an exact total
 * th + tl + ul that is a double makes tl + ul = result - th a small multiple of the smaller ulp,
 * hence a double). Null asks for the exact path.
 */
export function fastFma64(a: number, b: number, c: number): number | null {
  if (!safe(a) || !safe(b)) return null;
  const uh = a * b;
  const ul = productError(a, b, uh);
  if (c === 0) {
    if (ul !== 0) fpFlags.value |= Flag.NX;
    return uh; // a nonzero product: the zero addend's sign does not matter
  }
  if (!safe(c)) return null;
  const th = c + uh;
  let bv = th - c;
  const tl = (c - (th - bv)) + (uh - bv);
  let v = tl + ul;
  bv = v - tl;
  const vErr = (tl - (v - bv)) + (ul - bv);
  if (vErr !== 0) {
    if (v === 0 || Math.abs(v) < SAFE_LO) return null;
    f64Scratch[0] = v;
    if ((u32Scratch[0] & 1) === 0) v = nextMagnitude(v, (vErr > 0) === (v > 0)); // round to odd
  } else if (v !== 0 && Math.abs(v) < SAFE_LO) {
    return null;
  }
  const r = th + v;
  if (!(Math.abs(r) > SAFE_LO && Math.abs(r) < SAFE_HI)) return null;
  bv = r - th;
  const rErr = (th - (r - bv)) + (v - bv);
  if (vErr !== 0 || rErr !== 0) fpFlags.value |= Flag.NX;
  return r;
}
