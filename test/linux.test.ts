import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { linuxGuest, LinuxGuest } from './support/linux.js';
import { CLI, OPENSBI_FW_JUMP, QEMU, ROOT, hindsight, qemu, requireTool, run } from './support/tools.js';
import { gdbSession, mark, section } from './support/gdb.js';
import { ReplayTimeline } from '../replayer/timeline.js';
import { parseElf } from '../src/machine/elf.js';
import { finalStateHashes } from '../src/engine/state-hash.js';
import { RAM_OFFSET } from '../src/shm/layout.js';
import { TraceReader } from '../traces/trace-reader.js';
import type { JitStats } from '../src/jit/jit-executor.js';
import type { CompileServiceStats } from '../src/host/compile-service.js';

/**
 * A real Linux (6.1, built from Debian's linux-source-6.1 with our config fragment and our own
 * init programs, test/guests/linux/) booted by Debian's OpenSBI fw_jump: the MMU under a real
 * kernel, timer and software interrupts through SBI, the PLIC and the UART, an initramfs init.
 * All under host time, with the harts in parallel workers.
 */
/**
 * The default tier (the JIT). Until compiled pages stayed on Liftoff and pages waited for 3,000
 * block executions before compiling, the JIT was the slower tier on this kernel and these tests
 * ran on the reference tier; now (measured, 2-core host) a 1-hart boot -> power-off takes 1.2 s on
 * the JIT against 2.1 s on the reference tier.
 */
const TIER: string[] = [];
/**
 * Boot to /idle takes ~1-2 s on the JIT (it took ~8 s on the reference tier, up to ~40 s when
 * other heavy jobs shared the 2-core machine). The test always waits the whole timeout (that is
 * what it checks), so it is kept short for the suite.
 */
const IDLE_TIMEOUT_S = 12;
/**
 * The racy init's boot -> init -> power-off. Measured by hand (reference tier, this 2-core host
 * shared with other heavy jobs, load 8-17): 1 hart 30-85 s, 2 harts 29-86 s, 4 harts 220-230 s
 * (two 4-hart runs at a time); in this file's own run 11, 18 and 55 s. A backstop only: a healthy
 * run ends with the guest's power-off.
 */
