/**
 * V8 flags the emulator runs best with, process-wide, set when the JIT module loads: every hart
 * worker loads it before it runs a hart. (Not imported by the CLI's entry: loading node:v8 there
 * delayed the hart workers' start by ~25 ms, `run hello.elf` 0.29 -> 0.31 s.)
 */
import { setFlagsFromString } from 'node:v8';

/**
 * Compiled pages stay on V8's baseline wasm compiler (Liftoff): its tier-up to TurboFan made
 * everything slower. Measured (2-core host, Node 20): the debugger's first pass over a 4-hart Linux
 * trace (68M instructions) 21.9 s -> 6.6 s, a 1-hart Linux boot 9.3 s -> see docs/BENCHMARKS.md,
 * bench_compute 789 -> 869 MIPS. Our modules are large (~50 KB, a page of blocks behind one
 * dispatcher) and short-lived; optimising them costs more than it ever pays back. The flag is
 * read when a module is compiled.
 */
setFlagsFromString('--liftoff-only');

/**
 * TurboFan inlines less (cumulative inlined bytecode per function 920 -> 300 bytes): each hart's
 * isolate optimizes our interpreter, MMU and code generator on V8's background threads, and on a
 * 1-hart Linux boot those threads used ~1.6 s of CPU (`perf record`, per thread) against the
 * hart's ~2.6 s; with 4 harts on 2 cores that is CPU the harts need. Measured (2-core host,
 * medians of 4 alternating runs): Linux boot -> power-off process CPU 1 hart 3.91 -> 3.64 s,
 * 4 harts 9.37 -> 8.61 s; the reference tier alone 7.48 -> 7.45 s (at 120 bytes it lost 7%).
 */
setFlagsFromString('--max-inlined-bytecode-size-cumulative=300');

/**
 * TurboFan also optimizes later (a function's interrupt budget 67,584 -> 400,000 bytecode bytes
 * run): optimized early, our hot functions (runOnce, runBlock, loadN, storeN...) had seen too
 * little of the guest and were deoptimized and optimized again ("insufficient type feedback"), ~4
 * times in each hart's isolate at 25-45 ms of background compile each (`--trace-opt
 * --trace-deopt`: 489 TurboFan compiles, ~2 s, on a 4-hart Linux boot). Measured (2-core host,
 * 6 alternating runs each, run-queue waits from HINDSIGHT_JIT_STATS): Linux boot -> power-off on 4
 * harts (2 threads) median 3.23 -> 2.83 s wall, process CPU 5.09 -> 4.37 s; 1 hart 1.96 s either
 * way, CPU 2.67 -> 2.50 s; the reference tier on bench_compute unchanged.
 */
setFlagsFromString('--interrupt-budget=400000');

/**
 * Wasm compiles eagerly: `new WebAssembly.Module` compiles every function then, not at its first
 * call (V8's default in Node 20 is lazy). A page module is three functions, all of which run, so a
 * hart pays the same either way (1-hart Linux boot, 6 alternating runs: 1,189 ms lazy, 1,227 ms
 * eager, within noise), but the main thread's compile ahead (host/jit-cache.ts `precompile`) only
 * saves the harts anything when it leaves machine code behind: lazily, it only decoded the bytes,
 * and each hart's first call still compiled the function on the hart's thread (~240 ms of a warm
 * boot's ~950 ms hart CPU in `perf record`, under `wasm::CompileLazy`).
 */
setFlagsFromString('--no-wasm-lazy-compilation');

/**
 * Relaxed SIMD, for the host fused multiply-add (jit/host-fma.ts, which also sets it before its
 * probe): set here as well, with the others, so that a thread's V8 flags no longer change once its
 * code is compiled. V8 takes a code cache only under the flags it was made with, and the hart
 * worker's (host/hart-worker-loader.ts) is written at the end of a run. It only lets modules use
 * the instructions.
 */
setFlagsFromString('--experimental-wasm-relaxed-simd');
