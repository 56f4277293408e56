import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PeerWatch } from '../../src/engine/peer-watch.js';
import { HART_BLOCK_BYTES, HartBlock, hartBase } from '../../src/shm/layout.js';

// The watch's decisions, with this thread's run-queue time read from a file the test writes
// (schedstat's format: ns on a CPU, ns runnable but not running, time slices).
const dir = mkdtempSync(join(tmpdir(), 'hindsight-peer-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function setup(harts: number) {
  const memory = new SharedArrayBuffer(harts * HART_BLOCK_BYTES);
  const words = new Int32Array(memory);
  const stat = join(dir, `schedstat-${Math.random().toString(36).slice(2)}`);
  let runQueueNs = 0;
  const waited = (ms: number) => {
    runQueueNs += ms * 1e6;
    writeFileSync(stat, `1000000 ${runQueueNs} 10\n`);
  };
  waited(0);
  const word = (hart: number, offset: number) => (hartBase(hart) + offset) >> 2;
  return {
    watch: new PeerWatch(memory, 0, harts, stat),
    waited,
    beat: (hart: number) => { words[word(hart, HartBlock.HEARTBEAT)]++; },
    sleep: (hart: number) => { words[word(hart, HartBlock.SLEPT_ON)] = words[word(hart, HartBlock.WAKE)]; words[word(hart, HartBlock.SLEEPING)] = 1; },
    kick: (hart: number) => { words[word(hart, HartBlock.WAKE)]++; },
    finish: (hart: number) => { words[word(hart, HartBlock.SLEEPING)] = 2; },
  };
}

function pause(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* wait out STALE_MS / SAMPLE_MS */ }
}

/** Two samples 5+ ms apart, the thread runnable but not running for `share` of the time between. */
function sampleWith(s: ReturnType<typeof setup>, share: number): void {
  s.watch.shouldNap();
  const start = performance.now();
  pause(6);
  s.waited((performance.now() - start) * share);
}

describe('PeerWatch: nap when another hart waits for this thread\'s core', () => {
  test('a thread that does not wait for a core never naps, however still the others are', () => {
    const s = setup(2);
    sampleWith(s, 0);
    pause(1);
    expect(s.watch.shouldNap()).toBe(false);
    expect(s.watch.contended).toBe(false);
    s.watch.close();
  });

  test('contended: a peer whose heartbeat stands still naps this hart once per stale stretch; one that beats does not', () => {
    const s = setup(2);
    sampleWith(s, 0.5);
    const look = () => { s.waited(100); return s.watch.shouldNap(); }; // a sample taken meanwhile still finds the thread contended
    expect(look()).toBe(true); // it has not beaten since the watch began, 6 ms ago
    expect(s.watch.contended).toBe(true);
    s.beat(1);
    expect(look()).toBe(false); // it ran
    pause(1);
    expect(look()).toBe(true); // and stood still again for 1 ms (STALE_MS is 0.2)
    expect(s.watch.naps).toBe(2);
    s.watch.close();
  });

  test('a sleeping or finished peer is no reason to nap; a sleeper kicked awake is, once it has not run for a while', () => {
    const s = setup(3);
    sampleWith(s, 0.5);
    const look = () => { s.waited(100); return s.watch.shouldNap(); };
    s.sleep(1);
    s.finish(2);
    expect(look()).toBe(false);
    pause(1);
    expect(look()).toBe(false);
    s.kick(2); // a finished hart stays finished
    s.kick(1); // runnable from now on, though it has not cleared its mark
    pause(1);
    expect(look()).toBe(true);
    s.beat(1);
    s.sleep(1); // ran, and went back to sleep
    pause(1);
    expect(look()).toBe(false);
    s.watch.close();
  });

  test('no schedstat to read: never contended', () => {
    const memory = new SharedArrayBuffer(2 * HART_BLOCK_BYTES);
    const watch = new PeerWatch(memory, 0, 2, join(dir, 'absent'));
    pause(1);
    expect(watch.shouldNap()).toBe(false);
    expect(watch.contended).toBe(false);
    watch.close();
  });
});
