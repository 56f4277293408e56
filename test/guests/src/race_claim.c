/* race_claim: a check-then-act race.  After a barrier every hart waits a pseudo-random while
   (seeded from the clock), then claims a shared slot: "if nobody owns it, do some set-up work,
   then take it".  Two harts that both check before either takes the slot both claim it, and the
   guest fails with exit code 3 -- in a minority of runs, which is what `record --until-failure`
   hunts.  The delay range and the check-to-act window set how often; race_narrow.c reuses this
   file with a window of a few instructions. */
#include "hs.h"

#ifndef DELAY_RANGE
#define DELAY_RANGE 10000   /* the random delay is 0..DELAY_RANGE-1 loop iterations */
#endif
#ifndef WINDOW
#define WINDOW 200         /* iterations of set-up work between the check and the act */
#endif
#ifndef GUEST_NAME
#define GUEST_NAME "race_claim"
#endif

static volatile uint64_t owner;
static volatile uint32_t claims;
static volatile uint32_t started, arrived;
static volatile uint64_t delay[8];
volatile uint64_t sink;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

__attribute__((noinline)) static void spin(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void set_up(uint64_t n) {
  uint64_t acc = n;
  for (uint64_t i = 0; i < n; i++) acc = acc * 31 + i;
  sink = acc;
}

/* The race: the check and the act are separated by set_up() (WINDOW > 0) or by just a branch. */
__attribute__((noinline)) static void claim(volatile uint64_t *slot, volatile uint32_t *count, uint64_t hartid) {
  if (*slot == 0) {
    if (WINDOW > 0) set_up(WINDOW);
    *slot = hartid + 1;
    __atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
  }
}

/* Each hart's private page for warming up: the race's code runs hot (so the emulator's JIT has
   compiled it) before the race, so compiling cannot widen the window. */
static volatile uint64_t warm_slot[8][512] __attribute__((aligned(4096)));

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  volatile uint32_t *warm_count = (volatile uint32_t *)&warm_slot[hartid][1];
  for (int i = 0; i < 300; i++) {
    warm_slot[hartid][0] = 0;
    claim(&warm_slot[hartid][0], warm_count, hartid);
    claim(&warm_slot[hartid][0], warm_count, hartid);
    spin(20);
  }
  __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
  uint64_t end = mtime() + 50000000;
  while (started < (uint32_t)n && mtime() < end) {}
  uint64_t seed = mtime() * 0x9e3779b97f4a7c15ULL + hartid * 0xbf58476d1ce4e5b9ULL;
  seed ^= seed >> 31;
  seed *= 0x94d049bb133111ebULL;
  seed ^= seed >> 29;
#ifdef STAGGER
  delay[hartid] = hartid * STAGGER; /* no randomness: harts come one after the other */
  (void)seed;
#else
  delay[hartid] = seed % DELAY_RANGE;
#endif
  spin(delay[hartid]);
  claim(&owner, &claims, hartid);
  __atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  end = mtime() + 600000000;
  while (arrived < (uint32_t)n && mtime() < end) {}
  if (arrived != (uint32_t)n) hs_fail("not all harts arrived");
  __asm__ volatile("fence rw, rw" ::: "memory");
  hs_puts("info: owner=hart ");
  hs_putdec(owner - 1);
  hs_puts(" claims=");
  hs_putdec(claims);
  hs_puts(" delays=");
  for (int h = 0; h < n; h++) { hs_putdec(delay[h]); hs_puts(h + 1 < n ? "," : ""); }
  hs_puts("\n");
  if (claims != 1) {
    hs_puts(GUEST_NAME ": FAIL: the slot was claimed more than once\n");
    hs_exit(3);
  }
  hs_puts(GUEST_NAME ": PASS\n");
  return 0;
}
