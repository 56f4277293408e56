import { randomInt } from 'node:crypto';
import { Command, CommanderError, Option } from 'commander';
import { Coordinator, RunOptions, RunResult } from '../host/coordinator.js';
import { EVENT_KINDS } from '../../traces/events.js';
import { VERSION } from '../version.js';
import { StopReason } from '../shm/layout.js';
import { HindsightError, InputError } from '../errors.js';
import { hostConsole } from './console.js';
import { exitNow } from '../host/malloc-tune.js';
import { defaultThreads } from './default-threads.js';
import { startsTogether } from '../engine/start-together.js';
import { ttyProgress } from './progress.js';
import { collectDisk, parseChaosSeed, parseCpu, parseCount, parseExitCodes, parseHarts, parseThreads, parseMemorySize, parsePort, parsePositiveNumber, parseRegex } from './options.js';
import type { DebugFlags } from './debug-command.js';
import { SymbolFile, collectSymbolFiles } from './symbols.js';
import { DEFAULT_TIER, TIERS, Tier } from '../jit/tier.js';
import type { DiskSpec } from '../machine/loader.js';
import { type CpuFeatures, DEFAULT_CPU_FEATURES, describeCpuFeatures } from '../cpu/features.js';


interface RunFlags {
  harts: number;
  mem: number;
  bios: string;
  initrd?: string;
  append?: string;
  disk: DiskSpec[];
  diskWritable?: boolean;
  timeout?: number;
  maxInsns?: number;
  stats?: boolean;
  tier: Tier;
  chaos?: number | 'random';
  cpu?: CpuFeatures;
  threads?: number;
}

function fail(message: string, code: number): never {
  process.stderr.write(`hindsight: ${message}\n`);
  process.exit(code);
}

function describeStop(result: RunResult, flags: RunFlags): string | null {
  switch (result.reason) {
    case StopReason.Timeout: return `timeout: the guest was still running after ${flags.timeout} s`;
    case StopReason.InsnLimit: return `stopped: a hart reached --max-insns ${flags.maxInsns}`;
    case StopReason.Interrupted: return 'stopped by the user';
    case StopReason.Halted: return 'the guest halted: no hart can ever continue (each waits in wfi with no interrupt enabled, or its trap handler faults at once) (exit 1)';
    case StopReason.Reboot: return 'the guest asked for a reboot; stopping';
    default: return null;
  }
}

function printStats(result: RunResult): void {
  const total = result.icounts.reduce((a, b) => a + b, 0);
  const lines = result.icounts.map((n, h) => `  hart ${h}: ${n} instructions`);
  lines.push(`  total: ${total} instructions in ${result.wallSeconds.toFixed(3)} s = ${(total / result.wallSeconds / 1e6).toFixed(2)} MIPS`);
  process.stderr.write(`hindsight stats:\n${lines.join('\n')}\n`);
}

function runOptions(kernel: string | undefined, flags: RunFlags): RunOptions {
  return {
    harts: flags.harts,
    ramBytes: flags.mem,
    bios: flags.bios === 'none' ? null : flags.bios,
    kernel: kernel ?? null,
    initrd: flags.initrd ?? null,
    append: flags.append ?? '',
    disks: flags.disk,
    diskWritable: flags.diskWritable ?? false,
    cpu: flags.cpu ?? DEFAULT_CPU_FEATURES,
    timeoutSeconds: flags.timeout ?? null,
    maxInsns: flags.maxInsns ?? Number.POSITIVE_INFINITY,
    tier: flags.tier,
    chaos: flags.chaos === undefined ? null : { seed: flags.chaos === 'random' ? randomInt(2 ** 32) : flags.chaos },
    threads: threadsFor(flags),
  };
}

/** --threads: checked against the options it cannot go with. */
function threadsFor(flags: RunFlags & { sched?: string }): number | undefined {
  if (flags.threads === undefined || flags.threads >= flags.harts) return undefined;
  if (flags.chaos !== undefined) throw new InputError('--chaos perturbs harts on threads of their own; it does not go with --threads below --harts');
  if (flags.sched === 'serial') throw new InputError('--threads is for parallel harts; --sched serial runs every hart on one thread');
  return flags.threads;
}

