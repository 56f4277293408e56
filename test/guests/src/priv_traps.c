/* priv_traps: M/S/U privilege levels, synchronous traps, delegation, trap vectors and the
   mstatus control bits (TW, TSR, TVM, MPRV), CSR privilege checks and counter-enable gating.
   Single hart (other harts park).  Every check is on the architectural result; where the spec
   allows a choice, the guest accepts any legal value and prints what it saw on an "info:" line. */
#include "priv_harness.h"

/* ---------------------------------------------------------------------------------------------
   Probes: the instructions the checks run to provoke traps (trap entry, handlers and mode
   switches are the shared harness's, common/priv_harness.c). */
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
  "PROBE probe_ecall, ecall\n"
  "PROBE probe_ebreak, ebreak\n"
  "PROBE probe_illegal, .word 0x1234506b\n"
  "PROBE probe_load, ld a0, 0(a0)\n"
  "PROBE probe_load_w, lw a0, 0(a0)\n"
  "PROBE probe_store, sd a1, 0(a0)\n"
  "PROBE probe_wfi, wfi\n"
  "PROBE probe_sret, sret\n"
  "PROBE probe_mret, mret\n"
  "PROBE probe_sfence, sfence.vma\n"
  "PROBE probe_rd_satp, csrr a0, satp\n"
  "PROBE probe_wr_satp, csrw satp, zero\n"
  "PROBE probe_rd_sstatus, csrr a0, sstatus\n"
  "PROBE probe_rd_sscratch, csrr a0, sscratch\n"
  "PROBE probe_rd_mstatus, csrr a0, mstatus\n"
  "PROBE probe_rd_mscratch, csrr a0, mscratch\n"
  "PROBE probe_rd_mhartid, csrr a0, mhartid\n"
  "PROBE probe_wr_mhartid, csrw mhartid, zero\n"
  "PROBE probe_wr_cycle, csrw cycle, zero\n"
  "PROBE probe_rdcycle, rdcycle a0\n"
  "PROBE probe_rdtime, rdtime a0\n"
  "PROBE probe_rdinstret, rdinstret a0\n"
  ".option pop\n"
  /* compressed probes */
  ".option push\n"
  ".option rvc\n"
  "  .globl probe_cunimp\n"
  "probe_cunimp:\n"
  "  .half 0x0000\n"
  "  ret\n"
  "  .globl probe_cebreak\n"
  "probe_cebreak:\n"
  "  c.ebreak\n"
  "  ret\n"
  /* jalr to an odd address: bit 0 of the target is cleared */
  "  .align 2\n"
  "  .globl jalr_target\n"
  "jalr_target:\n"
  "  li a0, 0x77\n"
  "  ret\n"
  ".option pop\n"
);

extern char probe_ecall[], probe_ebreak[], probe_illegal[], probe_load[], probe_store[], probe_wfi[],
    probe_sret[], probe_sfence[], probe_rd_satp[], probe_wr_satp[], probe_rd_sstatus[], probe_rd_sscratch[],
    probe_rd_mstatus[], probe_rd_mscratch[], probe_rd_mhartid[], probe_wr_mhartid[], probe_wr_cycle[],
    probe_rdcycle[], probe_rdtime[], probe_rdinstret[], probe_cunimp[], probe_cebreak[], jalr_target[],
    probe_mret[], probe_load_w[];
typedef uint64_t (*fn1)(uint64_t);
typedef uint64_t (*fn2)(uint64_t, uint64_t);
#define CALL0(p) (((fn1)(void *)(p))(0))
#define CALL1(p, a) (((fn1)(void *)(p))(a))
#define CALL2(p, a, b) (((fn2)(void *)(p))(a, b))

static uint8_t m_tstack[4096 * 2] __attribute__((aligned(16)));
static uint8_t s_tstack[4096 * 2] __attribute__((aligned(16)));

const struct priv_hooks priv_hooks = { 0 };   /* the harness's default handling throughout */

