import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { guest, hindsight } from './support/tools.js';
import { DEFAULT_CPU_FEATURES, describeCpuFeatures } from '../src/cpu/features.js';

/** One clear line on stderr, no stack trace. */
function expectOneLine(stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toMatch(/Error:/);
}

describe('hindsight run: exit codes and errors', () => {
  let dir: string;
  beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'hindsight-cli-')); });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('HINDSIGHT_INSN_TRACE prints one line per instruction of one hart in an icount window, the same from a parallel and a serial replay', async () => {
    const trace = join(dir, 'insn-trace.trace');
    const rec = await hindsight(['record', '--harts', '2', '-o', trace, guest('smp_racy_counter')], { timeoutMs: 120_000 });
    expect(rec.code, rec.stderr).toBe(0);
    const lines: string[][] = [];
    for (const sched of ['parallel', 'serial']) {
      const r = await hindsight(['replay', '--sched', sched, trace], { timeoutMs: 120_000, env: { ...process.env, HINDSIGHT_INSN_TRACE: '1:50000:50199' } });
      expect(r.stderr).toMatch(/final state match the recording/);
      expect(r.code).toBe(0);
      lines.push(r.stderr.split('\n').filter((l) => l.startsWith('insn ')));
    }
    expect(lines[0]).toHaveLength(200);
    expect(lines[0].map((l) => Number(/icount=(\d+)/.exec(l)![1]))).toEqual(Array.from({ length: 200 }, (_, i) => 50000 + i));
    expect(lines[0][0]).toMatch(/^insn hart=1 icount=50000 pc=0x8[0-9a-f]+ priv=3 hash=[0-9a-f]+$/);
    expect(lines[1]).toEqual(lines[0]);
  });

  test('a guest that spins forever ends at --timeout with exit 124', async () => {
    const started = Date.now();
    const r = await hindsight(['run', '--harts', '2', '--timeout', '1', guest('spin_forever')], { timeoutMs: 30_000 });
    expect(r.code).toBe(124);
    expect(r.stdout).toBe('spinning\n');
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/timeout/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  test.each([1, 4])('a guest that halts for good (every hart in wfi with no interrupt enabled, %i hart(s)) stops with exit 1 and says why', async (harts) => {
    const r = await hindsight(['run', '--harts', String(harts), '--stats', guest('halt_wfi')], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('halting\n');
    expect(r.stderr).toMatch(/^hindsight: the guest halted: no hart can ever continue \(each waits in wfi with no interrupt enabled/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a file that is no program (run as a raw image, it traps to an mtvec of 0 for ever) stops with exit 1 instead of hanging', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.alloc(256, 0xff)); // 0xffffffff is no instruction: illegal-instruction trap, then mtvec = 0 faults
    const r = await hindsight(['run', '--harts', '2', junk], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/the guest halted: no hart can ever continue/);
  });

  test('harts parked in a halt loop do not stop a guest whose other hart still works', async () => {
    // smp_racy_counter's harts beyond the first park in `for (;;) wfi` until the end; hart 0 powers off.
    const r = await hindsight(['run', '--harts', '4', guest('smp_racy_counter')]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/halted/);
  });

  test('--max-insns stops every hart and says so', async () => {
    const r = await hindsight(['run', '--max-insns', '100000', '--stats', guest('spin_forever')]);
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/max-insns 100000/);
    expect(r.stderr).toMatch(/hart 0: 100000 instructions/);
  });

  test('the guest exit code is the process exit code', async () => {
    expect((await hindsight(['run', guest('hello')])).code).toBe(0);
    expect((await hindsight(['run', guest('isa_htif_fail')])).code).toBe(3);
  });

  test('SIGINT stops a running guest cleanly', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('./support/tools.js');
    const child = spawn(process.execPath, [CLI, 'run', '--harts', '2', guest('spin_forever')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    while (!out.includes('spinning')) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
    expectOneLine(err);
  });

  test('on a terminal the console is raw and Ctrl-A X quits, as in QEMU', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI } = await import('./support/tools.js');
    // util-linux `script` gives hindsight a pseudo-terminal for stdin/stdout.
    const child = spawn('script', ['-qfec', `${process.execPath} ${CLI} run --harts 2 ${guest('spin_forever')}`, '/dev/null'],
      { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    while (!out.includes('spinning')) await new Promise((r) => setTimeout(r, 20));
    child.stdin.write('\x01x');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(out).toContain('stopped by the user');
  });

  test('a corrupt ELF gives one clear line and exit 2', async () => {
    const elf = readFileSync(guest('hello'));
    const truncated = join(dir, 'truncated.elf');
    writeFileSync(truncated, elf.subarray(0, 100));
    const r = await hindsight(['run', truncated]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toContain('truncated.elf');

    const wrongArch = join(dir, 'x86.elf');
    const copy = Buffer.from(elf);
    copy.writeUInt16LE(62, 18); // e_machine = EM_X86_64
    writeFileSync(wrongArch, copy);
    const r2 = await hindsight(['run', wrongArch]);
    expect(r2.code).toBe(2);
    expectOneLine(r2.stderr);
  });

  test('a missing file gives one clear line and exit 2', async () => {
    const r = await hindsight(['run', join(dir, 'no-such-kernel.elf')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/no such file/);
    const r2 = await hindsight(['run', '--bios', join(dir, 'nope.bin'), guest('hello')]);
    expect(r2.code).toBe(2);
    expectOneLine(r2.stderr);
  });

  test('a kernel that lands on the firmware is refused, as QEMU refuses overlapping images (exit 2)', async () => {
    // Both ELFs load at 0x80000000: the kernel would silently overwrite the firmware.
    const r = await hindsight(['run', '--bios', guest('hello'), guest('spin_forever')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/kernel '.*spin_forever\.elf' \(0x80000000\.\.0x[0-9a-f]+\) overlaps firmware '.*hello\.elf'/);
  });

  test.each([
    [['run', '--bogus', 'x.elf']],
    [['run', '--harts', 'zero', 'x.elf']],
    [['run', '--harts', '65', 'x.elf']],
    [['run', '--mem', '12Q', 'x.elf']],
    [['run', '--timeout', '-3', 'x.elf']],
    [['frobnicate']],
  ])('bad option %j gives one clear line and exit 2', async (args) => {
    const r = await hindsight(args);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
  });

  test.each([
    ['an out-of-range slot', (img: string) => ['--disk', `${img},slot=8`], /slot '8' is not a virtio slot \(0-7\)/],
    ['a slot that is not a number', (img: string) => ['--disk', `${img},slot=one`], /slot 'one' is not a virtio slot/],
    ['a duplicate slot', (img: string) => ['--disk', `${img},slot=3`, '--disk', `${img},slot=3`], /virtio slot 3 is already taken/],
    ['an unreadable image', (_img: string) => ['--disk', '/no/such/disk.img,slot=0'], /cannot read disk image '\/no\/such\/disk.img': no such file/],
    ['a directory as image', (_img: string) => ['--disk', '/tmp'], /disk image '\/tmp' is not a regular file/],
    ['nine disks', (img: string) => Array.from({ length: 9 }, () => ['--disk', img]).flat(), /too many disks/],
  ])('--disk with %s gives one clear line and exit 2', async (_what, args, message) => {
    const img = join(dir, 'disk.img');
    writeFileSync(img, Buffer.alloc(4096));
    const r = await hindsight(['run', ...args(img), guest('hello')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });

  test('an image larger than guest RAM is refused with exit 2', async () => {
    const big = join(dir, 'big.bin');
    writeFileSync(big, Buffer.alloc(20 * 1024 * 1024, 1));
    const r = await hindsight(['run', '--mem', '16M', big]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(/does not fit/);
  });
});

describe('--cpu: the harts\' extensions, QEMU-style', () => {
  test.each([
    [['run', '--cpu', 'rv64,zbx=on'], /unknown CPU extension 'zbx' \(known: f, d, zba, zbb, zbs, sstc, zihintpause\)/],
    [['run', '--cpu', 'rv64,f=false,d=true'], /d=true needs f=true/],
    [['run', '--cpu', 'rv64,f=off,d=on'], /d=true needs f=true/],
    [['run', '--cpu', 'rv64,zbb=maybe'], /'zbb=maybe' is not NAME=on\|off\|true\|false/],
    [['run', '--cpu', 'rv64,zba=on,zba=off'], /'zba' is set twice/],
    [['run', '--cpu', 'rv32'], /CPU model 'rv32' is not supported/],
    [['record', '-o', '/tmp/never.trace', '--cpu', 'rv64,sstc'], /'sstc' is not NAME=on\|off\|true\|false/],
    [['run', '--gdb', '1', '--cpu', 'sifive-u54'], /CPU model 'sifive-u54' is not supported/],
  ])('%j gives one clear line and exit 2', async (args, message) => {
    const r = await hindsight([...args, guest('hello')]);
    expect(r.code).toBe(2);
    expectOneLine(r.stderr);
    expect(r.stderr).toMatch(message);
  });

  test('a trace recorded with --cpu rv64,zbb=false replays with that CPU whatever the default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hindsight-cpu-'));
    try {
      const trace = join(dir, 'nozbb.trace');
      const rec = await hindsight(['record', '--cpu', 'rv64,zbb=false', '-o', trace, '--timeout', '60', guest('isa_zb')]);
      expect(rec.code, rec.stderr).toBe(0);
      expect(rec.stdout).toContain('zbb: absent (illegal instruction, mcause 2)');
      const info = await hindsight(['trace', 'info', '--json', trace]);
      const recorded = describeCpuFeatures({ ...DEFAULT_CPU_FEATURES, zbb: false }); // e.g. rv64,f=off,d=off,zba=on,zbb=off,zbs=on,sstc=on
      expect(recorded).toContain('zbb=off');
      expect(JSON.parse(info.stdout).machine.cpu).toBe(recorded);
      expect((await hindsight(['trace', 'info', trace])).stdout).toContain(`cpu = ${recorded}`);
      for (const sched of ['parallel', 'serial']) {
        const rep = await hindsight(['replay', '--sched', sched, trace]);
        expect(rep.code, rep.stderr).toBe(0);
        expect(rep.stdout).toBe(rec.stdout); // Zbb still traps on replay although it is on by default
        expect(rep.stderr).toContain('final state match the recording');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
