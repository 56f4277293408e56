// OpenSBI + U-Boot to the U-Boot prompt, hindsight (each tier) against qemu-system-riscv64 on the
// same firmware, 2 harts (part of `npm run bench`). Time = process start to the first "=> " on
// the console (the process is then killed): it includes each emulator's start-up.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const UBOOT = '/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin';
const QEMU_CPU = 'rv64,f=false,d=false,v=false,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false';

function timeToPrompt(cmd, args, timeoutSeconds = 120) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    const done = (seconds, error) => { clearTimeout(timer); child.kill('SIGKILL'); resolve({ seconds, error }); };
    const timer = setTimeout(() => done(null, `no prompt within ${timeoutSeconds} s`), timeoutSeconds * 1000);
    child.stdout.on('data', (d) => {
      out += d.toString('latin1');
      if (out.includes('=> ')) done(Number(process.hrtime.bigint() - started) / 1e9, null);
    });
    child.on('error', (err) => done(null, err.message));
  });
}

/** The median of the samples that exist (the lower middle one of an even count); null if none. Shared by the bench-*.mjs rows. */
export const median = (xs) => { const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };

/**
 * Times every spec once per round, in turn, for `repeats` rounds (`time(spec, round)` gives one
 * sample): the host's drift over the minutes a bench takes then moves all rows alike (their ratios
 * are what the rows are for). Shared by the bench-*.mjs rows; returns the samples per spec.
 */
export async function inRounds(specs, repeats, time, log, what) {
  for (const spec of specs) log(`${what}: ${spec.name} ...`);
  const samples = specs.map(() => []);
  for (let i = 0; i < repeats; i++) for (let k = 0; k < specs.length; k++) samples[k].push(await time(specs[k], i));
  return samples;
}

/** One row per spec (the median of its samples) and their ratio to QEMU's row; failures go to `problems`. */
function rowsOf(specs, samples, problems, prefix) {
  const rows = specs.map((spec, k) => {
    const runs = samples[k];
    const failed = runs.find((r) => r.error);
    if (failed) problems.push(`${prefix}${spec.name}: ${failed.error}`);
    return { emulator: spec.name, seconds: median(runs.map((r) => r.seconds)), samples: runs.map((r) => r.seconds) };
  });
  const q = rows.find((r) => r.emulator === 'qemu')?.seconds ?? null;
  for (const r of rows) r.vsQemu = q && r.seconds ? r.seconds / q : null;
  return rows;
}

export async function benchBoot({ cli, tiers, qemu = 'qemu-system-riscv64', repeats = 3, log }) {
  if (!existsSync(OPENSBI) || !existsSync(UBOOT)) return { rows: [], problems: ['opensbi or u-boot-qemu not installed: boot benchmark skipped'] };
  const problems = [];
  const specs = tiers.map((tier) => ({ name: `hindsight/${tier}`, cmd: process.execPath, args: [cli, 'run', '--tier', tier, '--harts', '2', '--bios', OPENSBI, UBOOT] }));
  if (qemu) specs.push({ name: 'qemu', cmd: qemu, args: ['-M', 'virt', '-cpu', QEMU_CPU, '-smp', '2', '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-bios', OPENSBI, '-kernel', UBOOT] });
  const samples = await inRounds(specs, repeats, (spec) => timeToPrompt(spec.cmd, spec.args), log, 'boot to the U-Boot prompt');
  return { rows: rowsOf(specs, samples, problems, ''), problems };
}

export function formatBootRows(rows) {
  const lines = ['OpenSBI + U-Boot to the prompt, 2 harts (median process time to the first "=> "; goal for the jit: within 3x of QEMU):'];
  for (const r of rows) lines.push(`  ${r.emulator.padEnd(22)} ${r.seconds === null ? '-' : r.seconds.toFixed(2).padStart(6)} s${r.vsQemu && r.emulator !== 'qemu' ? `   ${r.vsQemu.toFixed(2)}x QEMU` : ''}`);
  return lines;
}

/** Whole-process wall time of `cmd args` (exit code checked), seconds. */
function processTime(cmd, args) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('exit', (code) => resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, error: code === 0 ? null : `exit ${code}` }));
    child.on('error', (err) => resolve({ seconds: null, error: err.message }));
  });
}

/**
 * Process start-up: `hindsight run` of hello.elf (a few thousand instructions, so the process is
 * almost all start-up and exit), `node -e 0` (Node's own share of it) and QEMU on the same ELF;
 * medians of `repeats` rounds (each runs all three in turn). Start-up to the first guest instruction is about hindsight's time
 * minus the guest's sub-millisecond run. Goal (issue 10): within 150 ms.
 */
export async function benchStartup({ cli, hello, qemu = 'qemu-system-riscv64', repeats = 7, log }) {
  const problems = [];
  const specs = [
    { name: 'hindsight run', cmd: process.execPath, args: [cli, 'run', hello] },
    { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
  ];
  if (qemu) specs.push({ name: 'qemu', cmd: qemu, args: ['-M', 'virt', '-cpu', QEMU_CPU, '-smp', '1', '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'null', '-bios', 'none', '-kernel', hello] });
  const samples = await inRounds(specs, repeats, (spec) => processTime(spec.cmd, spec.args), log, 'process start-up');
  return { rows: rowsOf(specs, samples, problems, 'start-up '), problems };
}

export function formatStartupRows(rows) {
  const node = rows.find((r) => r.emulator === 'node -e 0')?.seconds ?? null;
  const lines = ['Process start-up: `run hello.elf`, 1 hart, whole process (median; "beyond node" = minus `node -e 0`; goal: within 150 ms to the first instruction):'];
  for (const r of rows) {
    const beyond = r.emulator === 'hindsight run' && node !== null && r.seconds !== null ? `   ${((r.seconds - node) * 1000).toFixed(0)} ms beyond node` : '';
    lines.push(`  ${r.emulator.padEnd(22)} ${r.seconds === null ? '-' : r.seconds.toFixed(3).padStart(6)} s${beyond}`);
  }
  return lines;
}
