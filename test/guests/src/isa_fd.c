#include "hs.h"
#include "trap_rec.h"
#include "bootargs.h"
/* isa_fd: the F and D extensions bit for bit. Every operation of a table of exceptional operands
   (NaN payloads, signalling NaNs, signed zeros, subnormals, the largest finite values, infinities,
   values whose results round, overflow or underflow) in each of the five rounding modes, printing
   the result bits and the accrued fflags after each; plus mstatus.FS (Off traps, Dirty on writes,
   SD), NaN-boxing, static vs dynamic rounding modes and the reserved modes. Built rv64gc/lp64d.
   Compared byte for byte with qemu-system-riscv64. */

#define CHECK(cond, msg) hs_check((cond), msg)
#define MSTATUS_FS (3ULL << 13)

static const char HEX[] = "0123456789abcdef";
static void put_hex_n(uint64_t v, int digits) {
  for (int i = digits - 1; i >= 0; i--) hs_putc(HEX[(v >> (4 * i)) & 15]);
}
/* result bits then the flags as "/NN" (NV DZ OF UF NX, hex) */
static void put_result(uint64_t r, uint64_t flags, int digits) {
  hs_putc(' ');
  put_hex_n(r, digits);
  hs_putc('/');
  put_hex_n(flags, 2);
}

static inline void set_frm(uint64_t rm) { __asm__ volatile("fsrm %0" :: "r"(rm)); }

/* --- operand tables ----------------------------------------------------------------------- */
static const uint64_t D_OPS[] = {
  0x0000000000000000ULL, 0x8000000000000000ULL, /* +0 -0 */
  0x3ff0000000000000ULL, 0xbff0000000000000ULL, /* 1 -1 */
  0x4008000000000000ULL, 0x3fd5555555555555ULL, /* 3, ~1/3 */
  0x0000000000000001ULL, 0x000fffffffffffffULL, /* min and max subnormal */
  0x0010000000000000ULL, 0x8010000000000001ULL, /* min normal, -(min normal + ulp) */
  0x7fefffffffffffffULL, 0xffefffffffffffffULL, /* +-max finite */
  0x5fe0000000000001ULL, 0x2000000000000003ULL, /* 2^511(1+u) (square overflows), 2^-511(1+3u) (square underflows) */
  0x7ff0000000000000ULL, 0xfff0000000000000ULL, /* +-inf */
  0x7ff8000000000123ULL, 0x7ff0000000000001ULL, /* qNaN with payload, sNaN */
  0x3cb0000000000000ULL, 0x4330000000000001ULL, /* 2^-52, 2^52+1 */
};
#define N_D (sizeof(D_OPS) / sizeof(D_OPS[0]))

static const uint32_t S_OPS[] = {
  0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x40400000, 0x3eaaaaab,
  0x00000001, 0x007fffff, 0x00800000, 0x80800001, 0x7f7fffff, 0xff7fffff,
  0x5f000001, 0x20000003, 0x7f800000, 0xff800000, 0x7fc00123, 0x7f800001,
  0x33800000, 0x4b000001,
};
#define N_S (sizeof(S_OPS) / sizeof(S_OPS[0]))
/* A single in a register that is not NaN-boxed (upper half not all ones): reads as the canonical NaN. */
#define UNBOXED 0x123456783f800000ULL
#define BOX(s) (0xffffffff00000000ULL | (uint64_t)(s))

/* --- instruction wrappers: operands and results as raw 64-bit register contents -------------- */
#define FF_BIN(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tcsrw fflags, zero\n\t" insn " ft2, ft0, ft1\n\t" \
                     "frflags %1\n\tfmv.x.d %0, ft2" : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); \
    *fl = f; return r; }
#define FF_UN(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tcsrw fflags, zero\n\t" insn " ft2, ft0\n\t" \
                     "frflags %1\n\tfmv.x.d %0, ft2" : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2"); \
    *fl = f; return r; }
#define FF_TER(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tfmv.d.x ft3, %4\n\tcsrw fflags, zero\n\t" \
                     insn " ft2, ft0, ft1, ft3\n\tfrflags %1\n\tfmv.x.d %0, ft2" \
                     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"); \
    *fl = f; return r; }
