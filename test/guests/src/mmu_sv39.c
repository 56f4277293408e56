/* mmu_sv39 (and, included from mmu_sv48.c with LEVELS=4, mmu_sv48): page tables built in RAM above
   __heap_start; S- and U-mode accesses through 4 KiB / 2 MiB / 1 GiB (and 512 GiB-region for Sv48)
   mappings and aliases; page faults (12/13/15) with stval/sepc; hardware A/D update; R/W/X, U, SUM,
   MXR; MPRV in M; misaligned superpages; invalid PTE encodings; SFENCE.VMA; satp bare mode;
   non-canonical addresses.  Page faults are delegated to S; M-mode MPRV faults trap to M. */
#include "priv_harness.h"

#ifndef LEVELS
#define LEVELS 3
#define NAME "mmu_sv39"
#define SATP_MODE 8UL
#endif

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)

__asm__(
  ".section .text\n"
  ".option push\n"
  ".option norvc\n"
  /* probes: single 4-byte instructions (the trap handlers skip the faulting instruction) */
  ".macro PROBE name, insn:vararg\n"
  "  .globl \\name\n"
  "\\name:\n"
  "  \\insn\n"
  "  ret\n"
  ".endm\n"
  "PROBE probe_load, ld a0, 0(a0)\n"
  "PROBE probe_store, sd a1, 0(a0)\n"
  ".option pop\n"
  /* uint64_t probe_mprv_load(addr, bits): load with mstatus |= bits (MPRV...) around it */
  ".option push\n"
  ".option norvc\n"
  "  .globl probe_mprv_load\n"
  "probe_mprv_load:\n"
  "  csrs mstatus, a1\n"
  "  ld a0, 0(a0)\n"
  "  csrc mstatus, a1\n"
  "  ret\n"
  "  .globl probe_mprv_store\n"
  "probe_mprv_store:\n"
  "  csrs mstatus, a2\n"
  "  sd a1, 0(a0)\n"
  "  csrc mstatus, a2\n"
  "  ret\n"
  /* position-independent code copied into a test page: returns 0x123 */
  "  .globl code_blob\n"
  "code_blob:\n"
  "  addi a0, zero, 0x123\n"
  "  jalr zero, 0(ra)\n"
  ".option pop\n"
);

extern char code_blob[];
extern char probe_load[], probe_store[], probe_mprv_load[], probe_mprv_store[];
typedef uint64_t (*fn1)(uint64_t);
typedef uint64_t (*fn2)(uint64_t, uint64_t);
typedef uint64_t (*fn3)(uint64_t, uint64_t, uint64_t);

static uint8_t m_tstack[4096 * 2] __attribute__((aligned(16)));
static uint8_t s_tstack[4096 * 2] __attribute__((aligned(16)));

const struct priv_hooks priv_hooks = { 0 };   /* the harness's default handling throughout */

extern char __heap_start[];
static uint64_t heap_next;
static uint64_t *root;

static uint64_t alloc_page(void) {
  uint64_t p = heap_next;
  heap_next += 4096;
  for (int i = 0; i < 512; i++) ((volatile uint64_t *)p)[i] = 0;
  return p;
}

/* pointer to the PTE for va at level (0 = 4 KiB leaf, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB) */
static volatile uint64_t *pte_at(uint64_t va, int level) {
  uint64_t *t = root;
  for (int l = LEVELS - 1; l > level; l--) {
    uint64_t *e = &t[(va >> (12 + 9 * l)) & 511];
    if (!(*e & PTE_V)) *e = ((alloc_page() >> 12) << 10) | PTE_V;
    t = (uint64_t *)((*e >> 10) << 12);
  }
  return &t[(va >> (12 + 9 * level)) & 511];
}
static void map(uint64_t va, uint64_t pa, int level, uint64_t flags) {
  *pte_at(va, level) = ((pa >> 12) << 10) | flags;
}
static void sfence(void) { __asm__ volatile("sfence.vma" ::: "memory"); }
static void sfence_va(uint64_t va) { __asm__ volatile("sfence.vma %0, zero" :: "r"(va) : "memory"); }

static uint64_t LD(uint64_t va) { return ((fn1)(void *)probe_load)(va); }
static void SD(uint64_t va, uint64_t v) { ((fn2)(void *)probe_store)(va, v); }
static uint64_t EXEC(uint64_t va) { return ((fn1)(void *)va)(0); }