/* run probe p (in the current mode) and check that it trapped to M with the given cause */
static uint64_t mcount0;
static void expect_m(const char *what, uint64_t cause) {
  if (mt.count != mcount0 + 1) fail_at(what, mt.count - mcount0, 1);
  if (mt.cause != cause) fail_at(what, mt.cause, cause);
  mcount0 = mt.count;
}
static void expect_none(const char *what) {
  if (mt.count != mcount0) fail_at(what, mt.cause, 0);
}

static void ok(const char *s) { hs_puts("priv_traps: "); hs_puts(s); hs_puts(" ok\n"); }

/* ---------------- functions run in S or U (no printing from lower modes) ---------------- */
static volatile uint64_t lower_flag;

static uint64_t fn_ecall(uint64_t x) { lower_flag = x; CALL0(probe_ecall); return x + 1; }
static uint64_t fn_probe(uint64_t p) { return CALL0(p); }
static uint64_t fn_read_sstatus(uint64_t x) { (void)x; return csr_read(sstatus); }
static uint64_t fn_u_body(uint64_t x) { lower_flag = 0x55; CALL0(probe_ecall); CALL0(probe_illegal); return x * 3; }
static uint64_t fn_s_to_u(uint64_t x) { s_enter_user((void *)fn_u_body, x); }
static uint64_t fn_s_traps(uint64_t x) {
  (void)x;
  uint64_t before = st.count;
  CALL0(probe_illegal);       /* delegated: S handler, SPP=1 */
  if (st.count != before + 1) return 1;
  if (st.cause != 2 || !(st.status & MSTATUS_SPP)) return 2;
  if (st.tval != 0x1234506b && st.tval != 0) return 3;
  if (st.epc != (uint64_t)probe_illegal) return 4;
  CALL0(probe_ebreak);
  if (st.count != before + 2 || st.cause != 3) return 5;
  return 0;
}
static uint64_t fn_ssip_vectored(uint64_t x) {
  (void)x;
  uint64_t before = st.count;
  csr_set(sie, 2);
  csr_set(sip, 2);                /* S may set its own software-interrupt pending bit */
  csr_set(sstatus, MSTATUS_SIE);  /* taken here */
  __asm__ volatile("nop");
  csr_clear(sstatus, MSTATUS_SIE);
  if (st.count != before + 1) return 1;
  if (st.cause != (IRQ_BIT | 1)) return 2;
  if (st.vec != 1) return 3;
  if (csr_read(sip) & 2) return 4;
  return 0;
}
static uint64_t fn_s_wfi(uint64_t x) {
  (void)x;
  /* SSIP pending+enabled in sie but SIE=0: WFI must resume without taking the interrupt */
  csr_set(sie, 2);
  csr_set(sip, 2);
  CALL0(probe_wfi);
  csr_clear(sip, 2);
  csr_clear(sie, 2);
  return 7;
}