/** SIGINT/SIGTERM stop the machine cleanly (exit 130); returns the function that removes the handlers. */
function onInterrupt(stop: () => void): () => void {
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}

function exitCodeOf(result: RunResult): number {
  return result.reason === StopReason.InsnLimit ? 124 : result.exitCode;
}

async function runCommand(kernel: string | undefined, flags: RunFlags & { gdb?: string | true; symbols?: SymbolFile[] }): Promise<void> {
  if (flags.symbols && flags.gdb === undefined) throw new InputError('--symbols is for GDB: use it with --gdb (or with hindsight debug)');
  if (flags.gdb !== undefined) {
    if (flags.chaos !== undefined) throw new InputError('--chaos perturbs parallel harts; run --gdb runs them on one thread');
    const { liveDebugCommand } = await import('./debug-command.js');
    await liveDebugCommand(runOptions(kernel, flags), flags.gdb === true ? 1234 : parsePort(flags.gdb), kernel, flags.symbols ?? []);
    return;
  }
  const options = runOptions(kernel, flags);
  options.threads ??= defaultThreads(flags);
  options.balance = startsTogether(options.harts, Math.min(options.harts, options.threads ?? options.harts)); // (never with --chaos: a thread per hart)
  if (options.chaos) process.stderr.write(`hindsight: chaos scheduling, seed ${options.chaos.seed}\n`);
  const coordinator = new Coordinator(options, hostConsole());
  const removeHandlers = onInterrupt(() => coordinator.stop(StopReason.Interrupted, 130));
  coordinator.board.control.holdWorkers(); // never released: the process exits first (exitNow), sparing their teardown
  const result = await coordinator.run();
  removeHandlers();
  if (result.fatal) fail(`internal error: ${result.fatal}`, 1);
  const note = describeStop(result, flags);
  if (note) process.stderr.write(`hindsight: ${note}\n`);
  if (flags.stats) printStats(result);
  // Exit now, not once the hart workers' isolates and node have wound down (~20-40 ms after a
  // 4-hart Linux boot, exitNow): everything is out by now (stdout and stderr are synchronous on
  // Linux; the JIT's profile was saved, and its module files are written whole before they are
  // renamed into place).
  exitNow(exitCodeOf(result));
}

interface RecordFlags extends RunFlags {
  output: string;
  sched: string;
  checkInterval: number;
  tenure: number;
  untilFailure?: boolean;
  maxRuns?: number;
  failOnExit?: number[];
  failOn?: RegExp;
  migrate?: boolean;
}

async function recordCommand(kernel: string | undefined, flags: RecordFlags): Promise<void> {
  const abort = new AbortController();
  const removeHandlers = onInterrupt(() => abort.abort());
  const options = { ...runOptions(kernel, flags), tracePath: flags.output, sched: flags.sched as 'parallel' | 'serial', checkInterval: flags.checkInterval, tenure: flags.tenure, signal: abort.signal, migrate: flags.migrate };
  if (options.threads === undefined) {
    options.threads = defaultThreads(flags);
    if (options.threads !== undefined) process.stderr.write(`hindsight: ${flags.harts} harts on ${options.threads} host threads, as many as the host has cores (--threads ${flags.harts} gives each hart its own)\n`);
  }
  if (!flags.untilFailure && (flags.maxRuns !== undefined || flags.failOnExit || flags.failOn)) throw new InputError('--max-runs, --fail-on-exit and --fail-on go with --until-failure');
  if (flags.untilFailure) {
    const { recordUntilFailure } = await import('./record-until-failure.js');
    process.exitCode = await recordUntilFailure(options, { maxRuns: flags.maxRuns ?? 100, failOnExit: flags.failOnExit ?? null, failOn: flags.failOn ?? null },
      (line) => process.stderr.write(`hindsight: ${line}\n`), (bytes) => process.stdout.write(bytes));
    removeHandlers();
    return;
  }
  if (options.chaos && options.sched === 'serial') throw new InputError('--chaos perturbs parallel harts; a --sched serial recording has a fixed schedule');
  if (options.chaos) process.stderr.write(`hindsight: chaos scheduling, seed ${options.chaos.seed}\n`);
  const { recordSession } = await import('../../recorder/record-session.js');
  const result = await recordSession(options, hostConsole());
  removeHandlers();
  if (result.fatal) fail(`internal error: ${result.fatal} (the trace up to this point was kept in ${flags.output})`, 1);
  const note = describeStop(result, flags);
  if (note) process.stderr.write(`hindsight: ${note}\n`);
  const total = result.icounts.reduce((a, b) => a + b, 0);
  const events = EVENT_KINDS.map((k) => `${k} ${result.eventsByKind[k]}`).join(', ');
  process.stderr.write(`hindsight: recorded ${flags.output}${result.truncated ? ' (truncated)' : ''}: ` +
    `${result.icounts.map((n, h) => `hart ${h} ${n}`).join(', ')} instructions (${total} total) in ${result.wallSeconds.toFixed(3)} s; ` +
    `events: ${events}; ${(result.traceBytes / 1024).toFixed(1)} KiB\n`);
  if (flags.stats) printStats(result);
  // As run does: the trace is closed (better-sqlite3 writes synchronously) and the output is out,
  // so the hart workers' isolates need not wind down first (~20-40 ms).
  exitNow(exitCodeOf(result));
}

