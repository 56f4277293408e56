/* irq_sstc: the Sstc supervisor timer. stimecmp exists only with the extension (probed in M);
   menvcfg.STCE makes STIP the comparator time >= stimecmp (then mip.STIP is not writable by M
   software), and gates S-mode access together with mcounteren.TM; the interrupt is delivered to M
   (not delegated) and to S (delegated), through WFI, never before stimecmp.
   Checked against the Sstc spec rather than live against QEMU 7.2, which deviates in two places:
   its comparator drives STIP even while STCE=0 (the spec: STIP "reverts to its defined behavior
   as if this extension is not implemented"), and its menvcfg.STCE is writable without Sstc. */
#include "priv_harness.h"

#define MIP_STIP (1UL << 5)
#define MENVCFG_STCE (1UL << 63)
#define MCOUNTEREN_TM (1UL << 1)
#define stimecmp_read() ({ uint64_t __v; __asm__ volatile("csrr %0, 0x14d" : "=r"(__v)); __v; })
#define stimecmp_write(v) __asm__ volatile("csrw 0x14d, %0" :: "r"((uint64_t)(v)))

static volatile uint64_t m_ticks, s_ticks, fired_time, last_cmp;

static void set_stimecmp(uint64_t v) { last_cmp = v; stimecmp_write(v); }

/* The timer interrupt, in M or in S: note when it fired and disarm the comparator. */
static int m_interrupt(uint64_t code) {
  if (code != 5) return 0;
  fired_time = csr_read(time);
  m_ticks++;
  stimecmp_write(~0UL);
  return 1;
}

static int s_interrupt(uint64_t *f, uint64_t code) {
  (void)f;
  if (code != 5) return 0;
  fired_time = csr_read(time);
  s_ticks++;
  stimecmp_write(~0UL);
  return 1;
}

const struct priv_hooks priv_hooks = { .m_interrupt = m_interrupt, .s_interrupt = s_interrupt };

static uint8_t m_tstack[4096 * 2] __attribute__((aligned(16)));
static uint8_t s_tstack[4096 * 2] __attribute__((aligned(16)));

static void ok(const char *s) { hs_puts("irq_sstc: "); hs_puts(s); hs_puts(" ok\n"); }

/* In S or U: read stimecmp (a trap into M is recorded in mt and skipped). */
static uint64_t lower_read_stimecmp(uint64_t arg) { (void)arg; return stimecmp_read(); }

/* In S: n timer interrupts through WFI, each armed 2000 ticks ahead. */
static uint64_t s_timer_test(uint64_t n) {
  csr_set(sie, MIP_STIP);
  for (uint64_t i = 0; i < n; i++) {
    uint64_t t0 = s_ticks;
    set_stimecmp(csr_read(time) + 2000);
    for (int guard = 0; s_ticks == t0 && guard < 1000000; guard++) {
      __asm__ volatile("wfi");
      csr_set(sstatus, MSTATUS_SIE);
      csr_clear(sstatus, MSTATUS_SIE);
    }
    if (s_ticks != t0 + 1) return 100 + i;
    if (st.cause != (IRQ_BIT | 5)) return 200 + i;
    if (fired_time < last_cmp) return 300 + i;
    if (csr_read(sip) & MIP_STIP) return 400 + i;
  }
  csr_clear(sie, MIP_STIP);
  return 0;
}

static void pmp_open_all(void) {
  csr_write(pmpaddr0, ~0UL >> 10);
  csr_write(pmpcfg0, 0x1f);
}

