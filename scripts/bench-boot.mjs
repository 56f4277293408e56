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

const median = (xs) => { const s = xs.filter((x) => x !== null).sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : null; };

export async function benchBoot({ cli, tiers, qemu = 'qemu-system-riscv64', repeats = 3, log }) {
  if (!existsSync(OPENSBI) || !existsSync(UBOOT)) return { rows: [], problems: ['opensbi or u-boot-qemu not installed: boot benchmark skipped'] };
  const rows = [];
  const problems = [];
  const measure = async (name, cmd, args) => {
    log(`boot to the U-Boot prompt: ${name} ...`);
    const runs = [];
    for (let i = 0; i < repeats; i++) runs.push(await timeToPrompt(cmd, args));
    const failed = runs.find((r) => r.error);
    if (failed) problems.push(`${name}: ${failed.error}`);
    rows.push({ emulator: name, seconds: median(runs.map((r) => r.seconds)), samples: runs.map((r) => r.seconds) });
  };
  for (const tier of tiers) await measure(`hindsight/${tier}`, process.execPath, [cli, 'run', '--tier', tier, '--harts', '2', '--bios', OPENSBI, UBOOT]);
  if (qemu) await measure('qemu', qemu, ['-M', 'virt', '-cpu', QEMU_CPU, '-smp', '2', '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-bios', OPENSBI, '-kernel', UBOOT]);
  const q = rows.find((r) => r.emulator === 'qemu')?.seconds ?? null;
  for (const r of rows) r.vsQemu = q && r.seconds ? r.seconds / q : null;
  return { rows, problems };
}

export function formatBootRows(rows) {
  const lines = ['OpenSBI + U-Boot to the prompt, 2 harts (median process time to the first "=> "; goal for the jit: within 3x of QEMU):'];
  for (const r of rows) lines.push(`  ${r.emulator.padEnd(22)} ${r.seconds === null ? '-' : r.seconds.toFixed(2).padStart(6)} s${r.vsQemu && r.emulator !== 'qemu' ? `   ${r.vsQemu.toFixed(2)}x QEMU` : ''}`);
  return lines;
}
