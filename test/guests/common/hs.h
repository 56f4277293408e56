/* Tiny runtime for hindsight's own bare-metal test guests (virt board, M-mode). */
#ifndef HS_H
#define HS_H
#include <stdint.h>

#define UART0       0x10000000UL
#define TEST_DEV    0x100000UL
#define CLINT       0x2000000UL
#define CLINT_MTIME (CLINT + 0xbff8)
#define CLINT_MTIMECMP(h) (CLINT + 0x4000 + 8 * (h))
#define CLINT_MSIP(h) (CLINT + 4 * (h))
#define PLIC        0xc000000UL

static inline void mmio_w8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline uint8_t mmio_r8(uintptr_t a) { return *(volatile uint8_t *)a; }
static inline void mmio_w32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline uint32_t mmio_r32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_w64(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }
static inline uint64_t mmio_r64(uintptr_t a) { return *(volatile uint64_t *)a; }

#define csr_read(csr) ({ uint64_t __v; __asm__ volatile("csrr %0, " #csr : "=r"(__v)); __v; })
#define csr_write(csr, v) __asm__ volatile("csrw " #csr ", %0" :: "rK"((uint64_t)(v)))
#define csr_set(csr, v) __asm__ volatile("csrs " #csr ", %0" :: "rK"((uint64_t)(v)))
#define csr_clear(csr, v) __asm__ volatile("csrc " #csr ", %0" :: "rK"((uint64_t)(v)))

void hs_putc(char c);
void hs_puts(const char *s);
void hs_puthex(uint64_t v);            /* 16 hex digits */
void hs_putdec(uint64_t v);
void hs_exit(int code) __attribute__((noreturn));   /* 0 = pass, else fail code (SiFive test device) */
void hs_fail(const char *why) __attribute__((noreturn));
int  hs_num_harts(const void *dtb);    /* counts /cpus/cpu@N nodes in the flattened device tree */
void hs_check(int ok, const char *what);/* prints and exits with failure when !ok */
uint64_t hs_checksum_add(uint64_t sum, uint64_t v);

/* Each C guest defines this; it runs on every hart. Returning from hart 0 exits with its value. */
int guest_main(uint64_t hartid, const void *dtb);
extern volatile uint64_t tohost;
/* The start and end of a multi-hart guest (static inline: guests that do not use them are unchanged).
   hs_start_together: every hart counts itself in at *started and waits, up to ~5 s of mtime, for
   all n.  hs_await_all (hart 0): waits up to ~60 s for n harts counted in at *arrived, else fails. */
static inline void hs_start_together(volatile uint32_t *started, int n) {
  __asm__ volatile("amoadd.w zero, %1, (%0)" :: "r"(started), "r"(1) : "memory");
  uint64_t end = mmio_r64(CLINT_MTIME) + 50000000;
  while (*started < (uint32_t)n && mmio_r64(CLINT_MTIME) < end) {}
}
static inline void hs_await_all(volatile uint32_t *arrived, int n) {
  uint64_t end = mmio_r64(CLINT_MTIME) + 600000000;
  while (*arrived < (uint32_t)n && mmio_r64(CLINT_MTIME) < end) {}
  if (*arrived != (uint32_t)n) hs_fail("not all harts arrived");
  __asm__ volatile("fence rw, rw" ::: "memory");
}

#endif
