/* isa_rvc: every RV64C instruction, written with explicit c.* mnemonics, each result checked.
   Also: 4-byte instructions at 2-byte aligned addresses (including one straddling a 4 KiB page
   boundary), jumps/branches to 2-byte aligned targets, C.EBREAK trapping with cause 3.
   Own _start; hart 0 runs the test, other harts park. s11 holds the current test number. */

#define TEST(n) li s11, n
/* compare reg with a 64-bit constant */
#define EXPECT(reg, val) li t6, val; bne reg, t6, fail

  .section .text.init
  .globl _start
_start:
  .option push
  .option norvc
  csrr a0, mhartid
  bnez a0, park
  la sp, stack_top
  la t0, trap_handler
  csrw mtvec, t0
  li s11, 0
  la a0, msg_start
  call hs_puts
  j tests
park:
  wfi
  j park
  .option pop

  .text
  .option rvc
tests:
  /* ---- C.LI, C.NOP ---- */
  TEST(1)
  c.li a0, 31
  EXPECT(a0, 31)
  c.li a0, -32
  EXPECT(a0, -32)
  c.li t3, 0
  EXPECT(t3, 0)
  c.nop
  /* ---- C.ADDI ---- */
  TEST(2)
  li a1, 100
  c.addi a1, -32
  EXPECT(a1, 68)
  c.addi a1, 31
  EXPECT(a1, 99)
  li a1, -1
  c.addi a1, 1
  EXPECT(a1, 0)
  li t4, 0x7fffffffffffffff
  c.addi t4, 1
  EXPECT(t4, 0x8000000000000000)
  /* ---- C.ADDIW: 32-bit add, sign-extended; imm 0 is sext.w ---- */
  TEST(3)
  li a2, 0x7fffffff
  c.addiw a2, 1
  EXPECT(a2, 0xffffffff80000000)
  li a2, 0x12345678ffffffff
  c.addiw a2, 0
  EXPECT(a2, -1)
  li a2, 0x100000000
  c.addiw a2, -1
  EXPECT(a2, -1)
  li s2, 5
  c.addiw s2, -6
  EXPECT(s2, -1)
  /* ---- C.LUI: nzimm[17:12] sign-extended from bit 17 ---- */
  TEST(4)
  c.lui a3, 1
  EXPECT(a3, 0x1000)
  c.lui a3, 0x1f
  EXPECT(a3, 0x1f000)
  c.lui a3, 0xfffe0
  EXPECT(a3, 0xfffffffffffe0000)
  c.lui t5, 0xfffff
  EXPECT(t5, 0xfffffffffffff000)
  /* ---- C.ADDI16SP, C.ADDI4SPN ---- */
  TEST(5)
  mv s1, sp
  c.addi16sp sp, -64
  sub t0, s1, sp
  EXPECT(t0, 64)
  c.addi16sp sp, -512
  sub t0, s1, sp
  EXPECT(t0, 576)
  c.addi16sp sp, 496
  c.addi16sp sp, 80
  bne sp, s1, fail
  c.addi4spn a4, sp, 4
  sub t0, a4, sp
  EXPECT(t0, 4)
  c.addi4spn s0, sp, 1020
  sub t0, s0, sp
  EXPECT(t0, 1020)
  /* ---- C.SW / C.LW (sign extension), C.SD / C.LD ---- */
  TEST(6)
  la s0, data_area
  li a5, 0xffffffff80000001
  c.sw a5, 0(s0)
  li a5, 0x000000007ffffffe
  c.sw a5, 124(s0)
  c.lw a0, 0(s0)
  EXPECT(a0, 0xffffffff80000001)
  c.lw a1, 124(s0)
  EXPECT(a1, 0x7ffffffe)
  lwu a0, 0(s0)
  EXPECT(a0, 0x80000001)
  TEST(7)
  li a5, 0x0123456789abcdef
  c.sd a5, 8(s0)
  li a5, 0xfedcba9876543210
  c.sd a5, 248(s0)
  c.ld a2, 8(s0)
  EXPECT(a2, 0x0123456789abcdef)
  c.ld a3, 248(s0)
  EXPECT(a3, 0xfedcba9876543210)
  lw a0, 12(s0)
  EXPECT(a0, 0x01234567)
  /* ---- C.SWSP / C.LWSP / C.SDSP / C.LDSP ---- */
  TEST(8)
  addi sp, sp, -256
  li t0, 0xffffffff87654321
  c.swsp t0, 0(sp)
  li t0, 0x11
  c.swsp t0, 252(sp)
  c.lwsp t1, 0(sp)
  EXPECT(t1, 0xffffffff87654321)
  c.lwsp t2, 252(sp)
  EXPECT(t2, 0x11)
  li t0, 0x8000000000000001
  c.sdsp t0, 8(sp)
  li t0, 0x5a5a5a5a5a5a5a5a
  c.sdsp t0, 248(sp)
  c.ldsp a6, 8(sp)
  EXPECT(a6, 0x8000000000000001)
  c.ldsp a7, 248(sp)
  EXPECT(a7, 0x5a5a5a5a5a5a5a5a)
  lw a0, 12(sp)
  EXPECT(a0, 0xffffffff80000000)
  addi sp, sp, 256
  /* ---- C.SRLI / C.SRAI / C.SLLI (6-bit shamt), C.ANDI ---- */
  TEST(9)
  li s1, 0x8000000000000010
  mv a0, s1
  c.srli a0, 63
  EXPECT(a0, 1)
  mv a0, s1
  c.srli a0, 4
  EXPECT(a0, 0x0800000000000001)
  mv a0, s1
  c.srai a0, 32
  EXPECT(a0, 0xffffffff80000000)
  mv a0, s1
  c.srai a0, 1
  EXPECT(a0, 0xc000000000000008)
  li t0, 1
  c.slli t0, 63
  EXPECT(t0, 0x8000000000000000)
  li t0, 0x0000000180000001
  c.slli t0, 32
  EXPECT(t0, 0x8000000100000000)
  li s1, 0x123456789abcdef0
  c.slli s1, 1
  EXPECT(s1, 0x2468acf13579bde0)
  TEST(10)
  li a0, 0x123456789abcdef7
  c.andi a0, -1
  EXPECT(a0, 0x123456789abcdef7)
  c.andi a0, -32
  EXPECT(a0, 0x123456789abcdee0)
  li a0, 0xff
  c.andi a0, 31
  EXPECT(a0, 31)
  c.andi a0, 0
  EXPECT(a0, 0)
  /* ---- CA format: C.SUB C.XOR C.OR C.AND C.SUBW C.ADDW ---- */
  TEST(11)
  li a0, 0x0f0f0f0f0f0f0f0f
  li a1, 0x00ff00ff00ff00ff
  mv a2, a0
  c.sub a2, a1
  EXPECT(a2, 0x0e100e100e100e10)
  mv a2, a0
  c.xor a2, a1
  EXPECT(a2, 0x0ff00ff00ff00ff0)
  mv a2, a0
  c.or a2, a1
  EXPECT(a2, 0x0fff0fff0fff0fff)
  mv a2, a0
  c.and a2, a1
  EXPECT(a2, 0x000f000f000f000f)
  TEST(12)
  li a0, 0x1234567880000000
  li a1, 1
  mv a2, a0
  c.subw a2, a1
  EXPECT(a2, 0x7fffffff)
  li a0, 0x7fffffff
  mv a2, a0
  c.addw a2, a1
  EXPECT(a2, 0xffffffff80000000)
  li a0, 0xffffffff00000000
  li a1, 0x00000000ffffffff
  mv a3, a0
  c.addw a3, a1
  EXPECT(a3, -1)
  mv a3, a1
  c.subw a3, a1
  EXPECT(a3, 0)
  /* ---- C.MV, C.ADD ---- */
  TEST(13)
  li t0, 0xdeadbeefcafebabe
  c.mv t1, t0
  EXPECT(t1, 0xdeadbeefcafebabe)
  c.mv s3, t0
  bne s3, t0, fail
  li t2, 0x2152411035014542
  c.add t1, t2
  EXPECT(t1, 0)
  li t1, 5
  c.add t1, t1
  EXPECT(t1, 10)
  /* ---- C.J (forward/backward), C.BEQZ / C.BNEZ taken and not taken ---- */
  TEST(14)
  li a0, 0
  c.j 2f
