/*
 * Trap entry/exit, vector tables, privilege-switch helpers and the C trap handlers shared by the
 * privileged guests (priv_traps, irq_timer, irq_ipi, mmu_sv39/48); see priv_harness.h. Each guest
 * defines its trap stacks (mscratch/sscratch) and `priv_hooks`.
 */
#include "priv_harness.h"

uint64_t lower_off;
uint64_t m_saved_sp[8];
volatile struct trap_rec mt, st;

void fail_at(const char *what, uint64_t a, uint64_t b) {
  hs_puts("FAIL: "); hs_puts(what); hs_puts(" got="); hs_puthex(a); hs_puts(" want="); hs_puthex(b); hs_puts("\n");
  hs_exit(1);
}

static uint64_t insn_len(uint64_t h) { return (h & 3) == 3 ? 4 : 2; }

void m_trap_c(uint64_t *f) {
  uint64_t cause = csr_read(mcause), epc = csr_read(mepc);
  if (!(cause & IRQ_BIT) && (cause == 8 || cause == 9) && f[17] == MAGIC_RET) {
    f[2] = m_saved_sp[csr_read(mhartid)];
    f[10] = f[11];
    csr_set(mstatus, MSTATUS_MPP);
    csr_clear(mstatus, MSTATUS_MPIE);      /* back in M with MIE=0 */
    csr_write(mepc, (uint64_t)run_mode_back);
    return;
  }
  if (!(cause & IRQ_BIT) && priv_hooks.m_call && priv_hooks.m_call(f, cause, epc)) return;
  mt.cause = cause; mt.epc = epc; mt.tval = csr_read(mtval); mt.status = csr_read(mstatus); mt.vec = f[0];
  if (++mt.count > 1000) { hs_puthex(cause); hs_puts(" "); hs_puthex(epc); hs_puts(" "); hs_puthex(mt.tval); hs_fail("trap storm in M"); }
  if (cause & IRQ_BIT) {
    uint64_t c = cause & 63;
    if (priv_hooks.m_interrupt && priv_hooks.m_interrupt(c)) return;
    if (c == 3) mmio_w32(CLINT_MSIP(csr_read(mhartid)), 0);
    else if (c == 1) csr_clear(mip, 2);
    else if (c == 7) mmio_w64(CLINT_MTIMECMP(csr_read(mhartid)), ~0UL);
    else hs_fail("unexpected interrupt in M");
    return;
  }
  if (cause == 1 || cause == 12) csr_write(mepc, f[1]);   /* fetch fault: return to caller */
  else csr_write(mepc, epc + insn_len(m_read_insn16(epc)));
}

void s_trap_c(uint64_t *f) {
  uint64_t cause = csr_read(scause), epc = csr_read(sepc);
  if (!(cause & IRQ_BIT) && cause == 8 && f[17] == MAGIC_RET) {
    csr_write(sscratch, (uint64_t)f + 256);   /* this handler never returns: re-arm the S trap stack */
    s_forward_ret(f[11]);
  }
  st.cause = cause; st.epc = epc; st.tval = csr_read(stval); st.status = csr_read(sstatus); st.vec = f[0];
  if (++st.count > 1000) { csr_write(sscratch, (uint64_t)f + 256); s_forward_ret(0xdead); }
  if (cause & IRQ_BIT) {
    uint64_t c = cause & 63;
    if (priv_hooks.s_interrupt && priv_hooks.s_interrupt(f, c)) return;
    if (c == 1) csr_clear(sip, 2);
    else { csr_write(sscratch, (uint64_t)f + 256); s_forward_ret(0xdead); }
    return;
  }
  if (cause == 1 || cause == 12) csr_write(sepc, f[1]);
  else csr_write(sepc, epc + insn_len(s_read_insn16(epc)));
}