/* f -> x (compare, class, convert to integer) */
#define FX(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tcsrw fflags, zero\n\t" insn " %0, ft0\n\tfrflags %1" \
                     : "=&r"(r), "=&r"(f) : "r"(a) : "ft0"); *fl = f; return r; }
#define FFX(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tcsrw fflags, zero\n\t" insn " %0, ft0, ft1\n\tfrflags %1" \
                     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1"); *fl = f; return r; }
/* x -> f (convert from integer) */
#define XF(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("csrw fflags, zero\n\t" insn " ft2, %2\n\tfrflags %1\n\tfmv.x.d %0, ft2" \
                     : "=&r"(r), "=&r"(f) : "r"(a) : "ft2"); *fl = f; return r; }

FF_BIN(fadd_d, "fadd.d") FF_BIN(fsub_d, "fsub.d") FF_BIN(fmul_d, "fmul.d") FF_BIN(fdiv_d, "fdiv.d")
FF_BIN(fadd_s, "fadd.s") FF_BIN(fsub_s, "fsub.s") FF_BIN(fmul_s, "fmul.s") FF_BIN(fdiv_s, "fdiv.s")
FF_BIN(fmin_d, "fmin.d") FF_BIN(fmax_d, "fmax.d") FF_BIN(fmin_s, "fmin.s") FF_BIN(fmax_s, "fmax.s")
FF_BIN(fsgnj_d, "fsgnj.d") FF_BIN(fsgnjn_d, "fsgnjn.d") FF_BIN(fsgnjx_d, "fsgnjx.d")
FF_BIN(fsgnj_s, "fsgnj.s") FF_BIN(fsgnjn_s, "fsgnjn.s") FF_BIN(fsgnjx_s, "fsgnjx.s")
FF_UN(fsqrt_d, "fsqrt.d") FF_UN(fsqrt_s, "fsqrt.s") FF_UN(fcvt_s_d, "fcvt.s.d") FF_UN(fcvt_d_s, "fcvt.d.s")
FF_TER(fmadd_d, "fmadd.d") FF_TER(fmsub_d, "fmsub.d") FF_TER(fnmsub_d, "fnmsub.d") FF_TER(fnmadd_d, "fnmadd.d")
FF_TER(fmadd_s, "fmadd.s") FF_TER(fmsub_s, "fmsub.s") FF_TER(fnmsub_s, "fnmsub.s") FF_TER(fnmadd_s, "fnmadd.s")
FFX(feq_d, "feq.d") FFX(flt_d, "flt.d") FFX(fle_d, "fle.d") FFX(feq_s, "feq.s") FFX(flt_s, "flt.s") FFX(fle_s, "fle.s")
FX(fclass_d, "fclass.d") FX(fclass_s, "fclass.s") FX(fmv_x_w, "fmv.x.w")
FX(fcvt_w_d, "fcvt.w.d") FX(fcvt_wu_d, "fcvt.wu.d") FX(fcvt_l_d, "fcvt.l.d") FX(fcvt_lu_d, "fcvt.lu.d")
FX(fcvt_w_s, "fcvt.w.s") FX(fcvt_wu_s, "fcvt.wu.s") FX(fcvt_l_s, "fcvt.l.s") FX(fcvt_lu_s, "fcvt.lu.s")
XF(fcvt_d_w, "fcvt.d.w") XF(fcvt_d_wu, "fcvt.d.wu") XF(fcvt_d_l, "fcvt.d.l") XF(fcvt_d_lu, "fcvt.d.lu")
XF(fcvt_s_w, "fcvt.s.w") XF(fcvt_s_wu, "fcvt.s.wu") XF(fcvt_s_l, "fcvt.s.l") XF(fcvt_s_lu, "fcvt.s.lu")
XF(fmv_w_x, "fmv.w.x")

/* The same ops with NX already set when they run ("csrwi fflags, 1"): compiled code takes a shorter
   path once NX is known set (no inexactness test, only the result's range), which must give the
   same bits and the same other flags. */
#define NX_BIN(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tcsrwi fflags, 1\n\t" insn " ft2, ft0, ft1\n\t" \
                     "frflags %1\n\tfmv.x.d %0, ft2" : "=&r"(r), "=&r"(f) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); \
    *fl = f; return r; }
