/* bench_parallel: multi-hart throughput benchmark for `npm run bench` (scripts/bench.mjs).
   Every hart runs the bench_compute workload (`iters=N` iterations from /chosen/bootargs) on its
   own private 2 MiB-aligned working set, seeded by its hart id.  Nothing is shared while working:
   at the end each hart stores its checksum in its own cache line and bumps an arrival counter with
   amoadd.w; hart 0 then waits for every hart, prints the per-hart and combined checksums and
   exits.  Work units = iters * harts. */
#define BENCH_NO_MAIN
#include "bench_compute.c"

#define MAX_HARTS 8

struct result { volatile uint64_t sum; uint64_t pad[7]; } __attribute__((aligned(64)));

static struct result results[MAX_HARTS];
static volatile uint32_t arrived __attribute__((aligned(64)));

int guest_main(uint64_t hartid, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (n > MAX_HARTS) n = MAX_HARTS;
  if (hartid >= (uint64_t)n) for (;;) __asm__ volatile("wfi");
  uint64_t iters = bootarg_u64(dtb, "iters", DEFAULT_ITERS);
  /* `extra0=N`: hart 0 runs N more iterations, so the other harts' results are written that
     long before the end (the debugger bench watches one and reverse-continues to it). */
  if (hartid == 0) iters += bootarg_u64(dtb, "extra0", 0);
  struct bench_state *st = bench_state_for(hartid);
  bench_init(st, hartid + 1);
  results[hartid].sum = bench_run(st, iters);
  __asm__ volatile("amoadd.w.aqrl zero, %1, (%0)" :: "r"(&arrived), "r"(1) : "memory");
  if (hartid != 0) for (;;) __asm__ volatile("wfi");

  while (arrived < (uint32_t)n) {}
  __asm__ volatile("fence rw, rw" ::: "memory");
  uint64_t all = 0x811c9dc5u;
  hs_puts("bench_parallel: harts=");
  hs_putdec((uint64_t)n);
  hs_puts(" iters=");
  hs_putdec(iters);
  hs_puts("\n");
  for (int h = 0; h < n; h++) {
    hs_puts("  hart ");
    hs_putdec((uint64_t)h);
    hs_puts(" checksum=");
    hs_puthex(results[h].sum);
    hs_puts("\n");
    all = hs_checksum_add(all, results[h].sum);
  }
  hs_puts("bench_parallel: combined checksum=");
  hs_puthex(all);
  hs_puts("\n");
  return 0;
}
