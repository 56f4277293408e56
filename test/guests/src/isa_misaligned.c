#include "hs.h"
/* isa_misaligned: misaligned memory accesses from M-mode.
   Reference behaviour (QEMU 7.2, virt, M-mode, bare): ordinary misaligned loads and stores
   (LH/LHU/LW/LWU/LD/SH/SW/SD and the compressed C.LW/C.LD/C.SW/C.SD) are performed without a trap,
   including accesses that cross an 8-byte boundary and a 4 KiB page boundary; this guest checks
   exactly that, byte by byte.
   Atomics must be naturally aligned:
   - LR.W/LR.D misaligned: load address-misaligned (cause 4), mtval = address, rd unchanged.
   - AMO misaligned: address-misaligned, mtval = address, memory and rd unchanged. The spec says
     store/AMO address misaligned (6); QEMU 7.2 reports 4, so either is accepted.
   - SC misaligned: the spec calls for an exception; QEMU 7.2 instead just fails the SC (rd != 0)
     because no reservation can match. Either is accepted, but memory must be unchanged. */

#include "trap_rec.h"

#define CHECK(cond, msg) hs_check((cond), msg)

static volatile uint8_t buf[8192] __attribute__((aligned(4096)));

static uint8_t pat(unsigned i) { return (uint8_t)(i * 113 + 0x5b) ^ (uint8_t)(i >> 8); }
static void fill(void) { for (unsigned i = 0; i < sizeof(buf); i++) buf[i] = pat(i); }
static uint64_t ref(unsigned off, unsigned n) {   /* little-endian, zero-extended */
  uint64_t v = 0;
  for (unsigned k = 0; k < n; k++) v |= (uint64_t)buf[off + k] << (8 * k);
  return v;
}
static uint64_t sext(uint64_t v, unsigned bits) { return (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits)); }

#define LOAD(insn, a) ({ uint64_t __r; __asm__ volatile(insn " %0, 0(%1)" : "=r"(__r) : "r"(a) : "memory"); __r; })
#define STORE(insn, a, v) __asm__ volatile(insn " %0, 0(%1)" :: "r"((uint64_t)(v)), "r"(a) : "memory")

/* offsets to probe: around an 8-byte boundary and around the 4 KiB page boundary */
static const unsigned offs[] = { 1, 2, 3, 4, 5, 6, 7, 9, 13, 15, 4089, 4090, 4091, 4092, 4093, 4094, 4095 };
#define NOFFS (sizeof(offs) / sizeof(offs[0]))

static void test_loads(void) {
  uint64_t sum = 0;
  fill();
  for (unsigned i = 0; i < NOFFS; i++) {
    volatile uint8_t *a = buf + offs[i];
    unsigned o = offs[i];
    T_COUNT = 0;
    uint64_t h = LOAD("lh", a), hu = LOAD("lhu", a), w = LOAD("lw", a), wu = LOAD("lwu", a), d = LOAD("ld", a);
    CHECK(T_COUNT == 0, "misaligned loads do not trap");
    CHECK(h == sext(ref(o, 2), 16), "misaligned lh");
    CHECK(hu == ref(o, 2), "misaligned lhu");
    CHECK(w == sext(ref(o, 4), 32), "misaligned lw");
    CHECK(wu == ref(o, 4), "misaligned lwu");
    CHECK(d == ref(o, 8), "misaligned ld");
    sum = hs_checksum_add(sum, h);
    sum = hs_checksum_add(sum, hu);
    sum = hs_checksum_add(sum, w);
    sum = hs_checksum_add(sum, wu);
    sum = hs_checksum_add(sum, d);
    /* compressed forms */
    uint64_t cw, cd;
    __asm__ volatile("mv a1, %1\n\tc.lw a0, 0(a1)\n\tmv %0, a0" : "=r"(cw) : "r"(a) : "memory", "a0", "a1");
    __asm__ volatile("mv a1, %1\n\tc.ld a0, 0(a1)\n\tmv %0, a0" : "=r"(cd) : "r"(a) : "memory", "a0", "a1");
    CHECK(cw == sext(ref(o, 4), 32), "misaligned c.lw");
    CHECK(cd == ref(o, 8), "misaligned c.ld");
  }
  hs_puts("loads ");
  hs_puthex(sum);
  hs_puts("\n");
}

static void check_store(unsigned o, unsigned n, uint64_t v, const char *what) {
  unsigned lo = o >= 4 ? o - 4 : 0;
  for (unsigned k = 0; k < 16; k++) {
    unsigned at = lo + k;
    uint8_t want = (at >= o && at < o + n) ? (uint8_t)(v >> (8 * (at - o))) : pat(at);
    if (buf[at] != want) hs_fail(what);
  }
}

