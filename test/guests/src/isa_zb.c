#include "hs.h"
#include "trap_rec.h"
/* isa_zb: the bit-manipulation extensions Zba, Zbb and Zbs (RV64). Each extension is probed first
   (its instructions trap as illegal when the CPU lacks it, e.g. `--cpu rv64,zbb=off` or QEMU's
   zbb=false); for each present one, every instruction's results on edge operands are printed and
   a checksum over all pairs of a table of interesting operands (and over many immediates). */

static volatile uint64_t ops[] = {
  0, 1, 2, 3, 7, 31, 32, 63, 64, 0xffffffffffffffffULL, 0xfffffffffffffffeULL, 0x8000000000000000ULL,
  0x7fffffffffffffffULL, 0x80000000ULL, 0x7fffffffULL, 0xffffffffULL, 0xffffffff80000000ULL,
  0x100000000ULL, 0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0xdeadbeefcafebabeULL,
  0x5555555555555555ULL, 0xaaaaaaaaaaaaaaaaULL, 0x00000000fffffffeULL, 0x000000010000000bULL,
  0xffffffff7ffffffbULL, 0x13579bdf2468ace0ULL, 0x000000000000ffffULL, 0x0000000000008000ULL,
  0x0000000000000080ULL, 0x00ff00ff00ff0000ULL, 0x0100000000000000ULL,
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))
__asm__(".option norvc");

typedef uint64_t (*rrfn)(uint64_t, uint64_t);
typedef uint64_t (*rfn)(uint64_t);
#define RR(insn, fname) \
  static uint64_t rr_##fname(uint64_t a, uint64_t b) { uint64_t r; \
    __asm__ volatile(#insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
#define R1(insn, fname) \
  static uint64_t r_##fname(uint64_t a) { uint64_t r; __asm__ volatile(#insn " %0, %1" : "=r"(r) : "r"(a)); return r; }
/* One function per immediate; ri_NAME[k] applies the instruction with immediate imm_list[k]. */
#define RI1(insn, fname, k) \
  static uint64_t ri_##fname##_##k(uint64_t a) { uint64_t r; __asm__ volatile(#insn " %0, %1, " #k : "=r"(r) : "r"(a)); return r; }
#define RI_ALL(insn, fname) RI1(insn, fname, 0) RI1(insn, fname, 1) RI1(insn, fname, 7) RI1(insn, fname, 8) \
  RI1(insn, fname, 15) RI1(insn, fname, 16) RI1(insn, fname, 31) RI1(insn, fname, 32) RI1(insn, fname, 33) \
  RI1(insn, fname, 47) RI1(insn, fname, 62) RI1(insn, fname, 63) \
  static const rfn ri_##fname[] = { ri_##fname##_0, ri_##fname##_1, ri_##fname##_7, ri_##fname##_8, ri_##fname##_15, \
    ri_##fname##_16, ri_##fname##_31, ri_##fname##_32, ri_##fname##_33, ri_##fname##_47, ri_##fname##_62, ri_##fname##_63 };
#define RI_W(insn, fname) RI1(insn, fname, 0) RI1(insn, fname, 1) RI1(insn, fname, 7) RI1(insn, fname, 8) \
  RI1(insn, fname, 15) RI1(insn, fname, 16) RI1(insn, fname, 30) RI1(insn, fname, 31) \
  static const rfn ri_##fname[] = { ri_##fname##_0, ri_##fname##_1, ri_##fname##_7, ri_##fname##_8, ri_##fname##_15, \
    ri_##fname##_16, ri_##fname##_30, ri_##fname##_31 };

/* Zba */
RR(add.uw, add_uw) RR(sh1add, sh1add) RR(sh2add, sh2add) RR(sh3add, sh3add)
RR(sh1add.uw, sh1add_uw) RR(sh2add.uw, sh2add_uw) RR(sh3add.uw, sh3add_uw)
RI_ALL(slli.uw, slli_uw)
/* Zbb */
RR(andn, andn) RR(orn, orn) RR(xnor, xnor) RR(max, max) RR(maxu, maxu) RR(min, min) RR(minu, minu)
RR(rol, rol) RR(rolw, rolw) RR(ror, ror) RR(rorw, rorw)
R1(clz, clz) R1(clzw, clzw) R1(ctz, ctz) R1(ctzw, ctzw) R1(cpop, cpop) R1(cpopw, cpopw)
R1(sext.b, sext_b) R1(sext.h, sext_h) R1(zext.h, zext_h) R1(orc.b, orc_b) R1(rev8, rev8)
RI_ALL(rori, rori) RI_W(roriw, roriw)
/* Zbs */
RR(bclr, bclr) RR(bext, bext) RR(binv, binv) RR(bset, bset)
RI_ALL(bclri, bclri) RI_ALL(bexti, bexti) RI_ALL(binvi, binvi) RI_ALL(bseti, bseti)

struct rr_case { const char *name; rrfn f; };
struct r_case { const char *name; rfn f; };
struct ri_case { const char *name; const rfn *fs; unsigned n; };
#define RI_CASE(name, fname) { name, ri_##fname, sizeof(ri_##fname) / sizeof(ri_##fname[0]) }

static const struct rr_case zba_rr[] = {
  {"add.uw", rr_add_uw}, {"sh1add", rr_sh1add}, {"sh2add", rr_sh2add}, {"sh3add", rr_sh3add},
  {"sh1add.uw", rr_sh1add_uw}, {"sh2add.uw", rr_sh2add_uw}, {"sh3add.uw", rr_sh3add_uw},
};
static const struct ri_case zba_ri[] = { RI_CASE("slli.uw", slli_uw) };
static const struct rr_case zbb_rr[] = {
  {"andn", rr_andn}, {"orn", rr_orn}, {"xnor", rr_xnor}, {"max", rr_max}, {"maxu", rr_maxu},
  {"min", rr_min}, {"minu", rr_minu}, {"rol", rr_rol}, {"rolw", rr_rolw}, {"ror", rr_ror}, {"rorw", rr_rorw},
};
static const struct r_case zbb_r[] = {
  {"clz", r_clz}, {"clzw", r_clzw}, {"ctz", r_ctz}, {"ctzw", r_ctzw}, {"cpop", r_cpop}, {"cpopw", r_cpopw},
  {"sext.b", r_sext_b}, {"sext.h", r_sext_h}, {"zext.h", r_zext_h}, {"orc.b", r_orc_b}, {"rev8", r_rev8},
};
static const struct ri_case zbb_ri[] = { RI_CASE("rori", rori), RI_CASE("roriw", roriw) };
static const struct rr_case zbs_rr[] = { {"bclr", rr_bclr}, {"bext", rr_bext}, {"binv", rr_binv}, {"bset", rr_bset} };
static const struct ri_case zbs_ri[] = { RI_CASE("bclri", bclri), RI_CASE("bexti", bexti), RI_CASE("binvi", binvi), RI_CASE("bseti", bseti) };

/* The edge operands whose results are printed one by one. */
static const unsigned edges[] = { 0, 1, 9, 11, 12, 13, 14, 15, 16, 18, 28, 29 };
#define NEDGES (sizeof(edges) / sizeof(edges[0]))

static void line(const char *name) { hs_puts(name); hs_puts(":"); }
static void hex(uint64_t v) { hs_puts(" "); hs_puthex(v); }

static void run_rr(const struct rr_case *t, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    line(t[k].name);
    for (unsigned i = 0; i < NEDGES; i += 2) hex(t[k].f(ops[edges[i]], ops[edges[i + 1]]));
    uint64_t s = 0;
    for (unsigned i = 0; i < NOPS; i++)
      for (unsigned j = 0; j < NOPS; j++) s = hs_checksum_add(s, t[k].f(ops[i], ops[j]));
    hs_puts(" sum"); hex(s); hs_puts("\n");
  }
}

