/**
 * A mutex on one Int32 word of shared memory (Drepper, "Futexes Are Tricky", mutex #2):
 * 0 = free, 1 = locked, 2 = locked with (possible) waiters. Release only pays for a notify when
 * someone may be sleeping. Device critical sections are short, so a brief spin usually wins.
 */
const SPIN_ITERATIONS = 300;

export function acquire(words: Int32Array, index: number): void {
  let state = Atomics.compareExchange(words, index, 0, 1);
  if (state === 0) return;
  for (let i = 0; i < SPIN_ITERATIONS; i++) {
    state = Atomics.load(words, index);
    if (state === 0) {
      state = Atomics.compareExchange(words, index, 0, 1);
      if (state === 0) return;
    }
  }
  // Slow path: mark the lock contended, then sleep until the holder releases it.
  if (state !== 2) state = Atomics.exchange(words, index, 2);
  while (state !== 0) {
    Atomics.wait(words, index, 2);
    state = Atomics.exchange(words, index, 2);
  }
}

/** Takes the lock only if it is free right now; never waits. */
export function tryAcquire(words: Int32Array, index: number): boolean {
  return Atomics.compareExchange(words, index, 0, 1) === 0;
}

export function release(words: Int32Array, index: number): void {
  if (Atomics.sub(words, index, 1) !== 1) {
    // It was 2 (contended): hand the lock back and wake one sleeper.
    Atomics.store(words, index, 0);
    Atomics.notify(words, index, 1);
  }
}

export function withLock<T>(words: Int32Array, index: number, fn: () => T): T {
  acquire(words, index);
  try {
    return fn();
  } finally {
    release(words, index);
  }
}
