/* smp_amo_counter: amoadd.d and amoadd.w from every hart on shared counters (exact totals), plus
   amoor.w (one bit per hart), amomax.w / amominu.d (extremes over harts) and amoswap.d as a
   ticket exchange.  Hart 0 waits (bounded) for all harts and checks every result. */
#include "hs.h"

#define N 100000

static volatile uint64_t c64;
static volatile uint32_t c32;
static volatile uint32_t mask, maxv;
static volatile uint64_t minv = ~0UL, swapped, swap_sum;
static volatile uint32_t started, arrived;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  if (hartid == 0) hs_puts("smp_amo_counter: start\n");
  __asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(&started), "r"(1) : "memory");
  uint64_t end = mtime() + 50000000;
  while (started < (uint32_t)n && mtime() < end) {}
  uint64_t old_sum = 0;
  for (int i = 0; i < N; i++) {
    uint64_t old;
    __asm__ volatile("amoadd.d %0, %2, (%1)" : "=r"(old) : "r"(&c64), "r"(1UL) : "memory");
    old_sum += old;
    __asm__ volatile("amoadd.w.aq zero, %1, (%0)" :: "r"(&c32), "r"(3) : "memory");
  }
  uint64_t tmp;
  __asm__ volatile("amoor.w.rl %0, %2, (%1)" : "=r"(tmp) : "r"(&mask), "r"(1u << hartid) : "memory");
  __asm__ volatile("amomax.w %0, %2, (%1)" : "=r"(tmp) : "r"(&maxv), "r"((uint32_t)(hartid * 7 + 1)) : "memory");
  __asm__ volatile("amominu.d %0, %2, (%1)" : "=r"(tmp) : "r"(&minv), "r"(hartid + 100) : "memory");
  __asm__ volatile("amoswap.d %0, %2, (%1)" : "=r"(tmp) : "r"(&swapped), "r"(hartid + 1) : "memory");
  __asm__ volatile("amoadd.d zero, %1, (%0)" :: "r"(&swap_sum), "r"(tmp) : "memory");
  (void)old_sum;
  __asm__ volatile("amoadd.w.aqrl zero, %1, (%0)" :: "r"(&arrived), "r"(1) : "memory");
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  end = mtime() + 600000000;
  while (arrived < (uint32_t)n && mtime() < end) {}
  if (arrived != (uint32_t)n) hs_fail("not all harts arrived");
  __asm__ volatile("fence rw, rw" ::: "memory");
  hs_puts("info: harts=");
  hs_putdec(n);
  hs_puts(" amoadd.d=");
  hs_putdec(c64);
  hs_puts(" amoadd.w=");
  hs_putdec(c32);
  hs_puts("\n");
  if (c64 != (uint64_t)n * N) hs_fail("amoadd.d total");
  if (c32 != (uint32_t)(3 * n * N)) hs_fail("amoadd.w total");
  if (mask != (1u << n) - 1) hs_fail("amoor.w mask");
  if (maxv != (uint32_t)((n - 1) * 7 + 1)) hs_fail("amomax.w");
  if (minv != 100) hs_fail("amominu.d");
  /* swap chain: the values handed back are 0 plus every hart's value except the last one left in memory */
  uint64_t all = (uint64_t)n * (n + 1) / 2;
  if (swapped < 1 || swapped > (uint64_t)n || swap_sum != all - swapped) hs_fail("amoswap.d chain");
  hs_puts("smp_amo_counter: PASS\n");
  return 0;
}
