#include "hs.h"
/* isa_rv64i: every RV64I instruction. Explicit checks of spec corner cases plus, per instruction,
   a checksum over all pairs of a table of interesting operands (printed, compared byte for byte
   with the reference). Operands come from a volatile table and every operation is inline asm, so
   the compiler cannot fold anything. */

static volatile uint64_t ops[] = {
  0, 1, 2, 0xffffffffffffffffULL, 0x8000000000000000ULL, 0x7fffffffffffffffULL,
  0x80000000ULL, 0x7fffffffULL, 0xffffffffULL, 0xffffffff80000000ULL, 0x100000000ULL,
  0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0xdeadbeefcafebabeULL, 0x5555555555555555ULL,
  0xaaaaaaaaaaaaaaaaULL, 0x000000000000003fULL, 0x0000000000000020ULL, 0x000000000000001fULL,
  0xffffffffffffffc1ULL, 0x00000000ffff8000ULL, 0x13579bdf2468ace0ULL,
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))
/* Keep every instruction of this file in its 32-bit encoding (the C extension has its own guest). */
__asm__(".option norvc");

static void report(const char *name, uint64_t sum) {
  hs_puts(name);
  hs_puts(" ");
  hs_puthex(sum);
  hs_puts("\n");
}

#define CHECK(cond, msg) hs_check((cond), msg)

/* Trap recorder (for ECALL/EBREAK): stores mcause/mtval/mepc, counts, skips the instruction. */
#include "trap_rec.h"

/* ---- register-register ---- */
#define RR(insn) \
  static uint64_t rr_##insn(uint64_t a, uint64_t b) { uint64_t r; \
    __asm__ volatile(#insn " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); return r; }
RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
RR(addw) RR(subw) RR(sllw) RR(srlw) RR(sraw)

typedef uint64_t (*rrfn)(uint64_t, uint64_t);
static const struct { const char *name; rrfn f; } rr_tab[] = {
  {"add", rr_add}, {"sub", rr_sub}, {"sll", rr_sll}, {"slt", rr_slt}, {"sltu", rr_sltu},
  {"xor", rr_xor}, {"srl", rr_srl}, {"sra", rr_sra}, {"or", rr_or}, {"and", rr_and},
  {"addw", rr_addw}, {"subw", rr_subw}, {"sllw", rr_sllw}, {"srlw", rr_srlw}, {"sraw", rr_sraw},
};

/* ---- register-immediate: fold over a set of immediates ---- */
#define RI1(insn, imm) __asm__ volatile(#insn " %0, %1, " #imm : "=r"(r) : "r"(a)); s = hs_checksum_add(s, r);
#define RI(insn) \
  static uint64_t ri_##insn(uint64_t s, uint64_t a) { uint64_t r; \
    RI1(insn, 0) RI1(insn, 1) RI1(insn, -1) RI1(insn, 2047) RI1(insn, -2048) RI1(insn, 0x555) \
    RI1(insn, -0x556) RI1(insn, 0x7ff) RI1(insn, 31) RI1(insn, 32) return s; }
RI(addi) RI(slti) RI(sltiu) RI(xori) RI(ori) RI(andi) RI(addiw)
#define SH(insn) \
  static uint64_t sh_##insn(uint64_t s, uint64_t a) { uint64_t r; \
    RI1(insn, 0) RI1(insn, 1) RI1(insn, 7) RI1(insn, 31) RI1(insn, 32) RI1(insn, 33) \
    RI1(insn, 48) RI1(insn, 63) return s; }
SH(slli) SH(srli) SH(srai)
#define SHW(insn) \
  static uint64_t shw_##insn(uint64_t s, uint64_t a) { uint64_t r; \
    RI1(insn, 0) RI1(insn, 1) RI1(insn, 7) RI1(insn, 16) RI1(insn, 30) RI1(insn, 31) return s; }
SHW(slliw) SHW(srliw) SHW(sraiw)

typedef uint64_t (*rifn)(uint64_t, uint64_t);
static const struct { const char *name; rifn f; } ri_tab[] = {
  {"addi", ri_addi}, {"slti", ri_slti}, {"sltiu", ri_sltiu}, {"xori", ri_xori}, {"ori", ri_ori},
  {"andi", ri_andi}, {"addiw", ri_addiw}, {"slli", sh_slli}, {"srli", sh_srli}, {"srai", sh_srai},
  {"slliw", shw_slliw}, {"srliw", shw_srliw}, {"sraiw", shw_sraiw},
};

