/**
 * Drives the real gdb-multiarch (GDB 13) in batch mode against a GdbServer on a FakeTarget and
 * checks what GDB prints: the stub is only right if GDB understands it.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GdbServer } from '../gdbstub/server.js';
import { FakeTarget, FakeTargetOptions } from './support/fake-target.js';
import { requireTool, run } from './support/tools.js';

const GDB = 'gdb-multiarch';
const servers: GdbServer[] = [];

beforeAll(() => requireTool(GDB, 'gdb-multiarch'));

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(opts: FakeTargetOptions = {}) {
  const target = new FakeTarget({ harts: 3, ...opts });
  const log: string[] = [];
  const server = new GdbServer(target, { port: 0, log: (line) => log.push(line) });
  servers.push(server);
  const port = await server.listen();
  return { target, server, port, log };
}

/** Runs gdb-multiarch in batch mode: connect, then `commands`; returns stdout and stderr. */
async function gdb(port: number, commands: string[], before: string[] = []) {
  const args = ['-nx', '-batch', '-ex', 'set architecture riscv:rv64', ...before.flatMap((c) => ['-ex', c]), '-ex', `target remote 127.0.0.1:${port}`, ...commands.flatMap((c) => ['-ex', c])];
  const result = await run(GDB, args, { timeoutMs: 60_000 });
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** `Sending packet` / `Packet received` pairs from `set debug remote 1` output. */
function exchanges(debug: string): Array<{ sent: string; received: string }> {
  const pairs: Array<{ sent: string; received: string }> = [];
  let sent: string | null = null;
  for (const line of debug.split('\n')) {
    const send = /\[remote\] Sending packet: \$(.*)#[0-9a-f]{2}$/.exec(line);
    const recv = /\[remote\] Packet received: ?(.*)$/.exec(line);
    if (send) sent = send[1]!;
    else if (recv && sent !== null) {
      pairs.push({ sent, received: recv[1]! });
      sent = null;
    }
  }
  return pairs;
}

describe('gdb-multiarch against the GDB server', () => {
  it('connects, lists harts as threads, reads and writes registers and memory, runs monitor and detaches', async () => {
    const { port, target } = await serve();
    const { stdout, stderr } = await gdb(port, [
      'info threads', 'info registers pc', 'x/4xw 0x80000010',
      'set $a0 = 5', 'p $a0', 'set {int}0x80000020 = 7', 'x/1dw 0x80000020',
      'thread 2', 'p $pc', 'p/x $mstatus', 'p $priv', 'p $cycle',
      'monitor hello', 'detach',
    ]);
    expect(stdout).toMatch(/\* 1 +Thread 1\.1 \(hart 0 M-mode\) 0x0000000080000800 in \?\? \(\)\n +2 +Thread 1\.2 \(hart 1 M-mode\) 0x0000000080000900 in \?\? \(\)\n +3 +Thread 1\.3 \(hart 2 M-mode\) 0x0000000080000a00 in \?\? \(\)\n/);
    expect(stdout).toMatch(/^pc +0x80000800\t0x80000800$/m);
    expect(stdout).toContain('0x80000010:\t0x13121110\t0x17161514\t0x1b1a1918\t0x1f1e1d1c\n');
    expect(stdout).toContain('$1 = 5\n');
    expect(stdout).toContain('0x80000020:\t7\n');
    expect(stdout).toContain('[Switching to thread 2 (Thread 1.2)]');
    expect(stdout).toContain('$2 = (void (*)()) 0x80000900\n');
    expect(stdout).toContain('$3 = 0xa00000000\n');
    expect(stdout).toContain("$4 = 3 '\\003'\n");
    expect(stdout).toContain('$5 = <unavailable>\n');
    expect(`${stdout}${stderr}`).toContain('hello from the fake target\n');
    expect(stdout).toContain('[Inferior 1 (process 1) detached]');
    expect(target.regs[0]!.get(10)).toBe(5n);
    expect([...target.memory.subarray(0x20, 0x24)]).toEqual([7, 0, 0, 0]);
    expect(target.monitorCommands).toEqual(['hello']);
    expect(target.detachCount).toBe(1);
  });

  it('completes the handshake without error replies or unexpected unsupported packets', async () => {
    const { port } = await serve();
    const { stderr } = await gdb(port, ['info registers pc'], ['set debug remote 1']);
    const pairs = exchanges(stderr);
    const sent = pairs.map((p) => p.sent.split(/[:,;]/)[0]);
    expect(sent.slice(0, 6)).toEqual(['qSupported', 'vMustReplyEmpty', 'QStartNoAckMode', 'Hgp0.0', 'qXfer', 'qTStatus']);
    // Memory reads outside the fake RAM (GDB probing around pc) are the only legitimate errors.
    expect(pairs.filter((p) => /^E/.test(p.received) && !p.sent.startsWith('m'))).toEqual([]);
    const unsupported = pairs.filter((p) => p.received === '').map((p) => p.sent.split(':')[0]);
    // Without an executable GDB 13 skips qOffsets/qSymbol; those would get an empty reply too.
    expect(unsupported).toContain('vMustReplyEmpty');
    expect(unsupported.filter((name) => !['vMustReplyEmpty', 'qTStatus', 'qOffsets', 'qSymbol'].includes(name!))).toEqual([]);
    expect(stderr).toContain('Packet qSupported (supported-packets) is supported');
    expect(stderr).not.toMatch(/Remote replied unexpectedly|Bad remote|unknown|Protocol error/i);
  });

  it('steps one hart, stops at breakpoints and watchpoints (osabi none: hardware stepping)', async () => {
    const { port, target } = await serve();
    const { stdout } = await gdb(port, [
      'thread 2', 'stepi', 'p $pc',
      'break *0x80000910', 'continue', 'p $pc',
      'delete', 'watch *(int*)0x80000100', 'continue',
    ], ['set osabi none']);
    expect(stdout).toContain('$1 = (void (*)()) 0x80000904\n');
    expect(target.resumes[0]).toEqual([{ hart: 1, action: 'step' }, { hart: -1, action: 'continue' }]);
    expect(stdout).toContain('Thread 2 hit Breakpoint 1, 0x0000000080000910 in ?? ()');
    expect(stdout).toContain('$2 = (void (*)()) 0x80000910\n');
    expect(stdout).toMatch(/Thread \d hit Hardware watchpoint 2: \*\(int\*\)0x80000100\n\nOld value = 50462976\nNew value = 50462977\n/);
  });

  it('steps with the default GNU/Linux OS ABI (software single-step: Z0 + vCont;c)', async () => {
    const { port, target, log } = await serve();
    const { stdout } = await gdb(port, ['thread 3', 'stepi', 'p $pc']);
    expect(stdout).toContain('$1 = (void (*)()) 0x80000a04\n');
    expect(log).toContain('<- Z0,80000a04,4');
    expect(target.breakpoints.size).toBe(0);
  });

  it('executes backwards on a reversible target and reports the start of history', async () => {
    const { port } = await serve({ reversible: true });
    const { stdout } = await gdb(port, ['stepi', 'stepi', 'reverse-stepi', 'p $pc', 'reverse-continue', 'p $pc', 'info registers priv'], ['set osabi none']);
    expect(stdout).toContain('$1 = (void (*)()) 0x80000804\n');
    expect(stdout).toContain('No more reverse-execution history.');
    expect(stdout).toContain('$2 = (void (*)()) 0x80000800\n');
    expect(stdout).toMatch(/^priv +0x3\tprv:3 \[Machine\]$/m);
  });

  it('refuses reverse execution on a forward-only target', async () => {
    const { port } = await serve({ reversible: false });
    const result = await run(GDB, ['-nx', '-batch', '-ex', 'set architecture riscv:rv64', '-ex', `target remote 127.0.0.1:${port}`, '-ex', 'reverse-stepi'], { timeoutMs: 60_000 });
    expect(result.stderr).toContain('Target remote does not support this command.');
  });

  it('reports monitor errors and ends the server on kill', async () => {
    const { port, server, target } = await serve();
    const { stdout, stderr } = await gdb(port, ['monitor bogus', 'p 1', 'kill']);
    expect(stderr).toContain('unknown monitor command "bogus"');
    expect(stdout).toContain('$1 = 1\n');
    expect(stdout).toContain('[Inferior 1 (process 1) killed]');
    expect(await server.finished).toBe('killed');
    expect(target.killCount).toBe(1);
  });

  it('serves a second gdb after the first detached, with the state it left', async () => {
    const { port, target } = await serve();
    await gdb(port, ['thread 2', 'set $t0 = 0x1234', 'detach']);
    const { stdout } = await gdb(port, ['thread 2', 'p/x $t0', 'detach']);
    expect(stdout).toContain('$1 = 0x1234\n');
    expect(target.detachCount).toBe(2);
  });
});
