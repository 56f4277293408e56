/* race_narrow: a check-then-act race whose window is three instructions (a load, a branch, a
   store) and which plain runs almost never lose, because the harts claim about a millisecond apart.

   Hart 0 says it is ready (after warming up) and waits for a start flag.  Hart 1 waits for that,
   raises the start flag and then waits STAGGER_TICKS of the machine's clock (1 ms) before it
   claims the slot: "if nobody owns it, take it".  Hart 0 sees the flag and claims at once,
   so its claim comes first, by a millisecond less the time it took to notice the flag (while
   recording: a thread wake-up, 0.05-some ms).  The claims only overlap if hart 0 is held up
   between its check and its act for about that long.  That is what `--chaos` does on purpose (a
   stall before the first write to a page the hart has just read) and a host preemption does by
   accident (rarely: the window is three instructions).

   The flag goes from hart 1 to hart 0 only, so hart 0, while held up in its window, holds nothing
   hart 1 needs to reach its own check.  The slot has a page of its own that nothing touches before
   the claims (it is in .data, which the loader fills, not .bss, which hart 0 clears at boot): while
   recording, hart 0 reads it as its only reader and turns that into writing without waiting for
   anybody, so the recording adds no ownership wait to the window.  (With a page the other hart
   had read too, the write would wait for that hart to let go, a thread wake-up during which the
   other hart could check: an earlier version of this guest failed in 11-30% of plain recordings.)
   Exit code 3 when the slot was claimed twice. */
#include "hs.h"

#define STAGGER_TICKS 10000 /* 1 ms of the 10 MHz timebase, per hart after hart 0 */

static struct { volatile uint64_t owner; volatile uint32_t claims; char pad[4096 - 12]; } slot __attribute__((aligned(4096), section(".data")));
static struct { volatile uint64_t time; volatile uint32_t go; char pad[4096 - 12]; } start __attribute__((aligned(4096)));
static struct { volatile uint32_t flag; char pad[4096 - 4]; } ready __attribute__((aligned(4096)));
static struct { volatile uint32_t count; char pad[4096 - 4]; } arrived __attribute__((aligned(4096)));

/* Each hart's private page for warming up: the claim's code runs hot (so the emulator's JIT has
   compiled it) before the race, so compiling cannot widen the window. */
static volatile uint64_t warm_slot[8][512] __attribute__((aligned(4096)));

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

__attribute__((noinline)) static void spin(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) __asm__ volatile("" ::: "memory");
}

/* The race: check, branch, act. */
__attribute__((noinline)) static void claim(volatile uint64_t *owner, volatile uint32_t *count, uint64_t hartid) {
  if (*owner == 0) {
    *owner = hartid + 1;
    __atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
  }
}

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  if (n < 2) hs_fail("race_narrow needs at least 2 harts");
  volatile uint32_t *warm_count = (volatile uint32_t *)&warm_slot[hartid][1];
  for (int i = 0; i < 300; i++) {
    warm_slot[hartid][0] = 0;
    claim(&warm_slot[hartid][0], warm_count, hartid);
    claim(&warm_slot[hartid][0], warm_count, hartid);
    spin(20);
  }
  if (hartid == 0) {
    __atomic_store_n(&ready.flag, 1, __ATOMIC_RELEASE);
  } else if (hartid == 1) {
    while (!__atomic_load_n(&ready.flag, __ATOMIC_ACQUIRE)) {}
    /* The clock is read after the flag is up: while recording, raising it may wait for hart 0 to
       give the page up, and the stagger must not run out meanwhile. */
    __atomic_store_n(&start.go, 1, __ATOMIC_RELEASE);
    start.time = mtime();
  }
  if (hartid != 1) {
    while (!__atomic_load_n(&start.go, __ATOMIC_ACQUIRE)) {}
  }
  if (hartid != 0) {
    while (start.time == 0) {}
    uint64_t until = start.time + hartid * STAGGER_TICKS;
    while (mtime() < until) {}
  }
  claim(&slot.owner, &slot.claims, hartid);
  __atomic_fetch_add(&arrived.count, 1, __ATOMIC_SEQ_CST);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  while (arrived.count < (uint32_t)n) {}
  __asm__ volatile("fence rw, rw" ::: "memory");
  hs_puts("info: owner=hart ");
  hs_putdec(slot.owner - 1);
  hs_puts(" claims=");
  hs_putdec(slot.claims);
  hs_puts("\n");
  if (slot.claims != 1) {
    hs_puts("race_narrow: FAIL: the slot was claimed more than once\n");
    hs_exit(3);
  }
  hs_puts("race_narrow: PASS\n");
  return 0;
}
