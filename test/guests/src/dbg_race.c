/* dbg_race: the debugger's lost-update scenario.  Every hart calls bump() ROUNDS times; bump()
   reads the shared counter, works a while (so another hart can write meanwhile) and writes back
   the value it read plus one -- a racy read-modify-write whose lost updates the debugger tests
   chase with `watch counter` + reverse-continue.  Hart 0 reports the total in report(). */
#include "hs.h"

#define ROUNDS 6

volatile uint64_t counter;
volatile uint64_t work_sink;
static volatile uint32_t started, arrived;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

__attribute__((noinline)) uint64_t work(uint64_t n) {
  uint64_t acc = n;
  for (uint64_t i = 0; i < n; i++) acc = acc * 31 + i;
  work_sink = acc;
  return acc;
}

__attribute__((noinline)) void bump(uint64_t hartid) {
  uint64_t seen = counter;
  work(400 + 50 * hartid);
  counter = seen + 1;
}

__attribute__((noinline)) void report(uint64_t total, uint64_t expect) {
  hs_puts("info: total=");
  hs_putdec(total);
  hs_puts(" expected=");
  hs_putdec(expect);
  hs_puts("\n");
}

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
  uint64_t end = mtime() + 50000000;
  while (started < (uint32_t)n && mtime() < end) {}
  for (int round = 0; round < ROUNDS; round++) {
    bump(hartid);
    work(300);
  }
  __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  end = mtime() + 600000000;
  while (arrived < (uint32_t)n && mtime() < end) {}
  __asm__ volatile("fence rw, rw" ::: "memory");
  report(counter, (uint64_t)n * ROUNDS);
  hs_puts("dbg_race: done\n");
  return 0;
}
