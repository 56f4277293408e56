#include "trap_rec.h"
/*
 * M-mode trap recorder shared by the instruction-set guests: stores mcause, mtval and mepc in
 * trap_info, counts the trap, and resumes after the trapping instruction (2 or 4 bytes).
 */
volatile uint64_t trap_info[6];   /* cause, tval, epc, count, unused, saved t1 */

__asm__(
  "  .section .text\n"
  "  .align 2\n"
  "  .globl trap_rec\n"
  "trap_rec:\n"
  "  csrw mscratch, t0\n"
  "  la t0, trap_info\n"
  "  sd t1, 40(t0)\n"
  "  csrr t1, mcause\n  sd t1, 0(t0)\n"
  "  csrr t1, mtval\n  sd t1, 8(t0)\n"
  "  csrr t1, mepc\n  sd t1, 16(t0)\n"
  "  ld t1, 24(t0)\n  addi t1, t1, 1\n  sd t1, 24(t0)\n"
  "  csrr t1, mepc\n"
  "  lhu t0, 0(t1)\n"
  "  andi t0, t0, 3\n"
  "  addi t1, t1, 2\n"
  "  addi t0, t0, -3\n"
  "  bnez t0, 1f\n"
  "  addi t1, t1, 2\n"
  "1:csrw mepc, t1\n"
  "  la t0, trap_info\n"
  "  ld t1, 40(t0)\n"
  "  csrr t0, mscratch\n"
  "  mret\n");