static void ok(const char *s) { hs_puts(NAME ": "); hs_puts(s); hs_puts(" ok\n"); }

/* S-trap expectation helpers (page faults are delegated to S) */
static uint64_t scount0;
static void expect_s(const char *what, uint64_t cause, uint64_t tval) {
  if (st.count != scount0 + 1) fail_at(what, st.count - scount0, 1);
  if (st.cause != cause) fail_at(what, st.cause, cause);
  if (st.tval != tval) fail_at(what, st.tval, tval);
  scount0 = st.count;
}
static void no_s(const char *what) {
  if (st.count != scount0) fail_at(what, st.cause, 0);
}

/* ---- test layout ---- */
#define RAM_PA   0x80000000UL
#define T        0x40000000UL            /* 4 KiB test pages live in VA gigabyte 1 */
#define VA_A     (T + 0x0000)            /* D0 RW */
#define VA_B     (T + 0x1000)            /* D0 RW alias */
#define VA_RO    (T + 0x2000)            /* D1 R */
#define VA_X     (T + 0x3000)            /* CODE X only (A=0 initially) */
#define VA_NX    (T + 0x4000)            /* D0 RW, no X */
#define VA_U     (T + 0x5000)            /* D0 RW U */
#define VA_UX    (T + 0x6000)            /* CODE RX U */
#define VA_NP    (T + 0x7000)            /* invalid (V=0) */
#define VA_WO    (T + 0x8000)            /* W without R: reserved */
#define VA_AD    (T + 0x9000)            /* D1 RW with A=D=0 */
#define VA_NL    (T + 0xa000)            /* level-0 PTE that is a pointer (V, RWX=0) */
#define VA_SF    (T + 0xb000)            /* remapped D0 -> D1 */
#define VA_RSV   (T + 0xc000)            /* D0 RW with reserved bit 60 set */
#define VA_MEGA  (T + 0x200000)          /* 2 MiB page */
#define VA_MEGAB (T + 0x400000)          /* misaligned 2 MiB page */
#define VA_GIGA  0x100000000UL           /* 1 GiB page -> RAM, read-only */
#define VA_GIGAB 0x140000000UL           /* misaligned 1 GiB page */
#define VA_UALIAS 0xc0000000UL           /* RAM again with U=1, for U-mode code */
#if LEVELS == 4
#define VA_HI    0x8000000000UL          /* VPN[3]=1: D0 through a 4-level walk */
#define VA_HIG   0x10000000000UL         /* VPN[3]=2: 1 GiB page in a second level-2 table */
#define NONCANON 0x0000800000000000UL
#else
#define NONCANON 0x0000004000000000UL
#endif

static uint64_t D0, D1, CODE, MEGA_PA;
static volatile uint64_t magic_word = 0x6d6d755f6d616769UL;

static uint64_t pte_flags(uint64_t va, int level) { return *pte_at(va, level) & 0x3ff; }

