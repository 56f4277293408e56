import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MachineView } from '../gdbstub/machine-view.js';
import { ReplayTimeline } from '../replayer/timeline.js';
import { parseElf } from '../src/machine/elf.js';
import { VERSION } from '../src/version.js';
import { finalStateHashes } from '../src/engine/state-hash.js';
import { JitExecutor } from '../src/jit/jit-executor.js';
import { TraceReader } from '../traces/trace-reader.js';
import { gdbSession, mark, section } from './support/gdb.js';
import { RawGdbClient, frame } from './support/gdb-client.js';
import { CLI, ROOT, guest, hindsight, requireTool } from './support/tools.js';

/*
 * The debugger end to end: real recordings of a lost-update race (test/guests/src/dbg_race.c),
 * `hindsight debug` starting a real gdb-multiarch in batch mode, and the timeline itself as the
 * oracle for what the replayed memory holds.
 */
const ELF = guest('dbg_race');
const SOURCE = readFileSync(join(ROOT, 'test', 'guests', 'src', 'dbg_race.c'), 'utf8').split('\n');
const COUNTER = parseElf(readFileSync(ELF), ELF).symbols.get('counter')!;

function lineOf(text: string): number {
  const i = SOURCE.findIndex((l) => l.includes(text));
  if (i < 0) throw new Error(`dbg_race.c has no line with ${text}`);
  return i + 1;
}

let dir: string;
/** Recordings on 2 harts that lost updates (the scenario the user chases). */
const races: string[] = [];

