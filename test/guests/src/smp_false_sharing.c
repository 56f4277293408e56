/* smp_false_sharing: every hart works on its own 128-byte slot, and all slots share one page --
   false sharing, as xv6's harts write their own cpus[] entries on every lock operation. Each
   iteration increments the hart's counter (ld/addi/sd), rewrites a misaligned doubleword that
   straddles the slot's two 64-byte lines, and every 64th iteration adds to a counter all harts
   share (an AMO on the same page: true sharing, now and then). Hart 0 checks every total exactly
   and prints them; the output does not depend on timing. */
#include "hs.h"

#define N 100000
#define MAX_HARTS 8

struct slot {
  uint64_t count;
  uint8_t pad[52];
  uint8_t straddle[12]; /* bytes 60..71 of the slot: a doubleword at 60 spans both lines */
  uint64_t sum;
  uint8_t tail[48];
};
_Static_assert(sizeof(struct slot) == 128, "a slot is two 64-byte lines");

static struct {
  struct slot slots[MAX_HARTS];  /* 1 KiB */
  uint64_t shared;               /* AMO target */
  volatile uint32_t started, arrived;
} page __attribute__((aligned(4096)));

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (hartid >= MAX_HARTS) for (;;) __asm__ volatile("wfi");
  if (n > MAX_HARTS) n = MAX_HARTS;
  if (hartid == 0) hs_puts("smp_false_sharing: start\n");
  __atomic_fetch_add(&page.started, 1, __ATOMIC_SEQ_CST);
  uint64_t end = mtime() + 50000000;
  while (page.started < (uint32_t)n && mtime() < end) {}
  struct slot *s = &page.slots[hartid];
  uint8_t *straddle = &s->straddle[0];
  for (int i = 0; i < N; i++) {
    __asm__ volatile("ld t0, 0(%0)\n addi t0, t0, 1\n sd t0, 0(%0)" :: "r"(&s->count) : "t0", "memory");
    uint64_t v;
    /* one misaligned doubleword load and store across the slot's two lines */
    __asm__ volatile("ld %0, 0(%1)\n add %0, %0, %2\n sd %0, 0(%1)" : "=&r"(v) : "r"(straddle), "r"((uint64_t)i) : "memory");
    s->sum += v & 0xff;
    if ((i & 63) == 0) __atomic_fetch_add(&page.shared, 1, __ATOMIC_RELAXED);
  }
  __atomic_fetch_add(&page.arrived, 1, __ATOMIC_SEQ_CST);
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  end = mtime() + 600000000;
  while (page.arrived < (uint32_t)n && mtime() < end) {}
  if (page.arrived != (uint32_t)n) hs_fail("not all harts arrived");
  __asm__ volatile("fence rw, rw" ::: "memory");
  uint64_t expect_straddle = (uint64_t)N * (N - 1) / 2;
  for (int h = 0; h < n; h++) {
    struct slot *t = &page.slots[h];
    hs_puts("info: hart ");
    hs_putdec(h);
    hs_puts(" count=");
    hs_putdec(t->count);
    hs_puts(" sum=");
    hs_putdec(t->sum);
    hs_puts("\n");
    hs_check(t->count == N, "a hart's own counter lost an update");
    uint64_t got;
    __asm__ volatile("ld %0, 0(%1)" : "=r"(got) : "r"(&t->straddle[0]) : "memory");
    hs_check(got == expect_straddle, "a straddling doubleword is wrong");
  }
  hs_puts("info: shared=");
  hs_putdec(page.shared);
  hs_puts("\n");
  hs_check(page.shared == (uint64_t)n * ((N + 63) / 64), "the shared AMO counter lost an update");
  hs_puts("smp_false_sharing: PASS\n");
  return 0;
}
