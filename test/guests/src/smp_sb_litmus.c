/* smp_sb_litmus: store buffering.  Each round hart 0 stores x = 1 then loads y, hart 1 stores
   y = 1 then loads x, both starting when hart 0 publishes the round number (go); hart 1 hands its
   load back through r1/done.  With a fence rw,rw between each hart's store and load, the outcome
   "both loads saw 0" is forbidden and must never occur (phase 1).  Without the fences (phase 2) it
   is allowed (a store buffer, as on x86 or a RISC-V core with RVWMO) and only counted.  Prints the
   count of each outcome (r0 r1) per phase.  With fewer than 2 harts both phases are skipped.
   `rounds=N` in /chosen/bootargs (--append) sets the rounds per phase (default 20000). */
#include "hs.h"
#include "bootargs.h"

#define DEFAULT_ROUNDS 20000

/* x and y on pages of their own, as separate variables usually are; the handshake on a third. */
static volatile uint64_t x __attribute__((aligned(4096)));
static volatile uint64_t y __attribute__((aligned(4096)));
static volatile uint64_t go __attribute__((aligned(4096)));
static volatile uint64_t done, r1_out;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

static void responder(uint64_t rounds) {
  for (uint64_t ph = 0; ph < 2; ph++) {
    for (uint64_t r = 1; r <= rounds; r++) {
      uint64_t want = ph * rounds + r, r1;
      uint64_t end = mtime() + 50000000;
      for (uint32_t spin = 0; go != want; spin++)
        if ((spin & 4095) == 4095 && mtime() > end) goto out;
      if (ph == 0)
        __asm__ volatile("sd %2, 0(%1)\n fence rw, rw\n ld %0, 0(%3)" : "=&r"(r1) : "r"(&y), "r"(1UL), "r"(&x) : "memory");
      else
        __asm__ volatile("sd %2, 0(%1)\n ld %0, 0(%3)" : "=&r"(r1) : "r"(&y), "r"(1UL), "r"(&x) : "memory");
      r1_out = r1;
      __asm__ volatile("fence rw, rw" ::: "memory");
      done = want;
    }
  }
out:
  for (;;) __asm__ volatile("wfi");
}

/* Fills outcome[r0 * 2 + r1]; returns 0, or ~0 on timeout. */
static uint64_t initiator(uint64_t ph, uint64_t outcome[4], uint64_t rounds) {
  for (uint64_t r = 1; r <= rounds; r++) {
    uint64_t want = ph * rounds + r, r0;
    x = 0;
    y = 0;
    __asm__ volatile("fence rw, rw" ::: "memory");
    go = want;
    if (ph == 0)
      __asm__ volatile("sd %2, 0(%1)\n fence rw, rw\n ld %0, 0(%3)" : "=&r"(r0) : "r"(&x), "r"(1UL), "r"(&y) : "memory");
    else
      __asm__ volatile("sd %2, 0(%1)\n ld %0, 0(%3)" : "=&r"(r0) : "r"(&x), "r"(1UL), "r"(&y) : "memory");
    uint64_t end = mtime() + 50000000;
    for (uint32_t spin = 0; done != want; spin++)
      if ((spin & 4095) == 4095 && mtime() > end) return ~0UL;
    __asm__ volatile("fence rw, rw" ::: "memory");
    outcome[(r0 ? 2 : 0) + (r1_out ? 1 : 0)]++;
  }
  return 0;
}

static void report(const char *phase, const uint64_t outcome[4], uint64_t rounds) {
  hs_puts("info: ");
  hs_puts(phase);
  hs_puts(" rounds=");
  hs_putdec(rounds);
  for (int k = 0; k < 4; k++) {
    hs_puts(k == 0 ? " r0r1=00:" : k == 1 ? " 01:" : k == 2 ? " 10:" : " 11:");
    hs_putdec(outcome[k]);
  }
  hs_puts("\n");
}

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  uint64_t rounds = bootarg_u64(dtb, "rounds", DEFAULT_ROUNDS);
  if (hartid == 1) responder(rounds);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  hs_puts("smp_sb_litmus: start\n");
  if (n < 2) {
    hs_puts("info: skipped (needs 2 harts)\n");
    hs_puts("smp_sb_litmus: PASS\n");
    return 0;
  }
  uint64_t fenced[4] = {0, 0, 0, 0}, relaxed[4] = {0, 0, 0, 0};
  if (initiator(0, fenced, rounds)) hs_fail("timeout in fenced phase");
  report("fenced", fenced, rounds);
  if (fenced[0]) hs_fail("both loads saw 0 despite fence rw,rw");
  if (initiator(1, relaxed, rounds)) hs_fail("timeout in unfenced phase");
  report("unfenced", relaxed, rounds);
  hs_puts("smp_sb_litmus: PASS\n");
  return 0;
}
