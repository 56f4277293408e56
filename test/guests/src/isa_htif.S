/* isa_htif: riscv-tests style guest reporting through HTIF 'tohost' only (no UART, no test device).
   Pass: tohost = 1. Failure of test N: tohost = (N << 1) | 1. gp holds the current test number.
   The 8-byte aligned 'tohost'/'fromhost' symbols in section .tohost come from common/lib.c, which
   every guest is linked with (defining them here too would be a duplicate definition).
   Not runnable on QEMU virt (no HTIF device there); the emulator's HTIF support is the target. */

#define TEST(n) li gp, n
#define EXPECT(reg, val) li t6, val; bne reg, t6, fail

  .section .text.init
  .globl _start
_start:
  csrr a0, mhartid
  bnez a0, park
  la t0, trap
  csrw mtvec, t0
  li gp, 0

  /* a few RV64I/M sanity checks */
  TEST(2)
  li a1, 0x7fffffff
  addiw a2, a1, 1
  EXPECT(a2, 0xffffffff80000000)
  TEST(3)
  li a1, 6
  li a2, 7
  mul a3, a1, a2
#ifndef TEST3_EXPECTED
#define TEST3_EXPECTED 42
#endif
  EXPECT(a3, TEST3_EXPECTED)
  TEST(4)
  la a1, scratch
  li a2, 0x1122334455667788
  sd a2, 0(a1)
  lw a3, 4(a1)
  EXPECT(a3, 0x11223344)
  lbu a3, 0(a1)
  EXPECT(a3, 0x88)
  TEST(5)
  li a1, -1
  li a2, 1
  bltu a1, a2, fail
  bge a1, a2, fail
  TEST(6)
  li a1, 0
  li a2, 10
1:addi a1, a1, 3
  addi a2, a2, -1
  bnez a2, 1b
  EXPECT(a1, 30)

pass:
  fence
  li a0, 1
  la t0, tohost
  sd a0, 0(t0)
2:j 2b

fail:
  fence
  slli a0, gp, 1
  ori a0, a0, 1
  la t0, tohost
  sd a0, 0(t0)
3:j 3b

/* any trap is a failure of the current test */
  .balign 4
trap:
  j fail

park:
  wfi
  j park

  .data
  .balign 8
scratch: .dword 0