/* ---------------- S-mode test body ---------------- */
static uint64_t s_tests(uint64_t unused) {
  (void)unused;
  scount0 = st.count;
  /* aliases */
  SD(VA_A + 0x10, 0x1111222233334444UL);
  EQ("alias read", LD(VA_B + 0x10), 0x1111222233334444UL);
  SD(VA_B + 0x18, 0xabcdef);
  EQ("alias read back", *(volatile uint64_t *)(VA_A + 0x18), 0xabcdef);
  no_s("alias no fault");
  ok("4K alias");

  /* read-only */
  EQ("RO load", LD(VA_RO), 0xd1d1d1d1d1d1d1d1UL);
  SD(VA_RO + 8, 5);
  expect_s("RO store -> 15", 15, VA_RO + 8);
  EQ("RO store sepc", st.epc, (uint64_t)probe_store);
  EQ("RO store SPP=S", st.status & MSTATUS_SPP, MSTATUS_SPP);
  /* execute-only, MXR */
  EQ("X-only A clear before fetch", pte_flags(VA_X, 0) & PTE_A, 0);
  EQ("exec X page", EXEC(VA_X), 0x123);
  EQ("fetch sets A", pte_flags(VA_X, 0) & (PTE_A | PTE_D), PTE_A);
  LD(VA_X);
  expect_s("load X-only -> 13", 13, VA_X);
  csr_set(sstatus, MSTATUS_MXR);
  EQ("MXR load X-only", LD(VA_X) & 0xffffffff, *(uint32_t *)code_blob);
  SD(VA_X, 0);
  expect_s("store X-only with MXR -> 15", 15, VA_X);
  csr_clear(sstatus, MSTATUS_MXR);
  EXEC(VA_NX + 0x40);
  expect_s("fetch NX -> 12", 12, VA_NX + 0x40);
  EQ("fetch NX sepc", st.epc, VA_NX + 0x40);
  ok("R/W/X MXR");

  /* U pages from S: SUM */
  LD(VA_U);
  expect_s("S load U page SUM=0 -> 13", 13, VA_U);
  SD(VA_U + 8, 1);
  expect_s("S store U page SUM=0 -> 15", 15, VA_U + 8);
  csr_set(sstatus, MSTATUS_SUM);
  SD(VA_U + 0x20, 0x5a5a);
  EQ("S load U page SUM=1", LD(VA_U + 0x20), 0x5a5a);
  EXEC(VA_UX);
  expect_s("S fetch U page (SUM=1) -> 12", 12, VA_UX);
  csr_clear(sstatus, MSTATUS_SUM);
  ok("U-bit SUM");

  /* invalid PTEs */
  LD(VA_NP + 0x100);
  expect_s("V=0 load -> 13", 13, VA_NP + 0x100);
  SD(VA_NP + 0x108, 0);
  expect_s("V=0 store -> 15", 15, VA_NP + 0x108);
  EXEC(VA_NP);
  expect_s("V=0 fetch -> 12", 12, VA_NP);
  LD(VA_WO);
  expect_s("W&!R load -> 13", 13, VA_WO);
  SD(VA_WO, 0);
  expect_s("W&!R store -> 15", 15, VA_WO);
  LD(VA_NL);
  expect_s("pointer PTE at leaf level -> 13", 13, VA_NL);
  LD(NONCANON);
  expect_s("non-canonical load -> 13", 13, NONCANON);
  SD(NONCANON | 8, 0);
  expect_s("non-canonical store -> 15", 15, NONCANON | 8);
  ok("invalid PTEs, non-canonical VA");

  /* superpages */
  EQ("2M page read", LD(VA_MEGA + 0x12340), 0x4d454741UL);
  SD(VA_MEGA + 0x1ff000, 0x77);
  LD(VA_MEGAB + 0x80);
  expect_s("misaligned 2M page -> 13", 13, VA_MEGAB + 0x80);
  EQ("1G page read", LD(VA_GIGA + ((uint64_t)&magic_word - RAM_PA)), magic_word);
  SD(VA_GIGA + ((uint64_t)&magic_word - RAM_PA), 0);
  expect_s("1G page read-only -> 15", 15, VA_GIGA + ((uint64_t)&magic_word - RAM_PA));
  LD(VA_GIGAB + 0x1000);
  expect_s("misaligned 1G page -> 13", 13, VA_GIGAB + 0x1000);
#if LEVELS == 4
  EQ("4-level walk VPN3=1", LD(VA_HI + 0x10), 0x1111222233334444UL);
  EQ("1G page under VPN3=2", LD(VA_HIG + ((uint64_t)&magic_word - RAM_PA)), magic_word);
  ok("2M/1G pages, 4-level walk");
#else
  ok("2M/1G pages");
#endif

  /* accessed / dirty bits */
  EQ("AD initially clear", pte_flags(VA_AD, 0) & (PTE_A | PTE_D), 0);
  EQ("AD load", LD(VA_AD), 0xd1d1d1d1d1d1d1d1UL);
  no_s("AD load no fault");
  EQ("load sets A only", pte_flags(VA_AD, 0) & (PTE_A | PTE_D), PTE_A);
  SD(VA_AD + 8, 9);
  no_s("AD store no fault");
  EQ("store sets D", pte_flags(VA_AD, 0) & (PTE_A | PTE_D), PTE_A | PTE_D);
  *pte_at(VA_AD, 0) &= ~(PTE_A | PTE_D);
  sfence_va(VA_AD);
  SD(VA_AD + 8, 10);
  no_s("AD store 2");
  EQ("store sets A and D", pte_flags(VA_AD, 0) & (PTE_A | PTE_D), PTE_A | PTE_D);
  hs_puts("info: A/D updated by hardware\n");
  ok("A/D bits");

  /* SFENCE.VMA after changing a PTE */
  EQ("SF before", LD(VA_SF + 0x10), 0x1111222233334444UL);
  map(VA_SF, D1, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  sfence_va(VA_SF);
  EQ("SF after remap", LD(VA_SF), 0xd1d1d1d1d1d1d1d1UL);
  *pte_at(VA_SF, 0) = 0;
  sfence();
  LD(VA_SF);
  expect_s("SF after unmap -> 13", 13, VA_SF);
  ok("sfence.vma");

  /* reserved PTE bits (63:54 with no Svpbmt/Svnapot) */
  LD(VA_RSV);
  expect_s("reserved PTE bit 60 -> 13", 13, VA_RSV);
  ok("reserved PTE bits");

  /* satp bare from S */
  {
    uint64_t satp = csr_read(satp);
    csr_write(satp, 0);
    sfence();
    EQ("bare S load physical", *(volatile uint64_t *)(D0 + 0x10), 0x1111222233334444UL);
    csr_write(satp, satp);
    sfence();
    EQ("translated again", LD(VA_B + 0x10), 0x1111222233334444UL);
  }
  no_s("bare");
  ok("satp bare");
  return 0;
}

/* ---------------- U-mode body (runs at VA_UALIAS) ---------------- */
static uint64_t u_tests(uint64_t unused) {
  (void)unused;
  uint64_t c0 = st.count, r = 0;
  if (LD(VA_U + 0x20) != 0x5a5a) r |= 1;
  if (st.count != c0) r |= 2;
  SD(VA_U + 0x28, 0x77);
  LD(VA_A);                        /* supervisor page: fault even though readable */
  if (st.count != c0 + 1 || st.cause != 13 || st.tval != VA_A || (st.status & MSTATUS_SPP)) r |= 4;
  if (EXEC(VA_UX) != 0x123) r |= 8;
  EXEC(VA_X);                      /* X page without U */
  if (st.count != c0 + 2 || st.cause != 12 || st.tval != VA_X) r |= 16;
  SD(VA_RO, 0);                    /* not U */
  if (st.count != c0 + 3 || st.cause != 15) r |= 32;
  return r;
}

static void pmp_open_all(void) {
  csr_write(pmpaddr0, ~0UL >> 10);
  csr_write(pmpcfg0, 0x1f);
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  csr_write(mscratch, (uint64_t)(m_tstack + sizeof m_tstack));
  csr_write(sscratch, (uint64_t)(s_tstack + sizeof s_tstack));
  csr_write(mtvec, (uint64_t)m_trap_entry);
  csr_write(stvec, (uint64_t)s_trap_entry);
  csr_write(mideleg, 0);
  csr_write(mie, 0);
  csr_write(medeleg, (1 << 12) | (1 << 13) | (1 << 15));
  pmp_open_all();
  hs_puts(NAME ": start\n");

  heap_next = ((uint64_t)__heap_start + 4095) & ~4095UL;
  root = (uint64_t *)alloc_page();
  D0 = alloc_page();
  D1 = alloc_page();
  CODE = alloc_page();
  for (int i = 0; i < 512; i++) ((volatile uint64_t *)D1)[i] = 0xd1d1d1d1d1d1d1d1UL;
  for (int i = 0; i < 8; i++) ((volatile uint8_t *)CODE)[i] = ((uint8_t *)code_blob)[i];
  __asm__ volatile("fence.i");
  MEGA_PA = (heap_next + 0x100000 + 0x1fffff) & ~0x1fffffUL;
  *(volatile uint64_t *)(MEGA_PA + 0x12340) = 0x4d454741UL;

  const uint64_t RWXAD = PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
  map(0, 0, 2, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);      /* MMIO gigabyte, identity */
  map(RAM_PA, RAM_PA, 2, RWXAD | PTE_G);                    /* RAM identity (code, data, stacks, tables) */
  map(VA_UALIAS, RAM_PA, 2, RWXAD | PTE_U);                 /* RAM for U-mode code */
  map(VA_A, D0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_B, D0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_RO, D1, 0, PTE_V | PTE_R | PTE_A);
  map(VA_X, CODE, 0, PTE_V | PTE_X);
  map(VA_NX, D0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_U, D0, 0, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
  map(VA_UX, CODE, 0, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);
  map(VA_NP, D0, 0, PTE_R | PTE_W | PTE_A | PTE_D);          /* V=0 */
  map(VA_WO, D0, 0, PTE_V | PTE_W | PTE_A | PTE_D);
  map(VA_AD, D1, 0, PTE_V | PTE_R | PTE_W);
  map(VA_NL, D1, 0, PTE_V);                                  /* pointer at level 0 */
  map(VA_SF, D0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_RSV, D0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D | (1UL << 60));
  map(VA_MEGA, MEGA_PA, 1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_MEGAB, MEGA_PA + 0x1000, 1, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_GIGA, RAM_PA, 2, PTE_V | PTE_R | PTE_A);
  map(VA_GIGAB, RAM_PA + 0x200000, 2, PTE_V | PTE_R | PTE_A);
#if LEVELS == 4
  map(VA_HI, D0, 0, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D);
  map(VA_HIG, RAM_PA, 2, PTE_V | PTE_R | PTE_A);
#endif
  csr_write(satp, (SATP_MODE << 60) | ((uint64_t)root >> 12));
  sfence();
  EQ("satp mode readback", csr_read(satp) >> 60, SATP_MODE);

  lower_off = 0;
  EQ("S tests", run_mode(1, (void *)s_tests, 0), 0);
  EQ("2M page write reached PA", *(volatile uint64_t *)(MEGA_PA + 0x1ff000), 0x77);
  EQ("alias write reached PA", *(volatile uint64_t *)(D0 + 0x18), 0xabcdef);

  lower_off = VA_UALIAS - RAM_PA;
  scount0 = st.count;
  EQ("U tests", run_mode(0, (void *)u_tests, 0), 0);
  lower_off = 0;
  EQ("U store reached PA", *(volatile uint64_t *)(D0 + 0x28), 0x77);
  ok("U mode (U page ok, S page 13, X w/o U 12)");

  /* MPRV from M with MPP=S / MPP=U */
  {
    uint64_t c0 = mt.count;
    csr_clear(mstatus, MSTATUS_MPP | MSTATUS_SUM);
    csr_set(mstatus, 1UL << 11);                              /* MPP=S */
    EQ("MPRV S load", ((fn2)(void *)probe_mprv_load)(VA_A + 0x10, MSTATUS_MPRV), 0x1111222233334444UL);
    csr_set(mstatus, 1UL << 11);
    ((fn3)(void *)probe_mprv_store)(VA_B + 0x30, 0x3030, MSTATUS_MPRV);
    EQ("MPRV store reached PA", *(volatile uint64_t *)(D0 + 0x30), 0x3030);
    EQ("MPRV: no traps", mt.count, c0);
    csr_set(mstatus, 1UL << 11);
    ((fn2)(void *)probe_mprv_load)(VA_NP, MSTATUS_MPRV);
    EQ("MPRV fault count", mt.count, c0 + 1);
    EQ("MPRV fault cause (M, not delegated)", mt.cause, 13);
    EQ("MPRV fault mtval", mt.tval, VA_NP);
    EQ("MPRV fault MPP=M", (mt.status >> 11) & 3, 3);
    EQ("MPRV cleared by probe", csr_read(mstatus) & MSTATUS_MPRV, 0);
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, 1UL << 11);
    ((fn2)(void *)probe_mprv_load)(VA_U, MSTATUS_MPRV);
    EQ("MPRV S U-page SUM=0 faults", mt.count, c0 + 2);
    csr_clear(mstatus, MSTATUS_MPP);
    csr_set(mstatus, 1UL << 11);
    EQ("MPRV S U-page SUM=1", ((fn2)(void *)probe_mprv_load)(VA_U + 0x20, MSTATUS_MPRV | MSTATUS_SUM), 0x5a5a);
    csr_clear(mstatus, MSTATUS_MPP);                          /* MPP=U */
    EQ("MPRV U U-page", ((fn2)(void *)probe_mprv_load)(VA_U + 0x20, MSTATUS_MPRV), 0x5a5a);
    csr_clear(mstatus, MSTATUS_MPP);
    ((fn2)(void *)probe_mprv_load)(VA_A, MSTATUS_MPRV);
    EQ("MPRV U S-page faults", mt.count, c0 + 3);
    EQ("MPRV U S-page cause", mt.cause, 13);
    csr_clear(mstatus, MSTATUS_MPRV | MSTATUS_SUM);
  }
  ok("MPRV");
  csr_write(satp, 0);
  sfence();
  hs_puts(NAME ": PASS\n");
  return 0;
}