static void run_r(const struct r_case *t, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    line(t[k].name);
    for (unsigned i = 0; i < NEDGES; i++) hex(t[k].f(ops[edges[i]]));
    uint64_t s = 0;
    for (unsigned i = 0; i < NOPS; i++) s = hs_checksum_add(s, t[k].f(ops[i]));
    hs_puts(" sum"); hex(s); hs_puts("\n");
  }
}

static void run_ri(const struct ri_case *t, unsigned n) {
  for (unsigned k = 0; k < n; k++) {
    line(t[k].name);
    for (unsigned m = 0; m < t[k].n; m++) hex(t[k].fs[m](0xdeadbeefcafebabeULL));
    uint64_t s = 0;
    for (unsigned m = 0; m < t[k].n; m++)
      for (unsigned i = 0; i < NOPS; i++) s = hs_checksum_add(s, t[k].fs[m](ops[i]));
    hs_puts(" sum"); hex(s); hs_puts("\n");
  }
}

/* Runs `probe` (one instruction of the extension); true when it did not trap. */
static int present(const char *ext, void (*probe)(void)) {
  uint64_t before = T_COUNT;
  probe();
  int ok = T_COUNT == before;
  hs_puts(ext);
  if (ok) hs_puts(": present\n");
  else { hs_puts(": absent (illegal instruction, mcause "); hs_putdec(T_CAUSE); hs_puts(")\n"); }
  return ok;
}
static void probe_zba(void) { __asm__ volatile("sh1add t0, t0, t0" ::: "t0"); }
static void probe_zbb(void) { __asm__ volatile("andn t0, t0, t0" ::: "t0"); }
static void probe_zbs(void) { __asm__ volatile("bseti t0, t0, 3" ::: "t0"); }

#define N(a) (sizeof(a) / sizeof(a[0]))

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  csr_write(mtvec, (uint64_t)trap_rec);
  hs_puts("isa_zb\n");
  if (present("zba", probe_zba)) { run_rr(zba_rr, N(zba_rr)); run_ri(zba_ri, N(zba_ri)); }
  if (present("zbb", probe_zbb)) { run_rr(zbb_rr, N(zbb_rr)); run_r(zbb_r, N(zbb_r)); run_ri(zbb_ri, N(zbb_ri)); }
  if (present("zbs", probe_zbs)) { run_rr(zbs_rr, N(zbs_rr)); run_ri(zbs_ri, N(zbs_ri)); }
  hs_puts("isa_zb: PASS\n");
  return 0;
}
