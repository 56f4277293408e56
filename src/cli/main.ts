#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { Coordinator, RunResult } from '../engine/coordinator.js';
import { StopReason } from '../engine/layout.js';
import { HindsightError } from '../errors.js';
import { hostConsole } from './console.js';
import { parseCount, parseHarts, parseMemorySize, parsePositiveNumber } from './options.js';

const VERSION = '0.1.0';

interface RunFlags {
  harts: number;
  mem: number;
  bios: string;
  initrd?: string;
  append?: string;
  disk?: string;
  diskWritable?: boolean;
  timeout?: number;
  maxInsns?: number;
  stats?: boolean;
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

async function runCommand(kernel: string | undefined, flags: RunFlags): Promise<void> {
  const coordinator = new Coordinator({
    harts: flags.harts,
    ramBytes: flags.mem,
    bios: flags.bios === 'none' ? null : flags.bios,
    kernel: kernel ?? null,
    initrd: flags.initrd ?? null,
    append: flags.append ?? '',
    disk: flags.disk ?? null,
    diskWritable: flags.diskWritable ?? false,
    timeoutSeconds: flags.timeout ?? null,
    maxInsns: flags.maxInsns ?? Number.POSITIVE_INFINITY,
  }, hostConsole());
  const onSignal = () => coordinator.stop(StopReason.Interrupted, 130);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const result = await coordinator.run();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (result.fatal) fail(`internal error: ${result.fatal}`, 1);
  const note = describeStop(result, flags);
  if (note) process.stderr.write(`hindsight: ${note}\n`);
  if (flags.stats) printStats(result);
  process.exitCode = result.reason === StopReason.InsnLimit ? 124 : result.exitCode;
}

function addMachineOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--harts <N>', 'number of harts (CPUs)').argParser(parseHarts).default(1))
    .addOption(new Option('--mem <SIZE>', 'guest RAM size, e.g. 128M, 1G').argParser(parseMemorySize).default(128 * 1024 * 1024, '128M'))
    .option('--bios <FILE|none>', 'firmware loaded at 0x80000000 (the kernel then goes to 0x80200000)', 'none')
    .option('--initrd <FILE>', 'initial ramdisk')
    .option('--append <STR>', 'kernel command line (/chosen/bootargs)')
    .option('--disk <IMG>', 'virtio-blk disk image (copy-on-write unless --disk-writable)')
    .option('--disk-writable', 'write guest changes back to the disk image')
    .addOption(new Option('--timeout <SECONDS>', 'stop the guest after this long (exit 124)').argParser(parsePositiveNumber))
    .addOption(new Option('--max-insns <N>', 'stop when a hart has retired N instructions (exit 124)').argParser(parseCount))
    .option('--stats', 'print per-hart instruction counts and speed on stderr at exit');
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
    .action(runCommand);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof HindsightError) fail(err.message, err.exitCode);
    const e = err as Error;
    fail(`internal error: ${e.message}${process.env.HINDSIGHT_DEBUG ? `\n${e.stack}` : ''}`, 1);
  }
}

void main();