beforeAll(async () => {
  requireTool('gdb-multiarch', 'gdb-multiarch');
  dir = mkdtempSync(join(tmpdir(), 'hindsight-debugger-'));
  for (let i = 0; i < 12 && races.length < 2; i++) {
    const trace = join(dir, `race${i}.trace`);
    const r = await hindsight(['record', '--harts', '2', '-o', trace, ELF]);
    expect(r.code, r.stderr).toBe(0);
    const m = /total=(\d+) expected=(\d+)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    // A lost update whose changing writes come from both harts: harts in lockstep lose updates
    // too, but then one hart's every write stores the value already there (it read what the other
    // read), and the watchpoint tests below walk back across harts.
    if (Number(m![1]) < Number(m![2]) && new Set((await forwardWrites(trace)).map((w) => w.hart)).size === 2) races.push(trace);
  }
  expect(races.length, 'no recording of dbg_race lost an update with writes from both harts in 12 tries').toBeGreaterThan(0);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every write that changed the counter, in timeline order, found by running forwards. */
async function forwardWrites(trace: string): Promise<{ hart: number; value: bigint }[]> {
  const tl = ReplayTimeline.open(trace, { checkpointInterval: 100_000, checkpointBytes: 64 << 20 });
  const view = new MachineView(tl.harts, tl.board.bus);
  const read = () => Buffer.from(view.readMemory(0, COUNTER, 8)).readBigUInt64LE();
  tl.engine.addWatchpoint('write', COUNTER, 8);
  const writes: { hart: number; value: bigint }[] = [];
  let last = read();
  for (;;) {
    const end = await tl.continueForward();
    if (end.kind !== 'hit') break;
    const value = read();
    if (value !== last) writes.push({ hart: end.hit.hart, value }); // GDB only reports writes that change the value
    last = value;
  }
  return writes;
}

describe('hindsight debug with gdb-multiarch', () => {
  test('connects with one thread per hart; break, continue, stepi, x, registers, writing a register and memory', async () => {
    const r = await gdbSession(races[0], [
      ...mark('threads', ['info threads']),
      'break report',
      'continue',
      ...mark('pc', ['p/x $pc', 'info symbol $pc']),
      'stepi',
      ...mark('stepped', ['p/x $pc']),
      ...mark('mem', ['x/2xg &counter', 'p counter']),
      'set var $a0 = 0x1234',
      ...mark('reg', ['p/x $a0', 'info registers a0']),
      'set var counter = 4242',
      ...mark('wmem', ['p counter', 'x/1dg &counter']),
      'kill',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = r.stdout;
    const threads = section(out, 'threads');
    expect(threads).toMatch(/1\s+Thread 1\.1 \(hart 0/);
    expect(threads).toMatch(/2\s+Thread 1\.2 \(hart 1/);
    expect(threads.match(/Thread 1\.\d/g)).toHaveLength(2);
    expect(out).toMatch(/Thread \d hit Breakpoint 1, report \(total=\d+/);
    expect(section(out, 'pc')).toMatch(/report in section \.text/);
    const pc = BigInt(/\$\d+ = (0x[0-9a-f]+)/.exec(section(out, 'pc'))![1]);
    const stepped = BigInt(/\$\d+ = (0x[0-9a-f]+)/.exec(section(out, 'stepped'))![1]);
    expect(stepped === pc + 2n || stepped === pc + 4n, `stepi from ${pc} went to ${stepped}`).toBe(true);
    const total = /report \(total=(\d+)/.exec(out)![1];
    expect(section(out, 'mem')).toContain(`= ${total}`);
    expect(section(out, 'reg')).toMatch(/= 0x1234[\s\S]*a0\s+0x1234/);
    expect(section(out, 'wmem')).toMatch(/= 4242[\s\S]*:\s+4242/);
  });

  test('watch the counter at the end, reverse-continue walks back through the writes, across harts, with the replayed values', async () => {
    for (const trace of races) {
      const writes = await forwardWrites(trace);
      expect(writes.length).toBeGreaterThan(2);
      const commands = ['break report', 'continue', 'watch counter'];
      for (let i = 0; i < writes.length; i++) commands.push('reverse-continue', 'info threads');
      commands.push('reverse-continue', 'p counter');
      const r = await gdbSession(trace, commands);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const stops = [...r.stdout.matchAll(/Thread (\d+) hit Hardware watchpoint \d+: counter\s+Old value = (\d+)\s+New value = (\d+)/g)];
      expect(stops.length, r.stdout.slice(-3000)).toBe(writes.length);
      stops.forEach((m, i) => {
        const w = writes[writes.length - 1 - i];
        const before = writes[writes.length - 2 - i]?.value ?? 0n;
        expect({ thread: Number(m[1]), old: BigInt(m[2]), now: BigInt(m[3]) }).toEqual({ thread: w.hart + 1, old: w.value, now: before });
      });
      expect(new Set(stops.map((m) => m[1])).size, 'the writes come from both harts').toBe(2);
      // Past the first write there is nothing left: the start of the recording.
      expect(r.stdout).toMatch(/No more reverse-execution history[\s\S]*\$\d+ = 0/);
    }
  });

  test('reverse-stepi N then stepi N gives the same registers; reverse-next and reverse-finish land on the right lines', async () => {
    const regs = (name: string) => mark(name, ['info registers']);
    const r = await gdbSession(races[0], [
      'break bump',
      'continue',
      'stepi 7',
      ...regs('a'),
      'reverse-stepi',
      'reverse-stepi',
      'reverse-stepi',
      'reverse-stepi',
      'reverse-stepi',
      ...regs('back'),
      'stepi',
      'stepi',
      'stepi',
      'stepi',
      'stepi',
      ...regs('b'),
      'delete',
      `break dbg_race.c:${lineOf('work(300);')}`,
      'continue',
      ...mark('next', ['reverse-next', 'frame']),
      'delete',
      'break work',
      'continue',
      ...mark('finish', ['reverse-finish', 'frame']),
      'kill',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const a = section(r.stdout, 'a');
    expect(a).toMatch(/pc\s+0x/);
    expect(section(r.stdout, 'b')).toBe(a);
    expect(section(r.stdout, 'back')).not.toBe(a);
    expect(section(r.stdout, 'next')).toMatch(new RegExp(`dbg_race\\.c:${lineOf('bump(hartid);')}`));
    expect(section(r.stdout, 'finish')).toMatch(new RegExp(`dbg_race\\.c:${lineOf('work(400 + 50 * hartid);')}`));
  });

  test('reverse-continue near the start stops with "No more reverse-execution history"', async () => {
    const r = await gdbSession(races[0], ['stepi 20', 'reverse-continue', ...mark('pc', ['p/x $pc']), 'monitor when', 'kill']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('No more reverse-execution history.');
    expect(section(r.stdout, 'pc')).toMatch(/= 0x1000\b/);
    expect(r.stderr).toMatch(/step 0 of \d+ \(hart 0: 0, hart 1: 0\)/); // GDB prints monitor output on stderr
  });

  test('monitor seek moves to a global step; monitor checkpoint saves one there', async () => {
    const r = await gdbSession(races[0], ['monitor seek 30000', 'flushregs', 'monitor when', 'monitor checkpoint', 'stepi', 'monitor when', 'reverse-stepi', 'monitor when', 'monitor seek nonsense', 'monitor frobnicate', 'kill']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const whens = [...r.stderr.matchAll(/step (\d+) of \d+ \(hart 0: (\d+), hart 1: (\d+)\)/g)].map((m) => m.slice(1).map(Number));
    expect(whens.length).toBeGreaterThanOrEqual(4);
    expect(whens[0][0]).toBe(30000);
    expect(whens[0][1] + whens[0][2]).toBe(30000);
    expect(r.stderr).toMatch(/checkpoint saved at step 30000/);
    expect(whens[2][0]).toBeGreaterThan(30000); // stepi moved forward
    expect(whens[3][0]).toBeLessThan(whens[2][0]); // reverse-stepi moved back
    expect(r.stderr).toMatch(/usage: monitor seek STEP/);
    expect(r.stderr).toMatch(/unknown monitor command 'frobnicate'/);
  });

  test('two sessions on the same trace give identical answers', async () => {
    const commands = [
      'break bump', 'continue', 'continue', 'info threads', 'info registers', 'x/4xg &counter',
      'watch counter', 'continue', 'continue', 'reverse-continue', 'monitor when', 'reverse-stepi', 'info registers', 'kill',
    ];
    const first = await gdbSession(races[0], commands);
    const second = await gdbSession(races[0], commands);
    expect(first.code, first.stderr + first.stdout).toBe(0);
    expect(first.stderr).toMatch(/step \d+ of \d+/);
    expect(first.stdout).toMatch(/Hardware watchpoint 2: counter[\s\S]*Old value/);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toBe(first.stderr);
  });

  test('garbage, truncated and oversized packets and a vanishing client leave the server alive and the trace unchanged', async () => {
    const trace = races[0];
    const digest = () => createHash('sha256').update(readFileSync(trace)).digest('hex');
    const before = digest();
    const server = spawn(process.execPath, [CLI, 'debug', trace, '--listen-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    server.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (c) => resolve(c)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 30_000);
        server.stdout.on('data', () => {
          const m = /target remote 127\.0\.0\.1:(\d+)/.exec(out);
          if (m) { clearTimeout(t); resolve(Number(m[1])); }
        });
      });
      const c = await RawGdbClient.connect(port);
      c.write('garbage!!\x00\xff');
      c.write('$qSupported:multiprocess+;swbreak+#00'); // bad checksum
      c.write('$m80000000,'); // truncated: a new packet starts before the '#'
      c.write(`$${'A'.repeat(100_000)}#00`); // oversized
      c.write(frame('qSupported:multiprocess+;swbreak+;hwbreak+'));
      let reply = await c.packet();
      while (!reply.includes('ReverseContinue+')) reply = await c.packet(); // after the E01 for the oversized one
      expect(reply).toContain('PacketSize=');
      c.write(frame('vCont;c:p1.-1')); // run to the end ...
      c.destroy(); // ... and vanish without waiting for the stop
      const c2 = await RawGdbClient.connect(port);
      expect(await c2.request('qSupported:multiprocess+')).toContain('PacketSize=');
      expect(await c2.request('p2g')).toMatch(/^E/);
      c2.destroy();
      const r = await gdbSessionAgainst(port, ['info threads', 'p counter', 'kill']);
      expect(r).toMatch(/Thread 1\.2 \(hart 1/);
      expect(r).toMatch(/\$1 = \d+/);
      expect(await exited).toBe(0);
    } finally {
      server.kill('SIGKILL');
    }
    expect(digest()).toBe(before);
  });
});

/** gdb-multiarch connected to an already listening stub. */
async function gdbSessionAgainst(port: number, commands: string[]): Promise<string> {
  const args = ['-q', '-batch', '-nx', ELF, '-ex', 'set osabi none', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  return new Promise((resolve, reject) => {
    const gdb = spawn('gdb-multiarch', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    gdb.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    gdb.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const t = setTimeout(() => { gdb.kill('SIGKILL'); reject(new Error(`gdb hung: ${out}`)); }, 60_000);
    gdb.on('exit', () => { clearTimeout(t); resolve(out); });
  });
}

describe('hindsight run --gdb (a live machine, forward only)', () => {
  /** Starts `hindsight run --gdb 0 ...` and returns the process and the port it listens on. */
  async function liveServer(args: string[]) {
    const child = spawn(process.execPath, [CLI, 'run', '--gdb', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no port: ${err}`)), 30_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /127\.0\.0\.1:(\d+)/.exec(err);
        if (m) { clearTimeout(t); resolve(Number(m[1])); }
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return { child, port, exited, output: () => out, errors: () => err };
  }

  test('breakpoint, a write watchpoint stopping right after the write, then the guest runs to its end', async () => {
    const live = await liveServer(['--harts', '2', ELF]);
    try {
      const r = await gdbSessionAgainst(live.port, [
        'info threads', 'watch counter', 'continue', 'p counter', 'p $pc', 'delete', 'break report', 'continue', 'delete', 'continue',
      ]);
      expect(r).toMatch(/Thread 1\.2 \(hart 1/);
      expect(r).toMatch(/Hardware watchpoint 1: counter\s+Old value = 0\s+New value = 1/);
      expect(r).toMatch(/\$1 = 1\b/);
      expect(r).toMatch(/Breakpoint 2, report \(total=\d+/);
      expect(r).toContain('exited normally');
      expect(await live.exited).toBe(0);
      expect(live.output()).toContain('dbg_race: done');
    } finally {
      live.child.kill('SIGKILL');
    }
  });

  test('Ctrl-C (0x03) stops a guest that loops forever; the printed GDB command line loads the --symbols files', async () => {
    const live = await liveServer(['--symbols', guest('isa_rv64m'), guest('spin_forever')]);
    try {
      expect(live.errors()).toContain(`gdb-multiarch ${guest('spin_forever')} -ex 'set osabi none' -ex 'add-symbol-file ${guest('isa_rv64m')}' -ex 'target remote 127.0.0.1:${live.port}'`);
      const c = await RawGdbClient.connect(live.port);
      expect(await c.request('qSupported:multiprocess+;swbreak+')).toContain('PacketSize=');
      c.write(frame('vCont;c:p1.-1'));
      await new Promise((r) => setTimeout(r, 300));
      c.write('\x03');
      expect(await c.packet(20_000)).toMatch(/^T02thread:p0*1\.0*1;/);
      expect(await c.request('vKill;1')).toBe('OK');
      c.destroy();
      expect(await live.exited).toBe(0);
    } finally {
      live.child.kill('SIGKILL');
    }
  });
});

describe('checkpoints saved into the trace', () => {
  test('a second session starts with them and sees exactly the same timeline', async () => {
    const trace = join(dir, 'saved.trace');
    writeFileSync(trace, readFileSync(races[0]));
    const state = (tl: ReplayTimeline) => {
      const view = new MachineView(tl.harts, tl.board.bus);
      return JSON.stringify({ step: tl.step, regs: tl.harts.map((h) => [h.pc, ...h.x].map(String)), counter: [...view.readMemory(0, COUNTER, 8)], ram: createHash('sha256').update(view.readMemory(0, 0x80000000n, 1 << 20)).digest('hex') });
    };
    const opts = { checkpointInterval: 5_000, checkpointBytes: 64 << 20 };
    const first = ReplayTimeline.open(trace, opts);
    expect(first.loadedCheckpoints).toBe(0);
    await first.seek(first.endStep);
    const atEnd = state(first);
    const mid = Math.floor(first.endStep * 0.6) + 3;
    await first.seek(mid);
    const atMid = state(first);
    first.saveCheckpoints();
    const saved = first.checkpointCount;

    const second = ReplayTimeline.open(trace, opts);
    expect(second.loadedCheckpoints).toBe(saved - 1); // step 0 is always rebuilt
    await second.seek(mid); // restores a loaded checkpoint: no replay from the start
    expect(state(second)).toBe(atMid);
    await second.seek(second.endStep);
    expect(state(second)).toBe(atEnd);
    await second.seek(mid - 1000);
    await second.seek(mid);
    expect(state(second)).toBe(atMid);

    // The saved trace still replays exactly.
    const r = await hindsight(['replay', trace, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('checkpoints the timeline cannot use', () => {
  test('format-1 (JSON state) and damaged saved checkpoints are ignored with a note, never misread', async () => {
    const trace = join(dir, 'stale.trace');
    writeFileSync(trace, readFileSync(races[0]));
    const opts = { checkpointInterval: 5_000, checkpointBytes: 64 << 20 };
    const first = ReplayTimeline.open(trace, opts);
    await first.seek(first.endStep);
    const atEnd = finalStateHashes(first.board, 'written');
    first.saveCheckpoints();
    const db = new Database(trace);
    const rewrite = (state: Uint8Array) => db.prepare('UPDATE checkpoints SET state = ? WHERE seq = 1').run(Buffer.from(state));
    // A checkpoint as the previous format wrote it: format 1, this version, a step, the state as JSON.
    const w = protobuf.Writer.create();
    w.uint32((1 << 3) | 0).uint32(1).uint32((2 << 3) | 2).string(VERSION).uint32((3 << 3) | 0).uint64(5_000).uint32((4 << 3) | 2).string('{"sched":{"live":[0,1]}}');
    rewrite(deflateRawSync(w.finish()));
    const stale = ReplayTimeline.open(trace, opts);
    expect(stale.loadedCheckpoints).toBe(0);
    expect(stale.ignoredCheckpoints).toMatch(/^the \d+ checkpoints saved in the trace were ignored: they were saved in checkpoint format 1, this hindsight uses format \d+/);
    await stale.seek(stale.endStep);
    expect(finalStateHashes(stale.board, 'written')).toEqual(atEnd);

    rewrite(Uint8Array.of(0xde, 0xad));
    const damaged = ReplayTimeline.open(trace, opts);
    db.close();
    expect(damaged.loadedCheckpoints).toBe(0);
    expect(damaged.ignoredCheckpoints).toMatch(/ignored: a saved checkpoint is damaged/);
    // `hindsight debug` says so when it starts.
    const server = spawn(process.execPath, [CLI, 'debug', trace, '--listen-only'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let err = '';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no note: ${err}`)), 30_000);
        server.stdout.on('data', () => { clearTimeout(t); resolve(); }); // the listening line comes after the startup lines
        server.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      });
      expect(err).toMatch(/^hindsight: note: the \d+ checkpoints saved in the trace were ignored: a saved checkpoint is damaged/m);
    } finally {
      server.kill('SIGKILL');
    }
  });
});

describe('the timeline is the recording', () => {
  test.each([['parallel', 'jit'], ['serial', 'jit'], ['parallel', 'reference']] as const)('a %s trace on the %s tier: the timeline ends in the recorded final state, and any step looks the same however it is reached', async (sched, tier) => {
    const trace = join(dir, `final-${sched}-${tier}.trace`);
    const rec = await hindsight(['record', '--harts', '2', '--sched', sched, '-o', trace, ELF]);
    expect(rec.code, rec.stderr).toBe(0);
    const tl = ReplayTimeline.open(trace, { checkpointInterval: 7_000, checkpointBytes: 64 << 20, tier });
    expect((await tl.seek(tl.endStep)).kind).toBe('end');
    const reader = TraceReader.open(trace);
    expect(finalStateHashes(tl.board, reader.summary!.ramHash ?? 'all')).toEqual(reader.summary!.finalStateHashes);
    reader.close();
    for (const step of [1, 4321, Math.floor(tl.endStep / 2), tl.endStep - 1]) {
      await tl.seek(step);
      const direct = finalStateHashes(tl.board, 'written');
      await tl.seek(0);
      for (let s = 0; s < step; s += Math.ceil(step / 3)) await tl.seek(s);
      await tl.seek(step);
      expect(finalStateHashes(tl.board, 'written'), `step ${step}`).toEqual(direct);
    }
  });

  test('a second session on a trace starts with the pages the first one compiled (the JIT\'s profile), and replays the same', async () => {
    const trace = join(dir, 'jit-profile.trace');
    const rec = await hindsight(['record', '--harts', '2', '--append', 'iters=6', '-o', trace, guest('bench_parallel')]);
    expect(rec.code, rec.stderr).toBe(0);
    const saved = process.env.HINDSIGHT_CACHE;
    process.env.HINDSIGHT_CACHE = join(dir, 'jit-cache'); // empty: the first session starts cold
    try {
      const pass = async () => {
        const tl = ReplayTimeline.open(trace, { checkpointInterval: 1_000_000, checkpointBytes: 256 << 20, tier: 'jit' });
        expect((await tl.seek(tl.endStep)).kind).toBe('end');
        const stats = tl.engine.slots.map((s) => (s.runner.executor as JitExecutor).stats);
        return { look: JSON.stringify(finalStateHashes(tl.board, 'written')), reference: stats.reduce((n, s) => n + s.referenceInsns, 0) };
      };
      const first = await pass();
      const second = await pass();
      expect(second.look).toBe(first.look);
      // Measured: 62k -> 34k instructions on the reference executor (the hot pages compile at once).
      expect(second.reference).toBeLessThan(first.reference * 0.75);
    } finally {
      if (saved === undefined) delete process.env.HINDSIGHT_CACHE; else process.env.HINDSIGHT_CACHE = saved;
    }
  });

  test.each(['reference', 'jit'] as const)('stepping back one instruction at a time far from any checkpoint (%s tier) leaves one near the landing place, and every step lands exactly where a seek does', async (tier) => {
    // ~3.2M steps with a checkpoint only at step 0: the first step back re-runs the whole trace
    // and leaves a checkpoint shortly before where it lands; the next steps start from there
    // unless their hart's previous instruction lies before it.
    const trace = join(dir, `stepback-${tier}.trace`);
    const rec = await hindsight(['record', '--harts', '2', '--append', 'iters=6', '-o', trace, guest('bench_parallel')]);
    expect(rec.code, rec.stderr).toBe(0);
    // Checkpoints this near make the six steps back (alternating harts) land before where a step
    // back starts its last stretch, which only a trailing checkpoint covers.
    const near = 300;
    const opts = { checkpointInterval: Number.MAX_SAFE_INTEGER, checkpointBytes: 256 << 20, tier, nearCheckpointSteps: near };
    const tl = ReplayTimeline.open(trace, opts);
    expect((await tl.seek(tl.endStep)).kind).toBe('end');
    expect(tl.endStep).toBeGreaterThan(3_000_000);
    expect(tl.checkpointCount).toBe(1);
    const landed: { step: number; hart: number; icount: number; look: string }[] = [];
    let trailed = 0;
    for (let i = 0; i < 6; i++) {
      const hart = i % 2;
      const icount = tl.harts[hart].icount;
      const here = tl.step;
      const before = [...tl.checkpointSteps];
      expect((await tl.stepBackward(hart))?.kind).toMatch(/^(step|target)$/);
      expect(tl.harts[hart].icount).toBe(icount - 1);
      const step = tl.step;
      landed.push({ step, hart, icount: icount - 1, look: JSON.stringify(finalStateHashes(tl.board, 'written')) });
      // A step back re-runs from the newest checkpoint at or before where it lands. When that is
      // more than twice `near` back, it leaves exactly one
      // checkpoint, at most that far before the landing (the hart's previous instruction may lie
      // far back: it waited in WFI while the other hart ran); otherwise it leaves none.
      const from = Math.max(...before.filter((s) => s <= step));
      const what = JSON.stringify({ i, here, step, from, before, after: tl.checkpointSteps });
      if (here - from > 2 * near) {
        if (step < here - near) trailed++;
        expect(tl.checkpointCount, what).toBe(before.length + 1);
        expect(step - Math.max(...tl.checkpointSteps.filter((s) => s <= step)), what).toBeLessThanOrEqual(near);
      } else {
        expect(tl.checkpointCount, what).toBe(before.length);
      }
    }
    expect(trailed, 'steps back that landed before their last stretch').toBeGreaterThan(0);
    const forwards = ReplayTimeline.open(trace, opts);
    for (const l of landed) {
      await forwards.seek(l.step);
      expect(forwards.harts[l.hart].icount, `step ${l.step}`).toBe(l.icount);
      expect(JSON.stringify(finalStateHashes(forwards.board, 'written')), `step ${l.step}`).toBe(l.look);
    }
  });

  test('under a tight memory bound the past is thinned logarithmically (dense near the end), memory stays within the bound, and every seek still lands exactly', async () => {
    const interval = 400;
    const roomy = ReplayTimeline.open(races[0], { checkpointInterval: interval, checkpointBytes: 1 << 30, widenInterval: false });
    const first = roomy.checkpointBytes; // the step-0 checkpoint: every non-zero page and the device regions
    await roomy.seek(roomy.endStep);
    const bound = first + Math.floor((roomy.checkpointBytes - first) / 3);
    const tl = ReplayTimeline.open(races[0], { checkpointInterval: interval, checkpointBytes: bound, widenInterval: false });
    expect((await tl.seek(tl.endStep)).kind).toBe('end');
    expect(tl.checkpointBytes).toBeLessThanOrEqual(bound);
    expect(tl.checkpointCount).toBeLessThan(roomy.checkpointCount);
    // Gaps between checkpoints, newest first: the older half is on average sparser (1.5x) than the
    // newer (rr-style thinning keeps the recent past dense; a uniform thinning would not). Thinning
    // runs only when over the bound, so single gaps may stay irregular: compare means.
    const steps = tl.checkpointSteps;
    const gaps = steps.slice(1).map((s, i) => s - steps[i]).reverse().slice(0, -1); // without the gap after step 0
    const half = Math.floor(gaps.length / 2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(gaps.slice(half)), `gaps ${gaps.join(',')}`).toBeGreaterThan(1.5 * mean(gaps.slice(0, half)));
    // Seeks through the thinned checkpoints land where the roomy timeline does.
    const look = (t: ReplayTimeline) => JSON.stringify({ step: t.step, harts: finalStateHashes(t.board, 'written'), ram: createHash('sha256').update(new MachineView(t.harts, t.board.bus).readMemory(0, 0x80000000n, 2 << 20)).digest('hex') });
    for (const step of [1, Math.floor(tl.endStep / 7), Math.floor(tl.endStep / 2) + 3, tl.endStep - 5]) {
      await tl.seek(step);
      await roomy.seek(step);
      expect(look(tl), `step ${step}`).toBe(look(roomy));
    }
  });

  test('a guest that rewrites much memory widens the checkpoint interval (copies cost at most a quarter of running), and seeks still land exactly', async () => {
    const trace = join(dir, 'dense.trace');
    // Recorded serially: the harts take equal turns, so neither waits long for the other at the end
    // (a spinning hart rewrites nothing, and a long spin would add base-interval checkpoints: in
    // parallel that tail depended on how the host ran the two threads).
    const rec = await hindsight(['record', '--harts', '2', '--sched', 'serial', '--append', 'iters=12', '-o', trace, join(ROOT, 'test', 'guests', 'bin', 'bench_parallel.elf')]);
    expect(rec.code, rec.stderr).toBe(0);
    const interval = 200_000;
    const open = (widenInterval: boolean) => ReplayTimeline.open(trace, { checkpointInterval: interval, checkpointBytes: 1 << 30, widenInterval });
    const wide = open(true);
    const fixed = open(false);
    expect((await wide.seek(wide.endStep)).kind).toBe('end');
    expect((await fixed.seek(fixed.endStep)).kind).toBe('end');
    // Each hart rewrites its 2 MiB working set over and over: far more pages per capture than a
    // quarter of 200k instructions pays for, so the spacing grows to its limit (8x).
    const steps = wide.checkpointSteps;
    expect(steps[steps.length - 1] - steps[steps.length - 2]).toBe(8 * interval);
    expect(wide.checkpointCount).toBeLessThan(fixed.checkpointCount / 3);
    expect(wide.checkpointBytes).toBeLessThan(fixed.checkpointBytes / 2);
    for (const step of [wide.endStep - 3, Math.floor(wide.endStep / 3) + 1]) {
      await wide.seek(step);
      await fixed.seek(step);
      expect(finalStateHashes(wide.board, 'written'), `step ${step}`).toEqual(finalStateHashes(fixed.board, 'written'));
    }
  });

  test('the JIT timeline lands on exactly the instructions the reference timeline does: seeks, breakpoint hits, watchpoint hits', async () => {
    const opts = { checkpointInterval: 9_000, checkpointBytes: 64 << 20 };
    const jit = ReplayTimeline.open(races[0], { ...opts, tier: 'jit' });
    const ref = ReplayTimeline.open(races[0], { ...opts, tier: 'reference' });
    // Registers of every hart and the guest's memory (its image, data and stacks sit in the first 2 MiB).
    const look = (tl: ReplayTimeline) => JSON.stringify({
      step: tl.step, harts: tl.harts.map((h) => [h.icount, ...[h.pc, ...h.x].map(String)]),
      ram: createHash('sha256').update(new MachineView(tl.harts, tl.board.bus).readMemory(0, 0x80000000n, 2 << 20)).digest('hex'),
    });
    // Seeks, forwards and backwards, to steps inside blocks.
    let seed = 12345;
    const steps = Array.from({ length: 12 }, () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % jit.endStep);
    for (const step of [...steps, jit.endStep, 1, jit.endStep - 1]) {
      await jit.seek(step);
      await ref.seek(step);
      expect(look(jit), `step ${step}`).toBe(look(ref));
    }
    // The JIT really ran the guest (not only the reference fallback).
    const wasmInsns = () => jit.engine.slots.map((s) => (s.runner.executor as JitExecutor).stats.wasmInsns).reduce((a, b) => a + b, 0);
    expect(wasmInsns()).toBeGreaterThan(10_000);
    const hits = async (tl: ReplayTimeline, arm: (tl: ReplayTimeline) => void, disarm: (tl: ReplayTimeline) => void) => {
      await tl.seek(0);
      arm(tl);
      const seen: string[] = [];
      for (let i = 0; i < 25; i++) {
        const end = await tl.continueForward();
        if (end.kind !== 'hit') break;
        seen.push(`${end.hit.kind}@${end.hit.step}/hart${end.hit.hart}`);
      }
      disarm(tl);
      return seen;
    };
    // Watchpoint hits: every write to the counter, at the same step and hart on both tiers.
    const wp = [(tl: ReplayTimeline) => tl.engine.addWatchpoint('write', COUNTER, 8), (tl: ReplayTimeline) => tl.engine.removeWatchpoint('write', COUNTER, 8)] as const;
    const jitWatches = await hits(jit, ...wp);
    expect(jitWatches.length).toBeGreaterThan(5);
    expect(jitWatches).toEqual(await hits(ref, ...wp));
    // Read and access watchpoints too (compiled code leaves loads of a page watched only for
    // writes alone, and takes every access of a page watched for reads to the reference path).
    for (const kind of ['read', 'access'] as const) {
      const w = [(tl: ReplayTimeline) => tl.engine.addWatchpoint(kind, COUNTER, 8), (tl: ReplayTimeline) => tl.engine.removeWatchpoint(kind, COUNTER, 8)] as const;
      const jitHits = await hits(jit, ...w);
      expect(jitHits.length, kind).toBeGreaterThan(5);
      expect(jitHits, kind).toEqual(await hits(ref, ...w));
    }
    // A watchpoint keeps the JIT's compiled code running: only accesses to the watched page leave
    // it. (One on the guest's first code word, never written, runs to the end without a hit.)
    await jit.seek(0);
    jit.engine.addWatchpoint('write', 0x80000000n, 4);
    const beforeWatching = wasmInsns();
    expect((await jit.continueForward()).kind).toBe('end');
    expect(wasmInsns() - beforeWatching).toBeGreaterThan(jit.endStep / 2);
    jit.engine.removeWatchpoint('write', 0x80000000n, 4);
    // Reverse-continue from the end finds the same writes backwards on both tiers.
    const backwards = async (tl: ReplayTimeline) => {
      await tl.seek(tl.endStep);
      wp[0](tl);
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const end = await tl.reverseContinue();
        if (!end || end.kind !== 'hit') break;
        seen.push(`${end.hit.kind}@${end.hit.step}/hart${end.hit.hart}/${tl.step}`);
      }
      wp[1](tl);
      return seen;
    };
    const jitBack = await backwards(jit);
    expect(jitBack).toHaveLength(6);
    expect(jitBack).toEqual(await backwards(ref));
    // Breakpoint hits on the instruction after a store to the counter in the guest's loop (the
    // third write; the first is the guest's start-up code).
    const [, step, hart] = /@(\d+)\/hart(\d+)/.exec(jitWatches[2])!;
    await ref.seek(Number(step));
    const loopPc = ref.harts[Number(hart)].pc;
    const bp = [(tl: ReplayTimeline) => tl.engine.addBreakpoint(loopPc), (tl: ReplayTimeline) => tl.engine.removeBreakpoint(loopPc)] as const;
    const jitBreaks = await hits(jit, ...bp);
    expect(jitBreaks.length).toBeGreaterThan(5);
    expect(jitBreaks).toEqual(await hits(ref, ...bp));
    // Armed but not stopping (a seek does not look for hits), the breakpoint still shapes the run:
    // compiled code stops short of it, the reference path cuts blocks before it. Neither may add
    // a safe point: the timeline still ends in the recorded final state.
    jit.engine.addBreakpoint(loopPc);
    await jit.seek(0);
    await jit.seek(jit.endStep);
    jit.engine.removeBreakpoint(loopPc);
    const recorded = TraceReader.open(races[0]);
    expect(finalStateHashes(jit.board, recorded.summary!.ramHash ?? 'all')).toEqual(recorded.summary!.finalStateHashes);
    recorded.close();
    // A breakpoint keeps the JIT running too, even on the page of the hot loop (all of this
    // guest's code is one page): compiled code stops short of it. `report` runs once, at the end.
    const report = parseElf(readFileSync(ELF), ELF).symbols.get('report')!;
    await jit.seek(0);
    jit.engine.addBreakpoint(report);
    const beforeBreaking = wasmInsns();
    const atReport = await jit.continueForward();
    jit.engine.removeBreakpoint(report);
    expect(atReport.kind === 'hit' && atReport.hit.kind).toBe('breakpoint');
    expect(jit.harts.some((h) => h.pc === report)).toBe(true);
    expect(wasmInsns() - beforeBreaking).toBeGreaterThan(jit.step / 2);
    await ref.seek(jit.step);
    expect(look(jit)).toBe(look(ref));
  });
});

describe('hindsight debug --symbols', () => {
  test('loads more symbol files into gdb-multiarch (as linked, or with .text at @ADDR); threads name hart, mode and pc', async () => {
    const other = guest('isa_rv64m'); // symbols the traced guest lacks (rr_mulhsu)
    const r = await gdbSession(races[0], [
      ...mark('linked', ['info address rr_mulhsu']),
      ...mark('threads', ['info threads']),
    ], ['--symbols', other]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(section(r.stdout, 'linked')).toMatch(/Symbol "rr_mulhsu" is a function at address 0x80000430/);
    expect(section(r.stdout, 'threads')).toMatch(/Thread 1\.1 \(hart 0, M-mode, pc 0x[0-9a-f]+, \d+ instructions retired\)/);
    const moved = await gdbSession(races[0], mark('moved', ['info address rr_mulhsu']), ['--symbols', `${other}@0x90000000`]);
    expect(moved.code, moved.stderr + moved.stdout).toBe(0);
    // .text placed at 0x90000000: rr_mulhsu moves by as much as .text did.
    expect(section(moved.stdout, 'moved')).toMatch(/Symbol "rr_mulhsu" is a function at address 0x90000[0-9a-f]{3}/);
  });
});

describe('hindsight debug refuses bad input with one line and exit 2', () => {
  test('missing or non-trace file, missing GDB, port in use', async () => {
    const notTrace = join(dir, 'not-a-trace');
    writeFileSync(notTrace, 'hello');
    for (const [args, message] of [
      [['debug', join(dir, 'missing.trace'), '--listen-only'], /does not exist/],
      [['debug', notTrace, '--listen-only'], /not a hindsight trace/],
      [['debug', races[0], '--gdb', join(dir, 'no-such-gdb')], /cannot start .*no-such-gdb/],
      [['debug', races[0], '--port', '70000'], /not a TCP port/],
      [['debug', races[0], '--listen-only', '--symbols', join(dir, 'missing.elf')], /--symbols: .*missing\.elf does not exist/],
      [['debug', races[0], '--listen-only', '--symbols', notTrace], /--symbols: .*not an ELF file/],
      [['debug', races[0], '--listen-only', '--symbols', `${ELF}@0xzz`], /'0xzz' is not an address/],
    ] as [string[], RegExp][]) {
      const r = await hindsight(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const holder = spawn(process.execPath, [CLI, 'debug', races[0], '--listen-only'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const port = await new Promise<number>((resolve) => {
        let out = '';
        holder.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /127\.0\.0\.1:(\d+)/.exec(out); if (m) resolve(Number(m[1])); });
      });
      const r = await hindsight(['debug', races[0], '--listen-only', '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
