/* irq_at_exit: the other harts sleep in WFI with machine software interrupts enabled; hart 0 wakes
   them all with an IPI and powers the machine off in the same breath.  Under serial recording the
   sleepers never get to take the IPI, so their final state is "interrupt pending, not taken": a
   replay must stop each hart exactly where the recording did, not one safe point later. */
#include "hs.h"

#define MIE_MSIE (1UL << 3)
#define MSTATUS_MIE (1UL << 3)

static volatile uint32_t sleeping[8];
static volatile uint64_t woken[8];

static void __attribute__((interrupt("machine"), aligned(4))) on_ipi(void) {
  uint64_t h = csr_read(mhartid);
  mmio_w32(CLINT_MSIP(h), 0);
  woken[h]++;
}

int guest_main(uint64_t hartid, const void *dtb) {
  int harts = hs_num_harts(dtb);
  if (hartid != 0) {
    csr_write(mtvec, (uint64_t)on_ipi);
    csr_set(mie, MIE_MSIE);
    csr_set(mstatus, MSTATUS_MIE);
    sleeping[hartid] = 1;
    for (;;) __asm__ volatile("wfi");
  }
  for (int h = 1; h < harts; h++) while (!sleeping[h]) {}
  /* Let the sleepers settle into WFI for a while (virtual time moves on while all idle). */
  for (volatile int i = 0; i < 20000; i++) {}
  hs_puts("irq_at_exit: waking the others and powering off\n");
  for (int h = 1; h < harts; h++) mmio_w32(CLINT_MSIP(h), 1);
  hs_exit(0);
}
