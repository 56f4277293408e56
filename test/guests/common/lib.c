#include "hs.h"

/* riscv-tests convention: a 'tohost' symbol; unused on the virt board but kept so the same ELF can
   be run by HTIF-aware hosts too. */
volatile uint64_t tohost __attribute__((section(".tohost"), aligned(8)));
volatile uint64_t fromhost __attribute__((section(".tohost"), aligned(8)));

static volatile uint32_t console_lock;

void hs_putc(char c) {
  while ((mmio_r8(UART0 + 5) & 0x20) == 0) {}
  mmio_w8(UART0, (uint8_t)c);
}

void hs_puts(const char *s) {
  while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE)) {}
  while (*s) hs_putc(*s++);
  __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

void hs_puthex(uint64_t v) {
  char buf[17];
  for (int i = 15; i >= 0; i--) { buf[i] = "0123456789abcdef"[v & 15]; v >>= 4; }
  buf[16] = 0;
  hs_puts(buf);
}

void hs_putdec(uint64_t v) {
  char buf[21];
  int i = 20;
  buf[i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  hs_puts(buf + i);
}

void hs_exit(int code) {
  __asm__ volatile("fence");
  mmio_w32(TEST_DEV, code == 0 ? 0x5555 : (((uint32_t)code << 16) | 0x3333));
  for (;;) __asm__ volatile("wfi");
}

void hs_fail(const char *why) {
  hs_puts("FAIL: ");
  hs_puts(why);
  hs_puts("\n");
  hs_exit(1);
}

void hs_check(int ok, const char *what) {
  if (!ok) hs_fail(what);
}

uint64_t hs_checksum_add(uint64_t sum, uint64_t v) {
  sum ^= v;
  sum *= 0x100000001b3ULL;
  return sum ^ (sum >> 29);
}

void hs_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval) {
  hs_puts("unexpected trap mcause=");
  hs_puthex(cause);
  hs_puts(" mepc=");
  hs_puthex(epc);
  hs_puts(" mtval=");
  hs_puthex(tval);
  hs_puts("\n");
  hs_exit(2);
}

static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

int hs_num_harts(const void *dtb) {
  const uint8_t *b = dtb;
  if (!b || be32(b) != 0xd00dfeed) return 1;
  const uint8_t *p = b + be32(b + 8);
  int depth = 0, in_cpus = -1, n = 0;
  for (;;) {
    uint32_t tok = be32(p); p += 4;
    if (tok == 1) {                      /* FDT_BEGIN_NODE */
      const char *name = (const char *)p;
      int len = 0;
      while (name[len]) len++;
      p += (len + 4) & ~3;
      depth++;
      if (depth == 2 && name[0] == 'c' && name[1] == 'p' && name[2] == 'u' && name[3] == 's' && name[4] == 0) in_cpus = depth;
      else if (in_cpus > 0 && depth == in_cpus + 1 && name[0] == 'c' && name[1] == 'p' && name[2] == 'u' && name[3] == '@') n++;
    } else if (tok == 2) {               /* FDT_END_NODE */
      if (depth == in_cpus) in_cpus = -2;
      depth--;
    } else if (tok == 3) {               /* FDT_PROP */
      uint32_t len = be32(p);
      p += 8 + ((len + 3) & ~3u);
    } else if (tok == 4) {               /* FDT_NOP */
    } else break;                        /* FDT_END or garbage */
  }
  return n > 0 ? n : 1;
}
