/**
 * A small WebAssembly binary emitter: just what the JIT needs (one type/import/function/export/code
 * section each, i32/i64 locals, structured control flow, plain and atomic memory access).
 *
 * Why our own and not a library: the npm packages that emit wasm binaries are either whole
 * toolchains (binaryen.js: a 10+ MB asm.js/wasm blob whose module construction and validation
 * cost far more than the ~50-100 us V8 needs to compile a small module) or text-format
 * assemblers (wabt.js: parsing text at run time), or unmaintained byte writers. The JIT emits a
 * few hundred bytes per guest block straight into a number array; the encoder below is ~200 lines
 * and measured (test/jit-emitter.test.ts, scripts/jit-compile-cost.mjs) at a few microseconds per
 * block, next to V8's own compile time which dominates.
 */

export const enum ValType { I32 = 0x7f, I64 = 0x7e, F64 = 0x7c, V128 = 0x7b }
/** Block type "no result". */
export const VOID = 0x40;

/** Opcodes used by the JIT (core spec + threads proposal, prefix 0xfe). */
export const enum W {
  unreachable = 0x00, block = 0x02, loop = 0x03, if_ = 0x04, else_ = 0x05, end = 0x0b,
  br = 0x0c, br_if = 0x0d, br_table = 0x0e, return_ = 0x0f, call = 0x10, call_indirect = 0x11,
  drop = 0x1a, select = 0x1b,
  local_get = 0x20, local_set = 0x21, local_tee = 0x22,
  i32_load = 0x28, i64_load = 0x29,
  i32_load8_s = 0x2c, i32_load8_u = 0x2d, i32_load16_s = 0x2e, i32_load16_u = 0x2f,
  i64_load8_s = 0x30, i64_load8_u = 0x31, i64_load16_s = 0x32, i64_load16_u = 0x33,
  i64_load32_s = 0x34, i64_load32_u = 0x35,
  i32_store = 0x36, i64_store = 0x37, i32_store8 = 0x3a, i32_store16 = 0x3b,
  i64_store8 = 0x3c, i64_store16 = 0x3d, i64_store32 = 0x3e,
  i32_const = 0x41, i64_const = 0x42,
  i32_eqz = 0x45, i32_eq = 0x46, i32_ne = 0x47, i32_lt_s = 0x48, i32_lt_u = 0x49,
  i32_gt_s = 0x4a, i32_gt_u = 0x4b, i32_le_s = 0x4c, i32_le_u = 0x4d, i32_ge_s = 0x4e, i32_ge_u = 0x4f,
  i64_eqz = 0x50, i64_eq = 0x51, i64_ne = 0x52, i64_lt_s = 0x53, i64_lt_u = 0x54,
  i64_gt_s = 0x55, i64_gt_u = 0x56, i64_le_s = 0x57, i64_le_u = 0x58, i64_ge_s = 0x59, i64_ge_u = 0x5a,
  i32_add = 0x6a, i32_sub = 0x6b, i32_mul = 0x6c, i32_div_s = 0x6d, i32_div_u = 0x6e,
  i32_rem_s = 0x6f, i32_rem_u = 0x70, i32_and = 0x71, i32_or = 0x72, i32_xor = 0x73,
  i32_shl = 0x74, i32_shr_s = 0x75, i32_shr_u = 0x76,
  i64_add = 0x7c, i64_sub = 0x7d, i64_mul = 0x7e, i64_div_s = 0x7f, i64_div_u = 0x80,
  i64_rem_s = 0x81, i64_rem_u = 0x82, i64_and = 0x83, i64_or = 0x84, i64_xor = 0x85,
  i64_shl = 0x86, i64_shr_s = 0x87, i64_shr_u = 0x88,
  i32_wrap_i64 = 0xa7, i64_extend_i32_s = 0xac, i64_extend_i32_u = 0xad,
  // bit manipulation (Zba/Zbb/Zbs) and the sign-extension operators
  i32_clz = 0x67, i32_ctz = 0x68, i32_popcnt = 0x69, i32_rotl = 0x77, i32_rotr = 0x78,
  i64_clz = 0x79, i64_ctz = 0x7a, i64_popcnt = 0x7b, i64_rotl = 0x89, i64_rotr = 0x8a,
  i64_extend8_s = 0xc2, i64_extend16_s = 0xc3,
  f64_load = 0x2b, f64_store = 0x39, f64_const = 0x44,
  f64_eq = 0x61, f64_ne = 0x62, f64_lt = 0x63, f64_gt = 0x64, f64_le = 0x65, f64_ge = 0x66,
  f64_abs = 0x99, f64_neg = 0x9a, f64_sqrt = 0x9f, f64_add = 0xa0, f64_sub = 0xa1, f64_mul = 0xa2, f64_div = 0xa3,
  i64_reinterpret_f64 = 0xbd, f64_reinterpret_i64 = 0xbf,
}

