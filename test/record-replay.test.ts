import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Interactive } from './support/interactive.js';
import { CLI, OPENSBI_FW_JUMP, UBOOT_SMODE, guest, hindsight, requireTool } from './support/tools.js';

/** Replays of one recording in each scheduling mode; all must reproduce it exactly. */
const REPLAYS = 2;
/**
 * Recordings of each racy guest per hart count. Enough to see outcomes differ; the long soak (N
 * recordings x M replays, printed as a table) is `npm run soak` (scripts/soak.mjs), not part of
 * the suite.
 */
const RECORDINGS = 3;
/** The message-passing litmus records slowly (every round hands pages back and forth): fewer of it. */
const LITMUS_RECORDINGS = 2;
/** The racy guests are tiny: a small RAM keeps the final-state hash of all RAM cheap. */
const GUEST_MEM = ['--mem', '16M'];

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hindsight-rr-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Recording {
  trace: string;
  console: string;
  finalState: string;
}

async function recordOnce(name: string, harts: number, trace: string, sched = 'parallel', env?: NodeJS.ProcessEnv): Promise<Recording> {
  // A thread per hart even where harts outnumber the host's cores (record's default then shares threads): real parallelism.
  const threads = sched === 'parallel' ? ['--threads', String(harts)] : [];
  const r = await hindsight(['record', '--sched', sched, '--harts', String(harts), ...threads, ...GUEST_MEM, '--timeout', '300', '-o', trace, guest(name)], { timeoutMs: 600_000, env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/recorded .* instructions/);
  const info = JSON.parse((await hindsight(['trace', 'info', '--json', trace])).stdout);
  expect(info.complete).toBe(true);
  await expectConsolePositions(trace, r.stdout.length, info.eventsByKind.acquire);
  return { trace, console: r.stdout, finalState: info.finalStateHashes.join(',') };
}

/**
 * The trace says which hart wrote every console byte, at which icount, in output order; and its
 * summary counts the acquire events it holds (what a default replay decides its threads by).
 */
async function expectConsolePositions(trace: string, consoleBytes: number, acquires: number): Promise<void> {
  const { TraceReader } = await import('../traces/trace-reader.js');
  const reader = TraceReader.open(trace);
  try {
    expect(reader.summary?.acquires).toBe(acquires);
    const runs = reader.consolePositions();
    let next = 0;
    for (const run of runs) {
      expect(run.offset).toBe(next);
      expect(run.hart).toBeGreaterThanOrEqual(0);
      expect(run.icount).toBeGreaterThan(0);
      next += run.count;
    }
    expect(next).toBe(consoleBytes);
  } finally {
    reader.close();
  }
}

/** Replays `times` times with a thread per hart and `times` times on one thread (canonical serial order). */
async function expectExactReplay(rec: Recording, times = REPLAYS): Promise<void> {
  for (const sched of ['parallel', 'serial']) {
    for (let i = 0; i < times; i++) {
      const r = await hindsight(['replay', '--sched', sched, rec.trace], { timeoutMs: 300_000 });
      expect(r.stderr).toMatch(new RegExp(`\\(${sched}\\): .* console, exit code \\(0\\) and final state match the recording`));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(rec.console);
    }
  }
}

describe.each([
  ['smp_racy_counter', 2], ['smp_racy_counter', 4],
  ['smp_broken_lock', 2], ['smp_broken_lock', 4],
  // smp_mp_litmus runs its protocol on harts 0 and 1 only (the others sleep in WFI), so its 4-hart
  // recording adds little here for ~100 s of suite time: npm run soak records it on 4 harts.
  ['smp_mp_litmus', 2], ['smp_sb_litmus', 2],
])('%s on %i harts: recorded in parallel, replayed exactly', (name, harts) => {
  // The slow cases (the litmus's page ping-pong, 4 harts whose secondaries spin at boot for a
  // varying, sometimes long time) record twice and replay every trace once per mode, which is
  // still two replays of each; npm run soak does the long version.
  const litmus = name.endsWith('_litmus');
  const slow = litmus || harts === 4;
  const count = litmus ? LITMUS_RECORDINGS : slow ? 2 : RECORDINGS;
  test(`${count} recordings differ from each other, and every one replays (parallel and serial) to its exact console bytes and final state`, { timeout: 900_000 }, async () => {
    const recordings: Recording[] = [];
    for (let i = 0; i < count; i++) recordings.push(await recordOnce(name, harts, join(dir, `${name}-${harts}-${i}.trace`)));
    // Real parallelism: the interleavings differ, so the final states do.
    expect(new Set(recordings.map((r) => r.finalState)).size).toBeGreaterThan(1);
    if (!litmus) {
      const lost = recordings.map((r) => Number(/info: lost=(\d+)/.exec(r.console)![1]));
      expect(Math.max(...lost)).toBeGreaterThan(0);
    }
    // Every trace replays in both modes; the first one REPLAYS times in each (replays repeat exactly).
    for (const [i, rec] of recordings.entries()) await expectExactReplay(rec, i === 0 && !slow ? REPLAYS : 1);
  });
});

describe('smp_false_sharing: a page every hart writes, each its own lines', () => {
  // The harts' slots share one page, so page-granular ownership ping-pongs it; the recorders see
  // the requests want lines their holder never asked for and split the page into 64-byte lines
  // (recorder/hart-recorder.ts splitDue). The rare shared AMO line stays contended. Every request
  // counts towards the split here (HINDSIGHT_SPLIT_LEVEL=0): by default only requests while the
  // page ping-pongs fast do, which harts sharing a busy host's one free core seldom reach.
  const env = { ...process.env, HINDSIGHT_SPLIT_LEVEL: '0' };
  test.each([2, 4])('on %i harts: the page is split into lines, and each recording replays exactly', { timeout: 600_000 }, async (harts) => {
    for (let i = 0; i < 2; i++) {
      const rec = await recordOnce('smp_false_sharing', harts, join(dir, `false-sharing-${harts}-${i}.trace`), 'parallel', env);
      expect(rec.console).toContain('smp_false_sharing: PASS');
      const q = await hindsight(['trace', 'sql', '--json', rec.trace,
        "select count(*) as n, count(distinct address) as lines from events where kind = 'acquire' and bytes = 64"]);
      expect(q.code, q.stderr).toBe(0);
      const [row] = JSON.parse(q.stdout) as { n: number; lines: number }[];
      // Every hart's two slot lines, and the shared counter's, changed hands by line.
      expect(row.lines).toBeGreaterThanOrEqual(harts);
      await expectExactReplay(rec, 1);
    }
  });
});

describe('--migrate: harts that wait for each other move between host threads while recording', () => {
  // Every period with a request across threads pulls the hart asked most (HINDSIGHT_MIGRATE_WAIT_SHARE=0),
  // so harts move many times in each recording; a thread per hart, more threads than this host's cores.
  const env = { ...process.env, HINDSIGHT_MIGRATE_WAIT_SHARE: '0', HINDSIGHT_OWN_STATS: '1' };
  test.each([['smp_racy_counter', 4], ['smp_mp_litmus', 2]])('%s on %i harts: harts move, and each recording replays exactly (parallel and serial)', { timeout: 600_000 }, async (name, harts) => {
    const recordings: Recording[] = [];
    for (let i = 0; i < 2; i++) {
      const trace = join(dir, `migrate-${name}-${i}.trace`);
      const r = await hindsight(['record', '--migrate', '--harts', String(harts), '--threads', String(harts), ...GUEST_MEM, '--timeout', '300', '-o', trace, guest(name as string)], { timeoutMs: 600_000, env });
      expect(r.code, r.stderr).toBe(0);
      // Each thread says how many harts it sent away and took in (HINDSIGHT_OWN_STATS).
      const moves = [...r.stderr.matchAll(/thread \d+ migration: (\{.*\})/g)].map((m) => JSON.parse(m[1]) as { out: number; in: number });
      expect(moves).toHaveLength(harts as number);
      const out = moves.reduce((n, m) => n + m.out, 0);
      expect(out).toBeGreaterThan(0);
      expect(moves.reduce((n, m) => n + m.in, 0)).toBe(out);
      const info = JSON.parse((await hindsight(['trace', 'info', '--json', trace])).stdout);
      expect(info.complete).toBe(true);
      recordings.push({ trace, console: r.stdout, finalState: info.finalStateHashes.join(',') });
    }
    expect(new Set(recordings.map((r) => r.finalState)).size).toBeGreaterThan(1);
    for (const rec of recordings) await expectExactReplay(rec, 1);
  });
});

describe('collapse: with more harts than threads, harts that wait for each other gather on one thread while recording', () => {
  // HINDSIGHT_COLLAPSE_WAIT_SHARE=0 gathers the harts on thread 0 at the first period. The racy
  // counter's harts keep asking each other for its page, so they stay together; bench_parallel's
  // compute apart, so they spread after the hold (and gather again at the next period).
  // HINDSIGHT_BALANCE=0: the harts start on their own threads, not gathered on thread 0
  // (engine/start-together.ts, whose path test/smp.test.ts covers), so that they move to gather.
  const env = { ...process.env, HINDSIGHT_COLLAPSE_WAIT_SHARE: '0', HINDSIGHT_OWN_STATS: '1', HINDSIGHT_MIGRATE_LOG: '1', HINDSIGHT_BALANCE: '0' };
  // 3 harts on 2 threads: threads of unequal groups (harts 0 and 2, hart 1), the lone one emptied.
  test.each([['smp_racy_counter', 4, []], ['bench_parallel', 4, ['--append', 'iters=300']], ['smp_racy_counter', 3, []]])('%s on %i harts, 2 threads: the harts gather (and spread), and each recording replays exactly (parallel and serial)', { timeout: 600_000 }, async (name, harts, args) => {
    for (let i = 0; i < 2; i++) {
      const trace = join(dir, `collapse-${name}-${harts}-${i}.trace`);
      const r = await hindsight(['record', '--harts', String(harts), '--threads', '2', '--mem', '128M', '--timeout', '300', ...(args as string[]), '-o', trace, guest(name as string)], { timeoutMs: 600_000, env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/thread 0 gathers the harts/);
      if (name === 'bench_parallel') expect(r.stderr).toMatch(/thread 0 spreads the harts/);
      const moves = [...r.stderr.matchAll(/thread \d+ migration: (\{.*\})/g)].map((m) => JSON.parse(m[1]) as { out: number; in: number });
      expect(moves).toHaveLength(2);
      const out = moves.reduce((n, m) => n + m.out, 0);
      expect(out).toBeGreaterThanOrEqual((harts as number) - 2); // the harts of thread 1 (1 and 3, or 1) came to thread 0
      expect(moves.reduce((n, m) => n + m.in, 0)).toBe(out);
      const info = JSON.parse((await hindsight(['trace', 'info', '--json', trace])).stdout);
      expect(info.complete).toBe(true);
      await expectExactReplay({ trace, console: r.stdout, finalState: info.finalStateHashes.join(',') }, 1);
    }
  });
});

describe('turns on a shared thread shorten while its harts hand rights to each other', () => {
  test('smp_sb_litmus on 2 harts on one thread retires no more than it must, and replays exactly', { timeout: 300_000 }, async () => {
    // Each of its 40,000 rounds waits for the other hart: with 20,000-instruction turns each hart
    // spun through the rest of its turn (1.6 billion instructions); the work itself is ~80M.
    const trace = join(dir, 'adaptive-turns.trace');
    const r = await hindsight(['record', '--harts', '2', '--threads', '1', '-o', trace, guest('smp_sb_litmus')], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const total = Number(/\((\d+) total\)/.exec(r.stderr)?.[1]);
    expect(total).toBeGreaterThan(70_000_000);
    expect(total).toBeLessThan(300_000_000);
    const info = JSON.parse((await hindsight(['trace', 'info', '--json', trace])).stdout);
    await expectExactReplay({ trace, console: r.stdout, finalState: info.finalStateHashes.join(',') }, 1);
  });
});

describe('--sched serial: the single-threaded baseline', () => {
  // irq_at_exit: the other harts are woken by an IPI in the very turn hart 0 powers off, so the
  // recording ends them with the interrupt pending and untaken; replay must stop them there too.
  test.each([['smp_racy_counter', 4], ['smp_broken_lock', 2], ['irq_at_exit', 2], ['irq_at_exit', 4]])('%s on %i harts records the same execution every time and replays it', async (name, harts) => {
    const recordings: Recording[] = [];
    for (let i = 0; i < 3; i++) recordings.push(await recordOnce(name, harts as number, join(dir, `serial-${name}-${i}.trace`), 'serial'));
    expect(new Set(recordings.map((r) => r.finalState)).size).toBe(1);
    expect(new Set(recordings.map((r) => r.console)).size).toBe(1);
    for (let i = 0; i < REPLAYS; i++) {
      const r = await hindsight(['replay', recordings[0].trace]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/\(serial\)/);
      expect(r.stdout).toBe(recordings[0].console);
    }
  });
});

describe('firmware: OpenSBI + U-Boot recorded with typed input', () => {
  beforeAll(() => {
    requireTool(OPENSBI_FW_JUMP, 'opensbi');
    requireTool(UBOOT_SMODE, 'u-boot-qemu');
  });

  async function recordUboot(trace: string, sched: string, extra: string[] = [], commands = ['version', 'cpu list']): Promise<string> {
    const session = new Interactive(process.execPath, [CLI, 'record', '--sched', sched, '--harts', '2', '--timeout', '170', '-o', trace,
      '--bios', OPENSBI_FW_JUMP, ...extra, UBOOT_SMODE]);
    try {
      await session.expect('Hit any key to stop autoboot', 120_000);
      session.type('\n');
      await session.expect('=> ');
      for (const c of commands) {
        session.type(`${c}\n`);
        await session.expect('=> ');
      }
      session.type('poweroff\n');
      expect(await session.exit()).toBe(0);
    } finally {
      session.kill();
    }
    return session.output;
  }

  /** A 1 MiB disk image whose first sector starts with RECORDED-DISK. */
  function diskImage(name: string): string {
    const image = join(dir, name);
    const content = Buffer.alloc(1024 * 1024);
    content.write('RECORDED-DISK', 0, 'latin1');
    writeFileSync(image, content);
    return image;
  }

  // The serial recording with typed input is the disk test below (one U-Boot session fewer for the suite).
  test('recorded with --sched parallel, reading and writing a virtio disk (its DMA takes page ownership like a hart): replays (parallel and serial) to byte-identical console output without any input or image', async () => {
    const image = diskImage('rr-parallel-disk.img');
    const trace = join(dir, 'uboot-parallel.trace');
    const recorded = await recordUboot(trace, 'parallel', ['--disk', image], ['version', 'cpu list', 'virtio scan', 'virtio read 0x84000000 0 1', 'md.b 0x84000000 0x10',
      'mw.b 0x85000000 0x5a 0x200', 'virtio write 0x85000000 8 1', 'virtio read 0x86000000 8 1', 'md.b 0x86000000 0x10']);
    expect(recorded).toMatch(/1: cpu@1/);
    expect(recorded).toContain('RECORDED-DISK');
    expect(recorded).toMatch(/86000000: (5a ){16}/);
    rmSync(image); // the trace is self-contained
    for (const replaySched of ['parallel', 'serial']) {
      for (let i = 0; i < REPLAYS; i++) {
        const r = await hindsight(['replay', '--sched', replaySched, trace]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toBe(recorded);
        expect(r.stdout).toContain('U-Boot 2023.01');
      }
    }
  });

  test('recorded with --sched serial, reading a virtio disk: replays to byte-identical console output without any input, from the image stored in the trace', async () => {
    const image = diskImage('rr-disk.img');
    const trace = join(dir, 'uboot-disk.trace');
    const recorded = await recordUboot(trace, 'serial', ['--disk', image], ['version', 'cpu list', 'virtio scan', 'virtio read 0x84000000 0 1', 'md.b 0x84000000 0x10']);
    expect(recorded).toMatch(/1: cpu@1/);
    expect(recorded).toContain('RECORDED-DISK');
    rmSync(image); // the trace is self-contained
    for (let i = 0; i < REPLAYS; i++) {
      const r = await hindsight(['replay', trace]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/\(serial\)/);
      expect(r.stdout).toBe(recorded);
      expect(r.stdout).toContain('U-Boot 2023.01');
    }
  });
});

describe('disk DMA in a parallel recording', () => {
  // disk_dma_race: hart 0 reads sectors into a page only the device writes while hart 1 keeps
  // loading from it. Without the DMA taking page ownership, 4 of 6 such recordings diverged on
  // replay (measured); with it, what hart 1 saw replays exactly.
  test('a guest racing a hart\'s loads against the virtio disk\'s DMA: 3 recordings, each replayed exactly in parallel and serially', async () => {
    const image = join(dir, 'sectors.img');
    const content = Buffer.alloc(1024 * 1024);
    for (let k = 0; k < 8; k++) content.fill(k + 1, k * 512, (k + 1) * 512); // sector k holds byte k+1
    writeFileSync(image, content);
    for (let i = 0; i < 3; i++) {
      const trace = join(dir, `dma-${i}.trace`);
      // The final state hash reads only RAM pages marked written: DMA must mark what it writes (checked).
      const env = { ...process.env, HINDSIGHT_CHECK_RAM_WRITTEN: '1' };
      const rec = await hindsight(['record', '--harts', '2', '--threads', '2', '--disk', image, '--timeout', '120', '-o', trace, guest('disk_dma_race')], { env });
      expect(rec.code, rec.stderr).toBe(0);
      expect(rec.stdout).toContain('dma: PASS');
      expect(rec.stdout).toMatch(/info: hart 1 saw the buffer change \d+ times, checksum [0-9a-f]{16}/);
      for (const sched of ['parallel', 'serial']) {
        const r = await hindsight(['replay', '--sched', sched, trace], { env });
        expect(r.stderr).toMatch(new RegExp(`\\(${sched}\\): .* console, exit code \\(0\\) and final state match the recording`));
        expect(r.stdout).toBe(rec.stdout);
      }
    }
  });
});

describe('bad traces and divergence', () => {
  let good: string;
  beforeAll(async () => {
    good = join(dir, 'good.trace');
    const r = await hindsight(['record', '--harts', '2', '--check-interval', '20000', '-o', good, guest('smp_spinlock')]);
    expect(r.code).toBe(0);
  });

  function expectOneLine(stderr: string): void {
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  }

  test.each([
    ['a non-SQLite file', (p: string) => writeFileSync(p, 'this is not a trace\n'.repeat(100)), /not a (hindsight trace|SQLite)/i],
    ['an empty file', (p: string) => writeFileSync(p, ''), /empty/i],
  ])('%s is rejected with one line and exit 2', async (_what, make, message) => {
    const p = join(dir, 'bad.trace');
    make(p);
    for (const cmd of [['replay', p], ['trace', 'info', p]]) {
      const r = await hindsight(cmd);
      expect(r.code).toBe(2);
      expectOneLine(r.stderr);
      expect(r.stderr).toMatch(message);
    }
  });

  function copyOfGood(name: string, change: (db: Database.Database) => void): string {
    const p = join(dir, name);
    writeFileSync(p, readFileSync(good));
    const db = new Database(p);
    change(db);
    db.close();
    return p;
  }

  test('a trace path that cannot be created: one line, exit 2, the harts (already starting) stopped', async () => {
    const r = await hindsight(['record', '--harts', '2', '-o', join(dir, 'no', 'such', 'dir.trace'), guest('spin_forever')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/cannot create trace .*dir\.trace/);
  });

  test('a trace from a newer schema version is rejected', async () => {
    const p = copyOfGood('future.trace', (db) => db.prepare("UPDATE meta SET value = '999' WHERE key = 'schema_version'").run());
    const r = await hindsight(['replay', p]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/newer/);
  });

  test('replay hashes RAM as the summary\'s ramHash says: a wrong scheme is a final-state mismatch, an unknown one a damaged trace', async () => {
    const withScheme = (name: string, ramHash: string) => copyOfGood(name, (db) => {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'summary'").get() as { value: string };
      const summary = JSON.parse(row.value) as { ramHash?: string };
      expect(summary.ramHash).toBe('written'); // what recordings store now
      db.prepare("UPDATE meta SET value = ? WHERE key = 'summary'").run(JSON.stringify({ ...summary, ramHash }));
    });
    const whole = await hindsight(['replay', withScheme('ram-all.trace', 'all')]);
    expect(whole.code, whole.stderr).toBe(3);
    expect(whole.stderr).toMatch(/final state of hart 0 differs from the recording \(registers or memory\)/);
    const unknown = await hindsight(['replay', withScheme('ram-bogus.trace', 'some')]);
    expect(unknown.code).toBe(2);
    expectOneLine(unknown.stderr);
    expect(unknown.stderr).toMatch(/summary is incomplete/);
  });

  test('a corrupted event stream is rejected', async () => {
    const p = copyOfGood('corrupt.trace', (db) => {
      const row = db.prepare('SELECT hart, batch, payload FROM events ORDER BY length(payload) DESC LIMIT 1').get() as { hart: number; batch: number; payload: Buffer };
      const payload = Buffer.from(row.payload);
      for (let i = 8; i < payload.length; i += 7) payload[i] ^= 0x5a;
      db.prepare('UPDATE events SET payload = ? WHERE hart = ? AND batch = ?').run(payload, row.hart, row.batch);
    });
    const r = await hindsight(['replay', p]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/damaged/);
  });

  test('tampered embedded images are rejected', async () => {
    const p = copyOfGood('tampered.trace', (db) => {
      const row = db.prepare('SELECT sha256, bytes FROM images ORDER BY size DESC LIMIT 1').get() as { sha256: string; bytes: Buffer };
      const bytes = Buffer.from(row.bytes);
      bytes[100] ^= 0xff;
      db.prepare('UPDATE images SET bytes = ? WHERE sha256 = ?').run(bytes, row.sha256);
    });
    const r = await hindsight(['replay', p]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/image/);
  });

  test('an injected divergence is caught with exit 3, naming hart, icount and pc', async () => {
    // Re-write the trace through the trace API with one register-hash check altered: the trace is
    // well-formed, but the execution it describes is not the one the guest performs.
    const { TraceReader } = await import('../traces/trace-reader.js');
    const { TraceWriter } = await import('../traces/trace-writer.js');
    const reader = TraceReader.open(good);
    const p = join(dir, 'diverging.trace');
    const writer = TraceWriter.create(p, reader.header);
    let altered = false;
    for (const hart of reader.eventHarts()) {
      const events = [...reader.events(hart)].map((e) => {
        if (!altered && hart === 1 && e.kind === 'check') {
          altered = true;
          return { ...e, hash: e.hash ^ 1n };
        }
        return e;
      });
      writer.appendEvents(hart, events);
    }
    writer.appendConsole(reader.console());
    writer.finish(reader.summary!);
    writer.close();
    reader.close();
    expect(altered).toBe(true);
    const r = await hindsight(['replay', '--quiet', p]);
    expect(r.code).toBe(3);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/diverged on hart 1 at icount \d+ \(pc 0x[0-9a-f]+\): register hash/);
  });

  test.each(['parallel', 'serial'])('a recording (--sched %s) stopped by --timeout replays to where the harts were stopped', async (recordSched) => {
    const trace = join(dir, `timeout-${recordSched}.trace`);
    const rec = await hindsight(['record', '--sched', recordSched, '--harts', '2', '--timeout', '1', '-o', trace, guest('spin_forever')]);
    expect(rec.code).toBe(124);
    for (const sched of ['parallel', 'serial']) {
      const r = await hindsight(['replay', '--sched', sched, trace]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('spinning\n');
      expect(r.stderr).toMatch(/match the recording \(which was stopped: timeout\)/);
    }
  });

  test.each(['parallel', 'serial'])('a guest that halts for good is recorded (--sched %s) to its halt and replays exactly, in parallel and serially', async (recordSched) => {
    for (let i = 0; i < 2; i++) {
      const trace = join(dir, `halt-${recordSched}-${i}.trace`);
      // The second recording moves events into the trace only after the run (a test aid).
      const env = i === 1 ? { ...process.env, HINDSIGHT_TEST_FINAL_DRAIN_ONLY: '1' } : undefined;
      const rec = await hindsight(['record', '--sched', recordSched, '--harts', '2', '-o', trace, guest('halt_wfi')], { timeoutMs: 60_000, env });
      expect(rec.code, rec.stderr).toBe(1);
      expect(rec.stdout).toBe('halting\n');
      expect(rec.stderr).toMatch(/the guest halted/);
      // Hart 1 reads the flag hart 0 wrote (crt.S boot_released): a parallel trace must order
      // that. When the guest halted before the rings were drained (it does in ~0.1 s), the
      // events left in them used to be dropped (a trace with no events, whose parallel replays
      // diverged).
      if (recordSched === 'parallel') expect(rec.stderr).toMatch(/events: acquire [1-9]/);
      for (const sched of ['parallel', 'serial']) {
        for (let k = 0; k < REPLAYS; k++) {
          const r = await hindsight(['replay', '--sched', sched, trace], { timeoutMs: 60_000 });
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toBe('halting\n');
          expect(r.stderr).toMatch(/console and final state match the recording \(which was stopped: halted\)/);
        }
      }
    }
  });

  test('a recording stopped with SIGINT is kept, marked truncated, and replays to its truncation point', async () => {
    const trace = join(dir, 'interrupted.trace');
    const child = spawn(process.execPath, [CLI, 'record', '--harts', '2', '-o', trace, guest('spin_forever')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    while (!out.includes('spinning')) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expect(err).toMatch(/truncated/);
    const info = JSON.parse((await hindsight(['trace', 'info', '--json', trace])).stdout);
    expect(info.truncated).toBe(true);
    expect(info.harts[0].icount).toBeGreaterThan(1_000_000);
    for (let i = 0; i < REPLAYS; i++) {
      const r = await hindsight(['replay', trace]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('spinning\n');
      expect(r.stderr).toMatch(/up to its truncation point/);
    }
  });
});

describe('replay scheduling by default', () => {
  // Without --sched: a parallel trace whose harts outnumber the host's cores and share much replays
  // on one thread (faster so: a hart waiting for a release from a descheduled thread waits a host
  // time slice); one that shares little keeps a thread per hart.
  test('serial for a 4-hart racy counter when the host has fewer cores, parallel for a 4-hart compute guest', async () => {
    const cores = availableParallelism();
    // bench_parallel long enough that its few shared pages are rare per instruction (~6 acquires per million).
    const cases: [string, string[], string][] = [['smp_racy_counter', [], cores < 4 ? 'serial' : 'parallel'], ['bench_parallel', ['--append', 'iters=200'], 'parallel']];
    for (const [name, args, want] of cases) {
      const trace = join(dir, `default-sched-${name}.trace`);
      const rec = await hindsight(['record', '--harts', '4', ...GUEST_MEM, ...args, '--timeout', '300', '-o', trace, guest(name)], { timeoutMs: 600_000 });
      expect(rec.code, rec.stderr).toBe(0);
      const r = await hindsight(['replay', '--quiet', trace], { timeoutMs: 300_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr, name).toContain(`(${want})`);
    }
  });
});