#define NX_TER(fn, insn) \
  static uint64_t fn(uint64_t a, uint64_t b, uint64_t c, uint64_t *fl) { uint64_t r, f; \
    __asm__ volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tfmv.d.x ft3, %4\n\tcsrwi fflags, 1\n\t" \
                     insn " ft2, ft0, ft1, ft3\n\tfrflags %1\n\tfmv.x.d %0, ft2" \
                     : "=&r"(r), "=&r"(f) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3"); \
    *fl = f; return r; }
NX_BIN(nx_fadd_d, "fadd.d") NX_BIN(nx_fsub_d, "fsub.d") NX_BIN(nx_fmul_d, "fmul.d") NX_BIN(nx_fdiv_d, "fdiv.d")
static uint64_t nx_fsqrt_d(uint64_t a, uint64_t b, uint64_t *fl) { uint64_t r, f; (void)b;
  __asm__ volatile("fmv.d.x ft0, %2\n\tcsrwi fflags, 1\n\tfsqrt.d ft2, ft0\n\tfrflags %1\n\tfmv.x.d %0, ft2"
                   : "=&r"(r), "=&r"(f) : "r"(a) : "ft0", "ft2");
  *fl = f; return r; }
static uint64_t fsqrt2_d(uint64_t a, uint64_t b, uint64_t *fl) { (void)b; return fsqrt_d(a, fl); }
NX_TER(nx_fmadd_d, "fmadd.d") NX_TER(nx_fmsub_d, "fmsub.d") NX_TER(nx_fnmsub_d, "fnmsub.d") NX_TER(nx_fnmadd_d, "fnmadd.d")
#undef NX_BIN
#undef NX_TER

typedef uint64_t (*bin_fn)(uint64_t, uint64_t, uint64_t *);
typedef uint64_t (*un_fn)(uint64_t, uint64_t *);
typedef uint64_t (*ter_fn)(uint64_t, uint64_t, uint64_t, uint64_t *);

static uint64_t d_op(unsigned i) { return D_OPS[i]; }
static uint64_t s_op(unsigned i) { return i == N_S ? UNBOXED : BOX(S_OPS[i]); }

/* --- the sweeps ------------------------------------------------------------------------------- */
static void sweep_binary(const char *name, bin_fn f, int single, int rounding) {
  unsigned n = single ? N_S + 1 : N_D;
  for (unsigned i = 0; i < n; i++) {
    for (unsigned j = 0; j < n; j++) {
      uint64_t a = single ? s_op(i) : d_op(i), b = single ? s_op(j) : d_op(j);
      hs_puts(name); hs_putc(' '); hs_putdec(i); hs_putc(','); hs_putdec(j); hs_putc(':');
      for (unsigned rm = 0; rm < (rounding ? 5u : 1u); rm++) {
        uint64_t fl;
        set_frm(rm);
        uint64_t r = f(a, b, &fl);
        put_result(r, fl, 16);
      }
      hs_putc('\n');
    }
  }
}

static void sweep_unary(const char *name, un_fn f, int single, int digits) {
  unsigned n = single ? N_S + 1 : N_D;
  for (unsigned i = 0; i < n; i++) {
    uint64_t a = single ? s_op(i) : d_op(i);
    hs_puts(name); hs_putc(' '); hs_putdec(i); hs_putc(':');
    for (unsigned rm = 0; rm < 5; rm++) {
      uint64_t fl;
      set_frm(rm);
      uint64_t r = f(a, &fl);
      put_result(r, fl, digits);
    }
    hs_putc('\n');
  }
}

/* FMA: every operand once as each factor against a small set of addends that cancel, overflow or
   underflow, plus all-special triples; five modes each. */
static const uint64_t D_ADDENDS[] = {
  0x0000000000000000ULL, 0x8000000000000000ULL, 0xbff0000000000000ULL, 0x0000000000000001ULL,
  0xffefffffffffffffULL, 0x7ff0000000000000ULL, 0x7ff8000000000000ULL, 0x7ff0000000000001ULL,
  0xbcb0000000000000ULL,
};
static const uint32_t S_ADDENDS[] = {
  0x00000000, 0x80000000, 0xbf800000, 0x00000001, 0xff7fffff, 0x7f800000, 0x7fc00000, 0x7f800001, 0xb3800000,
};
#define N_ADD 9