1:c.addi a0, 1
  c.j 3f
2:c.addi a0, 10
  c.j 1b
3:EXPECT(a0, 11)
  TEST(15)
  li a0, 0
  li a1, 1
  li a4, 0
  c.beqz a0, 1f
  c.addi a4, 1            /* skipped */
1:c.beqz a1, 2f
  c.addi a4, 2            /* executed */
2:c.bnez a1, 3f
  c.addi a4, 4            /* skipped */
3:c.bnez a0, 4f
  c.addi a4, 8            /* executed */
4:EXPECT(a4, 10)
  /* backward branches: a countdown loop with c.bnez */
  li a5, 7
  li a4, 0
5:c.addi a4, 3
  c.addi a5, -1
  c.bnez a5, 5b
  EXPECT(a4, 21)
  /* a register with a huge value is non-zero even if the low 32 bits are zero */
  li a5, 0x100000000
  c.beqz a5, fail
  /* ---- C.JR, C.JALR (link = pc + 2) ---- */
  TEST(16)
  la t0, 1f
  c.jr t0
  j fail
1:la t1, 2f
  c.jalr t1
3:j 4f                    /* c.jalr returns here */
2:la t2, 3b
  bne ra, t2, fail
  c.jr ra                 /* back to 3: */
4:
  /* c.jalr ra: the target is the old ra, the link the new pc + 2 */
  TEST(17)
  la ra, 5f
  c.jalr ra
