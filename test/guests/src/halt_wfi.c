#include "hs.h"
/*
 * A guest that halts for good: every hart ends in the `wfi; j` idiom with no interrupt enabled
 * (mie = 0), which nothing can wake. Hart 0 first counts to a little work so that the harts halt at
 * different times. Tests the machine's halt detection (src/engine/hart-runner.ts, HALT_LOOPS).
 */
int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid == 0) {
    volatile uint64_t n = 0;
    for (int i = 0; i < 100000; i++) n++;
    hs_puts("halting\n");
  }
  __asm__ volatile("csrw mie, zero");
  for (;;) __asm__ volatile("wfi");
}
