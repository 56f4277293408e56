#include "hs.h"
/* A guest that never ends: every hart spins in a loop with no WFI. Tests --timeout and Ctrl-C. */
int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid == 0) hs_puts("spinning\n");
  volatile uint64_t n = 0;
  for (;;) n++;
}
