/* smp_pause_handoff: the harts pass a turn around ROUNDS times in strict order, each waiting for its
   turn in a pause loop (Zihintpause, as Linux's cpu_relax in its ticket spinlocks), and add to a
   plain counter while the turn is theirs: the total is exact.  On harts that share a host thread
   (`--threads 1`) every hand-off needs the waiting hart to leave the thread to the one whose turn
   it is (engine/hart-runner.ts SHARED_SPINS_BEFORE_YIELD); the instructions they spin away show in
   `--stats`.  Hart 0 waits (bounded) for all harts and prints the total. */
#include "hs.h"

#define ROUNDS 2000

static volatile uint32_t turn;
static volatile uint64_t counter;
static volatile uint32_t started, arrived;

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  if (hartid == 0) hs_puts("smp_pause_handoff: start\n");
  hs_start_together(&started, n);
  for (uint32_t r = 0; r < ROUNDS; r++) {
    uint32_t mine = r * (uint32_t)n + (uint32_t)hartid;
    while (turn != mine) __asm__ volatile(".4byte 0x0100000f"); /* pause (Zihintpause; the toolchain's -march lacks it) */
    counter = counter + 1;
    __asm__ volatile("fence rw, w" ::: "memory");
    turn = mine + 1;
  }
  __asm__ volatile("amoadd.w.aqrl zero, %1, (%0)" :: "r"(&arrived), "r"(1) : "memory");
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  hs_await_all(&arrived, n);
  hs_puts("info: harts=");
  hs_putdec(n);
  hs_puts(" counter=");
  hs_putdec(counter);
  hs_puts("\n");
  if (counter != (uint64_t)n * ROUNDS) hs_fail("counter total");
  hs_puts("smp_pause_handoff: PASS\n");
  return 0;
}