async function replayCommand(trace: string, flags: { sched?: string; quiet?: boolean; tier: Tier }): Promise<void> {
  const abort = new AbortController();
  const removeHandlers = onInterrupt(() => abort.abort());
  const bar = ttyProgress();
  // Console output and a progress line would interleave: show progress only with --quiet.
  const progress = flags.quiet ? (done: number, total: number) => bar.progress('replaying', done, total, 'instructions') : undefined;
  const { replaySession } = await import('../../replayer/replay-session.js');
  const outcome = await replaySession(trace, { write: hostConsole().write }, { quiet: flags.quiet ?? false, serial: flags.sched === undefined ? undefined : flags.sched === 'serial', signal: abort.signal, tier: flags.tier, progress });
  if (progress) bar.progressEnd();
  removeHandlers();
  const { result } = outcome;
  if (result.fatal) fail(`internal error: ${result.fatal}`, 1);
  if (outcome.mismatches.length) {
    process.stderr.write(`hindsight: ${outcome.mismatches[0]}\n`);
    process.exit(outcome.failureExitCode);
  }
  const total = result.icounts.reduce((a, b) => a + b, 0);
  const trunc = outcome.truncated ? ` up to its truncation point (${outcome.truncatedReason})` : '';
  const guestEnded = outcome.recordedStopReason === 'poweroff' || outcome.recordedStopReason === 'reboot';
  const matched = guestEnded
    ? `console, exit code (${result.exitCode}) and final state match the recording`
    : `console and final state match the recording (which was stopped: ${outcome.recordedStopReason ?? 'unfinished'})`;
  process.stderr.write(`hindsight: replayed ${trace}${trunc} (${outcome.sched}): ${total} instructions on ${result.icounts.length} hart(s)${outcome.threads ? ` on ${outcome.threads} host threads` : ''} in ${result.wallSeconds.toFixed(2)} s; ${matched}\n`);
  exitNow(0); // as run and record: not after the hart workers' teardown
}

