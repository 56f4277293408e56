import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ByteRing, sleepUntilBumped, wakeCoordinator } from '../../src/shm/byte-ring.js';
import { Ctrl } from '../../src/shm/layout.js';
import { acquire, release, tryAcquire, withLock } from '../../src/shm/lock.js';
import { OwnershipTable, ownershipBytes } from '../../recorder/ownership.js';

/** lock.ts compiled to CommonJS, so plain eval workers can run the real code. */
function lockModuleSource(): string {
  const source = readFileSync(new URL('../../src/shm/lock.ts', import.meta.url), 'utf8');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS } }).outputText;
}

function runWorker(code: string, workerData: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData });
    worker.on('error', reject);
    worker.on('exit', (exitCode) => (exitCode === 0 ? resolve() : reject(new Error(`worker exit ${exitCode}`))));
  });
}

describe('coordinator wake-up', () => {
  it('a bump wakes a sleeping coordinator and leaves an awake one alone', async () => {
    const ctrl = new Int32Array(new SharedArrayBuffer(64));
    wakeCoordinator(ctrl); // nobody sleeps: just the bump
    expect(ctrl[Ctrl.ConsoleSeq]).toBe(1);
    expect(ctrl[Ctrl.CoordinatorSleeping]).toBe(0);
    // Already bumped past what it saw: no sleep at all (a minute-long wait would time the test out).
    await sleepUntilBumped(ctrl, 0, 60_000);
    expect(ctrl[Ctrl.CoordinatorSleeping]).toBe(0);
    // Asleep: the next bump must notify it, long before its minute is up.
    const started = Date.now();
    const sleeping = sleepUntilBumped(ctrl, 1, 60_000);
    expect(ctrl[Ctrl.CoordinatorSleeping]).toBe(1);
    setTimeout(() => wakeCoordinator(ctrl), 20);
    await sleeping;
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(ctrl[Ctrl.ConsoleSeq]).toBe(2);
    expect(ctrl[Ctrl.CoordinatorSleeping]).toBe(0);
  });
});

describe('lock', () => {
  it('takes and releases the word, notifying only when contended', () => {
    const words = new Int32Array(new SharedArrayBuffer(8));
    acquire(words, 1);
    expect(words[1]).toBe(1);
    release(words, 1);
    expect(words[1]).toBe(0);
    words[1] = 2; // as if another thread were waiting
    release(words, 1);
    expect(words[1]).toBe(0);
    expect(withLock(words, 1, () => words[1])).toBe(1);
    expect(tryAcquire(words, 1)).toBe(true);
    expect(tryAcquire(words, 1)).toBe(false);
    release(words, 1);
    expect(words[1]).toBe(0);
  });

  it('serialises non-atomic increments from four threads', async () => {
    const memory = new SharedArrayBuffer(8);
    const rounds = 20000;
    const code = `
      const { workerData } = require('node:worker_threads');
      const exports = {};
      ${lockModuleSource()}
      const words = new Int32Array(workerData.memory);
      for (let i = 0; i < workerData.rounds; i++) {
        exports.acquire(words, 0);
        const value = words[1];
        for (let spin = 0; spin < 20; spin++); // widen the race window
        words[1] = value + 1;
        exports.release(words, 0);
      }`;
    await Promise.all([0, 1, 2, 3].map(() => runWorker(code, { memory, rounds })));
    const words = new Int32Array(memory);
    expect(words[1]).toBe(4 * rounds);
    expect(words[0]).toBe(0);
  });
});

