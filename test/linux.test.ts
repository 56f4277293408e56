import { beforeAll, describe, expect, test } from 'vitest';
import { linuxGuest, LinuxGuest } from './support/linux.js';
import { OPENSBI_FW_JUMP, hindsight, requireTool } from './support/tools.js';

/**
 * A real Linux (6.1, built from Debian's linux-source-6.1 with our config fragment and our own
 * init programs, test/guests/linux/) booted by Debian's OpenSBI fw_jump: the MMU under a real
 * kernel, timer and software interrupts through SBI, the PLIC and the UART, an initramfs init.
 *
 * The racy init (4 threads: an exact atomic total, lost updates, then power-off) is not in the
 * suite yet: with host time it finishes on 1 hart in seconds in most runs but now and then
 * livelocks, and on 2 and 4 harts it does not finish, while the same kernel finishes on 2 harts
 * under `record --sched serial`. Those cases come back with that fix (issue 10).
 */

/**
 * The reference tier for now: on this kernel the JIT is the slower tier (measured on a loaded
 * 2-core host: 17M instructions in 25 s against 81M in 30 s on the reference tier, most of the
 * JIT's time going to compiling pages that run a few times and to wasm calls that retire ~28
 * instructions each). Switch to the default tier when it boots Linux faster.
 */
const TIER = ['--tier', 'reference'];
/** Boot to /idle takes ~7 s on an idle 2-core host (up to ~40 s under heavy load). */
const IDLE_TIMEOUT_S = 90;

describe('Linux 6.1 under OpenSBI', () => {
  let guest: LinuxGuest;

  beforeAll(() => {
    requireTool(OPENSBI_FW_JUMP, 'opensbi');
    guest = linuxGuest(); // builds the kernel once (2-8 minutes), then comes from the cache
  }, 45 * 60_000);

  test('boots to user space on 1 hart (our /idle init); a guest that never powers off ends at --timeout with exit 124', async () => {
    // rdinit=/idle: an init that prints one line and sleeps forever, so the hart idles in WFI.
    const started = Date.now();
    const r = await hindsight(['run', ...TIER, '--harts', '1', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0 rdinit=/idle', '--timeout', String(IDLE_TIMEOUT_S), guest.image],
      { timeoutMs: (IDLE_TIMEOUT_S + 60) * 1000 });
    const why = r.stdout.slice(-3000);
    expect(r.stdout, why).toContain('Linux version 6.1');
    expect(r.stdout, why).toContain('smp: Brought up 1 node, 1 CPU');
    expect(r.stdout, why).toContain('Run /idle as init process');
    expect(r.stdout, why).toContain('hindsight-idle: sleeping forever');
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/^hindsight: timeout: the guest was still running after \d+ s\n$/);
    expect(Date.now() - started).toBeLessThan((IDLE_TIMEOUT_S + 50) * 1000);
  }, 60 * 60_000);
});
