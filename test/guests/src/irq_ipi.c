/* irq_ipi: inter-processor interrupts through the CLINT msip registers.  Hart 0 interrupts every
   other hart for several rounds; each takes the machine software interrupt (mcause
   0x8000000000000003), clears its msip and acknowledges through shared memory.  Then the S-mode
   path: harts run in S with SSIP delegated, the M handler turns the IPI into mip.SSIP and S takes
   cause 1.  On one hart only the self-IPI part runs (cross-hart part reported as skipped). */
#include "priv_harness.h"

#define MIP_SSIP (1UL << 1)
#define MIP_MSIP (1UL << 3)
#define ROUNDS 20

static volatile uint64_t m_ack[8], s_ack[8], m_cause[8], s_cause[8], forward_to_s[8];
static volatile uint32_t ready[8];

static uint8_t m_tstack[4096 * 8] __attribute__((aligned(16)));
static uint8_t s_tstack[4096 * 8] __attribute__((aligned(16)));

/* M software interrupt: clear msip, note the cause, and forward it to S as SSIP or acknowledge it. */
static int m_interrupt(uint64_t code) {
  if (code != 3) return 0;
  uint64_t hh = csr_read(mhartid);
  mmio_w32(CLINT_MSIP(hh), 0);
  m_cause[hh] = IRQ_BIT | code;
  if (forward_to_s[hh]) csr_set(mip, MIP_SSIP);
  else m_ack[hh]++;
  return 1;
}

/* S software interrupt: clear SSIP and acknowledge for this hart. */
static int s_interrupt(uint64_t *f, uint64_t code) {
  if (code != 1) return 0;
  uint64_t s_hart = ((uint64_t)f + 256 - (uint64_t)s_tstack) / 4096 - 1;  /* S can't read mhartid */
  csr_clear(sip, 2);
  s_cause[s_hart] = IRQ_BIT | code;
  s_ack[s_hart]++;
  return 1;
}

const struct priv_hooks priv_hooks = { .m_interrupt = m_interrupt, .s_interrupt = s_interrupt };

static void ok(const char *s) { hs_puts("irq_ipi: "); hs_puts(s); hs_puts(" ok\n"); }

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

/* wait (at most ~2 s of mtime) until *p >= v */
static int wait_ge(volatile uint64_t *p, uint64_t v) {
  uint64_t end = mtime() + 20000000;
  while (*p < v) if (mtime() > end) return 0;
  return 1;
}

static uint64_t s_idle(uint64_t h) {
  csr_set(sie, MIP_SSIP);
  csr_set(sstatus, MSTATUS_SIE);
  ready[h] = 2;
  for (;;) __asm__ volatile("wfi");
  return 0;
}

static uint64_t s_self(uint64_t h) {
  csr_set(sie, MIP_SSIP);
  csr_set(sstatus, MSTATUS_SIE);
  for (uint64_t r = 1; r <= ROUNDS; r++) {
    mmio_w32(CLINT_MSIP(h), 1);              /* S pokes the CLINT; M forwards as SSIP */
    if (!wait_ge(&s_ack[h], r)) return 100 + r;
  }
  csr_clear(sstatus, MSTATUS_SIE);
  return 0;
}

static void pmp_open_all(void) {
  csr_write(pmpaddr0, ~0UL >> 10);
  csr_write(pmpcfg0, 0x1f);
}

static void hart_setup(uint64_t h) {
  csr_write(mscratch, (uint64_t)(m_tstack + (h + 1) * 4096));
  csr_write(sscratch, (uint64_t)(s_tstack + (h + 1) * 4096));
  csr_write(mtvec, (uint64_t)m_trap_entry);
  csr_write(stvec, (uint64_t)s_trap_entry);
  csr_write(medeleg, 0);
  csr_write(mideleg, MIP_SSIP);
  pmp_open_all();
  csr_write(mie, MIP_MSIP);
}