describe('ByteRing', () => {
  it('pushes, pops, wraps and drains in order', () => {
    const memory = new SharedArrayBuffer(4096);
    const ctrl = new Int32Array(memory, 0, 8);
    const ring = new ByteRing(memory, 256, 8, ctrl);
    expect(ring.pop()).toBe(-1);
    for (let i = 0; i < 8; i++) expect(ring.push(i)).toBe(true);
    expect(ring.push(99)).toBe(false);
    expect(ring.available()).toBe(8);
    expect(ctrl[Ctrl.ConsoleSeq]).toBe(8);
    expect(ring.pop()).toBe(0);
    expect(ring.pop()).toBe(1);
    ring.push(8);
    ring.push(9);
    expect(Array.from(ring.drain(3))).toEqual([2, 3, 4]);
    expect(Array.from(ring.drain())).toEqual([5, 6, 7, 8, 9]);
    expect(ring.available()).toBe(0);
    expect(() => new ByteRing(memory, 0, 12)).toThrow(RangeError);
  });

  it('keeps counting correctly when head and tail wrap past 2^31', () => {
    const memory = new SharedArrayBuffer(4096);
    const control = new Int32Array(memory, 0, 2);
    control[0] = 0x7ffffffe;
    control[1] = 0x7ffffffe;
    const ring = new ByteRing(memory, 0, 16);
    for (let i = 0; i < 5; i++) ring.push(i);
    expect(ring.available()).toBe(5);
    expect(Array.from(ring.drain())).toEqual([0, 1, 2, 3, 4]);
  });

  it('pushBlocking waits for a consumer instead of dropping bytes', async () => {
    const memory = new SharedArrayBuffer(4096);
    const ring = new ByteRing(memory, 0, 4);
    for (let i = 0; i < 4; i++) ring.push(i);
    // A worker consumes one byte after a delay, the way the main thread drains console output.
    const consumer = runWorker(
      `const { workerData } = require('node:worker_threads');
       const control = new Int32Array(workerData.memory, 0, 2);
       Atomics.wait(control, 0, 4, 100); // just a delay
       Atomics.add(control, 1, 1);
       Atomics.notify(control, 1);`,
      { memory },
    );
    ring.pushBlocking(4); // blocks this thread until the worker frees a slot
    await consumer;
    expect(Array.from(ring.drain())).toEqual([1, 2, 3, 4]);
  });
});

describe('CREW ownership table', () => {
  const table = (harts: number) => new OwnershipTable(new SharedArrayBuffer(ownershipBytes({ resources: 4, harts })), 0, { resources: 4, harts });

  it('hands a writer the page when the last reader in its way gives it up', () => {
    const t = table(2);
    expect(t.tryAcquire(0, 1, false, () => {})).toEqual([]);
    const asked: number[] = [];
    expect(t.tryAcquire(1, 1, true, (h) => asked.push(h))).toBeNull();
    expect(asked).toEqual([0]);
    expect(t.release(0, 1, true, 1, 1)).toBe(true);
    // Straight to the writer: the reader cannot read it again before the writer has used it.
    expect(t.holds(1, 1, true)).toBe(true);
    expect(t.holds(0, 1, false)).toBe(false);
    expect(t.tryAcquire(0, 1, false, () => {})).toBeNull();
    expect(t.releasesBefore(1, 1)).toEqual([{ hart: 0, seq: 1 }]);
  });

  it('hands it over also when the writer was a reader too, and not while other readers remain', () => {
    const t = table(3);
    for (const h of [0, 1, 2]) expect(t.tryAcquire(h, 2, false, () => {})).toEqual([]);
    expect(t.tryAcquire(1, 2, true, () => {})).toBeNull();
    expect(t.release(0, 2, true, 1, 1)).toBe(true);
    expect(t.holds(1, 2, true)).toBe(false); // hart 2 still reads it
    expect(t.holds(1, 2, false)).toBe(true);
    expect(t.release(2, 2, true, 1, 1)).toBe(true);
    expect(t.holds(1, 2, true)).toBe(true);
    expect(t.releasesBefore(1, 2)).toEqual([{ hart: 0, seq: 1 }, { hart: 2, seq: 1 }]);
  });

  it('an exclusive holder downgrades for a reader and hands over to a writer', () => {
    const t = table(2);
    expect(t.tryAcquire(0, 3, true, () => {})).toEqual([]);
    expect(t.tryAcquire(1, 3, false, () => {})).toBeNull();
    expect(t.release(0, 3, false, 1, 1)).toBe(true);
    expect(t.holds(0, 3, false) && t.holds(1, 3, false)).toBe(true);
    expect(t.holds(0, 3, true)).toBe(false);
    expect(t.release(0, 3, true, 2, 1)).toBe(true);
    expect(t.holds(1, 3, true)).toBe(true);
    expect(t.release(0, 3, true, 3, 1)).toBe(false); // nothing left to give
  });
});