const RACE_TIMEOUT_S = 400;
const TOTAL = 4 * 100_000;
/** The racy init's ELF (its symbols for GDB). */
const LINUX_INIT = join(ROOT, 'test', 'guests', 'linux', 'bin', 'init');

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
    expect(initOutput(r.stdout), why).toContain('hindsight-idle: sleeping forever');
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/^hindsight: timeout: the guest was still running after \d+ s\n$/);
    expect(Date.now() - started).toBeLessThan((IDLE_TIMEOUT_S + 50) * 1000);
  }, 60 * 60_000);

  /**
   * The console without the kernel's note that a timer interrupt took long ("hrtimer: interrupt
   * took N ns", printed when the host stalled a hart), which may land in the middle of one of the
   * init's lines (seen: "atomic total 400000hrtimer: interrupt took 27406100 ns\n of 400000").
   */
  const initOutput = (out: string) => out.replace(/hrtimer: interrupt took \d+ ns\r?\n/g, '');
  /** Each hart's JIT counters (HINDSIGHT_JIT_STATS=1), in the order the harts printed them. */
  const jitStatsOf = (stderr: string) => [...stderr.matchAll(/^hart \d+ jit: (\{.*\})\n/gm)].map((m) => JSON.parse(m[1]) as JitStats);
  /** What the main thread compiled for the harts (host/compile-service.ts), from the same switch. */
  const compileServiceOf = (stderr: string) => JSON.parse(/^main thread jit: (\{.*\})\n/m.exec(stderr)?.[1] ?? 'null') as CompileServiceStats | null;

  // 4 harts are covered by the parallel recording below, which checks the same lines.
  test.each([1, 2])('the racy init on %i hart(s): boots, prints the exact atomic total and powers off with exit 0', async (harts) => {
    // /init: 4 threads each add 100,000 to a counter with an AMO and 100,000 times to another
    // with plain loads and stores, then reboot(POWER_OFF).
    // HINDSIGHT_JIT_STATS: each hart's JIT counters on stderr, to see the harts share compiled pages.
    const r = await run(process.execPath, [CLI, 'run', ...TIER, '--harts', String(harts), '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0', '--timeout', String(RACE_TIMEOUT_S), guest.image],
      { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: { ...process.env, HINDSIGHT_JIT_STATS: '1' } });
    const why = r.stdout.slice(-3000) + r.stderr;
    expect(r.stdout, why).toContain(`smp: Brought up 1 node, ${harts} CPU`);
    expect(r.stdout, why).toContain('Run /init as init process');
    expect(initOutput(r.stdout), why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
    const racy = /hindsight-init: racy total (\d+) of (\d+)\r?\n/.exec(initOutput(r.stdout));
    expect(racy, why).not.toBeNull();
    expect(Number(racy![1])).toBeGreaterThan(0);
    expect(Number(racy![1])).toBeLessThanOrEqual(TOTAL);
    expect(r.stdout, why).toContain('reboot: Power down');
    const jitStats = jitStatsOf(r.stderr);
    expect(r.stderr.replace(/^(hart \d+|main thread) jit: .*\n/gm, '')).toBe('');
    expect(jitStats.length).toBe(harts);
    // The secondary hart starts when the boot hart has compiled most of the kernel's hot pages: it
    // runs those (jit/jit-share.ts) instead of compiling its own.
    if (harts > 1) expect(Math.max(...jitStats.map((s) => s.adopted)), why).toBeGreaterThan(10);
    // Most moves from one compiled page to another stay in wasm (jit/chain.ts): on the 1-hart boot
    // about 540k of 715k page entries (a secondary hart, mostly idle, chains less).
    const sum = (key: 'chained' | 'wasmCalls') => jitStats.reduce((n, s) => n + s[key], 0);
    expect(sum('chained'), why).toBeGreaterThan(sum('wasmCalls'));
    expect(r.code, why).toBe(0);
  }, 60 * 60_000);

  test('a second boot of the same kernel compiles its hot pages at once, from the profile and the module cache, and runs the same', async () => {
    // A cache of its own (HINDSIGHT_CACHE), empty at the first boot: src/jit/hot-pages.ts and page-module-cache.ts.
    const cache = join(dir, 'jit-cache');
    const boot = async () => {
      const r = await run(process.execPath, [CLI, 'run', ...TIER, '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0', '--timeout', String(RACE_TIMEOUT_S), guest.image],
        { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: { ...process.env, HINDSIGHT_JIT_STATS: '1', HINDSIGHT_CACHE: cache } });
      const why = r.stdout.slice(-3000) + r.stderr;
      expect(initOutput(r.stdout), why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
      expect(r.stdout, why).toContain('reboot: Power down');
      expect(r.code, why).toBe(0);
      const [stats] = jitStatsOf(r.stderr);
      expect(stats, why).toBeDefined();
      return { ...stats, ...compileServiceOf(r.stderr)! };
    };
    const first = await boot();
    // An empty cache of its own: nothing listed, and any module found there is one this boot wrote
    // itself, looked up again (timing decides whether that happens: once in a CI run on a loaded host).
    expect(first.precompiled).toBe(0); // nothing listed yet
    expect(first.cachedCompiles).toBeLessThanOrEqual(first.compiles / 10);
    // The main thread compiled the modules the hart made, while the hart ran on (remote-compile.ts).
    expect(first.served).toBeGreaterThan(first.compiles / 2);
    expect(first.compiledElsewhere).toBeGreaterThan(first.compiles / 2);
    // Measured: reference-executor instructions 2.37M -> 0.65M, misses 70k -> 11k at the second boot.
    const second = await boot();
    expect(second.referenceInsns).toBeLessThan(first.referenceInsns / 2);
    expect(second.misses).toBeLessThan(first.misses / 2);
    // The second boot's modules cover the entries its first compiles missed (the first boot's
    // modules did not): measured 34 of 88 compiles cached at the second boot, 54 of 74 at the third.
    const third = await boot();
    expect(third.referenceInsns).toBeLessThan(first.referenceInsns / 2);
    expect(third.cachedCompiles).toBeGreaterThan(third.compiles / 2);
    // The main thread compiled the modules the second boot used, ahead of the hart (measured: 74
    // of 74; the hart's compile time 340 -> 75-85 ms).
    expect(third.precompiled).toBeGreaterThan(third.cachedCompiles / 2);
    expect(third.unusable).toBe(0);
    // And handed them to the hart with their headers, which then read no file for them (jit/jit-share.ts ListedModule).
    expect(third.fromMainThread).toBeGreaterThan(third.cachedCompiles / 2);
    // A recording and its replay keep profiles of their own (host/jit-cache.ts profileShape): the
    // replay's kernel puts user pages on its recording's frames, and a run after a replay that
    // shared the runs' profile compiled both's modules ahead (4 harts: 213 against 110).
    const env = { ...process.env, HINDSIGHT_CACHE: cache };
    const profiles = () => new Map(readdirSync(join(cache, 'jit-profiles')).filter((f) => f.endsWith('.json')).map((f) => [f, readFileSync(join(cache, 'jit-profiles', f), 'utf8')]));
    const runsProfiles = profiles();
    const trace = join(dir, 'profiles.trace');
    const rec = await hindsight(['record', ...TIER, '-o', trace, '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0', '--timeout', String(RACE_TIMEOUT_S), guest.image], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env });
    expect(rec.code, rec.stderr).toBe(0);
    const rep = await hindsight(['replay', ...TIER, trace], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env });
    expect(rep.code, rep.stderr).toBe(0);
    // The runs' profile is as the third boot left it (a recording and a replay start from it,
    // and keep what they learn apart).
    const after = profiles();
    for (const [file, text] of runsProfiles) expect(after.get(file), file).toBe(text);
    const fourth = await boot();
    expect(fourth.precompiled).toBeLessThanOrEqual(third.precompiled + 10);
    expect(fourth.cachedCompiles).toBeGreaterThan(fourth.compiles / 2);
  }, 60 * 60_000);

  /**
   * The final state hash reads only RAM pages marked written (engine/state-hash.ts); here it also
   * checks that every unmarked page of the whole Linux machine is still zero.
   */
  const CHECK_RAM_WRITTEN = { ...process.env, HINDSIGHT_CHECK_RAM_WRITTEN: '1' };
  /** Recordings that hit the firmware race below are copied here (outside the test's own directory, which is removed). */
  const KEPT_DIR = join(tmpdir(), 'hindsight-kept');

  /**
   * Records, and records once more if a secondary CPU did not come online: a race in Debian's
   * OpenSBI 1.1 (`sbi_hsm_hart_start` publishes START_PENDING before the start address), which a
   * recording's page hand-offs widen (docs/ARCHITECTURE.md, Not built yet); 1-2 of 20 4-hart
   * recordings on 2 threads. The trace is kept.
   */
  async function recordAllCpus(record: () => ReturnType<typeof hindsight>, trace: string, label: string) {
    const r = await record();
    if (!/CPU\d+: failed to come online/.test(r.stdout)) return r;
    const kept = join(KEPT_DIR, `${label}-cpu-missing-${Date.now()}.trace`);
    mkdirSync(KEPT_DIR, { recursive: true });
    copyFileSync(trace, kept);
    process.stderr.write(`linux ${label}: a secondary CPU did not come online while recording (${/hindsight: recorded .*/.exec(r.stderr)?.[0] ?? r.stderr.slice(-300)}); trace kept as ${kept}; recording again\n`);
    return record();
  }

  test('a 1-hart parallel recording takes no ownership rights (no acquire events) and replays exactly, twice in parallel and twice serially, each of 2 recordings', async () => {
    for (let i = 0; i < 2; i++) {
      const trace = join(dir, `one-hart-${i}.trace`);
      const r = await hindsight(['record', ...TIER, '--harts', '1', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0', '--timeout', String(RACE_TIMEOUT_S), '-o', trace, guest.image],
        { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: CHECK_RAM_WRITTEN });
      const why = r.stdout.slice(-3000) + r.stderr;
      expect(initOutput(r.stdout), why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
      expect(r.code, why).toBe(0);
      const reader = TraceReader.open(trace);
      const events = reader.info().eventsByKind;
      reader.close();
      expect(events.acquire + events.release, why).toBe(0);
      expect(events.time, why).toBeGreaterThan(0); // the kernel reads the clock: those are logged
      for (const sched of ['parallel', 'serial', 'parallel', 'serial']) {
        const rep = await hindsight(['replay', ...TIER, '--quiet', '--sched', sched, trace], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: CHECK_RAM_WRITTEN });
        expect(rep.stderr, rep.stderr).toMatch(/console, exit code \(0\) and final state match the recording/);
        expect(rep.code).toBe(0);
      }
    }
  }, 60 * 60_000);

  /** The first parallel recording of the racy init and the racy total it printed (the debugger test uses it). */
  let recorded: { trace: string; total: number } | null = null;

  test('the racy init recorded in parallel on 4 harts (2 host threads), twice, and each trace replays exactly (one in parallel, one serially)', async () => {
    const racyTotals: number[] = [];
    let trapEvents = 0;
    for (const sched of ['parallel', 'serial']) {
      const trace = join(dir, `racy4-${sched}.trace`);
      const record = () => hindsight(['record', ...TIER, '--harts', '4', '--threads', '2', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0',
        '--timeout', String(RACE_TIMEOUT_S), '-o', trace, guest.image], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: CHECK_RAM_WRITTEN });
      const r = await recordAllCpus(record, trace, 'racy4');
      const why = r.stdout.slice(-3000) + r.stderr;
      expect(r.stdout, why).toContain('smp: Brought up 1 node, 4 CPUs');
      expect(initOutput(r.stdout), why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
      const racy = /hindsight-init: racy total (\d+) of (\d+)\r?\n/.exec(initOutput(r.stdout));
      expect(racy, why).not.toBeNull();
      racyTotals.push(Number(racy![1]));
      recorded ??= { trace, total: Number(racy![1]) };
      expect(r.stdout, why).toContain('reboot: Power down');
      expect(r.code, why).toBe(0);
      const reader = TraceReader.open(trace);
      trapEvents += reader.info().eventsByKind.trap;
      reader.close();
      const rep = await hindsight(['replay', ...TIER, '--quiet', '--sched', sched, trace], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: CHECK_RAM_WRITTEN });
      expect(rep.stderr, rep.stderr).toMatch(/console, exit code \(0\) and final state match the recording/);
      expect(rep.code).toBe(0);
    }
    // Harts answer requests right after exceptions (a boot logs ~15 trap events): replays above applied those after them.
    expect(trapEvents).toBeGreaterThan(0);
    // Lost updates differ from run to run (measured: 176,045 to 316,644 of 400,000); not asserted, as equal totals are possible.
    process.stderr.write(`linux racy init, 4 harts recorded: racy totals ${racyTotals.join(', ')}\n`);
  }, 60 * 60_000);

  test('--migrate: the racy init recorded on 4 harts while harts move between the 2 host threads (soft TLBs and all), replayed exactly in parallel and serially', async () => {
    const trace = join(dir, 'racy4-migrate.trace');
    // Pull at every period with a request across threads (HINDSIGHT_MIGRATE_WAIT_SHARE=0): many moves.
    const env = { ...CHECK_RAM_WRITTEN, HINDSIGHT_MIGRATE_WAIT_SHARE: '0', HINDSIGHT_OWN_STATS: '1' };
    const r = await hindsight(['record', ...TIER, '--migrate', '--harts', '4', '--threads', '2', '--bios', OPENSBI_FW_JUMP, '--append', 'console=ttyS0',
      '--timeout', String(RACE_TIMEOUT_S), '-o', trace, guest.image], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env });
    const why = r.stdout.slice(-3000) + r.stderr;
    expect(r.code, why).toBe(0);
    expect(initOutput(r.stdout), why).toMatch(new RegExp(`hindsight-init: atomic total ${TOTAL} of ${TOTAL}\\r?\\n`));
    const moves = [...r.stderr.matchAll(/thread \d+ migration: \{"out":(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    expect(moves, why).toBeGreaterThan(0);
    for (const sched of ['parallel', 'serial']) {
      const rep = await hindsight(['replay', ...TIER, '--quiet', '--sched', sched, trace], { timeoutMs: (RACE_TIMEOUT_S + 60) * 1000, env: CHECK_RAM_WRITTEN });
      expect(rep.stderr, rep.stderr).toMatch(/console, exit code \(0\) and final state match the recording/);
      expect(rep.code).toBe(0);
    }
  }, 30 * 60_000);

  test('gdb-multiarch on the 4-hart recording, with vmlinux and /init as symbol files: a kernel breakpoint, S-mode stepi/reverse-stepi, a watch on /init\'s racy counter and reverse-continue to its last write', async () => {
    requireTool('gdb-multiarch', 'gdb-multiarch');
    expect(recorded, 'the recording test above did not run').not.toBeNull();
    const { trace, total } = recorded!;
    const POWER_OFF = parseElf(readFileSync(guest.vmlinux), guest.vmlinux).symbols.get('kernel_power_off')!;
    expect(POWER_OFF).toBeDefined();
    const commands = [
      `directory ${join(ROOT, 'test', 'guests', 'linux')}`,
      'break kernel_power_off', 'continue',
      ...mark('bp', ['info threads', 'p $pc']),
      ...mark('before', ['info registers']),
      'stepi', 'stepi', 'stepi',
      ...mark('stepped', ['p $pc']),
      'reverse-stepi', 'reverse-stepi', 'reverse-stepi',
      ...mark('back', ['info registers']),
      'delete', 'watch racy_total', 'reverse-continue',
      ...mark('watch', ['info threads', 'p racy_total', 'x/i $pc']),
      'stepi',
      ...mark('after', ['p racy_total']),
      // An address no hart maps, asked while a hart runs /init in U-mode (at the end of the
      // recording every hart may be in M-mode, translating nothing): refused, so this continue
      // does not resume.
      'watch *(long *)0x12345678', 'continue', 'delete 3',
      // Nothing writes the counter later: forwards, the run goes to the end of the recording.
      'continue',
      ...mark('end', []),
      'kill',
    ];
    const extra = ['--symbols', guest.vmlinux, '--symbols', LINUX_INIT];
    const r = await gdbSession(trace, commands, extra);
    expect(r.code, r.stderr + r.stdout.slice(-3000)).toBe(0);
    // The breakpoint stops the hart that runs it: the same one the timeline itself finds.
    const tl = ReplayTimeline.open(trace, { checkpointInterval: 4_000_000, checkpointBytes: 256 << 20 });
    tl.engine.addBreakpoint(POWER_OFF);
    const hit = await tl.continueForward();
    expect(hit.kind).toBe('hit');
    const hart = hit.kind === 'hit' ? hit.hit.hart : -1;
    const bp = section(r.stdout, 'bp');
    expect(bp).toMatch(new RegExp(`^\\* ${hart + 1} +Thread 1\\.${hart + 1} \\(hart ${hart}, S-mode, pc 0x${POWER_OFF.toString(16)},.*in kernel_power_off`, 'm'));
    // stepi x3 then reverse-stepi x3 in S-mode code under paging: back to the same registers.
    expect(section(r.stdout, 'stepped')).toMatch(/<kernel_power_off\+\d+>/);
    expect(section(r.stdout, 'back')).toBe(section(r.stdout, 'before'));
    // The last write to the counter: a worker thread's store, in U-mode, of the total /init printed.
    const watch = section(r.stdout, 'watch');
    expect(r.stdout).toMatch(new RegExp(`Hardware watchpoint 2: racy_total\\s+Old value = ${total}\\s+New value = ${total - 1}\\b`));
    const writer = /^\* (\d+) +Thread 1\.\d+ \(hart (\d+), U-mode, pc 0x([0-9a-f]+)/m.exec(watch);
    expect(writer, watch).not.toBeNull();
    expect(r.stdout).toMatch(/in worker .*race_init\.c:\d+\n\d+\s+for \(long i = 0; i < ITERATIONS; i\+\+\) racy_total = racy_total \+ 1;/);
    expect(watch).toMatch(new RegExp(`= ${total - 1}\\n`));
    expect(watch).toMatch(/=> 0x[0-9a-f]+ <worker\+\d+>:\s+sd\s/);
    expect(section(r.stdout, 'after')).toMatch(new RegExp(`= ${total}\\n`));
    const toEnd = r.stdout.slice(r.stdout.indexOf('<</after>>'), r.stdout.indexOf('<<end>>'));
    expect(toEnd).toMatch(/No more reverse-execution history/);
    expect(toEnd).not.toMatch(/Hardware watchpoint 2/);
    // An address no hart maps: refused, with the reason on the terminal.
    expect(r.stderr).toMatch(/hindsight: cannot watch 0x12345678 \(8 bytes\): no hart can translate it/);
    expect(r.stdout + r.stderr).toMatch(/Could not insert hardware watchpoint 3/);
    // A second session shows exactly the same.
    const again = await gdbSession(trace, commands, extra);
    expect(again.stdout).toBe(r.stdout);
  }, 20 * 60_000);

  // The soft TLBs are compared too. On the JIT they once differed (1 of 4 recordings) with equal
  // registers and RAM: wasm hit its mirror where the MMU's slot had been refilled since, so the
  // MMU's contents followed the compile history. The mirror is now kept a subset of the MMU TLB
  // (Mmu.attachMirror), and both tiers must show the same states, TLBs included.
  const lookedAt: Record<string, string[]> = {};
  test.each([['jit', true], ['reference', true]] as const)('the debugger timeline (%s tier) over the 4-hart recording ends in the recorded final state, and a step reached through checkpoints looks exactly as reached by running forwards (registers, RAM; TLBs: %s)', async (tier, withTlbs) => {
    expect(recorded, 'the recording test above did not run').not.toBeNull();
    const { trace } = recorded!;
    const reader = TraceReader.open(trace);
    const finals = reader.summary!.finalStateHashes;
    const scheme = reader.summary!.ramHash ?? 'all';
    reader.close();
    const look = (tl: ReplayTimeline) => JSON.stringify({
      step: tl.step,
      harts: finalStateHashes(tl.board, scheme),
      ram: createHash('sha256').update(new Uint8Array(tl.board.bus.memory, RAM_OFFSET, tl.board.bus.ramBytes)).digest('hex'),
      tlbs: withTlbs ? tl.harts.map((h) => createHash('sha256').update(JSON.stringify(h.mmu.saveTlb(), (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v))).digest('hex')) : null,
    });
    // With checkpoints every 2M steps: the first pass, then seeks back to steps between checkpoints.
    const tl = ReplayTimeline.open(trace, { checkpointInterval: 2_000_000, checkpointBytes: 512 << 20, tier });
    expect((await tl.seek(tl.endStep)).kind).toBe('end');
    expect(finalStateHashes(tl.board, scheme)).toEqual(finals);
    const steps = [0.31, 0.57, 0.93].map((f) => Math.floor(tl.endStep * f) + 12_345);
    const viaCheckpoints: string[] = [];
    for (const step of steps) {
      await tl.seek(step);
      viaCheckpoints.push(look(tl));
    }
    // Without checkpoints on the way (one at step 0 only): straight forwards.
    const forwards = ReplayTimeline.open(trace, { checkpointInterval: Number.MAX_SAFE_INTEGER, checkpointBytes: 512 << 20, tier });
    for (const [i, step] of steps.entries()) {
      await forwards.seek(step);
      expect(look(forwards), `step ${step}`).toBe(viaCheckpoints[i]);
    }
    lookedAt[tier] = viaCheckpoints;
    if (lookedAt.jit && lookedAt.reference) expect(lookedAt.jit, 'the JIT and reference timelines').toEqual(lookedAt.reference);
  }, 20 * 60_000);

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
    while (!initOutput(out).includes('hindsight-init: starting 4 threads') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(initOutput(out), err).toContain('hindsight-init: starting 4 threads');
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
    // The thread lines alone, without the kernel's "hrtimer: interrupt took N ns" (host timing, not
    // arithmetic: printed when the host stalled a hart), which can land anywhere in a line, since
    // the init writes each line in pieces and printk goes straight to the UART.
    const threadLines = (out: string) => [...initOutput(out).matchAll(/^hindsight-fpinit: thread \d+ rm \d .* fflags [0-9a-f]{2}/gm)].map((m) => m[0]);
    const [fromQemu, rec] = await Promise.all([
      qemu(guest.image, 4, { bios: OPENSBI_FW_JUMP, cpu: 'rv64', extra: ['-append', append], timeoutMs: 120_000 }),
      // In parallel on 2 host threads: ~21 s, where the serial schedule took ~53 s.
      recordAllCpus(() => hindsight(['record', ...TIER, '--harts', '4', '--threads', '2', '--bios', OPENSBI_FW_JUMP, '--append', append,
        '--timeout', String(FP_TIMEOUT_S), '-o', trace, guest.image], { timeoutMs: (FP_TIMEOUT_S + 60) * 1000 }), trace, 'fpinit'),
    ]);
    const why = rec.stdout.slice(-3000) + rec.stderr;
    expect(fromQemu.stdout).toContain('reboot: Power down');
    expect(threadLines(fromQemu.stdout)).toHaveLength(6);
    expect(rec.stdout, why).toContain('smp: Brought up 1 node, 4 CPUs');
    expect(threadLines(rec.stdout), why).toEqual(threadLines(fromQemu.stdout));
    const switches = /hindsight-fpinit: context switches (\d+)/.exec(initOutput(rec.stdout));
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
