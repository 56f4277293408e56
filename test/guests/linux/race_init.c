/*
 * /init of hindsight's Linux test guest: 4 threads (clone) that
 *   (a) each add 1 to a shared counter ITERATIONS times with an atomic AMO: the total is exact;
 *   (b) each do ITERATIONS unsynchronised load/add/store increments of another counter: on
 *       several harts running in parallel, updates get lost;
 * then print both totals and power the machine off through reboot(2).
 */
#include "sys.h"

#define THREADS 4
#define ITERATIONS 100000
#define STACK_BYTES 16384

static char stacks[THREADS][STACK_BYTES] __attribute__((aligned(16)));
static volatile long start_flag;
static long atomic_total;
static volatile long racy_total;
static long threads_done;

long spawn_thread(void (*fn)(long), long arg, void *stack_top);

static void worker(long id) {
  (void)id;
  /* Start together, so the unsynchronised phase really overlaps. */
  while (!__atomic_load_n(&start_flag, __ATOMIC_ACQUIRE)) sys3(SYS_sched_yield, 0, 0, 0);
  for (long i = 0; i < ITERATIONS; i++) __atomic_fetch_add(&atomic_total, 1, __ATOMIC_RELAXED);
  for (long i = 0; i < ITERATIONS; i++) racy_total = racy_total + 1;
  __atomic_fetch_add(&threads_done, 1, __ATOMIC_RELEASE);
}

int main(void) {
  put_str("hindsight-init: starting 4 threads\n");
  for (long t = 0; t < THREADS; t++) {
    long tid = spawn_thread(worker, t, stacks[t] + STACK_BYTES);
    if (tid < 0) {
      put_str("hindsight-init: clone failed\n");
      power_off();
    }
  }
  __atomic_store_n(&start_flag, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&threads_done, __ATOMIC_ACQUIRE) != THREADS) sys3(SYS_sched_yield, 0, 0, 0);
  put_str("hindsight-init: atomic total ");
  put_ulong((ulong)atomic_total);
  put_str(" of ");
  put_ulong((ulong)THREADS * ITERATIONS);
  put_str("\nhindsight-init: racy total ");
  put_ulong((ulong)racy_total);
  put_str(" of ");
  put_ulong((ulong)THREADS * ITERATIONS);
  put_str("\nhindsight-init: powering off\n");
  power_off();
  put_str("hindsight-init: reboot(POWER_OFF) returned\n");
  return 1;
}