static void sweep_fma(const char *name, ter_fn f, int single) {
  static const unsigned factors[] = {0, 1, 2, 3, 5, 6, 10, 12, 13, 14, 16, 17, 19};
  for (unsigned ia = 0; ia < sizeof(factors) / sizeof(factors[0]); ia++) {
    for (unsigned ib = 0; ib < sizeof(factors) / sizeof(factors[0]); ib += 2) {
      for (unsigned k = 0; k < N_ADD; k++) {
        unsigned i = factors[ia], j = factors[ib];
        uint64_t a = single ? s_op(i) : d_op(i), b = single ? s_op(j) : d_op(j);
        uint64_t c = single ? BOX(S_ADDENDS[k]) : D_ADDENDS[k];
        hs_puts(name); hs_putc(' '); hs_putdec(i); hs_putc(','); hs_putdec(j); hs_putc(','); hs_putdec(k); hs_putc(':');
        for (unsigned rm = 0; rm < 5; rm++) {
          uint64_t fl;
          set_frm(rm);
          put_result(f(a, b, c, &fl), fl, 16);
        }
        hs_putc('\n');
      }
    }
  }
}

/* Every D operand pair (and, for FMA, the addends) through each op twice, from clear flags and
   with NX set, in RNE, `rounds` times (a plain run compiles the loop by the second): the results
   must be equal and the flags must differ by NX alone. Prints the mismatches and a count. */
static void sweep_sticky_nx(unsigned rounds) {
  static const struct { const char *name; bin_fn plain, nx; } BIN[] = {
    {"fadd.d", fadd_d, nx_fadd_d}, {"fsub.d", fsub_d, nx_fsub_d}, {"fmul.d", fmul_d, nx_fmul_d},
    {"fdiv.d", fdiv_d, nx_fdiv_d}, {"fsqrt.d", fsqrt2_d, nx_fsqrt_d},
  };
  static const struct { const char *name; ter_fn plain, nx; } TER[] = {
    {"fmadd.d", fmadd_d, nx_fmadd_d}, {"fmsub.d", fmsub_d, nx_fmsub_d},
    {"fnmsub.d", fnmsub_d, nx_fnmsub_d}, {"fnmadd.d", fnmadd_d, nx_fnmadd_d},
  };
  unsigned checked = 0, bad = 0;
  hs_puts("sticky-NX sweep\n");
  set_frm(0);
  for (unsigned round = 0; round < rounds; round++) {
    for (unsigned k = 0; k < sizeof(BIN) / sizeof(BIN[0]); k++) {
      for (unsigned i = 0; i < N_D; i++) {
        for (unsigned j = 0; j < N_D; j++) {
          uint64_t f1, f2, r1 = BIN[k].plain(D_OPS[i], D_OPS[j], &f1), r2 = BIN[k].nx(D_OPS[i], D_OPS[j], &f2);
          checked++;
          if (r1 != r2 || f2 != (f1 | 1)) {
            if (++bad <= 20) { hs_puts("sticky-NX mismatch "); hs_puts(BIN[k].name); hs_putc(' '); hs_putdec(i); hs_putc(','); hs_putdec(j); put_result(r1, f1, 16); put_result(r2, f2, 16); hs_putc('\n'); }
          }
        }
      }
    }
    for (unsigned k = 0; k < sizeof(TER) / sizeof(TER[0]); k++) {
      for (unsigned i = 0; i < N_D; i++) {
        for (unsigned j = 0; j < N_D; j += 3) {
          for (unsigned m = 0; m < N_ADD; m++) {
            uint64_t f1, f2, r1 = TER[k].plain(D_OPS[i], D_OPS[j], D_ADDENDS[m], &f1), r2 = TER[k].nx(D_OPS[i], D_OPS[j], D_ADDENDS[m], &f2);
            checked++;
            if (r1 != r2 || f2 != (f1 | 1)) {
              if (++bad <= 20) { hs_puts("sticky-NX mismatch "); hs_puts(TER[k].name); hs_putc(' '); hs_putdec(i); hs_putc(','); hs_putdec(j); hs_putc(','); hs_putdec(m); put_result(r1, f1, 16); put_result(r2, f2, 16); hs_putc('\n'); }
            }
          }
        }
      }
    }
  }
  hs_puts("sticky-NX: "); hs_putdec(checked); hs_puts(" checked, "); hs_putdec(bad); hs_puts(" mismatches\n");
}

