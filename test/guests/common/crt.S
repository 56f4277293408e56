/* Start-up shared by the C guests: every hart enters here in M-mode with a0 = mhartid, a1 = DTB.
   Hart 0 clears .bss and releases the others; then every hart calls guest_main(hartid, dtb). */
  .section .text.init
  .globl _start
_start:
  csrw mscratch, zero
  la t0, trap_unexpected
  csrw mtvec, t0
  la sp, __stacks_top
  slli t0, a0, 14
  sub sp, sp, t0
  bnez a0, 2f
  la t0, __bss_start
  la t1, __bss_end
1:bgeu t0, t1, 3f
  sd zero, 0(t0)
  addi t0, t0, 8
  j 1b
3:fence
  la t0, boot_released
  li t1, 1
  sw t1, 0(t0)
  j 4f
2:la t0, boot_released
5:lw t1, 0(t0)
  beqz t1, 5b
  fence
4:call guest_main
  call hs_exit
6:j 6b

  .align 2
trap_unexpected:
  csrr a0, mcause
  csrr a1, mepc
  csrr a2, mtval
  call hs_unexpected_trap
7:j 7b

  .section .data
  .align 3
  .globl boot_released
boot_released: .dword 0