/** Threads-proposal opcodes (after the 0xfe prefix). */
export const enum A {
  fence = 0x03,
  i32_load = 0x10, i64_load = 0x11,
  i32_rmw_add = 0x1e, i64_rmw_add = 0x1f,
  i32_rmw_and = 0x2c, i64_rmw_and = 0x2d,
  i32_rmw_or = 0x33, i64_rmw_or = 0x34,
  i32_rmw_xor = 0x3a, i64_rmw_xor = 0x3b,
  i32_rmw_xchg = 0x41, i64_rmw_xchg = 0x42,
  i32_rmw_cmpxchg = 0x48, i64_rmw_cmpxchg = 0x49,
}

/** A growable byte buffer (number[] pushes were the codegen's main cost). */
export class Bytes {
  buf = new Uint8Array(1024);
  length = 0;

  push(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  append(src: Bytes): void {
    if (this.length + src.length > this.buf.length) this.grow(src.length);
    this.buf.set(src.buf.subarray(0, src.length), this.length);
    this.length += src.length;
  }

  private grow(extra: number): void {
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

function pushU32(out: Bytes, n: number): void {
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function pushS32(out: Bytes, n: number): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

function pushS64(out: Bytes, v: bigint): void {
  v = BigInt.asIntN(64, v);
  if (v >= -0x40000000n && v < 0x40000000n) { pushS32(out, Number(v)); return; } // same encoding, no BigInt steps
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { out.push(b); return; }
    out.push(b | 0x80);
  }
}

/** A function body under construction: a byte buffer plus helpers for each instruction form. */
export class Code {
  readonly bytes = new Bytes();

  op(o: W): this { this.bytes.push(o); return this; }
  i32(n: number): this { this.bytes.push(W.i32_const); pushS32(this.bytes, n); return this; }
  i64(v: bigint): this { this.bytes.push(W.i64_const); pushS64(this.bytes, v); return this; }
  f64(v: number): this {
    this.bytes.push(W.f64_const);
    const b = new Uint8Array(new Float64Array([v]).buffer); // little-endian IEEE 754, as wasm encodes it
    for (const x of b) this.bytes.push(x);
    return this;
  }
  get(l: number): this { this.bytes.push(W.local_get); pushU32(this.bytes, l); return this; }
  set(l: number): this { this.bytes.push(W.local_set); pushU32(this.bytes, l); return this; }
  tee(l: number): this { this.bytes.push(W.local_tee); pushU32(this.bytes, l); return this; }
  /** Memory access: `align` is log2 of the alignment hint, `offset` an unsigned constant. */
  mem(o: W, align: number, offset: number): this {
    this.bytes.push(o);
    pushU32(this.bytes, align);
    pushU32(this.bytes, offset);
    return this;
  }
  /** Atomic access; the alignment must be the natural one (log2 of the access size). */
  atomic(o: A, align: number, offset: number): this {
    this.bytes.push(0xfe);
    pushU32(this.bytes, o);
    pushU32(this.bytes, align);
    pushU32(this.bytes, offset);
    return this;
  }
  /** A SIMD op (0xfd prefix; jit/host-fma.ts Simd), with its lane index when it has one. */
  simd(o: number, lane?: number): this {
    this.bytes.push(0xfd);
    pushU32(this.bytes, o);
    if (lane !== undefined) this.bytes.push(lane);
    return this;
  }
  fence(): this { this.bytes.push(0xfe); this.bytes.push(A.fence); this.bytes.push(0x00); return this; }
  block(type: number = VOID): this { this.bytes.push(W.block); this.bytes.push(type); return this; }
  loop(type: number = VOID): this { this.bytes.push(W.loop); this.bytes.push(type); return this; }
  if_(type: number = VOID): this { this.bytes.push(W.if_); this.bytes.push(type); return this; }
  else_(): this { this.bytes.push(W.else_); return this; }
  end(): this { this.bytes.push(W.end); return this; }
  br(depth: number): this { this.bytes.push(W.br); pushU32(this.bytes, depth); return this; }
  brIf(depth: number): this { this.bytes.push(W.br_if); pushU32(this.bytes, depth); return this; }
  brTable(depths: number[], dflt: number): this {
    this.bytes.push(W.br_table);
    pushU32(this.bytes, depths.length);
    for (const d of depths) pushU32(this.bytes, d);
    pushU32(this.bytes, dflt);
    return this;
  }
  call(f: number): this { this.bytes.push(W.call); pushU32(this.bytes, f); return this; }
  /** Calls the function at the table index on the stack (table 0), checked against type `type`. */
  callIndirect(type: number): this { this.bytes.push(W.call_indirect); pushU32(this.bytes, type); this.bytes.push(0x00); return this; }
  ret(): this { this.bytes.push(W.return_); return this; }
}

export interface FuncType { params: ValType[]; results: ValType[] }
export interface FuncImport { module: string; name: string; type: number }
export interface MemoryImport { module: string; name: string; min: number; max: number; shared: boolean }
/** An imported table of funcref (table 0, what call_indirect uses). */
export interface TableImport { module: string; name: string; min: number }
export interface FuncDef { type: number; locals: ValType[]; body: Code }

export interface ModuleSpec {
  types: FuncType[];
  funcImports: FuncImport[];
  memory: MemoryImport;
  table?: TableImport;
  /** Defined functions; their indices follow the imported ones. */
  funcs: FuncDef[];
  exports: { name: string; func: number }[];
}

function pushName(out: Bytes, s: string): void {
  const b = Buffer.from(s, 'utf8');
  pushU32(out, b.length);
  for (const x of b) out.push(x);
}

function section(out: Bytes, id: number, content: Bytes): void {
  out.push(id);
  pushU32(out, content.length);
  out.append(content);
}

/** Encodes a module. Function bodies get their locals compressed into runs of equal type. */
export function encodeModule(spec: ModuleSpec): Uint8Array<ArrayBuffer> {
  const out = new Bytes();
  for (const b of [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]) out.push(b);
  const types = new Bytes();
  pushU32(types, spec.types.length);
  for (const t of spec.types) {
    types.push(0x60);
    pushU32(types, t.params.length);
    for (const p of t.params) types.push(p);
    pushU32(types, t.results.length);
    for (const r of t.results) types.push(r);
  }
  section(out, 1, types);

  const imports = new Bytes();
  pushU32(imports, spec.funcImports.length + 1 + (spec.table ? 1 : 0));
  for (const f of spec.funcImports) {
    pushName(imports, f.module);
    pushName(imports, f.name);
    imports.push(0x00);
    pushU32(imports, f.type);
  }
  const m = spec.memory;
  pushName(imports, m.module);
  pushName(imports, m.name);
  imports.push(0x02);
  imports.push(m.shared ? 0x03 : 0x01);
  pushU32(imports, m.min);
  pushU32(imports, m.max);
  if (spec.table) {
    pushName(imports, spec.table.module);
    pushName(imports, spec.table.name);
    imports.push(0x01); // a table: of funcref, limits with a minimum only
    imports.push(0x70);
    imports.push(0x00);
    pushU32(imports, spec.table.min);
  }
  section(out, 2, imports);

  const funcs = new Bytes();
  pushU32(funcs, spec.funcs.length);
  for (const f of spec.funcs) pushU32(funcs, f.type);
  section(out, 3, funcs);

  const exps = new Bytes();
  pushU32(exps, spec.exports.length);
  for (const e of spec.exports) {
    pushName(exps, e.name);
    exps.push(0x00);
    pushU32(exps, e.func);
  }
  section(out, 7, exps);

  const code = new Bytes();
  pushU32(code, spec.funcs.length);
  for (const f of spec.funcs) {
    const body = new Bytes();
    const runs: [number, ValType][] = [];
    for (const t of f.locals) {
      if (runs.length && runs[runs.length - 1][1] === t) runs[runs.length - 1][0]++;
      else runs.push([1, t]);
    }
    pushU32(body, runs.length);
    for (const [n, t] of runs) { pushU32(body, n); body.push(t); }
    body.append(f.body.bytes);
    body.push(W.end);
    pushU32(code, body.length);
    code.append(body);
  }
  section(out, 10, code);
  return out.buf.slice(0, out.length);
}