/* Values around every integer conversion's limits, for fcvt.{w,wu,l,lu}.{s,d}. */
static const uint64_t D_CVT[] = {
  0x3fe0000000000000ULL, 0x3ff8000000000000ULL, 0x4004000000000000ULL, 0xbfe0000000000000ULL, /* .5 1.5 2.5 -.5 */
  0xc004000000000000ULL, 0xbff0000000000000ULL, 0xbfefffffffffffffULL, 0x41dfffffffc00000ULL, /* -2.5 -1 -(1-u) 2^31-1 */
  0x41e0000000000000ULL, 0xc1e0000000000000ULL, 0xc1e0000000200000ULL, 0x41efffffffe00000ULL, /* 2^31 -2^31 -2^31-1 2^32-1 */
  0x41f0000000000000ULL, 0x41effffffff00000ULL, 0x43e0000000000000ULL, 0xc3e0000000000000ULL, /* 2^32 2^32-.5 2^63 -2^63 */
  0x43dfffffffffffffULL, 0x43f0000000000000ULL, 0x43efffffffffffffULL, 0xc3e0000000000001ULL, /* <2^63 2^64 <2^64 <-2^63 */
  0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0xfff0000000000001ULL, /* inf -inf qNaN -sNaN */
  0x8000000000000000ULL, 0x0000000000000001ULL, 0x8000000000000001ULL, 0x7fefffffffffffffULL,
};
#define N_DCVT (sizeof(D_CVT) / sizeof(D_CVT[0]))
static const uint32_t S_CVT[] = {
  0x3f000000, 0x3fc00000, 0x40200000, 0xbf000000, 0xc0200000, 0xbf800000, 0xbf7fffff, 0x4effffff,
  0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000, 0x5effffff, 0x5f000000, 0xdf000000,
  0xdf000001, 0x5f7fffff, 0x5f800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xff800001, 0x80000001,
};
#define N_SCVT (sizeof(S_CVT) / sizeof(S_CVT[0]))
static const uint64_t INTS[] = {
  0, 1, 0xffffffffffffffffULL, 0x7fffffffULL, 0x80000000ULL, 0xffffffffULL, 0x1000001ULL, 0x1000003ULL,
  0x20000000000001ULL, 0x20000000000003ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
  0xfffffffffffffbffULL, 0xffffffff80000001ULL, 0x123456789abcdefULL, 0xfffffffeffffff7fULL,
};
#define N_INTS (sizeof(INTS) / sizeof(INTS[0]))

static void sweep_cvt(const char *name, un_fn f, const uint64_t *in, unsigned n, int fromFloatSingle) {
  for (unsigned i = 0; i < n; i++) {
    hs_puts(name); hs_putc(' '); hs_putdec(i); hs_putc(':');
    for (unsigned rm = 0; rm < 5; rm++) {
      uint64_t fl;
      set_frm(rm);
      put_result(f(fromFloatSingle ? BOX((uint32_t)in[i]) : in[i], &fl), fl, 16);
    }
    hs_putc('\n');
  }
}

static void sweep_compare(const char *name, int single) {
  unsigned n = single ? N_S + 1 : N_D;
  for (unsigned i = 0; i < n; i++) {
    for (unsigned j = 0; j < n; j++) {
      uint64_t a = single ? s_op(i) : d_op(i), b = single ? s_op(j) : d_op(j), fl;
      hs_puts(name); hs_putc(' '); hs_putdec(i); hs_putc(','); hs_putdec(j); hs_putc(':');
      if (single) {
        put_result(fmin_s(a, b, &fl), fl, 16); put_result(fmax_s(a, b, &fl), fl, 16);
        put_result(feq_s(a, b, &fl), fl, 1); put_result(flt_s(a, b, &fl), fl, 1); put_result(fle_s(a, b, &fl), fl, 1);
        put_result(fsgnj_s(a, b, &fl), fl, 16); put_result(fsgnjn_s(a, b, &fl), fl, 16); put_result(fsgnjx_s(a, b, &fl), fl, 16);
      } else {
        put_result(fmin_d(a, b, &fl), fl, 16); put_result(fmax_d(a, b, &fl), fl, 16);
        put_result(feq_d(a, b, &fl), fl, 1); put_result(flt_d(a, b, &fl), fl, 1); put_result(fle_d(a, b, &fl), fl, 1);
        put_result(fsgnj_d(a, b, &fl), fl, 16); put_result(fsgnjn_d(a, b, &fl), fl, 16); put_result(fsgnjx_d(a, b, &fl), fl, 16);
      }
      hs_putc('\n');
    }
    uint64_t a = single ? s_op(i) : d_op(i), fl;
    hs_puts(single ? "fclass.s " : "fclass.d "); hs_putdec(i); hs_putc(':');
    put_result(single ? fclass_s(a, &fl) : fclass_d(a, &fl), fl, 3);
    hs_putc('\n');
  }
}

