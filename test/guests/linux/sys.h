/* Raw Linux system calls for hindsight's own initramfs programs: no libc, just ecall. */
#ifndef HINDSIGHT_LINUX_SYS_H
#define HINDSIGHT_LINUX_SYS_H

typedef unsigned long ulong;

#define SYS_write 64
#define SYS_exit 93
#define SYS_nanosleep 101
#define SYS_sched_yield 124
#define SYS_reboot 142
#define SYS_clone 220

static inline long sys3(long n, long a0, long a1, long a2) {
  register long r_a0 asm("a0") = a0;
  register long r_a1 asm("a1") = a1;
  register long r_a2 asm("a2") = a2;
  register long r_a7 asm("a7") = n;
  asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a7) : "memory");
  return r_a0;
}

static inline long sys4(long n, long a0, long a1, long a2, long a3) {
  register long r_a0 asm("a0") = a0;
  register long r_a1 asm("a1") = a1;
  register long r_a2 asm("a2") = a2;
  register long r_a3 asm("a3") = a3;
  register long r_a7 asm("a7") = n;
  asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a7) : "memory");
  return r_a0;
}

static inline ulong str_len(const char *s) {
  ulong n = 0;
  while (s[n]) n++;
  return n;
}

static inline void put_str(const char *s) { sys3(SYS_write, 1, (long)s, (long)str_len(s)); }

/* Decimal without division helpers beyond what rv64imac has (div is in M). */
static inline void put_ulong(ulong v) {
  char buf[24];
  int i = sizeof buf;
  buf[--i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  put_str(buf + i);
}

struct timespec_k { long sec; long nsec; };

static inline void sleep_ms(long ms) {
  struct timespec_k ts = { ms / 1000, (ms % 1000) * 1000000L };
  sys3(SYS_nanosleep, (long)&ts, 0, 0);
}

static inline void power_off(void) {
  /* LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF */
  sys4(SYS_reboot, (long)0xfee1dead, 672274793, (long)0x4321fedc, 0);
}

static inline __attribute__((noreturn)) void exit_thread(long code) {
  for (;;) sys3(SYS_exit, code, 0, 0);
}

#endif
