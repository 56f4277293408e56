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

export function tuneHostMalloc(): boolean {
  try {
    const native = createRequire(import.meta.url)('../native/malloc-tune.node') as { tune(trim: number, pad: number): boolean };
    return native.tune(TRIM_THRESHOLD, TOP_PAD);
  } catch {
    return false;
  }
}
