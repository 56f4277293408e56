import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { linuxGuest, LinuxGuest } from './support/linux.js';
import { CLI, OPENSBI_FW_JUMP, QEMU, hindsight, qemu, requireTool } from './support/tools.js';

/**
 * A real Linux (6.1, built from Debian's linux-source-6.1 with our config fragment and our own
 * init programs, test/guests/linux/) booted by Debian's OpenSBI fw_jump: the MMU under a real
 * kernel, timer and software interrupts through SBI, the PLIC and the UART, an initramfs init.
 * All under host time, with the harts in parallel workers.
 */
/**
 * The reference tier for now: on this kernel the JIT is much the slower tier (measured on a loaded
 * 2-core host: 1 hart retired 23M instructions in 60 s against the reference tier's whole boot,
 * init and power-off, 65M instructions, in 52 s; most of the JIT's time goes to compiling pages
 * that run a few times and to wasm calls that retire ~26 instructions each). Switch to the
 * default tier when it boots Linux faster.
 */
const TIER = ['--tier', 'reference'];
/**
 * Boot to /idle takes ~8 s on the 2-core CI machine (up to ~40 s when other heavy jobs share it).
 * The test always waits the whole timeout (that is what it checks), so it is kept short for the suite.
 */
const IDLE_TIMEOUT_S = 20;
/**
 * The racy init's boot -> init -> power-off. Measured by hand (reference tier, this 2-core host
 * shared with other heavy jobs, load 8-17): 1 hart 30-85 s, 2 harts 29-86 s, 4 harts 220-230 s
 * (two 4-hart runs at a time); in this file's own run 11, 18 and 55 s. A backstop only: a healthy
 * run ends with the guest's power-off.
 */
const RACE_TIMEOUT_S = 400;
const TOTAL = 4 * 100_000;
/**
 * The FP init's parallel recording on 4 harts with --threads 2 (~86M instructions) took 21 s and
 * its replay 24 s on a quiet 2-core host; a backstop only.
 */
const FP_TIMEOUT_S = 600;

