#include "hs.h"
/* isa_zicsr: the Zicsr instructions and the machine-level CSRs every hart has.
   - CSRRW/CSRRS/CSRRC/CSRRWI/CSRRSI/CSRRCI on mscratch: old value in rd, new value per the spec,
     the rd=x0 forms, rd == rs1.
   - rs1=x0 / uimm=0 forms of CSRRS/CSRRC/CSRRSI/CSRRCI do not write: they work on read-only CSRs.
   - writing a read-only CSR, accessing an unimplemented CSR, F/D instructions and the fcsr CSRs
     (misa has no F/D) raise illegal instruction (cause 2) with mepc = the instruction and
     mtval = the instruction bits.
   - misa = RV64 with exactly A, C, I, M, S, U; mhartid = 0; mvendorid/marchid/mimpid readable.
   - cycle/time/instret (and mcycle/minstret) readable and advancing; time agrees with CLINT mtime;
     mcycle/minstret writable. */

#include "trap_rec.h"

#define CHECK(cond, msg) hs_check((cond), msg)

static uint64_t insn_bits(uint64_t addr) {
  uint64_t lo = *(volatile uint16_t *)addr;
  if ((lo & 3) != 3) return lo;
  return lo | ((uint64_t)*(volatile uint16_t *)(addr + 2) << 16);
}

/* Runs one instruction (given as asm text) that must raise illegal instruction. */
#define EXPECT_ILLEGAL2(setup, insn, what) do { \
    uint64_t __a; \
    T_COUNT = 0; \
    __asm__ volatile(setup "\n\tla %0, 1f\n1:\t" insn : "=&r"(__a) :: "memory", "t2"); \
    check_illegal(__a, what); \
  } while (0)
#define EXPECT_ILLEGAL(insn, what) EXPECT_ILLEGAL2("", insn, what)

static void check_illegal(uint64_t addr, const char *what) {
  if (T_COUNT != 1 || T_CAUSE != 2 || T_EPC != addr || T_TVAL != insn_bits(addr)) {
    hs_puts("trap count/cause/epc/tval: ");
    hs_puthex(T_COUNT); hs_puts(" "); hs_puthex(T_CAUSE); hs_puts(" ");
    hs_puthex(T_EPC); hs_puts(" "); hs_puthex(T_TVAL); hs_puts(" insn ");
    hs_puthex(insn_bits(addr)); hs_puts("\n");
    hs_fail(what);
  }
}

/* Runs code that must not trap. */
#define EXPECT_OK(insn, what) do { \
    T_COUNT = 0; \
    __asm__ volatile(insn ::: "memory", "t2"); \
    if (T_COUNT != 0) { hs_puts("unexpected trap cause "); hs_puthex(T_CAUSE); hs_puts("\n"); hs_fail(what); } \
  } while (0)

static void test_mscratch(void) {
  uint64_t old, v;
  csr_write(mscratch, 0x0123456789abcdefULL);
  v = 0xfedcba9876543210ULL;
  __asm__ volatile("csrrw %0, mscratch, %1" : "=r"(old) : "r"(v));
  CHECK(old == 0x0123456789abcdefULL, "csrrw returns old value");
  CHECK(csr_read(mscratch) == v, "csrrw writes");
  __asm__ volatile("csrrs %0, mscratch, %1" : "=r"(old) : "r"(0x0f0fULL));
  CHECK(old == v && csr_read(mscratch) == (v | 0x0f0f), "csrrs sets bits");
  __asm__ volatile("csrrc %0, mscratch, %1" : "=r"(old) : "r"(0xff000000000000ffULL));
  CHECK(old == (v | 0x0f0f) && csr_read(mscratch) == ((v | 0x0f0f) & ~0xff000000000000ffULL), "csrrc clears bits");
  __asm__ volatile("csrrwi %0, mscratch, 31" : "=r"(old));
  CHECK(old == ((v | 0x0f0f) & ~0xff000000000000ffULL) && csr_read(mscratch) == 31, "csrrwi");
  __asm__ volatile("csrrci %0, mscratch, 0x15" : "=r"(old));
  CHECK(old == 31 && csr_read(mscratch) == 0x0a, "csrrci");
  __asm__ volatile("csrrsi %0, mscratch, 0x11" : "=r"(old));
  CHECK(old == 0x0a && csr_read(mscratch) == 0x1b, "csrrsi");
  /* uimm is zero-extended: csrrwi with 31 never sets upper bits */
  __asm__ volatile("csrrwi %0, mscratch, 0" : "=r"(old));
  CHECK(old == 0x1b && csr_read(mscratch) == 0, "csrrwi 0 writes zero");
  /* rd = x0 forms */
  v = 0x8000000000000000ULL;
  __asm__ volatile("csrrw x0, mscratch, %0" :: "r"(v));
  CHECK(csr_read(mscratch) == v, "csrrw rd=x0");
  __asm__ volatile("csrrs x0, mscratch, %0" :: "r"(1ULL));
  CHECK(csr_read(mscratch) == (v | 1), "csrrs rd=x0");
  __asm__ volatile("csrrc x0, mscratch, %0" :: "r"(v));
  CHECK(csr_read(mscratch) == 1, "csrrc rd=x0");
  __asm__ volatile("csrrwi x0, mscratch, 6");
  __asm__ volatile("csrrsi x0, mscratch, 1");
  __asm__ volatile("csrrci x0, mscratch, 2");
  CHECK(csr_read(mscratch) == 5, "csrr*i rd=x0");
  /* rs1 = x0 / uimm = 0: no write */
  __asm__ volatile("csrrs %0, mscratch, x0" : "=r"(old));
  __asm__ volatile("csrrc %0, mscratch, x0" : "=r"(old));
  __asm__ volatile("csrrsi %0, mscratch, 0" : "=r"(old));
  __asm__ volatile("csrrci %0, mscratch, 0" : "=r"(old));
  CHECK(old == 5 && csr_read(mscratch) == 5, "rs1=x0 forms read only");
  /* rd == rs1: swap */
  v = 77;
  __asm__ volatile("csrrw %0, mscratch, %0" : "+r"(v));
  CHECK(v == 5 && csr_read(mscratch) == 77, "csrrw rd == rs1 swaps");
  v = 0x100;
  __asm__ volatile("csrrs %0, mscratch, %0" : "+r"(v));
  CHECK(v == 77 && csr_read(mscratch) == (77 | 0x100), "csrrs rd == rs1");
  /* by number */
  __asm__ volatile("csrrw %0, 0x340, %1" : "=r"(old) : "r"(42ULL));
  CHECK(old == (77 | 0x100) && csr_read(mscratch) == 42, "csr by number 0x340");
  csr_write(mscratch, 0);
  hs_puts("csr ops ok\n");
}

