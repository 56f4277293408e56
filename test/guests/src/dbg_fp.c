#include "hs.h"
/* dbg_fp: a little double-precision work to step through in gdb-multiarch (info registers float,
   p $fa0, stepping forwards and backwards through FP instructions). Built rv64gc/lp64d. */

volatile double result;

__attribute__((noinline)) double damp(double x, double v) {
  return x * 0.5 + v;   /* fmadd.d or fmul.d + fadd.d */
}

__attribute__((noinline)) static void run(void) {
  double x = 1.0;
  for (int i = 0; i < 8; i++) x = damp(x, i * 0.25);
  result = x;
  uint64_t bits;
  __builtin_memcpy(&bits, (const void *)&result, 8);
  hs_puts("dbg_fp: result bits ");
  hs_puthex(bits);
  hs_putc('\n');
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  csr_set(mstatus, 1ULL << 13);   /* FS = Initial before any FP instruction */
  run();
  return 0;
}
