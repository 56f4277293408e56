/* irq_uart: external interrupts through the PLIC from the 16550 UART receiver.  Checks that a claim
   with nothing pending returns 0, that a pending source is masked while threshold >= priority
   (mip.MEIP stays clear), then takes MEI (mcause 0x800000000000000b) with threshold 0, claims
   source 10, drains RBR, completes, and echoes the line: "irq_uart: got: <line>".  Run with input
   on stdin, e.g.  printf 'hello\n' | qemu-system-riscv64 ... -nographic ...
   A CLINT timer watchdog (MTIE) bounds every wait: with no input the guest fails after ~3 s. */
#include "hs.h"

#define MSTATUS_MIE (1UL << 3)
#define IRQ_BIT (1UL << 63)
#define MIP_MTIP (1UL << 7)
#define MIP_MEIP (1UL << 11)
#define UART_IRQ 10
#define PLIC_PRIO(s)      (PLIC + 4 * (s))
#define PLIC_PENDING      (PLIC + 0x1000)
#define PLIC_ENABLE(ctx)  (PLIC + 0x2000 + 0x80 * (ctx))
#define PLIC_THRESH(ctx)  (PLIC + 0x200000 + 0x1000 * (ctx))
#define PLIC_CLAIM(ctx)   (PLIC + 0x200004 + 0x1000 * (ctx))

__asm__(
  ".section .text\n"
  "  .align 2\n"
  "m_entry:\n"
  "  addi sp, sp, -144\n"
  "  sd x1, 0(sp)\n  sd x5, 8(sp)\n  sd x6, 16(sp)\n  sd x7, 24(sp)\n"
  "  sd x10, 32(sp)\n  sd x11, 40(sp)\n  sd x12, 48(sp)\n  sd x13, 56(sp)\n"
  "  sd x14, 64(sp)\n  sd x15, 72(sp)\n  sd x16, 80(sp)\n  sd x17, 88(sp)\n"
  "  sd x28, 96(sp)\n  sd x29, 104(sp)\n  sd x30, 112(sp)\n  sd x31, 120(sp)\n"
  "  call m_trap_c\n"
  "  ld x1, 0(sp)\n  ld x5, 8(sp)\n  ld x6, 16(sp)\n  ld x7, 24(sp)\n"
  "  ld x10, 32(sp)\n  ld x11, 40(sp)\n  ld x12, 48(sp)\n  ld x13, 56(sp)\n"
  "  ld x14, 64(sp)\n  ld x15, 72(sp)\n  ld x16, 80(sp)\n  ld x17, 88(sp)\n"
  "  ld x28, 96(sp)\n  ld x29, 104(sp)\n  ld x30, 112(sp)\n  ld x31, 120(sp)\n"
  "  addi sp, sp, 144\n"
  "  mret\n"
);
extern char m_entry[];

static volatile uint64_t irqs, timeouts, bad_cause, bad_claim, last_cause, done;
static char line[128];
static volatile int len;

static uint64_t mtime(void) { return mmio_r64(CLINT_MTIME); }

void m_trap_c(void) {
  uint64_t cause = csr_read(mcause);
  last_cause = cause;
  if (cause == (IRQ_BIT | 7)) {                 /* watchdog */
    timeouts++;
    mmio_w64(CLINT_MTIMECMP(0), ~0UL);
    return;
  }
  if (cause != (IRQ_BIT | 11)) { bad_cause = cause; csr_write(mie, 0); return; }
  irqs++;
  uint32_t id = mmio_r32(PLIC_CLAIM(0));
  if (id != UART_IRQ) { bad_claim = id ? id : 0xffff; if (id) mmio_w32(PLIC_CLAIM(0), id); return; }
  while (mmio_r8(UART0 + 5) & 1) {
    char c = (char)mmio_r8(UART0);
    if (c == '\r') c = '\n';
    if (c == '\n') done = 1;
    else if (len < (int)sizeof line - 1 && !done) line[len++] = c;
  }
  mmio_w32(PLIC_CLAIM(0), id);                  /* complete */
}