async function traceInfoCommand(trace: string, flags: { json?: boolean }): Promise<void> {
  const { TraceReader, formatTraceInfo } = await import('../../traces/trace-reader.js');
  const reader = TraceReader.open(trace);
  try {
    const info = reader.info();
    process.stdout.write(flags.json ? `${JSON.stringify(info, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : `${formatTraceInfo(info)}\n`);
  } finally {
    reader.close();
  }
}

function addMachineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--harts <N>', 'number of harts (CPUs)').argParser(parseHarts).default(1))
    .addOption(new Option('--threads <N>', 'host threads the harts run on (default: one per hart, or as many as the host has cores when harts outnumber them); with fewer threads than harts, harts take turns on them').argParser(parseThreads))
    .addOption(new Option('--mem <SIZE>', 'guest RAM size, e.g. 128M, 1G').argParser(parseMemorySize).default(128 * 1024 * 1024, '128M'))
    .option('--bios <FILE|none>', 'firmware loaded at 0x80000000 (the kernel then goes to 0x80200000)', 'none')
    .option('--initrd <FILE>', 'initial ramdisk')
    .option('--append <STR>', 'kernel command line (/chosen/bootargs)')
    .option('--disk <IMG[,slot=N]>', 'virtio-blk disk image (copy-on-write unless --disk-writable); repeatable; slot N = virtio-mmio-bus.N (default: highest free)', collectDisk, [])
    .option('--disk-writable', 'write guest changes back to the disk image')
    .addOption(new Option('--timeout <SECONDS>', 'stop the guest after this long (exit 124)').argParser(parsePositiveNumber))
    .addOption(new Option('--max-insns <N>', 'stop when a hart has retired N instructions (exit 124)').argParser(parseCount))
    .option('--stats', 'print per-hart instruction counts and speed on stderr at exit')
    .addOption(new Option('--tier <TIER>', 'execution tier: reference (interpreter) or jit (WebAssembly)').choices([...TIERS]).default(DEFAULT_TIER))
    .addOption(new Option('--cpu <CPU>', `extensions of the harts, QEMU-style: rv64[,EXT=on|off]... with EXT one of f, d, zba, zbb, zbs, sstc, zihintpause (default ${describeCpuFeatures(DEFAULT_CPU_FEATURES)})`).argParser(parseCpu))
    .addOption(new Option('--chaos [SEED]', 'perturb the schedule of the harts (stalls, changing priorities, random tenure) so rare interleavings show up; --chaos=SEED to choose the seed (default: random)').argParser(parseChaosSeed));
}

export function buildProgram(): Command {
  const program = new Command('hindsight')
    .description('Multi-core RISC-V (RV64) full-system emulator with record, replay and reverse debugging')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });
  addMachineOptions(program.command('run'))
    .description('run a kernel or firmware on the virt board')
    .argument('[KERNEL]', 'ELF or raw image to run (at reset in M-mode with --bios none)')
    .option('--gdb [PORT]', 'wait for GDB on 127.0.0.1:PORT (default 1234) and run under its control (forward only)')
    .option('--symbols <FILE[@ADDR]>', 'with --gdb: another symbol file for the GDB command line it prints (repeatable): vmlinux, a user program', collectSymbolFiles)
    .action(runCommand);
  addMachineOptions(program.command('record'))
    .description('run like `run` while recording everything nondeterministic into a trace')
    .argument('[KERNEL]', 'ELF or raw image to run')
    .requiredOption('-o, --output <TRACE>', 'trace file to write (replaced if it exists)')
    .addOption(new Option('--sched <MODE>', 'parallel: a thread per hart; serial: all harts on one thread over virtual time').choices(['parallel', 'serial']).default('parallel'))
    .addOption(new Option('--check-interval <N>', 'log a register hash every N instructions per hart').argParser(parseCount).default(1_000_000))
    .addOption(new Option('--tenure <N>', 'instructions a hart keeps a page before giving it to another hart').argParser(parseCount).default(20_000))
    .option('--migrate', 'experimental: harts that keep waiting for each other\'s memory move onto one host thread for a while (engine/hart-migration.ts)')
    .option('--until-failure', 'record again and again until a run fails; keep only the failing trace')
    .addOption(new Option('--max-runs <N>', 'with --until-failure: give up after N runs (default 100)').argParser(parseCount))
    .addOption(new Option('--fail-on-exit <CODES>', 'with --until-failure: exit codes that count as failures, e.g. 1,3 (default: any non-zero)').argParser(parseExitCodes))
    .addOption(new Option('--fail-on <REGEX>', 'with --until-failure: console output matching REGEX counts as a failure').argParser(parseRegex))
    .action(recordCommand);
  program.command('replay')
    .description('replay a trace and check it reproduces the recording exactly (exit 3 if not)')
    .argument('<TRACE>', 'trace file written by `hindsight record`')
    .addOption(new Option('--sched <MODE>', 'parallel: each hart on its own thread (with more harts than host cores, harts grouped on as many threads as cores); serial: all harts on one thread in a canonical order (default: whichever is expected to be faster: serial when handing pages between threads would cost more than running the other harts\' instructions on one thread)').choices(['parallel', 'serial']))
    .option('--quiet', 'do not print the replayed console output')
    .addOption(new Option('--tier <TIER>', 'execution tier of the replay (any tier replays any trace)').choices([...TIERS]).default(DEFAULT_TIER))
    .action(replayCommand);
  program.command('debug')
    .description('debug a trace in gdb-multiarch, forwards and backwards across all harts')
    .argument('<TRACE>', 'trace file written by `hindsight record`')
    .argument('[GDBARGS...]', 'extra arguments for gdb-multiarch (after --), e.g. -- -batch -x script.gdb')
    .addOption(new Option('--port <N>', 'TCP port on 127.0.0.1 (0 = any free port)').argParser(parsePort).default(0))
    .option('--listen-only', 'do not start gdb-multiarch; print how to connect instead')
    .addOption(new Option('--checkpoint-interval <STEPS>', 'global steps between automatic checkpoints').argParser(parseCount).default(1_000_000))
    .addOption(new Option('--checkpoint-memory <MB>', 'memory bound for checkpoints, MiB').argParser(parseCount).default(512))
    .option('--gdb <PATH>', 'the GDB to start', 'gdb-multiarch')
    .option('--symbols <FILE[@ADDR]>', 'another symbol file for GDB (repeatable): vmlinux, a user program, firmware; @ADDR places its .text', collectSymbolFiles)
    .addOption(new Option('--tier <TIER>', 'execution tier of the timeline (both land on exact instructions)').choices([...TIERS]).default(DEFAULT_TIER))
    .action(async (trace: string, gdbArgs: string[], flags: DebugFlags) => (await import('./debug-command.js')).debugCommand(trace, gdbArgs, flags));
  const trace = program.command('trace').description('inspect trace files');
  trace.command('info')
    .description('configuration, images, instruction counts and events of a trace')
    .argument('<TRACE>', 'trace file')
    .option('--json', 'machine-readable output')
    .action(traceInfoCommand);
  trace.command('sql')
    .description('run a read-only SQL query over the decoded views of a trace (no QUERY: list the views)')
    .argument('<TRACE>', 'trace file')
    .argument('[QUERY]', 'one SELECT statement, e.g. "SELECT kind, count(*) FROM events GROUP BY kind"')
    .option('--csv', 'CSV output')
    .option('--json', 'JSON output (an array of objects)')
    .action(async (trace: string, query: string | undefined, flags: { csv?: boolean; json?: boolean }) =>
      (await import('./trace-task.js')).runTraceTask('sql', [trace, query, { csv: flags.csv, json: flags.json }]));
  trace.command('index')
    .description('store the decoded views in the trace as plain tables (decoded_events, ...) for any SQLite client')
    .argument('<TRACE>', 'trace file')
    .action(async (trace: string) => (await import('./trace-task.js')).runTraceTask('index', [trace]));
  trace.command('timeline')
    .description('draw the harts of a trace along the global step into one self-contained HTML file')
    .argument('<TRACE>', 'trace file')
    .requiredOption('-o, --output <FILE.html>', 'HTML file to write')
    .action(async (trace: string, flags: { output: string }) => (await import('./trace-task.js')).runTraceTask('timeline', [trace, { output: flags.output }]));
  return program;
}

/**
 * A bare `--chaos` would make commander take the next argument (the kernel, say) as its seed:
 * unless a seed follows, it is spelled `--chaos=random` (before any `--`).
 */
function bareChaosFlags(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => (a === '--chaos' && (end < 0 || i < end) && !/^\d+$/.test(argv[i + 1] ?? '') ? '--chaos=random' : a));
}

/** Parses the command line and runs the command (the CLI entry, main.ts, calls it). */
export async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(bareChaosFlags(process.argv));
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof HindsightError) fail(err.message, err.exitCode);
    const e = err as Error;
    fail(`internal error: ${e.message}${process.env.HINDSIGHT_DEBUG ? `\n${e.stack}` : ''}`, 1);
  }
}