static void pmp_open_all(void) {
  csr_write(pmpaddr0, ~0UL >> 10);
  csr_write(pmpcfg0, 0x1f);   /* NAPOT, RWX, covering everything */
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) for (;;) __asm__ volatile("wfi");
  csr_write(mscratch, (uint64_t)(m_tstack + sizeof m_tstack));
  csr_write(sscratch, (uint64_t)(s_tstack + sizeof s_tstack));
  csr_write(mtvec, (uint64_t)m_trap_entry);
  csr_write(stvec, (uint64_t)s_trap_entry);
  csr_write(medeleg, 0);
  csr_write(mideleg, 0);
  csr_write(mie, 0);
  pmp_open_all();
  hs_puts("priv_traps: start\n");

  /* --- ecall / ebreak from M; MPP and MIE/MPIE stacking --- */
  csr_set(mstatus, MSTATUS_MIE);                 /* mie=0: no interrupt can be taken */
  CALL0(probe_ecall);
  expect_m("ecall-M cause", 11);
  EQ("ecall-M mepc", mt.epc, (uint64_t)probe_ecall);
  EQ("ecall-M mtval", mt.tval, 0);
  EQ("trap MPP=M", (mt.status >> 11) & 3, 3);
  EQ("trap MIE cleared", mt.status & MSTATUS_MIE, 0);
  EQ("trap MPIE=old MIE(1)", mt.status & MSTATUS_MPIE, MSTATUS_MPIE);
  EQ("mret restores MIE", csr_read(mstatus) & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MIE | MSTATUS_MPIE);
  csr_clear(mstatus, MSTATUS_MIE);
  CALL0(probe_ecall);
  expect_m("ecall-M 2", 11);
  EQ("trap MPIE=old MIE(0)", mt.status & MSTATUS_MPIE, 0);
  EQ("mret MIE=0 MPIE=1", csr_read(mstatus) & (MSTATUS_MIE | MSTATUS_MPIE), MSTATUS_MPIE);
  ok("ecall-M mstatus-stack");

  CALL0(probe_ebreak);
  expect_m("ebreak cause", 3);
  EQ("ebreak mepc", mt.epc, (uint64_t)probe_ebreak);
  if (mt.tval != 0 && mt.tval != (uint64_t)probe_ebreak) fail_at("ebreak mtval", mt.tval, 0);
  hs_puts(mt.tval ? "info: ebreak mtval=pc\n" : "info: ebreak mtval=0\n");
  CALL0(probe_cebreak);
  expect_m("c.ebreak cause", 3);
  EQ("c.ebreak mepc", mt.epc, (uint64_t)probe_cebreak);
  ok("ebreak");

  CALL0(probe_illegal);
  expect_m("illegal cause", 2);
  EQ("illegal mepc", mt.epc, (uint64_t)probe_illegal);
  if (mt.tval != 0x1234506b && mt.tval != 0) fail_at("illegal mtval", mt.tval, 0x1234506b);
  hs_puts(mt.tval ? "info: illegal mtval=insn\n" : "info: illegal mtval=0\n");
  CALL0(probe_cunimp);
  expect_m("c.unimp cause", 2);
  EQ("c.unimp mtval", mt.tval, 0);
  CALL0(probe_wr_mhartid);
  expect_m("write mhartid (read-only)", 2);
  if (mt.tval) EQ("csrw mhartid mtval", mt.tval, *(uint32_t *)probe_wr_mhartid);
  CALL0(probe_wr_cycle);
  expect_m("write cycle (read-only)", 2);
  ok("illegal-insn");

  /* --- access faults on physical addresses with no device --- */
  CALL1(probe_load, 0);
  expect_m("load 0x0 cause", 5);
  EQ("load 0x0 mtval", mt.tval, 0);
  CALL2(probe_store, 0x8, 1);
  expect_m("store 0x8 cause", 7);
  EQ("store 0x8 mtval", mt.tval, 8);
  CALL1(probe_load_w, 0x10000000000UL);
  expect_m("load 1TiB cause", 5);
  EQ("load 1TiB mtval", mt.tval, 0x10000000000UL);
  CALL1(jalr_target, 0);    /* sanity: callable */
  {
    uint64_t c0 = mt.count;
    CALL1(0x1, 0);          /* fetch from 0x1 -> jalr clears bit 0 -> fetch at 0x0 faults */
    if (mt.count != c0 + 1) fail_at("fetch 0x0 traps", mt.count - c0, 1);
    EQ("fetch 0x0 cause", mt.cause, 1);
    EQ("fetch 0x0 mepc", mt.epc, 0);
    EQ("fetch 0x0 mtval", mt.tval, 0);
    mcount0 = mt.count;
  }
  ok("access-fault");
  EQ("jalr odd target clears bit0", CALL1((uint64_t)jalr_target + 1, 0), 0x77);
  expect_none("jalr odd no trap");
  ok("jalr-odd (no misaligned fetch with C)");

  /* --- entering S and U with MRET; ecall causes; MPP after MRET --- */
  EQ("S ecall return", run_mode(1, (void *)fn_ecall, 41), 42);
  expect_m("ecall-S cause", 9);
  EQ("ecall-S MPP", (mt.status >> 11) & 3, 1);
  EQ("ecall-S mepc", mt.epc, (uint64_t)probe_ecall);
  EQ("MRET sets MPP=U", csr_read(mstatus) & MSTATUS_MPP, 0);
  EQ("U ecall return", run_mode(0, (void *)fn_ecall, 9), 10);
  expect_m("ecall-U cause", 8);
  EQ("ecall-U MPP", (mt.status >> 11) & 3, 0);
  EQ("lower mode wrote memory", lower_flag, 9);
  ok("mret-to-S/U ecall");

  /* --- CSR privilege checks --- */
  EQ("S reads sstatus", run_mode(1, (void *)fn_read_sstatus, 0) & MSTATUS_SPP, 0);
  expect_none("S reads sstatus");
  static char *const s_bad[] = { probe_rd_mstatus, probe_rd_mscratch, probe_rd_mhartid, probe_mret, 0 };
  static char *const u_bad[] = { probe_rd_sstatus, probe_rd_sscratch, probe_rd_satp, probe_rd_mstatus,
                                 probe_rd_mscratch, probe_mret, probe_sret, probe_sfence, probe_wfi, 0 };
  for (int i = 0; s_bad[i]; i++) {
    run_mode(1, (void *)fn_probe, (uint64_t)s_bad[i]);
    expect_m("S-mode privileged op", 2);
    EQ("S-mode op mepc", mt.epc, (uint64_t)s_bad[i]);
    if (mt.tval) EQ("S-mode op mtval", mt.tval, *(uint32_t *)s_bad[i]);
  }
  for (int i = 0; u_bad[i]; i++) {
    run_mode(0, (void *)fn_probe, (uint64_t)u_bad[i]);
    expect_m("U-mode privileged op", 2);
    EQ("U-mode op mepc", mt.epc, (uint64_t)u_bad[i]);
    if (mt.tval) EQ("U-mode op mtval", mt.tval, *(uint32_t *)u_bad[i]);
  }
  ok("csr-privilege (U->S/M, S->M, mret/sret/sfence/wfi in U)");

  /* --- TW, TSR, TVM --- */
  csr_write(mideleg, 2);
  run_mode(1, (void *)fn_s_wfi, 0);
  expect_none("WFI in S with TW=0");
  csr_set(mstatus, MSTATUS_TW);
  run_mode(1, (void *)fn_s_wfi, 0);
  expect_m("WFI in S with TW=1", 2);
  EQ("TW mepc", mt.epc, (uint64_t)probe_wfi);
  csr_clear(mstatus, MSTATUS_TW);
  csr_clear(mip, 2);
  csr_write(mideleg, 0);
  csr_set(mstatus, MSTATUS_TSR);
  run_mode(1, (void *)fn_probe, (uint64_t)probe_sret);
  expect_m("SRET in S with TSR=1", 2);
  csr_clear(mstatus, MSTATUS_TSR);
  static char *const tvm_ops[] = { probe_rd_satp, probe_wr_satp, probe_sfence, 0 };
  for (int i = 0; tvm_ops[i]; i++) {
    run_mode(1, (void *)fn_probe, (uint64_t)tvm_ops[i]);
    expect_none("satp/sfence in S with TVM=0");
    csr_set(mstatus, MSTATUS_TVM);
    run_mode(1, (void *)fn_probe, (uint64_t)tvm_ops[i]);
    expect_m("satp/sfence in S with TVM=1", 2);
    EQ("TVM mepc", mt.epc, (uint64_t)tvm_ops[i]);
    csr_clear(mstatus, MSTATUS_TVM);
  }
  CALL0(probe_rd_satp);
  csr_set(mstatus, MSTATUS_TVM | MSTATUS_TSR | MSTATUS_TW);
  CALL0(probe_rd_satp);       /* TVM/TSR/TW never affect M-mode */
  CALL0(probe_sfence);
  csr_clear(mstatus, MSTATUS_TVM | MSTATUS_TSR | MSTATUS_TW);
  expect_none("TVM in M");
  ok("TW TSR TVM");

  /* --- counter enables --- */
  static char *const ctr[] = { probe_rdcycle, probe_rdtime, probe_rdinstret };
  for (int b = 0; b < 3; b++) {
    CALL0(ctr[b]);
    expect_none("counter in M");
    for (uint64_t men = 0; men < 8; men++) {
      for (uint64_t sen = 0; sen < 8; sen += 7) {
        csr_write(mcounteren, men);
        csr_write(scounteren, sen);
        uint64_t c0 = mt.count;
        run_mode(1, (void *)fn_probe, (uint64_t)ctr[b]);
        uint64_t s_trapped = mt.count - c0;
        if (s_trapped) EQ("counter S cause", mt.cause, 2);
        EQ("counter S gated by mcounteren", s_trapped, ((men >> b) & 1) ? 0 : 1);
        c0 = mt.count;
        run_mode(0, (void *)fn_probe, (uint64_t)ctr[b]);
        uint64_t u_trapped = mt.count - c0;
        if (u_trapped) EQ("counter U cause", mt.cause, 2);
        EQ("counter U gated by m&scounteren", u_trapped, (((men & sen) >> b) & 1) ? 0 : 1);
        mcount0 = mt.count;
      }
    }
  }
  csr_write(mcounteren, 0);
  csr_write(scounteren, 0);
  ok("mcounteren/scounteren");

  /* --- sstatus / sie / sip are views of mstatus / mie / mip --- */
  csr_set(mstatus, MSTATUS_MPP);
  EQ("sstatus hides MPP", csr_read(sstatus) & MSTATUS_MPP, 0);
  csr_set(sstatus, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
  EQ("sstatus writes mstatus", csr_read(mstatus) & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP),
     MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
  csr_clear(mstatus, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP);
  EQ("mstatus write seen in sstatus", csr_read(sstatus) & (MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP), 0);
  csr_write(sstatus, MSTATUS_MPP | MSTATUS_MIE);
  EQ("sstatus cannot write MPP/MIE", csr_read(mstatus) & (MSTATUS_MPP | MSTATUS_MIE), MSTATUS_MPP);
  csr_clear(mstatus, MSTATUS_MPP);
  csr_write(mideleg, ~0UL);
  hs_puts("info: mideleg writable=");
  hs_puthex(csr_read(mideleg));
  hs_puts("\n");
  if ((csr_read(mideleg) & 0x222) != 0x222) fail_at("mideleg S bits writable", csr_read(mideleg), 0x222);
  csr_write(medeleg, ~0UL);
  hs_puts("info: medeleg writable=");
  hs_puthex(csr_read(medeleg));
  hs_puts("\n");
  csr_write(medeleg, 0);
  csr_write(mideleg, 0x222);
  csr_write(sie, ~0UL);
  EQ("sie write -> mie (delegated bits)", csr_read(mie), 0x222);
  EQ("sie read", csr_read(sie), 0x222);
  csr_write(mie, 0x888);
  EQ("M bits invisible in sie", csr_read(sie), 0);
  csr_write(mie, 0);
  csr_set(mip, 0x22);          /* M may set SSIP and STIP */
  EQ("mip SSIP|STIP", csr_read(mip) & 0x222, 0x22);
  EQ("sip shows SSIP|STIP", csr_read(sip) & 0x222, 0x22);
  csr_clear(sip, 0x20);        /* STIP is read-only through sip */
  EQ("sip STIP read-only", csr_read(mip) & 0x20, 0x20);
  csr_clear(sip, 0x2);
  EQ("sip SSIP clear", csr_read(mip) & 0x22, 0x20);
  csr_clear(mip, 0x20);
  csr_write(mideleg, 0);
  csr_set(mip, 2);
  EQ("sip hides undelegated SSIP", csr_read(sip) & 2, 0);
  csr_clear(mip, 2);
  expect_none("views");
  ok("sstatus/sie/sip views");

  /* --- exception delegation to S --- */
  csr_write(medeleg, (1 << 8) | (1 << 2) | (1 << 3));
  csr_set(mstatus, MSTATUS_SIE);
  {
    uint64_t s0 = st.count;
    EQ("U ecall delegated: return", run_mode(0, (void *)fn_ecall, 5), 6);
    expect_none("U ecall delegated: not in M");
    EQ("U ecall delegated: S trap", st.count - s0, 1);
    EQ("scause", st.cause, 8);
    EQ("sepc", st.epc, (uint64_t)probe_ecall);
    EQ("stval", st.tval, 0);
    EQ("SPP=U SIE=0 SPIE=1", st.status & (MSTATUS_SPP | MSTATUS_SIE | MSTATUS_SPIE), MSTATUS_SPIE);
    csr_clear(mstatus, MSTATUS_SIE);
    EQ("S traps delegated", run_mode(1, (void *)fn_s_traps, 0), 0);
    expect_none("S traps delegated: not in M");
    s0 = st.count;
    EQ("S->SRET->U", run_mode(1, (void *)fn_s_to_u, 4), 12);
    EQ("U traps under SRET", st.count - s0, 2);
    EQ("U illegal delegated", st.cause, 2);
    EQ("U illegal SPP", st.status & MSTATUS_SPP, 0);
    EQ("U ran", lower_flag, 0x55);
    EQ("SRET sets SPP=U", csr_read(mstatus) & MSTATUS_SPP, 0);
    CALL0(probe_illegal);   /* traps taken in M are never delegated */
    expect_m("M illegal not delegated", 2);
    run_mode(1, (void *)fn_ecall, 0);   /* ecall from S: bit 9 not delegated */
    expect_m("S ecall to M", 9);
  }
  csr_write(medeleg, 0);
  ok("medeleg (U ecall, illegal, ebreak -> S; SRET to U)");

  /* --- vectored mtvec / stvec: exceptions use BASE, interrupts BASE+4*cause --- */
  csr_write(mtvec, (uint64_t)m_vec_table | 1);
  CALL0(probe_ecall);
  expect_m("vectored ecall", 11);
  EQ("vectored exception uses base", mt.vec, 0);
  csr_set(mie, 1 << 3);
  mmio_w32(CLINT_MSIP(0), 1);
  for (int i = 0; i < 1000 && mt.count == mcount0; i++) {}
  expect_none("MSIP with MIE=0 not taken");
  csr_set(mstatus, MSTATUS_MIE);
  for (int i = 0; i < 100000 && mt.count == mcount0; i++) {}
  csr_clear(mstatus, MSTATUS_MIE);
  expect_m("MSI", IRQ_BIT | 3);
  EQ("MSI vector", mt.vec, 3);
  /* M interrupts are enabled in S regardless of mstatus.MIE */
  mmio_w32(CLINT_MSIP(0), 1);
  while (!(csr_read(mip) & 8)) {}
  run_mode(1, (void *)fn_read_sstatus, 0);
  expect_m("MSI taken in S with MIE=0", IRQ_BIT | 3);
  EQ("MSI in S mepc", mt.epc, (uint64_t)lower_tramp);
  EQ("MSI in S MPP", (mt.status >> 11) & 3, 1);
  csr_clear(mie, 1 << 3);
  csr_write(mtvec, (uint64_t)m_trap_entry);
  csr_write(stvec, (uint64_t)s_vec_table | 1);
  csr_write(mideleg, 2);
  EQ("S vectored SSIP", run_mode(1, (void *)fn_ssip_vectored, 0), 0);
  expect_none("SSIP delegated not in M");
  /* a delegated S interrupt is always enabled while in U */
  {
    uint64_t s0 = st.count;
    csr_set(mie, 2);
    csr_set(mip, 2);
    run_mode(0, (void *)fn_read_sstatus, 0);  /* traps at once; the probe then traps too (illegal, to M) */
    csr_clear(mie, 2);
    if (st.count - s0 < 1) fail_at("SSIP taken in U", st.count - s0, 1);
    EQ("SSIP in U cause", st.cause, IRQ_BIT | 1);
    EQ("SSIP in U vector", st.vec, 1);
    expect_m("U sstatus read", 2);
  }
  csr_write(mideleg, 0);
  csr_write(stvec, (uint64_t)s_trap_entry);
  ok("vectored mtvec/stvec");

  hs_puts("priv_traps: PASS\n");
  return 0;
}