int guest_main(uint64_t h, const void *dtb) {
  int n = hs_num_harts(dtb);
  if (h >= 8) for (;;) __asm__ volatile("wfi");
  hart_setup(h);
  if (h != 0) {
    csr_set(mstatus, MSTATUS_MIE);
    ready[h] = 1;
    while (!forward_to_s[h]) __asm__ volatile("wfi");
    run_mode(1, (void *)s_idle, h);            /* never returns */
    for (;;) __asm__ volatile("wfi");
  }
  hs_puts("irq_ipi: start\n");
  hs_puts("info: harts=");
  hs_putdec(n);
  hs_puts("\n");

  /* self IPI in M */
  for (uint64_t r = 1; r <= ROUNDS; r++) {
    mmio_w32(CLINT_MSIP(0), 1);
    EQ("msip reads back", mmio_r32(CLINT_MSIP(0)), 1);
    for (int i = 0; i < 100000 && !(csr_read(mip) & MIP_MSIP); i++) {}
    EQ("MSIP pending", csr_read(mip) & MIP_MSIP, MIP_MSIP);
    EQ("not taken while MIE=0", m_ack[0], r - 1);
    csr_set(mstatus, MSTATUS_MIE);
    __asm__ volatile("nop");
    csr_clear(mstatus, MSTATUS_MIE);
    EQ("self IPI taken", m_ack[0], r);
    EQ("self IPI mcause", m_cause[0], 0x8000000000000003UL);
    EQ("msip cleared", mmio_r32(CLINT_MSIP(0)), 0);
  }
  ok("self IPI (M)");

  /* self IPI forwarded to S as SSIP */
  forward_to_s[0] = 1;
  EQ("self S path", run_mode(1, (void *)s_self, 0), 0);
  EQ("self S cause", s_cause[0], IRQ_BIT | 1);
  forward_to_s[0] = 0;
  ok("self IPI -> SSIP (S)");

  if (n < 2) {
    hs_puts("info: cross-hart IPI skipped (1 hart)\n");
  } else {
    for (int k = 1; k < n && k < 8; k++) {
      uint64_t end = mtime() + 20000000;
      while (ready[k] != 1) if (mtime() > end) fail_at("hart not ready", k, 1);
    }
    for (uint64_t r = 1; r <= ROUNDS; r++) {
      for (int k = 1; k < n && k < 8; k++) mmio_w32(CLINT_MSIP(k), 1);
      for (int k = 1; k < n && k < 8; k++) {
        if (!wait_ge(&m_ack[k], r)) fail_at("M IPI ack timeout (hart)", k, r);
        EQ("M IPI mcause", m_cause[k], 0x8000000000000003UL);
      }
    }
    for (int k = 1; k < n && k < 8; k++) EQ("M IPI ack count", m_ack[k], ROUNDS);
    hs_puts("info: cross-hart M IPIs ok\n");
    /* move the other harts to S */
    for (int k = 1; k < n && k < 8; k++) {
      forward_to_s[k] = 1;
      mmio_w32(CLINT_MSIP(k), 1);                 /* wake it; this IPI is forwarded as SSIP */
      uint64_t end = mtime() + 20000000;
      while (ready[k] != 2) if (mtime() > end) fail_at("hart not in S", k, 2);
    }
    for (int k = 1; k < n && k < 8; k++) {
      uint64_t base = s_ack[k];
      for (uint64_t r = 1; r <= ROUNDS; r++) {
        mmio_w32(CLINT_MSIP(k), 1);
        if (!wait_ge(&s_ack[k], base + r)) fail_at("S IPI ack timeout (hart)", k, r);
      }
      EQ("S IPI scause", s_cause[k], IRQ_BIT | 1);
    }
    hs_puts("info: cross-hart IPIs forwarded to S ok\n");
    hs_puts("info: cross-hart IPI rounds=");
    hs_putdec(ROUNDS);
    hs_puts(" harts=");
    hs_putdec(n - 1);
    hs_puts("\n");
  }
  if ((mt.count && !(mt.cause & IRQ_BIT)) || (st.count && !(st.cause & IRQ_BIT)))
    fail_at("unexpected exception", mt.cause, st.cause);
  hs_puts("irq_ipi: PASS\n");
  return 0;
}
