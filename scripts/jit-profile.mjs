#!/usr/bin/env node
// In-process single-hart run of a guest on one tier, for profiling (node --cpu-prof) and JIT stats.
//   node scripts/jit-profile.mjs [--tier jit|reference] [--append iters=N] [--hotness N] ELF
import { Executor } from '../dist/src/exec/executor.js';
import { JitExecutor } from '../dist/src/jit/jit-executor.js';
import { createSharedMemory, sharedBuffer } from '../dist/src/shm/layout.js';
import { Board } from '../dist/src/machine/board.js';
import { prepareMachine } from '../dist/src/machine/loader.js';
import { consoleOutRing } from '../dist/src/shm/byte-ring.js';

const args = process.argv.slice(2);
let tier = 'jit', append = '', hotness, elf;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tier') tier = args[++i];
  else if (args[i] === '--append') append = args[++i];
  else if (args[i] === '--hotness') hotness = Number(args[++i]);
  else elf = args[i];
}
const ramBytes = 128 << 20;
const memory = createSharedMemory(ramBytes);
const sab = sharedBuffer(memory);
const prepared = prepareMachine(sab, { harts: 1, ramBytes, bios: null, kernel: elf, initrd: null, append, disks: [] });
const board = new Board(sab, prepared.config);
board.control.init();
board.clock.start();
board.clint.reset();
const hart = board.harts[0];
hart.reset(0x1000n);
const exec = tier === 'jit' ? new JitExecutor(hart, board.bus, memory, hotness ? { hotness } : {}) : new Executor(hart, board.bus);
const out = consoleOutRing(sab);
const t0 = process.hrtime.bigint();
let calls = 0;
while (!hart.exitRequested) {
  hart.observeLines(hart.hardwareMip());
  const irq = hart.pendingInterrupt();
  if (irq >= 0) hart.takeInterrupt(irq);
  exec.runBlock(1e9);
  calls++;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(Buffer.from(out.drain()).toString('latin1'));
console.error(`${tier}: ${hart.icount} insns in ${s.toFixed(3)} s = ${(hart.icount / s / 1e6).toFixed(1)} MIPS, ${calls} runBlock calls (${(hart.icount / calls).toFixed(1)} insns/call)`);
if (exec.stats) console.error(JSON.stringify(exec.stats));
