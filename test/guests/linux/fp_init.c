/*
 * /fpinit of hindsight's Linux test guest (rdinit=/fpinit; built rv64gc/lp64d, the kernel has
 * CONFIG_FPU=y): THREADS threads (more than the harts, so they share them) each run a
 * double-precision loop (fdiv, fsqrt, fmadd, fcvt to single and to integers) under their own
 * rounding mode, set in their own frm, and yield the hart every YIELD_EVERY iterations while their
 * accumulators stay live in FP registers. Then main prints each thread's results as raw bits with
 * its accumulated fflags, and how many times each thread was switched out, and powers off.
 * The bits depend only on the rounding mode (QEMU must print the same), so a kernel that lost a
 * thread's f registers or fcsr across a context switch, or an emulator that did, changes them.
 */
#include "sys.h"

#define THREADS 6
#define ITERATIONS 6000
#define YIELD_EVERY 500
#define STACK_BYTES 16384
#define SYS_getrusage 165
#define RUSAGE_THREAD 1

struct rusage_k { long utime[2], stime[2]; long maxrss, ixrss, idrss, isrss, minflt, majflt, nswap,
                  inblock, oublock, msgsnd, msgrcv, nsignals, nvcsw, nivcsw; };

struct result { double acc, y; float single; long whole; ulong fflags; long switches; };

static char stacks[THREADS][STACK_BYTES] __attribute__((aligned(16)));
static struct result results[THREADS];
static volatile long start_flag;
static long threads_done;

long spawn_thread(void (*fn)(long), long arg, void *stack_top);

static inline void set_frm(ulong rm) { asm volatile("fsrm %0" : : "r"(rm)); }
static inline ulong get_fflags(void) { ulong v; asm volatile("frflags %0" : "=r"(v)); return v; }
static inline double fsqrt_dyn(double v) { double r; asm volatile("fsqrt.d %0, %1" : "=f"(r) : "f"(v)); return r; }
static inline double fmadd_dyn(double a, double b, double c) { double r; asm volatile("fmadd.d %0, %1, %2, %3" : "=f"(r) : "f"(a), "f"(b), "f"(c)); return r; }
static inline long fcvt_l_dyn(double v) { long r; asm volatile("fcvt.l.d %0, %1" : "=r"(r) : "f"(v)); return r; }
static inline float fcvt_s_dyn(double v) { float r; asm volatile("fcvt.s.d %0, %1" : "=f"(r) : "f"(v)); return r; }

static void worker(long id) {
  while (!__atomic_load_n(&start_flag, __ATOMIC_ACQUIRE)) sys3(SYS_sched_yield, 0, 0, 0);
  set_frm((ulong)id % 5);            /* RNE, RTZ, RDN, RUP, RMM, RNE */
  asm volatile("csrw fflags, zero");
  double x = 1.0 + (double)id / 7.0, y = 0.5, acc = 0;
  float single = 0;
  long whole = 0;
  for (long i = 1; i <= ITERATIONS; i++) {
    x = x * 1.0000001 + 1e-3 / (x + (double)i);
    y = fsqrt_dyn(y * y + x) * 0.5;
    acc = fmadd_dyn(x, y, acc);
    single = single * 0.999f + fcvt_s_dyn(y);
    whole += fcvt_l_dyn(acc / 3.0);
    if (i % YIELD_EVERY == 0) sys3(SYS_sched_yield, 0, 0, 0);  /* acc, x, y live across it */
  }
  struct rusage_k ru;
  sys3(SYS_getrusage, RUSAGE_THREAD, (long)&ru, 0);
  results[id] = (struct result){ acc, y, single, whole, get_fflags(), ru.nvcsw + ru.nivcsw };
  __atomic_fetch_add(&threads_done, 1, __ATOMIC_RELEASE);
}

static void put_hex(ulong v, int digits) {
  char buf[17];
  for (int i = digits - 1; i >= 0; i--) { buf[i] = "0123456789abcdef"[v & 15]; v >>= 4; }
  buf[digits] = 0;
  put_str(buf);
}

static ulong bits64(double d) { ulong u; __builtin_memcpy(&u, &d, 8); return u; }
static ulong bits32(float f) { unsigned u; __builtin_memcpy(&u, &f, 4); return u; }

int main(void) {
  put_str("hindsight-fpinit: starting threads\n");
  for (long t = 0; t < THREADS; t++) {
    if (spawn_thread(worker, t, stacks[t] + STACK_BYTES) < 0) {
      put_str("hindsight-fpinit: clone failed\n");
      power_off();
    }
  }
  __atomic_store_n(&start_flag, 1, __ATOMIC_RELEASE);
  while (__atomic_load_n(&threads_done, __ATOMIC_ACQUIRE) != THREADS) sys3(SYS_sched_yield, 0, 0, 0);
  long switches = 0;
  for (long t = 0; t < THREADS; t++) {
    struct result *r = &results[t];
    put_str("hindsight-fpinit: thread "); put_ulong((ulong)t);
    put_str(" rm "); put_ulong((ulong)t % 5);
    put_str(" acc "); put_hex(bits64(r->acc), 16);
    put_str(" y "); put_hex(bits64(r->y), 16);
    put_str(" single "); put_hex(bits32(r->single), 8);
    put_str(" whole "); put_hex((ulong)r->whole, 16);
    put_str(" fflags "); put_hex(r->fflags, 2);
    put_str("\n");
    switches += r->switches;
  }
  put_str("hindsight-fpinit: context switches "); put_ulong((ulong)switches);
  put_str("\nhindsight-fpinit: powering off\n");
  power_off();
  return 1;
}