static void fail2(const char *what, uint64_t v) {
  hs_puts("FAIL: "); hs_puts(what); hs_puts(" "); hs_puthex(v); hs_puts("\n");
  hs_exit(1);
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  csr_write(mtvec, (uint64_t)m_entry);
  csr_write(mie, 0);
  mmio_w64(CLINT_MTIMECMP(0), ~0UL);
  hs_puts("irq_uart: start\n");

  /* nothing enabled yet: claim returns 0 */
  mmio_w32(PLIC_THRESH(0), 0);
  mmio_w32(PLIC_PRIO(UART_IRQ), 1);
  mmio_w32(PLIC_ENABLE(0), 0);
  uint32_t c0 = mmio_r32(PLIC_CLAIM(0));
  if (c0 != 0) fail2("claim with nothing pending", c0);
  mmio_w32(PLIC_ENABLE(0), 1u << UART_IRQ);
  c0 = mmio_r32(PLIC_CLAIM(0));
  if (c0 != 0) fail2("claim with source enabled but idle", c0);
  hs_puts("irq_uart: empty claim ok\n");

  /* masked by threshold: source pending but MEIP stays clear */
  mmio_w32(PLIC_THRESH(0), 1);
  mmio_w8(UART0 + 1, 0x01);                     /* IER: received-data-available */
  uint64_t end = mtime() + 30000000;            /* 3 s */
  while (!(mmio_r32(PLIC_PENDING) & (1u << UART_IRQ)) && mtime() < end) {}
  if (!(mmio_r32(PLIC_PENDING) & (1u << UART_IRQ))) {
    hs_puts("irq_uart: no input on the UART (run with input on stdin)\n");
    hs_exit(3);
  }
  for (int i = 0; i < 1000; i++) if (csr_read(mip) & MIP_MEIP) fail2("MEIP despite threshold >= priority", csr_read(mip));
  mmio_w32(PLIC_PRIO(UART_IRQ), 2);             /* priority now above threshold */
  for (int i = 0; i < 100000 && !(csr_read(mip) & MIP_MEIP); i++) {}
  if (!(csr_read(mip) & MIP_MEIP)) fail2("no MEIP with priority > threshold", csr_read(mip));
  mmio_w32(PLIC_THRESH(0), 2);
  for (int i = 0; i < 100000 && (csr_read(mip) & MIP_MEIP); i++) {}
  if (csr_read(mip) & MIP_MEIP) fail2("MEIP with threshold == priority", csr_read(mip));
  mmio_w32(PLIC_THRESH(0), 0);
  hs_puts("irq_uart: threshold masking ok\n");

  /* interrupt-driven receive */
  mmio_w64(CLINT_MTIMECMP(0), mtime() + 30000000);
  csr_write(mie, MIP_MEIP | MIP_MTIP);
  while (!done && !timeouts && !bad_cause && !bad_claim) {
    __asm__ volatile("wfi");
    csr_set(mstatus, MSTATUS_MIE);
    csr_clear(mstatus, MSTATUS_MIE);
  }
  csr_write(mie, 0);
  mmio_w64(CLINT_MTIMECMP(0), ~0UL);
  if (bad_cause) fail2("unexpected mcause", bad_cause);
  if (bad_claim) fail2("claimed wrong source", bad_claim);
  if (!done) fail2("timeout waiting for newline; bytes so far", len);
  if (last_cause != 0x800000000000000bUL) fail2("mcause", last_cause);
  line[len] = 0;
  hs_puts("irq_uart: got: ");
  hs_puts(line);
  hs_puts("\n");
  hs_puts("info: external interrupts=");
  hs_putdec(irqs);
  hs_puts("\n");

  c0 = mmio_r32(PLIC_CLAIM(0));
  if (c0 != 0) fail2("claim after draining", c0);
  if (mmio_r32(PLIC_PENDING) & (1u << UART_IRQ)) fail2("still pending", mmio_r32(PLIC_PENDING));
  mmio_w8(UART0 + 1, 0);
  hs_puts("irq_uart: PASS\n");
  return 0;
}