static void test_readonly_and_ids(void) {
  uint64_t v, misa;
  misa = csr_read(misa);
  hs_puts("misa ");
  hs_puthex(misa);
  hs_puts("\n");
  CHECK((misa >> 62) == 2, "misa MXL = 64");
#define EXT(c) (1ULL << ((c) - 'A'))
  CHECK((misa & 0x3ffffff) == (EXT('A') | EXT('C') | EXT('I') | EXT('M') | EXT('S') | EXT('U')), "misa extensions = ACIMSU");
  CHECK(csr_read(mhartid) == 0, "mhartid = 0");
  /* reading read-only CSRs works with every non-writing form */
  EXPECT_OK("csrr t2, mhartid\n\tcsrrs t2, mhartid, x0\n\tcsrrc t2, mhartid, x0\n\tcsrrsi t2, mhartid, 0\n\tcsrrci t2, mhartid, 0",
            "non-writing forms on mhartid");
  EXPECT_OK("csrr t2, mvendorid\n\tcsrr t2, marchid\n\tcsrr t2, mimpid\n\tcsrrs x0, mimpid, x0", "id CSRs readable");
  EXPECT_OK("csrr t2, cycle\n\tcsrr t2, time\n\tcsrr t2, instret\n\tcsrr t2, mcycle\n\tcsrr t2, minstret", "counters readable");
  EXPECT_OK("csrr t2, mstatus\n\tcsrr t2, medeleg\n\tcsrr t2, mideleg\n\tcsrr t2, mie\n\tcsrr t2, mip\n\t"
            "csrr t2, mtvec\n\tcsrr t2, mcounteren\n\tcsrr t2, mepc\n\tcsrr t2, mcause\n\tcsrr t2, mtval\n\t"
            "csrr t2, sstatus\n\tcsrr t2, sie\n\tcsrr t2, sip\n\tcsrr t2, stvec\n\tcsrr t2, scounteren\n\t"
            "csrr t2, sscratch\n\tcsrr t2, sepc\n\tcsrr t2, scause\n\tcsrr t2, stval\n\tcsrr t2, satp\n\t"
            "csrr t2, pmpcfg0\n\tcsrr t2, pmpaddr0", "standard M/S CSRs readable");
  /* writes to read-only CSRs trap, even when the value would not change */
  EXPECT_ILLEGAL("csrw mhartid, t2", "csrw mhartid traps");
  EXPECT_ILLEGAL("csrrw t2, mvendorid, x0", "csrrw mvendorid traps");
  EXPECT_ILLEGAL("csrrwi x0, marchid, 0", "csrrwi marchid traps");
  EXPECT_ILLEGAL("csrrsi t2, mimpid, 1", "csrrsi mimpid traps");
  EXPECT_ILLEGAL("csrrci t2, mhartid, 1", "csrrci mhartid traps");
  EXPECT_ILLEGAL("csrw cycle, x0", "csrw cycle traps");
  EXPECT_ILLEGAL("csrw time, x0", "csrw time traps");
  EXPECT_ILLEGAL("csrw instret, x0", "csrw instret traps");
  EXPECT_ILLEGAL2("li t2, 1", "csrs mhartid, t2", "csrs mhartid traps");
  /* the trapping instruction did not write rd */
  v = 0x1234;
  T_COUNT = 0;
  __asm__ volatile("csrrw %0, mhartid, %0" : "+r"(v));
  CHECK(T_COUNT == 1 && v == 0x1234, "trapping csrrw leaves rd");
  /* unimplemented CSRs: standard-unallocated and custom numbers */
  EXPECT_ILLEGAL("csrr t2, 0x0ff", "csrr 0x0ff traps");
  EXPECT_ILLEGAL("csrw 0x0ff, t2", "csrw 0x0ff traps");
  EXPECT_ILLEGAL("csrr t2, 0x7ff", "csrr 0x7ff traps");
  EXPECT_ILLEGAL("csrr t2, 0xbff", "csrr 0xbff traps");
  EXPECT_ILLEGAL("csrrs t2, 0xfff, x0", "csrr 0xfff traps");
  EXPECT_ILLEGAL("csrr t2, 0x5ff", "csrr 0x5ff traps");
  EXPECT_ILLEGAL("csrr t2, 0x6ff", "csrr 0x6ff traps");
  EXPECT_ILLEGAL("csrr t2, 0x2ff", "csrr 0x2ff traps");
  /* no F/D: floating-point CSRs and instructions are illegal */
  EXPECT_ILLEGAL("csrr t2, 0x003", "csrr fcsr traps");
  EXPECT_ILLEGAL("csrr t2, 0x001", "csrr fflags traps");
  EXPECT_ILLEGAL("csrw 0x002, x0", "csrw frm traps");
  EXPECT_ILLEGAL(".word 0x02b57553", "fadd.d traps");      /* fadd.d fa0, fa0, fa1 */
  EXPECT_ILLEGAL(".word 0x00052507", "flw traps");         /* flw fa0, 0(a0) -- a0 is never dereferenced */
  EXPECT_ILLEGAL(".word 0x00b53027", "fsd traps");         /* fsd fa1, 0(a0) */
  EXPECT_ILLEGAL(".word 0xf2000553", "fmv.d.x traps");     /* fmv.d.x fa0, zero */
  EXPECT_ILLEGAL(".word 0x0000056b", "reserved major opcode traps");
  EXPECT_ILLEGAL(".word 0x0000050b", "custom-0 opcode traps");
  EXPECT_ILLEGAL(".hword 0x0000", "c.unimp (0x0000) traps");
  EXPECT_ILLEGAL(".hword 0x2502", "c.fldsp traps");        /* c.fldsp fa0, 0(sp) */
  hs_puts("illegal ok\n");
}