/* ---- branches: returns 1 when taken ---- */
#define BR(insn) \
  static uint64_t br_##insn(uint64_t a, uint64_t b) { uint64_t r; \
    __asm__ volatile("li %0, 1\n\t" #insn " %1, %2, 1f\n\tli %0, 0\n1:" : "=&r"(r) : "r"(a), "r"(b)); return r; }
BR(beq) BR(bne) BR(blt) BR(bge) BR(bltu) BR(bgeu)
static const struct { const char *name; rrfn f; } br_tab[] = {
  {"beq", br_beq}, {"bne", br_bne}, {"blt", br_blt}, {"bge", br_bge}, {"bltu", br_bltu}, {"bgeu", br_bgeu},
};

/* ---- loads/stores ---- */
static volatile uint8_t mem[64] __attribute__((aligned(16)));

#define LD(insn, off) ({ uint64_t __r; __asm__ volatile(#insn " %0, " #off "(%1)" : "=r"(__r) : "r"(p) : "memory"); __r; })
#define ST(insn, off, v) __asm__ volatile(#insn " %0, " #off "(%1)" :: "r"((uint64_t)(v)), "r"(p) : "memory")

static void fill_mem(void) {
  for (int i = 0; i < 64; i++) mem[i] = (uint8_t)(0x81 + i * 0x1d);
}

static uint64_t sum_mem(uint64_t s) {
  for (int i = 0; i < 64; i += 8) s = hs_checksum_add(s, *(volatile uint64_t *)&mem[i]);
  return s;
}

static void test_loads_stores(void) {
  volatile uint8_t *p = mem + 32;   /* base register in the middle so negative offsets work */
  uint64_t s;
  fill_mem();
  /* explicit sign/zero extension checks */
  *(volatile uint64_t *)(mem + 32) = 0x8182838485868788ULL;
  *(volatile uint64_t *)(mem + 40) = 0x7172737475767778ULL;
  CHECK(LD(lb, 0) == 0xffffffffffffff88ULL, "lb sign-extends");
  CHECK(LD(lbu, 0) == 0x88, "lbu zero-extends");
  CHECK(LD(lb, 8) == 0x78, "lb positive");
  CHECK(LD(lh, 0) == 0xffffffffffff8788ULL, "lh sign-extends");
  CHECK(LD(lhu, 0) == 0x8788, "lhu zero-extends");
  CHECK(LD(lh, 8) == 0x7778, "lh positive");
  CHECK(LD(lw, 0) == 0xffffffff85868788ULL, "lw sign-extends");
  CHECK(LD(lwu, 0) == 0x85868788ULL, "lwu zero-extends");
  CHECK(LD(lw, 4) == 0xffffffff81828384ULL, "lw upper word");
  CHECK(LD(lw, 8) == 0x75767778ULL, "lw positive");
  CHECK(LD(ld, 0) == 0x8182838485868788ULL, "ld");
  CHECK(LD(lb, 7) == 0xffffffffffffff81ULL, "lb offset 7");
  CHECK(LD(lhu, 6) == 0x8182, "lhu offset 6");
  /* stores of every width: only the addressed bytes change */
  ST(sb, 0, 0x1122334455667799ULL);
  CHECK(*(volatile uint64_t *)(mem + 32) == 0x8182838485868799ULL, "sb");
  ST(sh, 2, 0xffffffffffffabcdULL);
  CHECK(*(volatile uint64_t *)(mem + 32) == 0x81828384abcd8799ULL, "sh");
  ST(sw, 4, 0x123456789abcdef0ULL);
  CHECK(*(volatile uint64_t *)(mem + 32) == 0x9abcdef0abcd8799ULL, "sw");
  ST(sd, 8, 0x0102030405060708ULL);
  CHECK(*(volatile uint64_t *)(mem + 40) == 0x0102030405060708ULL, "sd");
  ST(sb, -1, 0xa5);
  CHECK(mem[31] == 0xa5, "sb negative offset");
  CHECK(LD(lbu, -1) == 0xa5, "lbu negative offset");
  /* checksums: every aligned offset of every width over a pseudo-random buffer */
  fill_mem();
  s = 0;
#define LOADS8(insn) s = hs_checksum_add(s, LD(insn, -32)); s = hs_checksum_add(s, LD(insn, -24)); \
  s = hs_checksum_add(s, LD(insn, -8)); s = hs_checksum_add(s, LD(insn, 0)); s = hs_checksum_add(s, LD(insn, 24));
#define LOADS4(insn) LOADS8(insn) s = hs_checksum_add(s, LD(insn, -28)); s = hs_checksum_add(s, LD(insn, 4)); \
  s = hs_checksum_add(s, LD(insn, 12)); s = hs_checksum_add(s, LD(insn, 28));
#define LOADS2(insn) LOADS4(insn) s = hs_checksum_add(s, LD(insn, -30)); s = hs_checksum_add(s, LD(insn, 2)); \
  s = hs_checksum_add(s, LD(insn, 6)); s = hs_checksum_add(s, LD(insn, 30));
#define LOADS1(insn) LOADS2(insn) s = hs_checksum_add(s, LD(insn, -31)); s = hs_checksum_add(s, LD(insn, 1)); \
  s = hs_checksum_add(s, LD(insn, 3)); s = hs_checksum_add(s, LD(insn, 31));
  LOADS1(lb) report("lb", s); s = 0;
  LOADS1(lbu) report("lbu", s); s = 0;
  LOADS2(lh) report("lh", s); s = 0;
  LOADS2(lhu) report("lhu", s); s = 0;
  LOADS4(lw) report("lw", s); s = 0;
  LOADS4(lwu) report("lwu", s); s = 0;
  LOADS8(ld) report("ld", s);
  s = 0;
  for (unsigned i = 0; i < NOPS; i++) {
    uint64_t v = ops[i];
    ST(sb, -32, v); ST(sb, 1, v); ST(sb, 31, v); ST(sh, -30, v); ST(sh, 6, v);
    s = sum_mem(s);
    ST(sw, -20, v); ST(sw, 12, v); ST(sd, -8, v); ST(sd, 16, v);
    s = sum_mem(s);
    ST(sb, 8, v >> 8); ST(sh, 10, v >> 16); ST(sw, 20, v >> 32);
    s = sum_mem(s);
  }
  report("stores", s);
}

/* ---- jumps ---- */
static void test_jumps(void) {
  uint64_t link, target, r;
  /* JAL: rd = address of the following instruction */
  __asm__ volatile(".option push\n\t.option norvc\n\t"
                   "jal %0, 1f\n2:\tnop\n1:\tla %1, 2b\n\t.option pop" : "=&r"(link), "=&r"(target));
  CHECK(link == target, "jal link = pc+4");
  /* JAL forward and backward with rd=x0 */
  __asm__ volatile(".option push\n\t.option norvc\n\tli %0, 0\n\t"
                   "jal x0, 2f\n1:\taddi %0, %0, 1\n\tjal x0, 3f\n2:\taddi %0, %0, 10\n\tjal x0, 1b\n3:\n\t.option pop" : "=&r"(r));
  CHECK(r == 11, "jal forward/backward");
  /* JALR: target = (rs1 + imm) & ~1, link = pc+4 */
  __asm__ volatile(".option push\n\t.option norvc\n\t"
                   "la t0, 1f\n\taddi t0, t0, 1\n\tli %0, 0\n\t"
                   "jalr %1, 0(t0)\n2:\tli %0, 99\n1:\tla t1, 2b\n\tsub %1, %1, t1\n\t.option pop"
                   : "=&r"(r), "=&r"(link) :: "t0", "t1");
  CHECK(r == 0, "jalr clears low bit of target");
  CHECK(link == 0, "jalr link = pc+4");
  /* JALR with a negative offset and odd sum */
  __asm__ volatile(".option push\n\t.option norvc\n\t"
                   "la t0, 1f\n\taddi t0, t0, 9\n\tli %0, 0\n\t"
                   "jalr x0, -8(t0)\n\tli %0, 99\n1:\n\t.option pop" : "=&r"(r) :: "t0");
  CHECK(r == 0, "jalr negative offset");
  /* JALR with rd == rs1: target computed from the old value */
  __asm__ volatile(".option push\n\t.option norvc\n\t"
                   "la %0, 1f\n\tjalr %0, 0(%0)\n2:\tj 3f\n1:\tla t1, 2b\n\tsub %0, %0, t1\n3:\n\t.option pop"
                   : "=&r"(r) :: "t1");
  CHECK(r == 0, "jalr rd == rs1");
}

/* ---- upper immediates ---- */
static void test_upper(void) {
  uint64_t r, a, b;
  __asm__ volatile("lui %0, 0x12345" : "=r"(r));
  CHECK(r == 0x12345000ULL, "lui");
  __asm__ volatile("lui %0, 0x80000" : "=r"(r));
  CHECK(r == 0xffffffff80000000ULL, "lui sign-extends");
  __asm__ volatile("lui %0, 0xfffff" : "=r"(r));
  CHECK(r == 0xfffffffffffff000ULL, "lui 0xfffff");
  __asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
  CHECK(r == 0x7ffff000ULL, "lui 0x7ffff");
  __asm__ volatile(".option push\n\t.option norvc\n1:\tauipc %0, 0\n\tla %1, 1b\n\t.option pop" : "=&r"(a), "=&r"(b));
  CHECK(a == b, "auipc 0");
  __asm__ volatile(".option push\n\t.option norvc\n1:\tauipc %0, 1\n\tla %1, 1b\n\t.option pop" : "=&r"(a), "=&r"(b));
  CHECK(a - b == 0x1000, "auipc 1");
  __asm__ volatile(".option push\n\t.option norvc\n1:\tauipc %0, 0xfffff\n\tla %1, 1b\n\t.option pop" : "=&r"(a), "=&r"(b));
  CHECK(a - b == (uint64_t)-4096, "auipc -1");
  __asm__ volatile(".option push\n\t.option norvc\n1:\tauipc %0, 0x80000\n\tla %1, 1b\n\t.option pop" : "=&r"(a), "=&r"(b));
  CHECK(a - b == 0xffffffff80000000ULL, "auipc sign-extends");
  /* x0 is hardwired */
  __asm__ volatile("addi x0, x0, 5\n\tlui x0, 0x12345\n\tmv %0, x0" : "=r"(r));
  CHECK(r == 0, "x0 stays zero");
}

static void test_explicit(void) {
  /* a few spec corner cases with literal expected values */
  CHECK(rr_add(0x7fffffffffffffffULL, 1) == 0x8000000000000000ULL, "add overflow wraps");
  CHECK(rr_sub(0, 1) == 0xffffffffffffffffULL, "sub borrow");
  CHECK(rr_sll(1, 63) == 0x8000000000000000ULL, "sll 63");
  CHECK(rr_sll(1, 64) == 1, "sll uses 6 bits of rs2");
  CHECK(rr_sll(1, 0xffffffffffffffc1ULL) == 2, "sll masks rs2");
  CHECK(rr_srl(0x8000000000000000ULL, 63) == 1, "srl 63");
  CHECK(rr_sra(0x8000000000000000ULL, 63) == 0xffffffffffffffffULL, "sra 63");
  CHECK(rr_sra(0x8000000000000000ULL, 32) == 0xffffffff80000000ULL, "sra 32");
  CHECK(rr_slt(0x8000000000000000ULL, 0) == 1, "slt INT64_MIN < 0");
  CHECK(rr_slt(0, 0x8000000000000000ULL) == 0, "slt 0 < INT64_MIN");
  CHECK(rr_sltu(0, 0xffffffffffffffffULL) == 1, "sltu 0 < max");
  CHECK(rr_sltu(0xffffffffffffffffULL, 0) == 0, "sltu max < 0");
  CHECK(rr_addw(0x7fffffff, 1) == 0xffffffff80000000ULL, "addw sign-extends");
  CHECK(rr_addw(0x123456780000000fULL, 0xfedcba9800000001ULL) == 16, "addw ignores upper");
  CHECK(rr_subw(0x80000000ULL, 1) == 0x7fffffff, "subw");
  CHECK(rr_subw(0, 1) == 0xffffffffffffffffULL, "subw negative");
  CHECK(rr_sllw(1, 31) == 0xffffffff80000000ULL, "sllw 31 sign-extends");
  CHECK(rr_sllw(1, 32) == 1, "sllw uses 5 bits of rs2");
  CHECK(rr_sllw(0xffffffff00000001ULL, 0) == 1, "sllw 0 sign-extends");
  CHECK(rr_srlw(0xffffffff80000000ULL, 31) == 1, "srlw 31");
  CHECK(rr_srlw(0xffffffff80000000ULL, 0) == 0xffffffff80000000ULL, "srlw 0 sign-extends");
  CHECK(rr_srlw(0x0000000180000000ULL, 1) == 0x40000000ULL, "srlw ignores upper");
  CHECK(rr_sraw(0x80000000ULL, 31) == 0xffffffffffffffffULL, "sraw 31");
  CHECK(rr_sraw(0x80000000ULL, 4) == 0xfffffffff8000000ULL, "sraw 4");
  CHECK(rr_sraw(0x00000000ffffffffULL, 33) == 0xffffffffffffffffULL, "sraw masks rs2");
  uint64_t r, a = ops[4];
  __asm__ volatile("srai %0, %1, 63" : "=r"(r) : "r"(a));
  CHECK(r == 0xffffffffffffffffULL, "srai 63");
  __asm__ volatile("srli %0, %1, 32" : "=r"(r) : "r"(a));
  CHECK(r == 0x80000000ULL, "srli 32");
  __asm__ volatile("slli %0, %1, 63" : "=r"(r) : "r"(ops[1]));
  CHECK(r == 0x8000000000000000ULL, "slli 63");
  __asm__ volatile("slliw %0, %1, 31" : "=r"(r) : "r"(ops[1]));
  CHECK(r == 0xffffffff80000000ULL, "slliw 31");
  __asm__ volatile("slliw %0, %1, 0" : "=r"(r) : "r"(ops[8]));
  CHECK(r == 0xffffffffffffffffULL, "slliw 0 sign-extends");
  __asm__ volatile("srliw %0, %1, 0" : "=r"(r) : "r"(ops[6]));
  CHECK(r == 0xffffffff80000000ULL, "srliw 0 sign-extends");
  __asm__ volatile("srliw %0, %1, 31" : "=r"(r) : "r"(ops[3]));
  CHECK(r == 1, "srliw 31");
  __asm__ volatile("sraiw %0, %1, 31" : "=r"(r) : "r"(ops[6]));
  CHECK(r == 0xffffffffffffffffULL, "sraiw 31");
  __asm__ volatile("sraiw %0, %1, 0" : "=r"(r) : "r"(ops[7]));
  CHECK(r == 0x7fffffff, "sraiw 0");
  __asm__ volatile("addiw %0, %1, 0" : "=r"(r) : "r"(ops[8]));
  CHECK(r == 0xffffffffffffffffULL, "addiw 0 = sext.w");
  __asm__ volatile("addiw %0, %1, 1" : "=r"(r) : "r"(ops[7]));
  CHECK(r == 0xffffffff80000000ULL, "addiw overflow");
  __asm__ volatile("addi %0, %1, -2048" : "=r"(r) : "r"(ops[0]));
  CHECK(r == 0xfffffffffffff800ULL, "addi -2048");
  __asm__ volatile("sltiu %0, %1, -1" : "=r"(r) : "r"(ops[5]));
  CHECK(r == 1, "sltiu imm sign-extended then unsigned");
  __asm__ volatile("slti %0, %1, -1" : "=r"(r) : "r"(ops[4]));
  CHECK(r == 1, "slti");
  __asm__ volatile("xori %0, %1, -1" : "=r"(r) : "r"(ops[11]));
  CHECK(r == 0xfedcba9876543210ULL, "xori -1 = not");
  __asm__ volatile("andi %0, %1, -2048" : "=r"(r) : "r"(ops[3]));
  CHECK(r == 0xfffffffffffff800ULL, "andi sign-extended imm");
  __asm__ volatile("ori %0, %1, 0x7ff" : "=r"(r) : "r"(ops[0]));
  CHECK(r == 0x7ff, "ori");
  /* branches, signed vs unsigned */
  CHECK(br_blt(0xffffffffffffffffULL, 0) == 1, "blt -1 < 0");
  CHECK(br_bltu(0xffffffffffffffffULL, 0) == 0, "bltu max < 0 not taken");
  CHECK(br_bge(0, 0x8000000000000000ULL) == 1, "bge 0 >= INT64_MIN");
  CHECK(br_bgeu(0, 0x8000000000000000ULL) == 0, "bgeu not taken");
  CHECK(br_bge(5, 5) == 1 && br_bgeu(5, 5) == 1, "bge/bgeu equal");
  CHECK(br_blt(5, 5) == 0 && br_bltu(5, 5) == 0, "blt/bltu equal");
  CHECK(br_beq(0x100000000ULL, 0) == 0, "beq compares 64 bits");
  CHECK(br_bne(0x100000000ULL, 0) == 1, "bne compares 64 bits");
}

/* ---- FENCE, ECALL, EBREAK, HINTs ---- */
static void test_system(void) {
  uint64_t addr, r;
  uint64_t old_mtvec = csr_read(mtvec);
  csr_write(mtvec, (uint64_t)trap_rec);
  /* ECALL from M-mode: cause 11, mepc = the ecall, mtval = 0 */
  T_COUNT = 0;
  __asm__ volatile("la %0, 1f\n1:\tecall" : "=&r"(addr) :: "memory");
  CHECK(T_COUNT == 1 && T_CAUSE == 11 && T_EPC == addr && T_TVAL == 0, "ecall from M-mode: cause 11");
  /* EBREAK: cause 3, mepc = the ebreak; mtval is 0 or the pc */
  T_COUNT = 0;
  __asm__ volatile("la %0, 1f\n1:\tebreak" : "=&r"(addr) :: "memory");
  CHECK(T_COUNT == 1 && T_CAUSE == 3 && T_EPC == addr && (T_TVAL == 0 || T_TVAL == addr), "ebreak: cause 3");
  /* registers survive a trap round trip */
  r = 0x1234;
  T_COUNT = 0;
  __asm__ volatile("mv a0, %1\n\tecall\n\tmv %0, a0" : "=r"(r) : "r"(r) : "a0", "memory");
  CHECK(r == 0x1234 && T_COUNT == 1, "ecall preserves registers");
  csr_write(mtvec, old_mtvec);
  /* FENCE variants and HINTs execute as no-ops */
  r = 5;
  __asm__ volatile("fence\n\tfence rw, rw\n\tfence r, r\n\tfence w, w\n\tfence iorw, iorw\n\t"
                   "fence i, o\n\tfence.tso\n\t"
                   ".word 0x0100000f\n\t"       /* pause (fence w, 0) */
                   ".word 0x0000000f\n\t"       /* fence 0, 0 */
                   "addi x0, x0, 0\n\t"         /* nop */
                   "addi x0, x0, 7\n\t"         /* HINT */
                   "slli x0, x0, 5\n\t"         /* HINT */
                   "add x0, %0, %0\n\t"         /* HINT */
                   "lui x0, 0x55\n\t"           /* HINT */
                   "auipc x0, 0x55\n\t"         /* HINT */
                   "addi %0, %0, 1" : "+r"(r) :: "memory");
  CHECK(r == 6, "fences and hints are no-ops");
}

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("isa_rv64i\n");
  test_upper();
  test_jumps();
  test_explicit();
  test_system();
  for (unsigned k = 0; k < sizeof(rr_tab) / sizeof(rr_tab[0]); k++) {
    uint64_t s = 0;
    for (unsigned i = 0; i < NOPS; i++)
      for (unsigned j = 0; j < NOPS; j++) s = hs_checksum_add(s, rr_tab[k].f(ops[i], ops[j]));
    report(rr_tab[k].name, s);
  }
  for (unsigned k = 0; k < sizeof(ri_tab) / sizeof(ri_tab[0]); k++) {
    uint64_t s = 0;
    for (unsigned i = 0; i < NOPS; i++) s = ri_tab[k].f(s, ops[i]);
    report(ri_tab[k].name, s);
  }
  {
    /* all six branches over all pairs: one bit per branch */
    uint64_t s = 0;
    for (unsigned i = 0; i < NOPS; i++)
      for (unsigned j = 0; j < NOPS; j++) {
        uint64_t bits = 0;
        for (unsigned k = 0; k < 6; k++) bits |= br_tab[k].f(ops[i], ops[j]) << k;
        /* consistency: beq != bne, blt != bge, bltu != bgeu */
        CHECK(((bits ^ (bits >> 1)) & 0x15) == 0x15, "branch pair consistency");
        s = hs_checksum_add(s, bits);
      }
    report("branches", s);
  }
  test_loads_stores();
  hs_puts("isa_rv64i: PASS\n");
  return 0;
}
