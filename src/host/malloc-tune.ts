/**
 * Keeps freed heap memory in the process instead of handing it back to the kernel after every
 * free at the top of a heap (glibc's trim), through our small N-API module src/native/malloc-tune.c
 * (built by scripts/build-native.sh; without it, or off glibc, nothing changes but speed).
 *
 * Why: V8 compiles each wasm page module with Liftoff in zone memory it mallocs and frees; with
 * glibc's default trimming every compile faulted its zone pages in again, and a host page fault
 * costs ~10 us on these VMs. A 1-hart Linux boot took ~41,000 faults (sys 0.44-0.62 s), more than
 * half of the hart thread's in Liftoff. Measured with the same settings from the environment
 * (MALLOC_TOP_PAD_ or MALLOC_TRIM_THRESHOLD_, 5 alternating runs): boot -> power-off 1.77-2.06 s
 * -> 1.59-1.68 s, sys 0.41-0.62 -> 0.36-0.42 s. The environment variables would have to be set
 * before node starts (a re-exec costs ~110 ms of start-up); mallopt at run time affects every
 * arena, the hart workers' included, as long as it runs before they allocate much.
 */
import { createRequire } from 'node:module';

/** Trim only beyond this much free memory at the top of a heap, and keep this much when growing one. */
const TRIM_THRESHOLD = 256 << 20;
const TOP_PAD = 64 << 20;

interface NativeTuning {
  tune(trim: number, pad: number): boolean;
  quit?(code: number): never;
}

function nativeTuning(): NativeTuning | null {
  try {
    return createRequire(import.meta.url)('../native/malloc-tune.node') as NativeTuning;
  } catch {
    return null;
  }
}

export function tuneHostMalloc(): boolean {
  return nativeTuning()?.tune(TRIM_THRESHOLD, TOP_PAD) ?? false;
}

/**
 * Ends the process with `code` at once, once a command is done: everything is out (stdout and
 * stderr are synchronous on Linux, traces closed, the JIT's files written whole before they are
 * renamed into place) and the hart workers have closed. process.exit still winds node down
 * (isolates, heaps, compiled code: ~30 ms after a 1-hart Linux boot, 1,025 -> 996 ms median of
 * 15 alternating runs); the native module's _exit does not, after putting the standard streams'
 * file status flags back as node's exit does (it makes a pipe non-blocking; the module noted them
 * when tuneHostMalloc first loaded it, before any stream was opened). Only with no terminal on any
 * of the standard streams (node's exit also puts a terminal's modes back), and not while node
 * profiles or collects coverage, which it writes out as it exits.
 */
export function exitNow(code: number): never {
  const tty = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
  if (!tty && !profiling()) nativeTuning()?.quit?.(code);
  process.exit(code);
}

/** Node writes CPU and heap profiles (--cpu-prof, --heap-prof, --prof) and V8 coverage (NODE_V8_COVERAGE) as it exits. */
function profiling(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return process.env.NODE_V8_COVERAGE !== undefined || flags.some((f) => /^--(cpu-prof|heap-prof|prof)\b/.test(f));
}
