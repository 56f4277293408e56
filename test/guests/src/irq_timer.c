/* irq_timer: CLINT machine timer interrupts (mtimecmp/mtime, MTIE, WFI, vectored mtvec, exact
   mcause), MTIP level behaviour, time CSR vs mtime, and the OpenSBI-style supervisor timer:
   M's timer handler raises mip.STIP, S (STIP delegated, vectored stvec) takes cause 5 and asks M
   by ECALL to re-arm mtimecmp and clear STIP. */
#include "priv_harness.h"

#define MIP_STIP (1UL << 5)
#define MIP_MTIP (1UL << 7)

static volatile uint64_t m_ticks, s_ticks, timer_to_s, m_ecalls;
static volatile uint64_t last_cmp, tick_time;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }
static void set_cmp(uint64_t v) { last_cmp = v; mmio_w64(CLINT_MTIMECMP(0), v); }

/* S -> M service call: a7=1: set timer to a0 (~0 = off) and clear STIP */
static void sbi_set_timer(uint64_t when) {
  register uint64_t a0 __asm__("a0") = when;
  register uint64_t a7 __asm__("a7") = 1;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
}

static uint8_t m_tstack[4096 * 2] __attribute__((aligned(16)));
static uint8_t s_tstack[4096 * 2] __attribute__((aligned(16)));

/* S asks M by ecall (a7=1) to set the timer to a0 and clear STIP. */
static int m_call(uint64_t *f, uint64_t cause, uint64_t epc) {
  if (cause != 9 || f[17] != 1) return 0;
  m_ecalls++;
  csr_clear(mip, MIP_STIP);
  set_cmp(f[10]);
  csr_write(mepc, epc + 4);
  return 1;
}

/* M timer: note when it fired, disarm, and (for the S timer) raise STIP. */
static int m_interrupt(uint64_t code) {
  if (code != 7) return 0;
  tick_time = mtime();
  m_ticks++;
  mmio_w64(CLINT_MTIMECMP(csr_read(mhartid)), ~0UL);
  if (timer_to_s) csr_set(mip, MIP_STIP);
  return 1;
}

/* S timer: count it and ask M to disarm the timer. */
static int s_interrupt(uint64_t *f, uint64_t code) {
  (void)f;
  if (code != 5) return 0;
  s_ticks++;
  sbi_set_timer(~0UL);
  return 1;
}

const struct priv_hooks priv_hooks = { .m_call = m_call, .m_interrupt = m_interrupt, .s_interrupt = s_interrupt };

static void ok(const char *s) { hs_puts("irq_timer: "); hs_puts(s); hs_puts(" ok\n"); }

static uint64_t s_timer_test(uint64_t n) {
  csr_set(sie, MIP_STIP);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t t0 = s_ticks;
    sbi_set_timer(mtime() + 500);
    for (int guard = 0; s_ticks == t0 && guard < 1000000; guard++) {
      __asm__ volatile("wfi");
      csr_set(sstatus, MSTATUS_SIE);     /* window in which the pending interrupt is taken */
      csr_clear(sstatus, MSTATUS_SIE);
    }
    if (s_ticks != t0 + 1) return 100 + i;
    if (st.cause != (IRQ_BIT | 5)) return 200 + i;
    if (st.vec != 5) return 300 + i;
    if (csr_read(sip) & MIP_STIP) return 400 + i;
  }
  csr_clear(sie, MIP_STIP);
  return 0;
}

