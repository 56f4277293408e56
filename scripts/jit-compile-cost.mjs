#!/usr/bin/env node
// The JIT's compile path on real guest pages, without the guest: replays the page compiles a run
// dumped (HINDSIGHT_JIT_DUMP=FILE hindsight run ...) in one process and times each phase
// (translation to IR, our wasm code generation, V8's compile of the module). Pass 1 is what a
// fresh hart thread pays (our code cold in V8); later passes show the warmed-up cost.
//
//   HINDSIGHT_JIT_DUMP=/tmp/pages.jsonl node dist/src/cli/main.js run --bios ... Image
//   node scripts/jit-compile-cost.mjs [--passes N] [--json OUT] /tmp/pages.jsonl
import { readFileSync, writeFileSync } from 'node:fs';
import { translateBlock } from '../dist/src/exec/translate.js';
import { compilePageModule } from '../dist/src/jit/codegen.js';
import { RAM_BASE } from '../dist/src/machine/memmap.js';
import { decoder32For } from '../dist/src/isa/decode.js';
import { DEFAULT_CPU_FEATURES } from '../dist/src/cpu/features.js';
import '../dist/src/jit/jit-executor.js'; // its V8 flags (Liftoff only), as in a hart thread

const args = process.argv.slice(2);
let passes = 3, jsonOut = null, file = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--passes') passes = Number(args[++i]);
  else if (args[i] === '--json') jsonOut = args[++i];
  else if (!file) file = args[i];
  else usage();
}
if (!file || !(passes >= 1)) usage();
function usage() {
  process.stderr.write('usage: node scripts/jit-compile-cost.mjs [--passes N] [--json OUT] DUMP.jsonl\n');
  process.exit(2);
}

let pages;
try {
  pages = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => {
    const p = JSON.parse(line);
    return { vbase: BigInt(p.vbase), ramPage: p.ramPage, offsets: p.offsets, code: Buffer.from(p.code, 'base64') };
  });
} catch (e) {
  process.stderr.write(`jit-compile-cost: cannot read ${file}: ${e.message}\n`);
  process.exit(2);
}

const decodeWord = decoder32For(DEFAULT_CPU_FEATURES);
/** Just what translateBlock reads of a Bus, over one dumped page. */
function pageBus(p) {
  const base = RAM_BASE + p.ramPage * 4096;
  return {
    isRam: (pa) => pa >= base && pa < base + 4096,
    isExecutable: () => false,
    codeFlag: new Uint8Array(p.ramPage + 1),
    codeGen: new Int32Array(p.ramPage + 1),
    u8: p.code,
    ramOffset: (pa) => pa - base,
    read: () => null,
  };
}

const ms = (t) => Number(t) / 1e6;
const results = [];
for (let pass = 1; pass <= passes; pass++) {
  let tTranslate = 0n, tCodegen = 0n, tWasm = 0n, bytes = 0, insns = 0, blocks = 0;
  for (const p of pages) {
    const bus = pageBus(p);
    const base = RAM_BASE + p.ramPage * 4096;
    const t0 = process.hrtime.bigint();
    const list = p.offsets.slice().sort((a, b) => a - b).map((off) => ({ off, block: translateBlock(bus, base + off, decodeWord) }));
    const t1 = process.hrtime.bigint();
    const code = compilePageModule({ vbase: p.vbase, ramPage: p.ramPage, gen: 0, blocks: list });
    const t2 = process.hrtime.bigint();
    new WebAssembly.Module(code);
    const t3 = process.hrtime.bigint();
    tTranslate += t1 - t0; tCodegen += t2 - t1; tWasm += t3 - t2;
    bytes += code.length;
    blocks += list.length;
    for (const b of list) insns += b.block.insns.length;
  }
  results.push({ pass, pages: pages.length, blocks, insns, bytes, translateMs: ms(tTranslate), codegenMs: ms(tCodegen), wasmMs: ms(tWasm) });
}

const pad = (s, n) => String(s).padStart(n);
console.log(`${pages.length} pages from ${file}`);
console.log(`${'pass'.padEnd(5)}${pad('blocks', 8)}${pad('insns', 8)}${pad('wasm KB', 9)}${pad('B/insn', 8)}${pad('translate ms', 14)}${pad('codegen ms', 12)}${pad('V8 ms', 8)}${pad('total ms', 10)}`);
for (const r of results) {
  console.log(`${String(r.pass).padEnd(5)}${pad(r.blocks, 8)}${pad(r.insns, 8)}${pad((r.bytes / 1024).toFixed(0), 9)}${pad((r.bytes / r.insns).toFixed(1), 8)}` +
    `${pad(r.translateMs.toFixed(1), 14)}${pad(r.codegenMs.toFixed(1), 12)}${pad(r.wasmMs.toFixed(1), 8)}${pad((r.translateMs + r.codegenMs + r.wasmMs).toFixed(1), 10)}`);
}
if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ file, results }, null, 2)}\n`);
