import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const BYTE_RING = fileURLToPath(new URL('../../dist/src/shm/byte-ring.js', import.meta.url));

describe("the coordinator's sleep (sleepUntilBumped)", () => {
  // Node does not count a pending Atomics.waitAsync as work (nodejs/node#61941): a process whose
  // only pending thing is the coordinator's wait ended at once with status 13 and no message (a
  // soak replay did, once its hart workers had exited). The wait must keep the process alive.
  test('keeps a process with nothing else to do alive until its time is up, then returns', () => {
    const script = `
      const { sleepUntilBumped } = await import(${JSON.stringify(BYTE_RING)});
      const { Ctrl } = await import(${JSON.stringify(BYTE_RING.replace(/byte-ring\.js$/, 'layout.js'))});
      const ctrl = new Int32Array(new SharedArrayBuffer(4 * 64));
      const started = Date.now();
      await sleepUntilBumped(ctrl, Atomics.load(ctrl, Ctrl.ConsoleSeq), 300);
      console.log('slept ' + (Date.now() - started >= 250 ? 'its time' : 'too little'));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('slept its time');
    expect(r.status).toBe(0);
  });
});
