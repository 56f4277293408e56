import { spawn, spawnSync } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GdbServer } from '../../gdbstub/server.js';
import { LiveTarget } from '../../gdbstub/live-target.js';
import { ReplayTarget } from '../../gdbstub/replay-target.js';
import { RunOptions } from '../host/coordinator.js';
import { hostConsole } from './console.js';
import { ReplayTimeline } from '../../replayer/timeline.js';
import { HindsightError } from '../errors.js';
import { ttyProgress } from './progress.js';
import { Tier } from '../jit/tier.js';
import { SymbolFile, gdbSymbolArgs, isElfFile } from './symbols.js';

export interface DebugFlags {
  port: number;
  listenOnly?: boolean;
  checkpointInterval: number;
  checkpointMemory: number;
  gdb: string;
  tier: Tier;
  /** --symbols FILE[@ADDR], repeatable. */
  symbols?: SymbolFile[];
}

/**
 * `hindsight debug TRACE`: serves the trace's timeline to GDB on 127.0.0.1 and, unless
 * --listen-only, starts gdb-multiarch already connected with the guest's symbols (as `rr replay`).
 */
export async function debugCommand(trace: string, gdbArgs: string[], flags: DebugFlags): Promise<void> {
  if (!flags.listenOnly && spawnSync(flags.gdb, ['--version'], { stdio: 'ignore' }).error) {
    throw new HindsightError(`cannot start ${flags.gdb}: install gdb-multiarch (apt-get install gdb-multiarch), pass --gdb PATH, or use --listen-only`, 2);
  }
  const timeline = ReplayTimeline.open(trace, {
    checkpointInterval: flags.checkpointInterval,
    checkpointBytes: flags.checkpointMemory * 1024 * 1024,
    tier: flags.tier,
    console: (bytes) => process.stdout.write(bytes),
    ...ttyProgress(),
  });
  const target = new ReplayTarget(timeline);
  const server = new GdbServer(target, { port: flags.port, log: gdbLog(), notice: (line) => process.stderr.write(`${line}\n`) });
  const port = await listen(server, flags.port);
  const elfPath = timeline.elf ? writeElf(timeline.elf) : null;
  const cleanup = () => { if (elfPath) rmSync(elfPath, { force: true }); };
  const symbols = gdbSymbolArgs(elfPath, flags.symbols ?? []);
  const harts = timeline.harts.length;
  const saved = timeline.loadedCheckpoints > 0 ? `; ${timeline.loadedCheckpoints} checkpoints loaded from the trace` : '';
  process.stderr.write(`hindsight: debugging ${trace}: ${harts} hart${harts === 1 ? '' : 's'} (GDB threads 1-${harts}), ${timeline.endStep} steps${saved}\n`);
  if (timeline.ignoredCheckpoints) process.stderr.write(`hindsight: note: ${timeline.ignoredCheckpoints}\n`);
  try {
    if (flags.listenOnly) {
      process.stdout.write(`hindsight: listening; connect with:\n  ${gdbCommandLine(flags.gdb, symbols, port)}\n`);
      const interrupted = new Promise<'interrupted'>((resolve) => process.once('SIGINT', () => resolve('interrupted')));
      const how = await Promise.race([server.finished, interrupted]);
      await server.close();
      if (how === 'interrupted') process.exitCode = 130;
      return;
    }
    const args = ['-q', ...(symbols.main ? [symbols.main] : ['-ex', 'set architecture riscv:rv64']), '-ex', 'set osabi none', ...symbols.commands, '-ex', `target remote 127.0.0.1:${port}`, ...gdbArgs];
    // On a terminal GDB gets it (readline, paging). Into a pipe or file, its output goes through
    // this process: Node makes a piped stdout non-blocking, a child sharing that pipe would see
    // EAGAIN when it fills and GDB would drop output.
    const tty = process.stdout.isTTY && process.stderr.isTTY;
    const child = spawn(flags.gdb, args, { stdio: tty ? 'inherit' : ['inherit', 'pipe', 'pipe'] });
    const forwarded = tty ? Promise.resolve() : Promise.all([forward(child.stdout!, process.stdout), forward(child.stderr!, process.stderr)]);
    // Ctrl-C in the terminal belongs to GDB (it interrupts the target through the protocol).
    const ignoreSigint = () => {};
    process.on('SIGINT', ignoreSigint);
    const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
    await forwarded;
    process.off('SIGINT', ignoreSigint);
    await server.close();
    process.exitCode = code;
  } finally {
    cleanup();
  }
}

/** The shell command that starts GDB with the symbol files and connects it. */
function gdbCommandLine(gdb: string, symbols: { main: string | null; commands: string[] }, port: number): string {
  const file = symbols.main ? `${symbols.main} ` : '';
  const extra = symbols.commands.filter((_, i) => i % 2 === 1).map((c) => `-ex '${c}' `).join('');
  return `${gdb} ${file}-ex 'set osabi none' ${extra}-ex 'target remote 127.0.0.1:${port}'`;
}

/** Copies a child's output stream into ours, waiting for our stream to drain when it is full. */
async function forward(from: Readable, to: Writable): Promise<void> {
  for await (const chunk of from) {
    if (!to.write(chunk)) await new Promise((resolve) => to.once('drain', resolve));
  }
}

function writeElf(bytes: Uint8Array): string {
  const path = join(tmpdir(), `hindsight-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}-${process.pid}.elf`);
  writeFileSync(path, bytes);
  return path;
}

/**
 * `hindsight run --gdb [PORT]`: the machine waits, stopped at its first instruction, for GDB on
 * 127.0.0.1:PORT, then runs under its control (forward only, all harts on one thread).
 */
export async function liveDebugCommand(options: RunOptions, port: number, kernel: string | undefined, symbolFiles: SymbolFile[]): Promise<void> {
  const target = new LiveTarget(options, hostConsole());
  const server = new GdbServer(target, { port, log: gdbLog(), notice: (line) => process.stderr.write(`${line}\n`) });
  const bound = await listen(server, port);
  const kernelElf = kernel && isElfFile(kernel) ? kernel : null; // a raw Image has no symbols
  process.stderr.write(`hindsight: waiting for GDB on 127.0.0.1:${bound}; connect with:\n  ${gdbCommandLine('gdb-multiarch', gdbSymbolArgs(kernelElf, symbolFiles), bound)}\n`);
  target.start();
  const gone = new Promise<'done'>((resolve) => { target.onDone = () => resolve('done'); });
  const interrupted = new Promise<'interrupted'>((resolve) => process.once('SIGINT', () => resolve('interrupted')));
  const how = await Promise.race([server.finished, gone, interrupted]);
  await server.close();
  target.close();
  process.exitCode = how === 'interrupted' ? 130 : target.lastStop().kind === 'exited' ? target.exitCode : 0;
}

/** Starts listening; a port that is taken or forbidden is the user's problem, said in one line. */
async function listen(server: GdbServer, port: number): Promise<number> {
  try {
    return await server.listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new HindsightError(`port ${port} on 127.0.0.1 is already in use (pick another with --port, or 0 for any free port)`, 2);
    if (code === 'EACCES') throw new HindsightError(`not allowed to listen on port ${port} (ports below 1024 need privileges)`, 2);
    throw err;
  }
}

/** HINDSIGHT_GDB_LOG=1 prints the protocol exchange on stderr. */
function gdbLog(): ((line: string) => void) | undefined {
  return process.env.HINDSIGHT_GDB_LOG ? (line) => process.stderr.write(`${line}\n`) : undefined;
}