/* --- machine state: FS, fcsr, rounding-mode fields, NaN-boxing, loads and stores ----------------- */
static uint64_t traps_before(void) { return T_COUNT; }

static void test_state(void) {
  uint64_t t;
  /* FS = Off: FP instructions and the FP CSRs trap as illegal instructions. */
  csr_clear(mstatus, MSTATUS_FS);
  CHECK((csr_read(mstatus) & MSTATUS_FS) == 0, "FS can be switched off");
  t = traps_before();
  __asm__ volatile("fmv.d.x ft0, zero");
  CHECK(T_COUNT == t + 1 && T_CAUSE == 2, "FP instruction with FS=Off is illegal");
  hs_puts("fs off: fmv.d.x tval "); hs_puthex(T_TVAL); hs_putc('\n');
  __asm__ volatile("csrr t0, fcsr" ::: "t0");
  CHECK(T_COUNT == t + 2 && T_CAUSE == 2, "fcsr with FS=Off is illegal");
  __asm__ volatile(".option push\n\t.option rvc\n\tc.fldsp ft0, 0(sp)\n\t.option pop");
  CHECK(T_COUNT == t + 3 && T_CAUSE == 2, "c.fldsp with FS=Off is illegal");
  hs_puts("fs off: c.fldsp tval "); hs_puthex(T_TVAL); hs_putc('\n');
  /* FS = Initial; a register write makes it Dirty, and SD follows. */
  csr_set(mstatus, 1ULL << 13);
  uint64_t s = csr_read(mstatus);
  hs_puts("fs initial: mstatus.FS "); hs_putdec((s >> 13) & 3); hs_puts(" SD "); hs_putdec(s >> 63); hs_putc('\n');
  __asm__ volatile("fmv.d.x ft0, zero");
  s = csr_read(mstatus);
  hs_puts("after fmv.d.x: mstatus.FS "); hs_putdec((s >> 13) & 3); hs_puts(" SD "); hs_putdec(s >> 63);
  s = csr_read(sstatus);
  hs_puts(" sstatus.FS "); hs_putdec((s >> 13) & 3); hs_puts(" SD "); hs_putdec(s >> 63); hs_putc('\n');
  /* fcsr fields */
  csr_write(fcsr, 0xffffffff);
  hs_puts("fcsr "); hs_puthex(csr_read(fcsr)); hs_puts(" frm "); hs_puthex(csr_read(frm)); hs_puts(" fflags "); hs_puthex(csr_read(fflags)); hs_putc('\n');
  csr_write(frm, 0x2d);
  csr_write(fflags, 0x33);
  hs_puts("fcsr "); hs_puthex(csr_read(fcsr)); hs_putc('\n');
  /* Reserved rounding modes: frm = 5 makes dynamic-rm ops illegal, not static ones; rm fields 5 and 6 are illegal. */
  t = traps_before();
  __asm__ volatile("fadd.d ft0, ft0, ft0, dyn");
  CHECK(T_COUNT == t + 1 && T_CAUSE == 2, "dynamic rm with frm=5 is illegal");
  __asm__ volatile("fadd.d ft0, ft0, ft0, rne");
  __asm__ volatile("fsgnj.d ft0, ft0, ft0");
  CHECK(T_COUNT == t + 1, "static rm and ops without rm run with frm=5");
  set_frm(0);
  __asm__ volatile(".insn r 0x53, 5, 0x01, ft0, ft0, ft0"); /* fadd.d rm=5 */
  __asm__ volatile(".insn r 0x53, 6, 0x01, ft0, ft0, ft0"); /* fadd.d rm=6 */
  __asm__ volatile(".insn r 0x53, 5, 0x69, ft0, zero, x0"); /* fcvt.d.w rm=5 */
  CHECK(T_COUNT == t + 4 && T_CAUSE == 2, "rm fields 5 and 6 are illegal");
  hs_puts("reserved rm: tval "); hs_puthex(T_TVAL); hs_putc('\n');
  /* Static rounding modes override frm. */
  set_frm(0);
  uint64_t r[5];
  __asm__ volatile("fmv.d.x ft0, %5\n\tfmv.d.x ft1, %6\n\t"
                   "fdiv.d ft2, ft0, ft1, rne\n\tfmv.x.d %0, ft2\n\tfdiv.d ft2, ft0, ft1, rtz\n\tfmv.x.d %1, ft2\n\t"
                   "fdiv.d ft2, ft0, ft1, rdn\n\tfmv.x.d %2, ft2\n\tfdiv.d ft2, ft0, ft1, rup\n\tfmv.x.d %3, ft2\n\t"
                   "fdiv.d ft2, ft0, ft1, rmm\n\tfmv.x.d %4, ft2"
                   : "=&r"(r[0]), "=&r"(r[1]), "=&r"(r[2]), "=&r"(r[3]), "=&r"(r[4])
                   : "r"(0xbff0000000000000ULL), "r"(0x4008000000000000ULL) : "ft0", "ft1", "ft2");
  hs_puts("static rm -1/3:");
  for (int i = 0; i < 5; i++) { hs_putc(' '); hs_puthex(r[i]); }
  hs_putc('\n');
  /* NaN-boxing: flw boxes, fmv.w.x boxes, fmv.x.w sign-extends, an unboxed input is the canonical NaN. */
  static volatile uint32_t word = 0x80000001u;
  static volatile uint64_t dword;
  uint64_t boxed, mvx, unboxed_add;
  __asm__ volatile("flw ft0, 0(%3)\n\tfmv.x.d %0, ft0\n\tfmv.x.w %1, ft0\n\t"
                   "fmv.d.x ft1, %4\n\tfadd.s ft2, ft1, ft1\n\tfmv.x.d %2, ft2\n\tfsd ft0, 0(%5)"
                   : "=&r"(boxed), "=&r"(mvx), "=&r"(unboxed_add) : "r"(&word), "r"(UNBOXED), "r"(&dword) : "ft0", "ft1", "ft2", "memory");
  hs_puts("flw boxed "); hs_puthex(boxed); hs_puts(" fmv.x.w "); hs_puthex(mvx); hs_puts(" unboxed+unboxed "); hs_puthex(unboxed_add);
  hs_puts(" fsd "); hs_puthex(dword); hs_putc('\n');
  uint64_t fl;
  hs_puts("fmv.w.x"); put_result(fmv_w_x(0x1234567887654321ULL, &fl), fl, 16);
  hs_puts(" fmv.x.w of unboxed"); put_result(fmv_x_w(UNBOXED, &fl), fl, 16);
  hs_putc('\n');
  /* fsw stores the low word whatever the boxing; c.fsdsp/c.fldsp round-trip */
  static volatile uint32_t out_word;
  uint64_t back;
  __asm__ volatile("fmv.d.x ft0, %1\n\tfsw ft0, 0(%2)\n\t"
                   "addi sp, sp, -16\n\t.option push\n\t.option rvc\n\tc.fsdsp ft0, 8(sp)\n\tc.fldsp ft1, 8(sp)\n\t.option pop\n\t"
                   "addi sp, sp, 16\n\tfmv.x.d %0, ft1"
                   : "=&r"(back) : "r"(UNBOXED), "r"(&out_word) : "ft0", "ft1", "memory");
  hs_puts("fsw "); hs_puthex(out_word); hs_puts(" c.fsdsp/c.fldsp "); hs_puthex(back); hs_putc('\n');
  /* Accrued flags accumulate across instructions until cleared. */
  csr_write(fflags, 0);
  fadd_d(0x3ff0000000000000ULL, 0x3cb0000000000000ULL, &fl); /* RNE tie to even: inexact */
  __asm__ volatile("fmv.d.x ft0, zero\n\tfdiv.d ft0, ft0, ft0" ::: "ft0"); /* 0/0: invalid */
  hs_puts("accrued fflags "); hs_puthex(csr_read(fflags)); hs_putc('\n');
}

