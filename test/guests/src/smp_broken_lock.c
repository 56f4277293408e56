#include "hs.h"
/*
 * A deliberately broken LR/SC spinlock: the acquire sequence ignores the result of sc.w, so two
 * harts that both saw the lock free both "take" it. The critical section's non-atomic increment
 * then loses updates only when harts really run in parallel and race inside the window.
 * Prints the total and the number of lost updates on "info:" lines; always exits 0.
 */
#define N 20000
static volatile uint32_t lock_word;
static volatile uint64_t counter;
static volatile uint32_t finished;

static void broken_lock(volatile uint32_t *l) {
  uint32_t seen, ignored;
  do {
    __asm__ volatile("lr.w.aq %0, (%1)" : "=r"(seen) : "r"(l) : "memory");
  } while (seen != 0);
  /* Some work between seeing the lock free and claiming it widens the window. */
  for (volatile int spin = 0; spin < 8; spin++) {}
  /* BUG: the store-conditional may fail (another hart got there first) and we never look. */
  __asm__ volatile("sc.w.rl %0, %2, (%1)" : "=r"(ignored) : "r"(l), "r"(1u) : "memory");
  (void)ignored;
}

static void unlock(volatile uint32_t *l) {
  __asm__ volatile("fence rw, w" ::: "memory");
  *l = 0;
}

int guest_main(uint64_t hartid, const void *dtb) {
  int harts = hs_num_harts(dtb);
  if (hartid >= (uint64_t)harts || harts > 8) for (;;) __asm__ volatile("wfi");
  for (int i = 0; i < N; i++) {
    broken_lock(&lock_word);
    uint64_t v = counter;
    for (volatile int spin = 0; spin < 16; spin++) {} /* a critical section that takes a while */
    counter = v + 1;
    unlock(&lock_word);
  }
  __atomic_fetch_add(&finished, 1, __ATOMIC_ACQ_REL);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != (uint32_t)harts) {}
  uint64_t expected = (uint64_t)N * harts;
  hs_puts("smp_broken_lock: start\ninfo: total=");
  hs_putdec(counter);
  hs_puts("\ninfo: lost=");
  hs_putdec(expected - counter);
  hs_puts("\nsmp_broken_lock: PASS\n");
  return 0;
}
