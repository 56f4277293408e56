/* smp_spinlock: an LR/SC spinlock (lr.w.aq / sc.w, release by fence rw,w + sw) protecting a plain
   64-bit counter; every hart increments it N times.  Hart 0 waits for all harts (amoadd arrival
   counter, bounded by mtime) and requires total == harts * N exactly.  Runs on 1..8 harts. */
#include "hs.h"

#define N 100000

static volatile uint32_t lock_word;
static volatile uint64_t counter;
static volatile uint32_t started, arrived;

static void lock(volatile uint32_t *l) {
  __asm__ volatile(
    "1: lr.w.aq t0, (%0)\n"
    "   bnez t0, 1b\n"
    "   li t1, 1\n"
    "   sc.w t0, t1, (%0)\n"
    "   bnez t0, 1b\n"
    :: "r"(l) : "t0", "t1", "memory");
}
static void unlock(volatile uint32_t *l) {
  __asm__ volatile("fence rw, w\n sw zero, 0(%0)" :: "r"(l) : "memory");
}
static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= 8) for (;;) __asm__ volatile("wfi");
  if (n > 8) n = 8;
  if (hartid == 0) hs_puts("smp_spinlock: start\n");
  __atomic_fetch_add(&started, 1, __ATOMIC_SEQ_CST);
  uint64_t end = mtime() + 50000000;           /* 5 s */
  while (started < (uint32_t)n && mtime() < end) {}
  for (int i = 0; i < N; i++) {
    lock(&lock_word);
    counter = counter + 1;
    unlock(&lock_word);
  }
  __asm__ volatile("amoadd.w.aqrl zero, %1, (%0)" :: "r"(&arrived), "r"(1) : "memory");
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  end = mtime() + 600000000;                     /* 60 s */
  while (arrived < (uint32_t)n && mtime() < end) {}
  if (arrived != (uint32_t)n) hs_fail("not all harts arrived");
  __asm__ volatile("fence rw, rw" ::: "memory");
  hs_puts("info: harts=");
  hs_putdec(n);
  hs_puts(" total=");
  hs_putdec(counter);
  hs_puts("\n");
  if (counter != (uint64_t)n * N) hs_fail("lost increments under the spinlock");
  if (lock_word != 0) hs_fail("lock still held");
  hs_puts("smp_spinlock: PASS\n");
  return 0;
}