/* Bootargs: `sticky=N` runs only the sticky-NX sweep, N rounds (the JIT lockstep test's cut). */
int guest_main(uint64_t hartid, const void *dtb) {
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("isa_fd\n");
  uint64_t sticky_only = bootarg_u64(dtb, "sticky", 0);
  if (sticky_only) {
    csr_set(mstatus, MSTATUS_FS);
    sweep_sticky_nx((unsigned)sticky_only);
    return 0;
  }
  csr_write(mtvec, (uint64_t)trap_rec);
  uint64_t misa = csr_read(misa);
  hs_puts("misa F "); hs_putdec((misa >> 5) & 1); hs_puts(" D "); hs_putdec((misa >> 3) & 1); hs_putc('\n');
  test_state();
  csr_set(mstatus, MSTATUS_FS);
  sweep_binary("fadd.d", fadd_d, 0, 1); sweep_binary("fsub.d", fsub_d, 0, 1);
  sweep_binary("fmul.d", fmul_d, 0, 1); sweep_binary("fdiv.d", fdiv_d, 0, 1);
  sweep_binary("fadd.s", fadd_s, 1, 1); sweep_binary("fsub.s", fsub_s, 1, 1);
  sweep_binary("fmul.s", fmul_s, 1, 1); sweep_binary("fdiv.s", fdiv_s, 1, 1);
  sweep_unary("fsqrt.d", fsqrt_d, 0, 16); sweep_unary("fsqrt.s", fsqrt_s, 1, 16);
  sweep_unary("fcvt.s.d", fcvt_s_d, 0, 16); sweep_unary("fcvt.d.s", fcvt_d_s, 1, 16);
  sweep_fma("fmadd.d", fmadd_d, 0); sweep_fma("fmsub.d", fmsub_d, 0);
  sweep_fma("fnmsub.d", fnmsub_d, 0); sweep_fma("fnmadd.d", fnmadd_d, 0);
  sweep_fma("fmadd.s", fmadd_s, 1); sweep_fma("fmsub.s", fmsub_s, 1);
  sweep_fma("fnmsub.s", fnmsub_s, 1); sweep_fma("fnmadd.s", fnmadd_s, 1);
  sweep_sticky_nx(4);
  sweep_compare("cmp.d", 0); sweep_compare("cmp.s", 1);
  sweep_cvt("fcvt.w.d", fcvt_w_d, D_CVT, N_DCVT, 0); sweep_cvt("fcvt.wu.d", fcvt_wu_d, D_CVT, N_DCVT, 0);
  sweep_cvt("fcvt.l.d", fcvt_l_d, D_CVT, N_DCVT, 0); sweep_cvt("fcvt.lu.d", fcvt_lu_d, D_CVT, N_DCVT, 0);
  static uint64_t s_cvt[N_SCVT];
  for (unsigned i = 0; i < N_SCVT; i++) s_cvt[i] = S_CVT[i];
  sweep_cvt("fcvt.w.s", fcvt_w_s, s_cvt, N_SCVT, 1); sweep_cvt("fcvt.wu.s", fcvt_wu_s, s_cvt, N_SCVT, 1);
  sweep_cvt("fcvt.l.s", fcvt_l_s, s_cvt, N_SCVT, 1); sweep_cvt("fcvt.lu.s", fcvt_lu_s, s_cvt, N_SCVT, 1);
  sweep_cvt("fcvt.d.w", fcvt_d_w, INTS, N_INTS, 0); sweep_cvt("fcvt.d.wu", fcvt_d_wu, INTS, N_INTS, 0);
  sweep_cvt("fcvt.d.l", fcvt_d_l, INTS, N_INTS, 0); sweep_cvt("fcvt.d.lu", fcvt_d_lu, INTS, N_INTS, 0);
  sweep_cvt("fcvt.s.w", fcvt_s_w, INTS, N_INTS, 0); sweep_cvt("fcvt.s.wu", fcvt_s_wu, INTS, N_INTS, 0);
  sweep_cvt("fcvt.s.l", fcvt_s_l, INTS, N_INTS, 0); sweep_cvt("fcvt.s.lu", fcvt_s_lu, INTS, N_INTS, 0);
  hs_puts("isa_fd: PASS\n");
  return 0;
}
