#include "hs.h"
/* Smallest end-to-end guest: UART output, hart count from the DTB, clean exit via the test device. */
int guest_main(uint64_t hartid, const void *dtb) {
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("hello from hart ");
  hs_putdec(hartid);
  hs_puts(" of ");
  hs_putdec(hs_num_harts(dtb));
  hs_puts("\n");
  return 0;
}