/* Reading stimecmp from `mode`: 1 when it traps as an illegal instruction. */
static int lower_access_traps(uint64_t mode) {
  uint64_t before = mt.count;
  run_mode(mode, (void *)lower_read_stimecmp, 0);
  if (mt.count == before) return 0;
  EQ("illegal instruction", mt.cause, 2);
  return 1;
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  mmio_w64(CLINT_MTIMECMP(0), ~0UL);
  csr_write(mscratch, (uint64_t)(m_tstack + sizeof m_tstack));
  csr_write(sscratch, (uint64_t)(s_tstack + sizeof s_tstack));
  csr_write(mtvec, (uint64_t)m_vec_table | 1);
  csr_write(stvec, (uint64_t)s_vec_table | 1);
  csr_write(medeleg, 0);
  csr_write(mideleg, 0);
  csr_write(mie, 0);
  csr_write(menvcfg, 0);
  csr_write(mcounteren, 0);
  pmp_open_all();
  hs_puts("irq_sstc: start\n");

  uint64_t before = mt.count;
  stimecmp_write(~0UL);
  if (mt.count != before) {
    EQ("illegal instruction", mt.cause, 2);
    hs_puts("irq_sstc: stimecmp absent\n");
    csr_write(menvcfg, MENVCFG_STCE);
    EQ("menvcfg.STCE reads 0 without Sstc", csr_read(menvcfg) & MENVCFG_STCE, 0);
    csr_write(mcounteren, MCOUNTEREN_TM);
    EQ("S access without Sstc", lower_access_traps(1), 1);
    hs_puts("irq_sstc: PASS\n");
    return 0;
  }
  EQ("stimecmp holds its value", stimecmp_read(), ~0UL);
  ok("stimecmp present");

  /* STCE = 0: mip.STIP is M software's, S-mode access traps even with TM */
  csr_write(mcounteren, MCOUNTEREN_TM);
  stimecmp_write(0);                        /* due, but STCE = 0: no effect on STIP */
  EQ("STIP ignores stimecmp while STCE=0", csr_read(mip) & MIP_STIP, 0);
  csr_set(mip, MIP_STIP);
  EQ("mip.STIP writable while STCE=0", csr_read(mip) & MIP_STIP, MIP_STIP);
  csr_clear(mip, MIP_STIP);
  EQ("S access with STCE=0", lower_access_traps(1), 1);
  ok("STCE=0");

  /* STCE = 1: STIP is the comparator, read-only in mip */
  csr_write(menvcfg, MENVCFG_STCE);
  EQ("menvcfg.STCE writable", csr_read(menvcfg) & MENVCFG_STCE, MENVCFG_STCE);
  EQ("STIP is the comparator (stimecmp=0)", csr_read(mip) & MIP_STIP, MIP_STIP);
  csr_clear(mip, MIP_STIP);
  EQ("mip.STIP not writable while STCE=1", csr_read(mip) & MIP_STIP, MIP_STIP);
  stimecmp_write(~0UL);
  EQ("STIP clear when stimecmp is ahead", csr_read(mip) & MIP_STIP, 0);
  csr_set(mip, MIP_STIP);
  EQ("mip.STIP not settable while STCE=1", csr_read(mip) & MIP_STIP, 0);
  stimecmp_write(csr_read(time) + 100000000);  /* 10 s ahead: not due however slow the host */
  EQ("not yet due", csr_read(mip) & MIP_STIP, 0);
  stimecmp_write(csr_read(time) + 1000);
  for (int i = 0; i < 1000000 && !(csr_read(mip) & MIP_STIP); i++) {}
  EQ("due once time passes stimecmp", csr_read(mip) & MIP_STIP, MIP_STIP);
  stimecmp_write(~0UL);
  ok("STCE=1 comparator");

  /* access from S needs mcounteren.TM as well; U never */
  csr_write(mcounteren, 0);
  EQ("S access with TM=0", lower_access_traps(1), 1);
  csr_write(mcounteren, MCOUNTEREN_TM);
  EQ("S access with STCE=1, TM=1", lower_access_traps(1), 0);
  EQ("U access", lower_access_traps(0), 1);
  ok("access gating");

  /* delivered to M (not delegated) through WFI, never early */
  csr_set(mie, MIP_STIP);
  for (int i = 0; i < 3; i++) {
    uint64_t t0 = m_ticks;
    set_stimecmp(csr_read(time) + 2000);
    for (int guard = 0; m_ticks == t0 && guard < 1000000; guard++) {
      __asm__ volatile("wfi");
      csr_set(mstatus, MSTATUS_MIE);
      csr_clear(mstatus, MSTATUS_MIE);
    }
    EQ("M tick", m_ticks, t0 + 1);
    EQ("mcause", mt.cause, IRQ_BIT | 5);
    if (fired_time < last_cmp) fail_at("interrupt before stimecmp", fired_time, last_cmp);
  }
  csr_clear(mie, MIP_STIP);
  ok("timer interrupt in M");

  /* delegated to S: S arms its own timer */
  csr_write(mideleg, MIP_STIP);
  EQ("S timer", run_mode(1, (void *)s_timer_test, 3), 0);
  EQ("S ticks", s_ticks, 3);
  EQ("no M ticks meanwhile", m_ticks, 3);
  csr_write(mideleg, 0);
  ok("timer interrupt in S");
  hs_puts("irq_sstc: PASS\n");
  return 0;
}