static void pmp_open_all(void) {
  csr_write(pmpaddr0, ~0UL >> 10);
  csr_write(pmpcfg0, 0x1f);
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  set_cmp(~0UL);
  csr_write(mscratch, (uint64_t)(m_tstack + sizeof m_tstack));
  csr_write(sscratch, (uint64_t)(s_tstack + sizeof s_tstack));
  csr_write(mtvec, (uint64_t)m_vec_table | 1);
  csr_write(stvec, (uint64_t)s_vec_table | 1);
  csr_write(medeleg, 0);
  csr_write(mideleg, 0);
  csr_write(mie, 0);
  pmp_open_all();
  hs_puts("irq_timer: start\n");

  /* time CSR follows mtime */
  {
    uint64_t a = mtime(), t = csr_read(time), b = mtime();
    if (t < a || t > b) fail_at("rdtime between mtime reads", t, a);
    uint64_t t1 = csr_read(time);
    for (int i = 0; i < 100000 && csr_read(time) == t1; i++) {}
    if (csr_read(time) == t1) hs_fail("time does not advance");
  }
  ok("time csr");

  /* MTIP is a level: set when mtime >= mtimecmp, cleared by writing mtimecmp */
  set_cmp(mtime());
  for (int i = 0; i < 100000 && !(csr_read(mip) & MIP_MTIP); i++) {}
  EQ("MTIP set when mtime>=mtimecmp", csr_read(mip) & MIP_MTIP, MIP_MTIP);
  EQ("not taken with mie.MTIE=0", mt.count, 0);
  set_cmp(~0UL);
  for (int i = 0; i < 100000 && (csr_read(mip) & MIP_MTIP); i++) {}
  EQ("MTIP cleared by mtimecmp write", csr_read(mip) & MIP_MTIP, 0);
  csr_write(mip, MIP_MTIP);                 /* MTIP is read-only in mip */
  EQ("mip.MTIP read-only", csr_read(mip) & MIP_MTIP, 0);
  csr_write(mideleg, ~0UL);
  EQ("MTIP not delegable", csr_read(mideleg) & MIP_MTIP, 0);
  csr_write(mideleg, 0);
  ok("MTIP level");

  /* M-mode timer interrupts with WFI, vectored to mtvec+4*7 */
  csr_set(mie, MIP_MTIP);
  for (int i = 0; i < 5; i++) {
    uint64_t t0 = m_ticks;
    set_cmp(mtime() + 1000);
    for (int guard = 0; m_ticks == t0 && guard < 1000000; guard++) {
      __asm__ volatile("wfi");
      csr_set(mstatus, MSTATUS_MIE);
      csr_clear(mstatus, MSTATUS_MIE);
    }
    EQ("M timer tick", m_ticks, t0 + 1);
    EQ("mcause", mt.cause, 0x8000000000000007UL);
    EQ("vector 7", mt.vec, 7);
    if (tick_time < last_cmp) fail_at("interrupt before mtimecmp", tick_time, last_cmp);
    EQ("MTIP cleared", csr_read(mip) & MIP_MTIP, 0);
  }
  hs_puts("irq_timer: M timer ticks=");
  hs_putdec(m_ticks);
  hs_puts("\n");
  ok("M timer (mtimecmp, WFI, vectored)");

  /* interrupts disabled (MIE=0): pending, not taken, until enabled */
  set_cmp(mtime());
  for (int i = 0; i < 100000 && !(csr_read(mip) & MIP_MTIP); i++) {}
  EQ("no trap with MIE=0", m_ticks, 5);
  csr_set(mstatus, MSTATUS_MIE);
  __asm__ volatile("nop");
  csr_clear(mstatus, MSTATUS_MIE);
  EQ("taken when MIE set", m_ticks, 6);
  ok("MIE gating");

  /* supervisor timer through STIP */
  csr_write(mideleg, MIP_STIP);
  timer_to_s = 1;
  EQ("S timer", run_mode(1, (void *)s_timer_test, 4), 0);
  EQ("S ticks", s_ticks, 4);
  EQ("M forwarded", m_ticks, 10);
  timer_to_s = 0;
  csr_write(mideleg, 0);
  csr_clear(mie, MIP_MTIP);
  set_cmp(~0UL);
  hs_puts("irq_timer: S timer ticks=");
  hs_putdec(s_ticks);
  hs_puts("\n");
  ok("S timer via STIP injection");
  hs_puts("irq_timer: PASS\n");
  return 0;
}
