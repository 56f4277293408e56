/*
 * An init that never powers off (booted with rdinit=/idle): it says so, then sleeps forever,
 * so every hart idles in the kernel's WFI loop. Tests end it with --timeout.
 */
#include "sys.h"

int main(void) {
  put_str("hindsight-idle: sleeping forever\n");
  for (;;) sleep_ms(1000);
}