6:j fail
5:la t2, 6b
  bne ra, t2, fail
  /* ---- 2-byte aligned jump targets and 4-byte instructions at 2-byte aligned addresses ---- */
  TEST(18)
  .balign 4
  c.nop
  .option push
  .option norvc
  addi a0, zero, 17       /* at 2 mod 4 */
  jal ra, 7f              /* 2 mod 4 */
  .option pop
  c.j 8f
  .balign 4
  c.nop
7:
  .option push
  .option norvc
  addi a0, a0, 1          /* 2-byte aligned jump target, 4-byte instruction */
  jalr zero, 0(ra)
  .option pop
8:EXPECT(a0, 18)
  la t0, 9f
  andi t1, t0, 3
  EXPECT(t1, 2)
  jalr zero, 0(t0)
  j fail
  .balign 4
  c.nop
9:c.nop
  /* ---- a 4-byte instruction straddling a 4 KiB page boundary ---- */
  TEST(19)
  li a0, 0
  la t0, straddle
  li t1, 0xffe
  li t3, 0xfff
  and t3, t0, t3
  bne t3, t1, fail
  jal ra, straddle
  EXPECT(a0, 0x123)
  /* ---- C.EBREAK: breakpoint exception, cause 3, mepc = its address ---- */
  TEST(20)
  la t0, trap_count
  sd zero, 0(t0)
brk:
  c.ebreak
  la t0, trap_count
  ld t1, 0(t0)
  EXPECT(t1, 1)
  ld t1, 8(t0)
  EXPECT(t1, 3)
  ld t1, 16(t0)
  la t2, brk
  bne t1, t2, fail
  /* mtval is either 0 or the address of the c.ebreak */
  ld t1, 24(t0)
  beqz t1, 1f
  bne t1, t2, fail
1:
  /* the trapping instruction really was 2 bytes: the handler skipped by its length */
  TEST(21)
  la t0, trap_count
  sd zero, 0(t0)
  .option push
  .option norvc
  ebreak
  .option pop
  ld t1, 0(t0)
  EXPECT(t1, 1)
  ld t1, 8(t0)
  EXPECT(t1, 3)

  /* done */
  la a0, msg_pass
  call hs_puts
  li a0, 0
  call hs_exit

fail:
  la a0, msg_fail
  call hs_puts
  mv a0, s11
  call hs_putdec
  la a0, msg_nl
  call hs_puts
  li a0, 1
  call hs_exit

  /* padded so that 'straddle' sits 2 bytes before a 4 KiB boundary */
  .balign 4096
  .skip 4094
straddle:
  .option push
  .option norvc
  addi a0, a0, 0x123
  .option pop
  c.jr ra

/* Records mcause/mepc/mtval, counts, skips the trapping instruction (2 or 4 bytes). */
  .balign 4
trap_handler:
  csrw mscratch, t0
  la t0, trap_save
  sd t1, 0(t0)
  sd t2, 8(t0)
  la t0, trap_count
  ld t1, 0(t0)
  addi t1, t1, 1
  sd t1, 0(t0)
  csrr t1, mcause
  sd t1, 8(t0)
  csrr t1, mepc
  sd t1, 16(t0)
  csrr t2, mtval
  sd t2, 24(t0)
  lhu t2, 0(t1)
  andi t2, t2, 3
  addi t1, t1, 2
  addi t2, t2, -3
  bnez t2, 1f
  addi t1, t1, 2
1:csrw mepc, t1
  la t0, trap_save
  ld t1, 0(t0)
  ld t2, 8(t0)
  csrr t0, mscratch
  mret

  .section .rodata
msg_start: .asciz "isa_rvc\n"
msg_pass:  .asciz "isa_rvc: PASS\n"
msg_fail:  .asciz "FAIL: isa_rvc test "
msg_nl:    .asciz "\n"

  .data
  .balign 8
trap_count: .dword 0, 0, 0, 0   /* count, mcause, mepc, mtval */
trap_save:  .dword 0, 0

  .bss
  .balign 16
data_area: .skip 256
stack:     .skip 4096
stack_top:
