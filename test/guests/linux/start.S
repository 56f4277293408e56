# Process entry and thread creation for hindsight's initramfs programs (no libc).
  .section .text.start
  .globl _start
_start:
  .option push
  .option norelax
  la gp, __global_pointer$
  .option pop
  mv a0, sp
  call main
  li a7, 93          # exit(main's result) -- for init this panics the kernel, on purpose
  ecall
1:j 1b

# long spawn_thread(void (*fn)(long), long arg, void *stack_top)
# clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack_top, 0, 0, 0).
# The child starts on its own stack with the caller's registers, so fn and arg travel in
# callee-saved registers; it calls fn(arg) and then exits (the thread only, not the group).
  .text
  .globl spawn_thread
spawn_thread:
  addi sp, sp, -16
  sd s0, 0(sp)
  sd s1, 8(sp)
  mv s0, a0
  mv s1, a1
  li a0, 0x50f00     # VM 0x100 | FS 0x200 | FILES 0x400 | SIGHAND 0x800 | THREAD 0x10000 | SYSVSEM 0x40000
  mv a1, a2
  li a2, 0
  li a3, 0
  li a4, 0
  li a7, 220
  ecall
  beqz a0, 2f
  ld s0, 0(sp)       # parent: child's tid (or -errno) in a0
  ld s1, 8(sp)
  addi sp, sp, 16
  ret
2:mv a0, s1          # child
  jalr s0
  li a0, 0
  li a7, 93
  ecall
3:j 3b