static void test_counters(void) {
  uint64_t c0, c1, i0, i1, t0, t1, m, mc0, mi0, x;
  volatile uint64_t sink = 0;
  c0 = csr_read(cycle);
  i0 = csr_read(instret);
  t0 = csr_read(time);
  for (int k = 0; k < 20000; k++) sink += k;
  c1 = csr_read(cycle);
  i1 = csr_read(instret);
  t1 = csr_read(time);
  CHECK(c1 > c0, "cycle advances");
  CHECK(i1 > i0, "instret advances");
  CHECK(t1 >= t0, "time does not go backwards");
  /* a busy wait until time advances terminates */
  for (int k = 0; k < 100000000 && csr_read(time) == t1; k++) {}
  CHECK(csr_read(time) > t1, "time advances");
  /* time shadows CLINT mtime */
  t0 = csr_read(time);
  m = mmio_r64(CLINT_MTIME);
  t1 = csr_read(time);
  CHECK(t0 <= m && m <= t1, "time agrees with mtime");
  /* cycle/instret are the unprivileged shadows of mcycle/minstret */
  mc0 = csr_read(mcycle);
  c0 = csr_read(cycle);
  CHECK(c0 >= mc0, "cycle shadows mcycle");
  mi0 = csr_read(minstret);
  i0 = csr_read(instret);
  CHECK(i0 >= mi0, "instret shadows minstret");
  /* minstret/mcycle are writable */
  x = 0x100000000000ULL;
  csr_write(minstret, x);
  i0 = csr_read(minstret);
  CHECK(i0 >= x && i0 - x < (1ULL << 32), "minstret writable");
  csr_write(mcycle, x);
  c0 = csr_read(mcycle);
  CHECK(c0 >= x && c0 - x < (1ULL << 32), "mcycle writable");
  csr_write(minstret, 0);
  csr_write(mcycle, 0);
  hs_puts("counters ok\n");
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("isa_zicsr\n");
  uint64_t old_mtvec = csr_read(mtvec);
  csr_write(mtvec, (uint64_t)trap_rec);
  CHECK(csr_read(mtvec) == (uint64_t)trap_rec, "mtvec holds the handler");
  csr_set(mstatus, 1ULL << 13);   /* mstatus.FS = Initial: F/D must trap because of misa, not FS */
  test_mscratch();
  test_readonly_and_ids();
  test_counters();
  csr_write(mtvec, old_mtvec);
  hs_puts("isa_zicsr: PASS\n");
  return 0;
}
