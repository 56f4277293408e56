#include "hs.h"
/* isa_rv64m: the M extension (RV64). Explicit checks of the spec's corner cases (division by zero,
   signed overflow, high-half products, sign extension of the W forms) plus, per instruction, a
   checksum over all pairs of a table of interesting operands. */

static volatile uint64_t ops[] = {
  0, 1, 2, 3, 7, 0xffffffffffffffffULL, 0xfffffffffffffffeULL, 0x8000000000000000ULL,
  0x7fffffffffffffffULL, 0x80000000ULL, 0x7fffffffULL, 0xffffffffULL, 0xffffffff80000000ULL,
  0x100000000ULL, 0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0xdeadbeefcafebabeULL,
  0x5555555555555555ULL, 0xaaaaaaaaaaaaaaaaULL, 0x00000000fffffffeULL, 0x000000010000000bULL,
  0xffffffff7ffffffbULL, 0x13579bdf2468ace0ULL, 0x000000000000ffffULL,
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))
__asm__(".option norvc");

#define RR(insn) \
  static uint64_t rr_##insn(uint64_t a, uint64_t b) { uint64_t r; \
    __asm__ volatile(#insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
RR(mul) RR(mulh) RR(mulhsu) RR(mulhu) RR(div) RR(divu) RR(rem) RR(remu)
RR(mulw) RR(divw) RR(divuw) RR(remw) RR(remuw)

typedef uint64_t (*rrfn)(uint64_t, uint64_t);
static const struct { const char *name; rrfn f; } rr_tab[] = {
  {"mul", rr_mul}, {"mulh", rr_mulh}, {"mulhsu", rr_mulhsu}, {"mulhu", rr_mulhu},
  {"div", rr_div}, {"divu", rr_divu}, {"rem", rr_rem}, {"remu", rr_remu},
  {"mulw", rr_mulw}, {"divw", rr_divw}, {"divuw", rr_divuw}, {"remw", rr_remw}, {"remuw", rr_remuw},
};

#define CHECK(cond, msg) hs_check((cond), msg)
#define M1 0xffffffffffffffffULL
#define MIN64 0x8000000000000000ULL
#define MAX64 0x7fffffffffffffffULL

static void test_explicit(void) {
  /* multiplication */
  CHECK(rr_mul(3, 7) == 21, "mul small");
  CHECK(rr_mul(M1, M1) == 1, "mul -1*-1");
  CHECK(rr_mul(MIN64, M1) == MIN64, "mul INT64_MIN*-1 wraps");
  CHECK(rr_mul(0x100000000ULL, 0x100000000ULL) == 0, "mul low half");
  CHECK(rr_mulh(M1, M1) == 0, "mulh -1*-1");
  CHECK(rr_mulh(MIN64, MIN64) == 0x4000000000000000ULL, "mulh INT64_MIN^2");
  CHECK(rr_mulh(MIN64, 1) == M1, "mulh INT64_MIN*1");
  CHECK(rr_mulh(MAX64, MAX64) == 0x3fffffffffffffffULL, "mulh INT64_MAX^2");
  CHECK(rr_mulh(M1, 1) == M1, "mulh -1*1");
  CHECK(rr_mulhu(M1, M1) == 0xfffffffffffffffeULL, "mulhu max*max");
  CHECK(rr_mulhu(0x100000000ULL, 0x100000000ULL) == 1, "mulhu 2^32*2^32");
  CHECK(rr_mulhu(M1, 2) == 1, "mulhu max*2");
  CHECK(rr_mulhsu(M1, M1) == M1, "mulhsu -1*max");
  CHECK(rr_mulhsu(MIN64, M1) == 0x8000000000000000ULL, "mulhsu INT64_MIN*max");
  CHECK(rr_mulhsu(1, M1) == 0, "mulhsu 1*max");
  CHECK(rr_mulhsu(M1, 1) == M1, "mulhsu -1*1");
  CHECK(rr_mulhsu(2, MIN64) == 1, "mulhsu 2*2^63");
  CHECK(rr_mulw(0x7fffffff, 2) == 0xfffffffffffffffeULL, "mulw sign-extends");
  CHECK(rr_mulw(0x10000, 0x8000) == 0xffffffff80000000ULL, "mulw 2^31");
  CHECK(rr_mulw(0x1ffffffffULL, 0x100000001ULL) == M1, "mulw ignores upper bits");
  /* division: x/0 = -1 (all ones), x%0 = x; INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0 */
  CHECK(rr_div(7, 0) == M1, "div by zero");
  CHECK(rr_div(MIN64, 0) == M1, "div INT64_MIN by zero");
  CHECK(rr_divu(7, 0) == M1, "divu by zero");
  CHECK(rr_rem(7, 0) == 7, "rem by zero");
  CHECK(rr_rem(MIN64, 0) == MIN64, "rem INT64_MIN by zero");
  CHECK(rr_remu(M1, 0) == M1, "remu by zero");
  CHECK(rr_div(MIN64, M1) == MIN64, "div overflow");
  CHECK(rr_rem(MIN64, M1) == 0, "rem overflow");
  CHECK(rr_div((uint64_t)-7, 2) == (uint64_t)-3, "div rounds toward zero");
  CHECK(rr_rem((uint64_t)-7, 2) == (uint64_t)-1, "rem sign follows dividend");
  CHECK(rr_rem(7, (uint64_t)-2) == 1, "rem positive dividend");
  CHECK(rr_div(7, (uint64_t)-2) == (uint64_t)-3, "div by negative");
  CHECK(rr_divu(M1, 2) == MAX64, "divu");
  CHECK(rr_remu(M1, 10) == 5, "remu");
  CHECK(rr_divu(MIN64, M1) == 0, "divu no overflow");
  CHECK(rr_remu(MIN64, M1) == MIN64, "remu no overflow");
  /* W forms */
  CHECK(rr_divw(7, 0) == M1, "divw by zero");
  CHECK(rr_divuw(7, 0) == M1, "divuw by zero");
  CHECK(rr_divuw(0x1234567800000007ULL, 0xffffffff00000000ULL) == M1, "divuw zero low divisor");
  CHECK(rr_remw(0x123456780000000fULL, 0) == 15, "remw by zero");
  CHECK(rr_remw(0x80000005ULL, 0) == 0xffffffff80000005ULL, "remw by zero sign-extends");
  CHECK(rr_remuw(0x80000005ULL, 0) == 0xffffffff80000005ULL, "remuw by zero sign-extends");
  CHECK(rr_divw(0x80000000ULL, M1) == 0xffffffff80000000ULL, "divw overflow");
  CHECK(rr_remw(0x80000000ULL, M1) == 0, "remw overflow");
  CHECK(rr_divw(0xfffffff9ULL, 2) == (uint64_t)-3, "divw uses low 32 bits signed");
  CHECK(rr_remw(0xfffffff9ULL, 2) == M1, "remw negative");
  CHECK(rr_divuw(0xfffffffeULL, 1) == 0xfffffffffffffffeULL, "divuw result sign-extended");
  CHECK(rr_divuw(0xffffffffULL, 2) == 0x7fffffff, "divuw");
  CHECK(rr_remuw(0xffffffffULL, 0x80000000ULL) == 0x7fffffff, "remuw");
  CHECK(rr_remuw(0x8000000fULL, 0x100000000ULL | 0x90000000ULL) == 0xffffffff8000000fULL, "remuw sign-extends");
  CHECK(rr_divw(0x100000064ULL, 0x20000000aULL) == 10, "divw ignores upper bits");
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("isa_rv64m\n");
  test_explicit();
  for (unsigned k = 0; k < sizeof(rr_tab) / sizeof(rr_tab[0]); k++) {
    uint64_t s = 0;
    for (unsigned i = 0; i < NOPS; i++)
      for (unsigned j = 0; j < NOPS; j++) s = hs_checksum_add(s, rr_tab[k].f(ops[i], ops[j]));
    hs_puts(rr_tab[k].name);
    hs_puts(" ");
    hs_puthex(s);
    hs_puts("\n");
  }
  /* the div/rem identity a == div(a,b)*b + rem(a,b) for every pair, 64-bit and W forms */
  for (unsigned i = 0; i < NOPS; i++)
    for (unsigned j = 0; j < NOPS; j++) {
      uint64_t a = ops[i], b = ops[j];
      CHECK(rr_mul(rr_div(a, b), b) + rr_rem(a, b) == a, "div/rem identity");
      CHECK(rr_mul(rr_divu(a, b), b) + rr_remu(a, b) == a, "divu/remu identity");
      CHECK((uint32_t)(rr_mulw(rr_divw(a, b), b) + rr_remw(a, b)) == (uint32_t)a, "divw/remw identity");
      CHECK((uint32_t)(rr_mulw(rr_divuw(a, b), b) + rr_remuw(a, b)) == (uint32_t)a, "divuw/remuw identity");
      CHECK(rr_mul(a, b) == a * b, "mul matches C");
    }
  hs_puts("isa_rv64m: PASS\n");
  return 0;
}
