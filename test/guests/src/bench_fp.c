/* bench_fp: single-hart floating-point benchmark for `npm run bench` (scripts/bench.mjs): the
   classic 5-body planetary simulation in doubles (loads/stores, fmul/fadd/fmadd, fdiv, fsqrt).
   `iters=N` steps in /chosen/bootargs (hindsight --append iters=N, qemu -append iters=N; default 1000).
   Prints the system's energy before and after as raw bits, so every tier and QEMU must agree on
   every rounding. Built rv64gc/lp64d. */
#define BENCH_NO_MAIN
#include "bench_compute.c"   /* bootarg_u64 */

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DAYS_PER_YEAR 365.24
#define NBODIES 5

struct body { double x, y, z, vx, vy, vz, mass; };

static inline double fsqrt(double v) { double r; __asm__("fsqrt.d %0, %1" : "=f"(r) : "f"(v)); return r; }

static struct body bodies[NBODIES];

static void init(void) {
  static const struct body init_bodies[NBODIES] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03 * DAYS_PER_YEAR, 7.69901118419740425e-03 * DAYS_PER_YEAR,
     -6.90460016972063023e-05 * DAYS_PER_YEAR, 9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DAYS_PER_YEAR, 4.99852801234917238e-03 * DAYS_PER_YEAR,
     2.30417297573763929e-05 * DAYS_PER_YEAR, 2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03 * DAYS_PER_YEAR, 2.37847173959480950e-03 * DAYS_PER_YEAR,
     -2.96589568540237556e-05 * DAYS_PER_YEAR, 4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DAYS_PER_YEAR, 1.62824170038242295e-03 * DAYS_PER_YEAR,
     -9.51592254519715870e-05 * DAYS_PER_YEAR, 5.15138902046611451e-05 * SOLAR_MASS},
  };
  for (int i = 0; i < NBODIES; i++) bodies[i] = init_bodies[i];
  double px = 0, py = 0, pz = 0;
  for (int i = 0; i < NBODIES; i++) {
    px += bodies[i].vx * bodies[i].mass;
    py += bodies[i].vy * bodies[i].mass;
    pz += bodies[i].vz * bodies[i].mass;
  }
  bodies[0].vx = -px / SOLAR_MASS;
  bodies[0].vy = -py / SOLAR_MASS;
  bodies[0].vz = -pz / SOLAR_MASS;
}

static double energy(void) {
  double e = 0;
  for (int i = 0; i < NBODIES; i++) {
    struct body *b = &bodies[i];
    e += 0.5 * b->mass * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
    for (int j = i + 1; j < NBODIES; j++) {
      struct body *c = &bodies[j];
      double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
      e -= b->mass * c->mass / fsqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

static void advance(double dt) {
  for (int i = 0; i < NBODIES; i++) {
    struct body *b = &bodies[i];
    for (int j = i + 1; j < NBODIES; j++) {
      struct body *c = &bodies[j];
      double dx = b->x - c->x, dy = b->y - c->y, dz = b->z - c->z;
      double d2 = dx * dx + dy * dy + dz * dz;
      double mag = dt / (d2 * fsqrt(d2));
      b->vx -= dx * c->mass * mag; b->vy -= dy * c->mass * mag; b->vz -= dz * c->mass * mag;
      c->vx += dx * b->mass * mag; c->vy += dy * b->mass * mag; c->vz += dz * b->mass * mag;
    }
  }
  for (int i = 0; i < NBODIES; i++) {
    struct body *b = &bodies[i];
    b->x += dt * b->vx; b->y += dt * b->vy; b->z += dt * b->vz;
  }
}

static void put_bits(const char *what, double v) {
  uint64_t bits;
  __builtin_memcpy(&bits, &v, 8);
  hs_puts(what);
  hs_puthex(bits);
  hs_putc('\n');
}

__attribute__((noinline)) static void run(uint64_t steps) {
  init();
  put_bits("bench_fp: energy before ", energy());
  for (uint64_t s = 0; s < steps; s++) advance(0.01);
  put_bits("bench_fp: energy after ", energy());
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)bench_init; (void)bench_run; /* the integer kernels of the included file are not used here */
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  csr_set(mstatus, 1ULL << 13);   /* FS = Initial before any FP instruction */
  uint64_t steps = bootarg_u64(dtb, "iters", 1000);
  run(steps);
  hs_puts("bench_fp: steps ");
  hs_putdec(steps);
  hs_puts(" done\n");
  return 0;
}
