/* smp_racy_counter: every hart does N unsynchronised load/add/store increments of one shared
   counter (plain ld/addi/sd, no AMO, no lock).  Truly parallel harts lose updates; hart 0 reports
   "info: total=" and "info: lost=" and always exits 0 -- the harness decides what to expect. */
#include "hs.h"

#define N 200000

static volatile uint64_t counter;
static volatile uint32_t started, arrived;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  if (hartid == 0) hs_puts("smp_racy_counter: start\n");
  __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
  uint64_t end = mtime() + 50000000;
  while (started < (uint32_t)n && mtime() < end) {}
  for (int i = 0; i < N; i++)
    __asm__ volatile("ld t0, 0(%0)\n addi t0, t0, 1\n sd t0, 0(%0)" :: "r"(&counter) : "t0", "memory");
  __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  end = mtime() + 600000000;
  while (arrived < (uint32_t)n && mtime() < end) {}
  if (arrived != (uint32_t)n) hs_fail("not all harts arrived");
  __asm__ volatile("fence rw, rw" ::: "memory");
  uint64_t total = counter, expect = (uint64_t)n * N;
  hs_puts("info: harts=");
  hs_putdec(n);
  hs_puts(" expected=");
  hs_putdec(expect);
  hs_puts("\ninfo: total=");
  hs_putdec(total);
  hs_puts("\ninfo: lost=");
  hs_putdec(expect - total);
  hs_puts("\n");
  if (total > expect || total == 0) hs_fail("impossible total");
  hs_puts("smp_racy_counter: PASS\n");
  return 0;
}
