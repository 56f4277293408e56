/* The privileged guests' shared harness (common/priv_harness.c), used by priv_traps, irq_timer,
   irq_ipi and mmu_sv39/48.

   A trap saves every register in a frame (32 dwords: slot 0 = vector number, -1 for a direct-mode
   entry; slot n = xn) on the mode's trap stack (mscratch/sscratch hold its top) and calls
   m_trap_c / s_trap_c. These return to the caller of run_mode when a lower mode finishes
   (MAGIC_RET), record the trap in mt / st, and resume after the trapping instruction (or, for a
   fetch fault, at the return address); interrupts and service calls a guest handles itself go
   to its priv_hooks first. run_mode(mode, fn, arg) runs fn(arg) in U or S mode (at the alias
   offset lower_off, 0 for none) and returns its result. */
#ifndef PRIV_HARNESS_H
#define PRIV_HARNESS_H
#include "hs.h"

#define MAGIC_RET 0x52657475726eUL      /* a7 value of the "return to M" ecall */
#define MSTATUS_SIE  (1UL << 1)
#define MSTATUS_MIE  (1UL << 3)
#define MSTATUS_SPIE (1UL << 5)
#define MSTATUS_MPIE (1UL << 7)
#define MSTATUS_SPP  (1UL << 8)
#define MSTATUS_MPP  (3UL << 11)
#define MSTATUS_MPRV (1UL << 17)
#define MSTATUS_SUM  (1UL << 18)
#define MSTATUS_MXR  (1UL << 19)
#define MSTATUS_TVM  (1UL << 20)
#define MSTATUS_TW   (1UL << 21)
#define MSTATUS_TSR  (1UL << 22)
#define IRQ_BIT (1UL << 63)

/* Trap entries, vector tables and mode switches (assembly in priv_harness.c). */
extern char m_trap_entry[], s_trap_entry[], m_vec_table[], s_vec_table[], lower_tramp[], run_mode_back[];
uint64_t run_mode(uint64_t mode, void *fn, uint64_t arg);
void s_forward_ret(uint64_t v) __attribute__((noreturn));   /* from S: hand a lower mode's result on to M */
void s_enter_user(void *fn, uint64_t arg) __attribute__((noreturn));
uint64_t m_read_insn16(uint64_t a);   /* instruction halfword at a trapped pc, with the trapped mode's translation */
uint64_t s_read_insn16(uint64_t a);

/* Where run_mode runs fn: its address plus lower_off (set it for an aliased mapping). */
extern uint64_t lower_off;
/* Each hart's M-mode stack pointer while a lower mode runs (run_mode saves it). */
extern uint64_t m_saved_sp[8];

/* The last trap taken into M / into S, and how many were taken. */
struct trap_rec { uint64_t cause, epc, tval, status, vec, count; };
extern volatile struct trap_rec mt, st;

/* What a guest handles itself; each guest defines `const struct priv_hooks priv_hooks` (a NULL
   member: the harness's default). A hook returns 1 when it handled the trap, 0 for the default. */
struct priv_hooks {
  /* Any synchronous trap into M before it is recorded in mt (service calls); sets mepc itself. */
  int (*m_call)(uint64_t *frame, uint64_t cause, uint64_t epc);
  /* An interrupt into M with this code (recorded in mt). Default: MSI clears msip, SSI clears
     mip.SSIP, MTI disarms mtimecmp, anything else fails the guest. */
  int (*m_interrupt)(uint64_t code);
  /* An interrupt into S with this code (recorded in st). Default: SSI clears sip.SSIP, anything
     else ends the lower mode with 0xdead. */
  int (*s_interrupt)(uint64_t *frame, uint64_t code);
};
extern const struct priv_hooks priv_hooks;

/* Prints "FAIL: what got=a want=b" and fails the guest. */
void fail_at(const char *what, uint64_t a, uint64_t b) __attribute__((noreturn));
#define EQ(what, got, want) do { uint64_t g_ = (got), w_ = (want); if (g_ != w_) fail_at(what, g_, w_); } while (0)

#endif