__asm__(
  ".section .text\n"
  ".option push\n"
  ".option norvc\n"
  ".macro TRAP_STUB name, scratch, vec, common\n"
  "\\name:\n"
  "  csrrw sp, \\scratch, sp\n"
  "  addi sp, sp, -256\n"
  "  sd t0, 40(sp)\n"
  "  li t0, \\vec\n"
  "  sd t0, 0(sp)\n"
  "  j \\common\n"
  ".endm\n"
  ".macro TRAP_COMMON name, scratch, handler, ret\n"
  "\\name:\n"
  "  .irp r,1,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
  "  sd x\\r, \\r*8(sp)\n"
  "  .endr\n"
  "  csrr t0, \\scratch\n"
  "  sd t0, 16(sp)\n"
  "  mv a0, sp\n"
  "  call \\handler\n"
  "  addi t0, sp, 256\n"
  "  csrw \\scratch, t0\n"
  "  .irp r,1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
  "  ld x\\r, \\r*8(sp)\n"
  "  .endr\n"
  "  ld sp, 16(sp)\n"
  "  \\ret\n"
  ".endm\n"
  "  .align 2\n"
  ".globl m_trap_entry\n"
  "TRAP_STUB m_trap_entry, mscratch, -1, m_common\n"
  "TRAP_COMMON m_common, mscratch, m_trap_c, mret\n"
  "  .align 2\n"
  ".globl s_trap_entry\n"
  "TRAP_STUB s_trap_entry, sscratch, -1, s_common\n"
  "TRAP_COMMON s_common, sscratch, s_trap_c, sret\n"
  /* vector tables: entry n jumps to a stub that records n */
  "  .align 8\n"
  "  .globl m_vec_table\n"
  "m_vec_table:\n"
  "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
  "  j m_v\\n\n"
  "  .endr\n"
  "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
  "  TRAP_STUB m_v\\n, mscratch, \\n, m_common\n"
  "  .endr\n"
  "  .align 8\n"
  "  .globl s_vec_table\n"
  "s_vec_table:\n"
  "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
  "  j s_v\\n\n"
  "  .endr\n"
  "  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
  "  TRAP_STUB s_v\\n, sscratch, \\n, s_common\n"
  "  .endr\n"
  /* uint64_t run_mode(uint64_t mode, uint64_t (*fn)(uint64_t), uint64_t arg):
     runs fn(arg) in mode (0=U, 1=S) via MRET; fn's return value comes back through the
     MAGIC_RET ecall, which m_trap_c turns into an MRET to run_mode_back in M-mode. */
  "  .globl run_mode\n"
  "run_mode:\n"
  "  addi sp, sp, -112\n"
  "  sd ra, 0(sp)\n"
  "  .irp r,0,1,2,3,4,5,6,7,8,9,10,11\n"
  "  sd s\\r, (8+\\r*8)(sp)\n"
  "  .endr\n"
  "  csrr t1, mhartid\n"
  "  slli t1, t1, 3\n"
  "  la t0, m_saved_sp\n"
  "  add t0, t0, t1\n"
  "  sd sp, 0(t0)\n"
  "  li t0, 0x1800\n"
  "  csrc mstatus, t0\n"
  "  andi a0, a0, 3\n"
  "  slli a0, a0, 11\n"
  "  csrs mstatus, a0\n"
  "  la t2, lower_off\n"
  "  ld t2, 0(t2)\n"
  "  la t0, lower_tramp\n"
  "  add t0, t0, t2\n"
  "  csrw mepc, t0\n"
  "  add s0, a1, t2\n"
  "  add sp, sp, t2\n"
  "  mv a0, a2\n"
  "  li a7, 0\n"
  "  mret\n"
  "  .globl lower_tramp\n"
  "lower_tramp:\n"
  "  jalr s0\n"
  "  mv a1, a0\n"
  "  li a7, 0x52657475726e\n"
  "  ecall\n"
  "1: j 1b\n"
  "  .globl run_mode_back\n"
  ".globl run_mode_back\n"
  "run_mode_back:\n"
  "  ld ra, 0(sp)\n"
  "  .irp r,0,1,2,3,4,5,6,7,8,9,10,11\n"
  "  ld s\\r, (8+\\r*8)(sp)\n"
  "  .endr\n"
  "  addi sp, sp, 112\n"
  "  ret\n"
  /* void s_forward_ret(uint64_t v): from S, hand a lower-mode MAGIC_RET on to M */
  ".globl s_forward_ret\n"
  "s_forward_ret:\n"
  "  mv a1, a0\n"
  "  li a7, 0x52657475726e\n"
  "  ecall\n"
  "1: j 1b\n"
  /* void s_enter_user(fn, arg): from S, SRET into U at lower_tramp calling fn(arg) */
  ".globl s_enter_user\n"
  "s_enter_user:\n"
  "  mv s0, a0\n"
  "  mv a0, a1\n"
  "  la t0, lower_tramp\n"
  "  csrw sepc, t0\n"
  "  li t0, 0x100\n"
  "  csrc sstatus, t0\n"
  "  li a7, 0\n"
  "  sret\n"
  /* instruction halfword at a trapped pc, read with the trapped mode's translation */
  ".globl m_read_insn16\n"
  "m_read_insn16:\n"
  "  csrr t1, mstatus\n"
  "  li t0, (1<<17)|(1<<19)\n"
  "  csrs mstatus, t0\n"
  "  lhu a0, 0(a0)\n"
  "  csrw mstatus, t1\n"
  "  ret\n"
  ".globl s_read_insn16\n"
  "s_read_insn16:\n"
  "  csrr t1, sstatus\n"
  "  li t0, (1<<18)|(1<<19)\n"
  "  csrs sstatus, t0\n"
  "  lhu a0, 0(a0)\n"
  "  csrw sstatus, t1\n"
  "  ret\n"
  ".option pop\n"
);
