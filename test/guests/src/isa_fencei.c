#include "hs.h"
/* isa_fencei: self-modifying code made visible by FENCE.I (Zifencei). Each test rewrites code that
   has already been executed (so any translation/decode cache must notice), many times over:
   1. a RAM function whose single instruction's immediate changes every iteration;
   2. the same address cycling through different instruction kinds (addi/xori/slli/lui/sub);
   3. compressed code: c.li with a changing immediate, and 4-byte <-> 2+2-byte layouts;
   4. code that patches an instruction further down its own instruction stream, then FENCE.I;
   5. a function in .text whose first instruction is patched and later restored.
   FENCE.I with rd/rs1/imm fields non-zero (reserved for future use, must be ignored) is also run. */

#define CHECK(cond, msg) hs_check((cond), msg)

static uint32_t code[64] __attribute__((aligned(64)));

typedef uint64_t (*fn1)(uint64_t);
typedef uint64_t (*fn3)(uint64_t, uint64_t, void *);

enum { ZERO = 0, RA = 1, A0 = 10, A1 = 11, A2 = 12 };
static uint32_t i_type(uint32_t op, uint32_t f3, uint32_t rd, uint32_t rs1, int32_t imm) {
  return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}
static uint32_t r_type(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd) {
  return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | 0x33;
}
static uint32_t s_type(uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm) {
  return ((uint32_t)imm >> 5 & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | ((uint32_t)imm & 31) << 7 | 0x23;
}
#define ADDI(rd, rs1, imm) i_type(0x13, 0, rd, rs1, imm)
#define XORI(rd, rs1, imm) i_type(0x13, 4, rd, rs1, imm)
#define SLLI(rd, rs1, sh)  i_type(0x13, 1, rd, rs1, sh)
#define LUI(rd, imm20)     ((uint32_t)(imm20) << 12 | (rd) << 7 | 0x37)
#define SUB(rd, rs1, rs2)  r_type(0x20, rs2, rs1, 0, rd)
#define SW(rs2, off, rs1)  s_type(2, rs1, rs2, off)
#define RET                0x00008067u
#define FENCE_I            0x0000100fu
#define C_LI(rd, imm)      (uint16_t)(2u << 13 | (((uint32_t)(imm) >> 5) & 1) << 12 | (rd) << 7 | ((uint32_t)(imm) & 31) << 2 | 1)
#define C_ADDI(rd, imm)    (uint16_t)(0u << 13 | (((uint32_t)(imm) >> 5) & 1) << 12 | (rd) << 7 | ((uint32_t)(imm) & 31) << 2 | 1)
#define C_JR_RA            (uint16_t)0x8082

static inline void fence_i(void) { __asm__ volatile("fence.i" ::: "memory"); }

/* patched at run time; lives in .text */
uint64_t text_fn(uint64_t);
__asm__(
  "  .section .text\n"
  "  .align 2\n"
  "  .globl text_fn\n"
  "text_fn:\n"
  "  .option push\n  .option norvc\n"
  "  addi a0, a0, 1\n"
  "  ret\n"
  "  .option pop\n");

int guest_main(uint64_t hartid, const void *dtb) {
  (void)dtb;
  if (hartid != 0) { for (;;) __asm__ volatile("wfi"); }
  hs_puts("isa_fencei\n");
  uint64_t sum = 0, r;

  /* 1. changing immediate */
  for (int i = 0; i < 64; i++) {
    int32_t imm = i * 61 - 2000;
    code[0] = ADDI(A0, A0, imm);
    code[1] = RET;
    fence_i();
    r = ((fn1)(void *)code)(100000);
    CHECK(r == (uint64_t)(100000 + imm), "changed addi immediate is seen");
    sum = hs_checksum_add(sum, r);
  }
  hs_puts("immediate ");
  hs_puthex(sum);
  hs_puts("\n");

  /* 2. changing instruction kind at the same address */
  sum = 0;
  for (int i = 0; i < 40; i++) {
    uint64_t in = 0x123456789ULL + (uint64_t)i, want;
    switch (i % 5) {
    case 0: code[0] = ADDI(A0, A0, i); want = in + (uint64_t)i; break;
    case 1: code[0] = XORI(A0, A0, -1); want = ~in; break;
    case 2: code[0] = SLLI(A0, A0, i); want = in << i; break;
    case 3: code[0] = LUI(A0, i); want = (uint64_t)i << 12; break;
    default: code[0] = SUB(A0, ZERO, A0); want = -in; break;
    }
    code[1] = RET;
    fence_i();
    r = ((fn1)(void *)code)(in);
    CHECK(r == want, "changed instruction kind is seen");
    sum = hs_checksum_add(sum, r);
  }
  hs_puts("kind ");
  hs_puthex(sum);
  hs_puts("\n");

  /* 3. compressed code and changing instruction lengths */
  sum = 0;
  for (int i = 0; i < 64; i++) {
    volatile uint16_t *h = (volatile uint16_t *)code;
    int32_t imm = i - 32, want;
    if (i & 1) {                  /* c.li a0, imm ; c.jr ra */
      h[0] = C_LI(A0, imm);
      h[1] = C_JR_RA;
      want = imm;
    } else {                      /* c.addi a0, 5 ; addi a0, a0, imm (at 2 mod 4) ; c.jr ra */
      uint32_t w = ADDI(A0, A0, imm);
      h[0] = C_ADDI(A0, 5);
      h[1] = (uint16_t)w;
      h[2] = (uint16_t)(w >> 16);
      h[3] = C_JR_RA;
      want = 1000 + 5 + imm;
    }
    fence_i();
    r = ((fn1)(void *)code)(1000);
    CHECK(r == (uint64_t)(int64_t)want, "changed compressed code is seen");
    sum = hs_checksum_add(sum, r);
  }
  hs_puts("compressed ");
  hs_puthex(sum);
  hs_puts("\n");

  /* 4. code patching its own instruction stream:
        sw a1, 16(a2) ; fence.i ; addi a0, a0, 1 ; addi a0, a0, 2 ; <patched> ; ret */
  sum = 0;
  for (int i = 0; i < 32; i++) {
    code[0] = SW(A1, 16, A2);
    code[1] = FENCE_I;
    code[2] = ADDI(A0, A0, 1);
    code[3] = ADDI(A0, A0, 2);
    code[4] = ADDI(A0, A0, 1000);   /* replaced before it executes */
    code[5] = RET;
    fence_i();
    uint32_t patch = (i & 1) ? XORI(A0, A0, i) : ADDI(A0, A0, -i);
    r = ((fn3)(void *)code)(50, patch, code);
    uint64_t want = (i & 1) ? (53 ^ (uint64_t)i) : (uint64_t)(53 - i);
    CHECK(r == want, "instruction patched by the running code is seen after fence.i");
    CHECK(code[4] == patch, "patch stored");
    sum = hs_checksum_add(sum, r);
  }
  hs_puts("self-patch ");
  hs_puthex(sum);
  hs_puts("\n");

  /* 5. patching a function in .text, then restoring it */
  {
    volatile uint32_t *t = (volatile uint32_t *)(void *)text_fn;
    uint32_t orig = t[0];
    CHECK(orig == ADDI(A0, A0, 1), "text_fn encoding");
    CHECK(text_fn(41) == 42, "text_fn original");
    for (int i = 0; i < 16; i++) {
      t[0] = ADDI(A0, A0, 100 + i);
      fence_i();
      CHECK(text_fn(41) == (uint64_t)(141 + i), "patched .text function");
    }
    t[0] = orig;
    fence_i();
    CHECK(text_fn(41) == 42, "restored .text function");
  }

  /* FENCE.I with non-zero reserved fields behaves as FENCE.I */
  code[0] = ADDI(A0, A0, 7);
  code[1] = RET;
  __asm__ volatile(".word 0x0010158f" ::: "memory");   /* fence.i with rd=a1, imm=1 */
  CHECK(((fn1)(void *)code)(1) == 8, "fence.i with non-zero reserved fields");
  hs_puts("isa_fencei: PASS\n");
  return 0;
}
