/* smp_mp_litmus: message passing.  Hart 1 writes data, fence w,w, then flag; hart 0 waits for the
   flag, fence r,r, reads data.  Many rounds, sequenced by a third variable (go).  The outcome
   "flag new but data old" is forbidden with the fences and must never occur.  A second phase runs
   the same protocol without fences and only reports how often the relaxed outcome was seen.
   With fewer than 2 harts both phases are skipped. */
#include "hs.h"

#define ROUNDS 20000

static volatile uint64_t data, flag, go, phase_done;
static volatile uint32_t ready;
static volatile uint64_t data2[8];

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

static void writer(void) {
  for (uint64_t ph = 0; ph < 2; ph++) {
    for (uint64_t r = 1; r <= ROUNDS; r++) {
      uint64_t want = ph * ROUNDS + r;
      uint64_t end = mtime() + 50000000;
      for (uint32_t spin = 0; go != want; spin++)
        if ((spin & 4095) == 4095 && mtime() > end) goto out;
      if (ph == 0) {
        __asm__ volatile("sd %1, 0(%0)\n fence w, w\n sd %1, 0(%2)"
                         :: "r"(&data), "r"(want), "r"(&flag) : "memory");
      } else {
        __asm__ volatile("sd %1, 0(%0)\n sd %1, 0(%2)"
                         :: "r"(&data), "r"(want), "r"(&flag) : "memory");
      }
    }
  }
out:
  for (;;) __asm__ volatile("wfi");
}

/* returns the number of rounds in which the flag was seen new but the data old; ~0 on timeout */
static uint64_t reader(uint64_t ph) {
  uint64_t bad = 0;
  for (uint64_t r = 1; r <= ROUNDS; r++) {
    uint64_t want = ph * ROUNDS + r, f, d;
    __asm__ volatile("fence rw, rw" ::: "memory");
    go = want;
    uint64_t end = mtime() + 50000000;
    for (uint32_t spin = 0;; spin++) {
      if (ph == 0)
        __asm__ volatile("ld %0, 0(%2)\n fence r, r\n ld %1, 0(%3)"
                         : "=&r"(f), "=&r"(d) : "r"(&flag), "r"(&data) : "memory");
      else
        __asm__ volatile("ld %0, 0(%2)\n ld %1, 0(%3)"
                         : "=&r"(f), "=&r"(d) : "r"(&flag), "r"(&data) : "memory");
      if (f == want) break;
      if ((spin & 4095) == 4095 && mtime() > end) return ~0UL;
    }
    if (d != want) bad++;
  }
  return bad;
}

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid == 1) writer();
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  hs_puts("smp_mp_litmus: start\n");
  if (n < 2) {
    hs_puts("info: skipped (needs 2 harts)\n");
    hs_puts("smp_mp_litmus: PASS\n");
    return 0;
  }
  uint64_t bad = reader(0);
  if (bad == ~0UL) hs_fail("timeout in fenced phase");
  hs_puts("info: fenced rounds=");
  hs_putdec(ROUNDS);
  hs_puts(" forbidden=");
  hs_putdec(bad);
  hs_puts("\n");
  if (bad) hs_fail("flag seen but data stale despite fence w,w / fence r,r");
  uint64_t relaxed = reader(1);
  if (relaxed == ~0UL) hs_fail("timeout in unfenced phase");
  hs_puts("info: unfenced-relaxed=");
  hs_putdec(relaxed);
  hs_puts("\n");
  hs_puts("smp_mp_litmus: PASS\n");
  return 0;
}