static void test_stores(void) {
  uint64_t sum = 0;
  const uint64_t v = 0x8877665544332211ULL;
  for (unsigned i = 0; i < NOFFS; i++) {
    volatile uint8_t *a = buf + offs[i];
    unsigned o = offs[i];
    T_COUNT = 0;
    fill(); STORE("sh", a, v); check_store(o, 2, v, "misaligned sh");
    fill(); STORE("sw", a, v); check_store(o, 4, v, "misaligned sw");
    fill(); STORE("sd", a, v); check_store(o, 8, v, "misaligned sd");
    fill();
    __asm__ volatile("mv a0, %0\n\tmv a1, %1\n\tc.sw a0, 0(a1)" :: "r"(~v), "r"(a) : "memory", "a0", "a1");
    check_store(o, 4, ~v, "misaligned c.sw");
    fill();
    __asm__ volatile("mv a0, %0\n\tmv a1, %1\n\tc.sd a0, 0(a1)" :: "r"(~v), "r"(a) : "memory", "a0", "a1");
    check_store(o, 8, ~v, "misaligned c.sd");
    CHECK(T_COUNT == 0, "misaligned stores do not trap");
    sum = hs_checksum_add(sum, *(volatile uint64_t *)(buf + (o & ~7u)));
    sum = hs_checksum_add(sum, *(volatile uint64_t *)(buf + (o & ~7u) + 8));
  }
  /* a store then loads of other widths/offsets overlapping it */
  fill();
  STORE("sd", buf + 3, 0x0123456789abcdefULL);
  CHECK(LOAD("lw", buf + 5) == 0x456789abULL, "overlapping lw after misaligned sd");
  CHECK(LOAD("lh", buf + 9) == 0x0123ULL, "overlapping lh after misaligned sd");
  CHECK(LOAD("lhu", buf + 2) == (uint64_t)(0xef00 | pat(2)), "overlapping lhu after misaligned sd");
  hs_puts("stores ");
  hs_puthex(sum);
  hs_puts("\n");
}

#define AMO_MISALIGNED_CAUSE(c) ((c) == 6 || (c) == 4)

static void test_atomics(void) {
  uint64_t r;
  fill();
  uint64_t w0 = *(volatile uint64_t *)buf, w1 = *(volatile uint64_t *)(buf + 8);
  /* LR: load address misaligned */
  for (unsigned o = 1; o < 8; o++) {
    T_COUNT = 0;
    r = 0x5555;
    if (o & 3) {
      __asm__ volatile("lr.w %0, (%1)" : "+r"(r) : "r"(buf + o) : "memory");
      CHECK(T_COUNT == 1 && T_CAUSE == 4 && T_TVAL == (uint64_t)(buf + o) && r == 0x5555, "misaligned lr.w -> cause 4");
    }
    T_COUNT = 0;
    __asm__ volatile("lr.d %0, (%1)" : "+r"(r) : "r"(buf + o) : "memory");
    CHECK(T_COUNT == 1 && T_CAUSE == 4 && T_TVAL == (uint64_t)(buf + o) && r == 0x5555, "misaligned lr.d -> cause 4");
  }
  /* AMO */
  for (unsigned o = 1; o < 8; o++) {
    if (o & 3) {
      T_COUNT = 0;
      __asm__ volatile("amoadd.w %0, %2, (%1)" : "+r"(r) : "r"(buf + o), "r"(1ULL) : "memory");
      CHECK(T_COUNT == 1 && AMO_MISALIGNED_CAUSE(T_CAUSE) && T_TVAL == (uint64_t)(buf + o) && r == 0x5555, "misaligned amoadd.w");
      T_COUNT = 0;
      __asm__ volatile("amoswap.w.aqrl %0, %2, (%1)" : "+r"(r) : "r"(buf + o), "r"(1ULL) : "memory");
      CHECK(T_COUNT == 1 && AMO_MISALIGNED_CAUSE(T_CAUSE) && T_TVAL == (uint64_t)(buf + o) && r == 0x5555, "misaligned amoswap.w");
    }
    T_COUNT = 0;
    __asm__ volatile("amoor.d %0, %2, (%1)" : "+r"(r) : "r"(buf + o), "r"(1ULL) : "memory");
    CHECK(T_COUNT == 1 && AMO_MISALIGNED_CAUSE(T_CAUSE) && T_TVAL == (uint64_t)(buf + o) && r == 0x5555, "misaligned amoor.d");
    T_COUNT = 0;
    __asm__ volatile("amominu.d %0, %2, (%1)" : "+r"(r) : "r"(buf + o), "r"(1ULL) : "memory");
    CHECK(T_COUNT == 1 && AMO_MISALIGNED_CAUSE(T_CAUSE) && T_TVAL == (uint64_t)(buf + o) && r == 0x5555, "misaligned amominu.d");
  }
  CHECK(*(volatile uint64_t *)buf == w0 && *(volatile uint64_t *)(buf + 8) == w1, "misaligned AMOs wrote nothing");
  /* SC: with and without a preceding (aligned) LR */
  for (unsigned o = 1; o < 8; o++) {
    T_COUNT = 0;
    r = 0;
    __asm__ volatile("lr.d t2, (%2)\n\tsc.d %0, %3, (%1)" : "+r"(r) : "r"(buf + o), "r"(buf), "r"(7ULL) : "memory", "t2");
    CHECK((T_COUNT == 1 && (T_CAUSE == 6 || T_CAUSE == 4) && T_TVAL == (uint64_t)(buf + o)) || (T_COUNT == 0 && r != 0),
          "misaligned sc.d traps or fails");
    T_COUNT = 0;
    r = 0;
    __asm__ volatile("sc.w %0, %2, (%1)" : "+r"(r) : "r"(buf + o), "r"(7ULL) : "memory");
    CHECK((o % 4 == 0 && T_COUNT == 0 && r != 0) ||
          (T_COUNT == 1 && (T_CAUSE == 6 || T_CAUSE == 4) && T_TVAL == (uint64_t)(buf + o)) || (T_COUNT == 0 && r != 0),
          "misaligned sc.w traps or fails");
  }
  CHECK(*(volatile uint64_t *)buf == w0 && *(volatile uint64_t *)(buf + 8) == w1, "misaligned SCs wrote nothing");
  hs_puts("atomics ok\n");
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("isa_misaligned\n");
  uint64_t old_mtvec = csr_read(mtvec);
  csr_write(mtvec, (uint64_t)trap_rec);
  test_loads();
  test_stores();
  test_atomics();
  csr_write(mtvec, old_mtvec);
  hs_puts("isa_misaligned: PASS\n");
  return 0;
}