describe('Linux 6.1 under OpenSBI', () => {
  let guest: LinuxGuest;
  let dir: string;

  beforeAll(() => {
    requireTool(OPENSBI_FW_JUMP, 'opensbi');
    requireTool(QEMU, 'qemu-system-misc');
    dir = mkdtempSync(join(tmpdir(), 'hindsight-linux-'));
    guest = linuxGuest(); // builds the kernel once (2-8 minutes), then comes from the cache
  }, 45 * 60_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

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

  // 4 harts are covered by the parallel recording below, which checks the same lines.
  test.each([1, 2])('the racy init on %i hart(s): boots, prints the exact atomic total and powers off with exit 0', async (harts) => {
    // /init: 4 threads each add 100,000 to a counter with an AMO and 100,000 times to another
    // with plain loads and stores, then reboot(POWER_OFF).
    const r = await hindsight(['run', ...TIER, '--harts', String(harts), '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0', '--timeout', String(RACE_TIMEOUT_S), guest.image],
      { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000 });
    const why = r.stdout.slice(-3000) + r.stderr;
    expect(r.stdout, why).toContain(`smp: Brought up 1 node, ${harts} CPU`);
    expect(r.stdout, why).toContain('Run /init as init process');
    expect(r.stdout, why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
    const racy = /hindsight-init: racy total (\d+) of (\d+)\r?\n/.exec(r.stdout);
    expect(racy, why).not.toBeNull();
    expect(Number(racy![1])).toBeGreaterThan(0);
    expect(Number(racy![1])).toBeLessThanOrEqual(TOTAL);
    expect(r.stdout, why).toContain('reboot: Power down');
    expect(r.stderr).toBe('');
    expect(r.code, why).toBe(0);
  }, 60 * 60_000);

  test('the racy init recorded in parallel on 4 harts (2 host threads), twice: each run lost its own updates, and each trace replays exactly (one in parallel, one serially)', async () => {
    const racyTotals: number[] = [];
    for (const sched of ['parallel', 'serial']) {
      const trace = join(dir, `racy4-${sched}.trace`);
      const r = await hindsight(['record', ...TIER, '--harts', '4', '--threads', '2', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0',
        '--timeout', String(RACE_TIMEOUT_S), '-o', trace, guest.image], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000 });
      const why = r.stdout.slice(-3000) + r.stderr;
      expect(r.stdout, why).toContain('smp: Brought up 1 node, 4 CPUs');
      expect(r.stdout, why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
      const racy = /hindsight-init: racy total (\d+) of (\d+)\r?\n/.exec(r.stdout);
      expect(racy, why).not.toBeNull();
      racyTotals.push(Number(racy![1]));
      expect(r.stdout, why).toContain('reboot: Power down');
      expect(r.code, why).toBe(0);
      const rep = await hindsight(['replay', ...TIER, '--quiet', '--sched', sched, trace], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000 });
      expect(rep.stderr, rep.stderr).toMatch(/console, exit code \(0\) and final state match the recording/);
      expect(rep.code).toBe(0);
    }
    // Lost updates differ from run to run (measured: 176,045 to 316,644 of 400,000); not asserted, as equal totals are possible.
    process.stderr.write(`linux racy init, 4 harts recorded: racy totals ${racyTotals.join(', ')}\n`);
  }, 60 * 60_000);

  test('Ctrl-C during a 4-hart parallel recording, while the racy init runs, leaves a valid truncated trace that replays to its end', async () => {
    const trace = join(dir, 'interrupted.trace');
    const child = spawn(process.execPath, [CLI, 'record', ...TIER, '--harts', '4', '--threads', '2', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0',
      '--timeout', String(RACE_TIMEOUT_S), '-o', trace, guest.image], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString('latin1'); });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + RACE_TIMEOUT_S * 1000;
    while (!out.includes('hindsight-init: starting 4 threads') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(out, err).toContain('hindsight-init: starting 4 threads');
    child.kill('SIGINT');
    const code = await closed;
    expect(code, err).toBe(130);
    expect(err).toMatch(/truncated/);
    const info = JSON.parse((await hindsight(['trace', 'info', '--json', trace])).stdout);
    expect(info.truncated).toBe(true);
    const rep = await hindsight(['replay', ...TIER, trace], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000 });
    expect(rep.stderr, rep.stderr).toMatch(/up to its truncation point .*console and final state match the recording/);
    expect(rep.stdout).toBe(out);
    expect(rep.code).toBe(0);
  }, 60 * 60_000);

  test('/fpinit (CONFIG_FPU=y, rv64gc/lp64d) on 4 harts: threads switching harts mid-computation print QEMU\'s exact bits; recorded on 4 harts and replayed exactly', async () => {
    // 6 threads on 4 harts, each under its own rounding mode in its own frm, yielding every 500
    // iterations with their accumulators live in f registers: the kernel saves and restores
    // f0-f31 and fcsr through sstatus.FS on every switch, and any slip changes the printed bits.
    const append = 'console=ttyS0 rdinit=/fpinit';
    const trace = join(dir, 'fpinit.trace');
    const threadLines = (out: string) => out.split(/\r?\n/).filter((l) => l.startsWith('hindsight-fpinit: thread '));
    const [fromQemu, rec] = await Promise.all([
      qemu(guest.image, 4, { bios: OPENSBI_FW_JUMP, cpu: 'rv64', extra: ['-append', append], timeoutMs: 120_000 }),
      // In parallel on 2 host threads: ~21 s, where the serial schedule took ~53 s.
      hindsight(['record', ...TIER, '--harts', '4', '--threads', '2', '--bios', OPENSBI_FW_JUMP, '--append', append,
        '--timeout', String(FP_TIMEOUT_S), '-o', trace, guest.image], { timeoutMs: (FP_TIMEOUT_S + 60) * 1000 }),
    ]);
    const why = rec.stdout.slice(-3000) + rec.stderr;
    expect(fromQemu.stdout).toContain('reboot: Power down');
    expect(threadLines(fromQemu.stdout)).toHaveLength(6);
    expect(rec.stdout, why).toContain('smp: Brought up 1 node, 4 CPUs');
    expect(threadLines(rec.stdout), why).toEqual(threadLines(fromQemu.stdout));
    const switches = /hindsight-fpinit: context switches (\d+)/.exec(rec.stdout);
    expect(switches, why).not.toBeNull();
    expect(Number(switches![1])).toBeGreaterThan(0);
    expect(rec.stdout, why).toContain('reboot: Power down');
    expect(rec.code, why).toBe(0);
    // One replay (~24 s of the suite's 15 minutes); the racy init's test above replays serially too.
    const rep = await hindsight(['replay', ...TIER, trace], { timeoutMs: (FP_TIMEOUT_S + 60) * 1000 });
    expect(rep.stderr, rep.stderr).toMatch(/console, exit code \(0\) and final state match the recording/);
    expect(rep.stdout).toBe(rec.stdout);
    expect(rep.code).toBe(0);
  }, 60 * 60_000);
});
