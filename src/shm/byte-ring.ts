import { CONSOLE_IN, CONSOLE_OUT, CONSOLE_RING_BYTES, CTRL_BASE, Ctrl } from './layout.js';

/** Offsets inside a ring, matching shm/layout.ts. */
const HEAD_WORD = 0; // Int32: total bytes ever written (wraps modulo 2^32)
const TAIL_WORD = 1; // Int32: total bytes ever read
const DATA_OFFSET = 64;
/** How long a blocked producer sleeps before re-checking (guards against a missed notify). */
const FULL_WAIT_MS = 50;

/**
 * Bumps the coordinator's ConsoleSeq and wakes it if it sleeps. The coordinator sets
 * Ctrl.CoordinatorSleeping, then re-reads ConsoleSeq before it waits (sleepUntilBumped); a producer
 * bumps ConsoleSeq, then takes the flag. Both sequentially consistent, so either the coordinator
 * sees the bump and does not sleep, or the producer sees the flag and notifies.
 */
export function wakeCoordinator(ctrl: Int32Array): void {
  Atomics.add(ctrl, Ctrl.ConsoleSeq, 1);
  if (Atomics.exchange(ctrl, Ctrl.CoordinatorSleeping, 0) !== 0) Atomics.notify(ctrl, Ctrl.ConsoleSeq);
}

/** The coordinator's side of wakeCoordinator: sleeps up to `ms` unless ConsoleSeq moved past `seen`. */
export async function sleepUntilBumped(ctrl: Int32Array, seen: number, ms: number): Promise<void> {
  Atomics.store(ctrl, Ctrl.CoordinatorSleeping, 1);
  if (Atomics.load(ctrl, Ctrl.ConsoleSeq) === seen) {
    const waited = Atomics.waitAsync(ctrl, Ctrl.ConsoleSeq, seen, ms);
    if (waited.async) {
      // Node does not count a pending waitAsync (nor the task that settles it) as work that keeps
      // the process alive (nodejs/node#61941): once the hart workers have exited, the process may
      // end with the coordinator still awaiting, exit status 13 and no message (seen once in 2,000
      // soak replays). A ref'd timer of the same length keeps it alive and bounds the wait.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([waited.value, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
      clearTimeout(timer);
    }
  }
  Atomics.store(ctrl, Ctrl.CoordinatorSleeping, 0);
}

/**
 * Byte ring in shared memory for one producer and one consumer at a time (callers serialise
 * producers with the device lock). Head and tail are free-running Int32 counters, so
 * (head - tail) | 0 is the fill level even after they wrap.
 */
export class ByteRing {
  private readonly control: Int32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;

  constructor(
    memory: SharedArrayBuffer,
    offset: number,
    readonly capacity: number,
    /** The control block whose ConsoleSeq every push bumps (wakeCoordinator), if any. */
    private readonly ctrl?: Int32Array,
  ) {
    if (capacity <= 0 || (capacity & (capacity - 1)) !== 0) {
      throw new RangeError(`ByteRing capacity ${capacity} is not a power of two`);
    }
    this.control = new Int32Array(memory, offset, 2);
    this.data = new Uint8Array(memory, offset + DATA_OFFSET, capacity);
    this.mask = capacity - 1;
  }

  /** Bytes written but not yet read. */
  available(): number {
    return (Atomics.load(this.control, HEAD_WORD) - Atomics.load(this.control, TAIL_WORD)) | 0;
  }

  /** Appends a byte; false if the ring is full. */
  push(byte: number): boolean {
    const head = Atomics.load(this.control, HEAD_WORD);
    const tail = Atomics.load(this.control, TAIL_WORD);
    if (((head - tail) | 0) >= this.capacity) return false;
    this.data[head & this.mask] = byte;
    // The atomic store publishes the data byte to the consumer.
    Atomics.store(this.control, HEAD_WORD, (head + 1) | 0);
    this.bumpSeq();
    return true;
  }

  /** Appends a byte, sleeping until the consumer makes room: console output is never dropped. */
  pushBlocking(byte: number): void {
    while (!this.push(byte)) {
      const tail = Atomics.load(this.control, TAIL_WORD);
      if (((Atomics.load(this.control, HEAD_WORD) - tail) | 0) < this.capacity) continue;
      Atomics.wait(this.control, TAIL_WORD, tail, FULL_WAIT_MS);
    }
  }

  /** Removes and returns the oldest byte, or -1 if the ring is empty. */
  pop(): number {
    const tail = Atomics.load(this.control, TAIL_WORD);
    if (Atomics.load(this.control, HEAD_WORD) === tail) return -1;
    const byte = this.data[tail & this.mask]!;
    Atomics.store(this.control, TAIL_WORD, (tail + 1) | 0);
    Atomics.notify(this.control, TAIL_WORD);
    return byte;
  }

  /** Removes up to `max` bytes (all available by default) and wakes producers waiting for room. */
  drain(max: number = this.capacity): Uint8Array {
    const tail = Atomics.load(this.control, TAIL_WORD);
    const count = Math.min(max, (Atomics.load(this.control, HEAD_WORD) - tail) | 0);
    if (count <= 0) return new Uint8Array(0);
    const out = new Uint8Array(count);
    const start = tail & this.mask;
    const firstPart = Math.min(count, this.capacity - start);
    out.set(this.data.subarray(start, start + firstPart), 0);
    if (firstPart < count) out.set(this.data.subarray(0, count - firstPart), firstPart);
    Atomics.store(this.control, TAIL_WORD, (tail + count) | 0);
    Atomics.notify(this.control, TAIL_WORD);
    return out;
  }

  private bumpSeq(): void {
    if (this.ctrl) wakeCoordinator(this.ctrl);
  }
}

function controlWords(memory: SharedArrayBuffer): Int32Array {
  return new Int32Array(memory, CTRL_BASE, Ctrl.CoordinatorSleeping + 1);
}

/** Guest -> host console bytes (UART THR writes); drained by the main thread. */
export function consoleOutRing(memory: SharedArrayBuffer): ByteRing {
  return new ByteRing(memory, CONSOLE_OUT, CONSOLE_RING_BYTES, controlWords(memory));
}

/** Host -> guest console bytes (stdin); read by the UART's RBR. */
export function consoleInRing(memory: SharedArrayBuffer): ByteRing {
  return new ByteRing(memory, CONSOLE_IN, CONSOLE_RING_BYTES, controlWords(memory));
}
