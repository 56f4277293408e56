#!/usr/bin/env node
// Linux boot -> racy init -> power-off (part of `npm run bench`; also standalone):
//   node scripts/bench-linux.mjs [--repeats N] [--harts 1,4] [--tier jit|reference] [--out DIR]  (JSON: DIR/linux-latest.json)
// The test kernel (scripts/build-linux-guest.sh: Debian's linux-source-6.1, our config fragment
// and our /init, built once and cached) under Debian's OpenSBI fw_jump. Rows, each the median of
// N whole-process wall times, taken in N rounds that run every row once each (replay: that round's
// recording): qemu-system-riscv64 (MTTCG); hindsight run (its default threads: one
// per hart, at most one per host core) and, with more harts than cores, with --threads HARTS (a
// thread per hart, for comparison); hindsight record (its default threads, the same rule);
// replay of that recording. Ratios: against QEMU, and record/run (both with default threads).
// hindsight keeps a JIT profile and compiled page modules between runs (src/jit/hot-pages.ts,
// page-module-cache.ts): the bench gives them a cache directory of its own, boots the kernel
// WARM_BOOTS times into it before the rounds (as a user who has booted this kernel before), and
// also times a first boot (a fresh empty cache in every round), so both figures are in the table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inRounds, median } from './bench-boot.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
export const OPENSBI = '/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin';
const TIMEOUT_S = 600;
/** Boots before the rounds that fill the bench's JIT cache (the third boot's modules cover what the first ones missed). */
const WARM_BOOTS = 3;

function timed(cmd, args, env = process.env) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, timeout: (TIMEOUT_S + 60) * 1000, env });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Builds (or finds in the cache) the test kernel; its directory holds Image and vmlinux. */
export function linuxImage() {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/build-linux-guest.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 40 * 60_000 });
  if (r.status !== 0) throw new Error(`build-linux-guest.sh failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' / ')}`);
  const image = path.join(r.stdout.trim().split('\n').pop() ?? '', 'Image');
  if (!existsSync(image)) throw new Error(`build-linux-guest.sh printed no directory with an Image`);
  return image;
}

export async function benchLinux({ cli = CLI, qemu = 'qemu-system-riscv64', hartsList = [1, 4], repeats = 3, tier = 'jit', log = (s) => process.stderr.write(`${s}\n`) } = {}) {
  if (!existsSync(OPENSBI)) return { rows: [], problems: ['opensbi not installed: Linux benchmark skipped'] };
  const image = linuxImage();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-linux-'));
  const rows = [];
  const problems = [];
  // The kernel's "hrtimer: interrupt took N ns" (a host stall) may land inside the init's line.
  const poweredOff = (r) => r.code === 0 && r.stdout.includes('reboot: Power down') &&
    /hindsight-init: atomic total 400000 of 400000/.test(r.stdout.replace(/hrtimer: interrupt took \d+ ns\r?\n/g, ''));
  // Every round runs each row once, in turn (and replays that round's recording), so the host's
  // drift over the minutes a bench takes moves all rows alike: measured one row after another, the
  // 1-hart record/run ratio read 1.06x in one bench and 1.58x in the next (alternating runs in
  // between: 1.2x).
  const warmCache = path.join(dir, 'jit-cache');
  const cacheEnv = (cache) => ({ ...process.env, HINDSIGHT_CACHE: cache });
  const rounds = async (harts, specs) => {
    const samples = await inRounds(specs, repeats, (spec, i) => {
      const cache = spec.coldCache ? path.join(dir, `jit-cache-cold-${harts}-${i}`) : warmCache;
      const r = timed(spec.cmd, spec.args(i), cacheEnv(cache));
      if (spec.coldCache) rmSync(cache, { recursive: true, force: true });
      const bad = spec.check(r);
      if (bad) problems.push(`${spec.name}, ${harts} hart(s): ${bad}`);
      return bad ? null : r.seconds;
    }, log, `linux ${harts} hart(s)`);
    return specs.map((spec, k) => {
      const row = { harts, what: spec.name, seconds: median(samples[k]), samples: samples[k] };
      rows.push(row);
      return row;
    });
  };
  try {
    for (const harts of hartsList) {
      const kernelArgs = ['--bios', OPENSBI, '--append', 'console=ttyS0', '--timeout', String(TIMEOUT_S), image];
      const perHart = harts > os.availableParallelism() ? ['--threads', String(harts)] : [];
      const trace = (i) => path.join(dir, `linux-${harts}-${i}.trace`);
      const why = (r) => (poweredOff(r) ? null : `exit ${r.code}, no power-off: ${r.stderr.trim().split('\n').pop() ?? ''}`);
      const specs = [];
      if (qemu) specs.push({ key: 'qemu', name: 'qemu', cmd: qemu, check: why, args: () => ['-M', 'virt', '-cpu', 'rv64', '-smp', String(harts), '-m', '128M', '-nographic', '-monitor', 'none', '-serial', 'stdio',
        '-bios', OPENSBI, '-kernel', image, '-append', 'console=ttyS0'] });
      const runArgs = () => [cli, 'run', '--tier', tier, '--harts', String(harts), ...kernelArgs];
      specs.push({ key: 'run', name: `hindsight/${tier} run`, cmd: process.execPath, check: why, args: runArgs });
      if (tier === 'jit') specs.push({ key: 'runCold', name: `hindsight/${tier} run, first boot`, cmd: process.execPath, check: why, args: runArgs, coldCache: true });
      if (perHart.length) specs.push({ key: 'runPerHart', name: `hindsight/${tier} run --threads ${harts}`, cmd: process.execPath, check: why, args: () => [cli, 'run', '--tier', tier, '--harts', String(harts), ...perHart, ...kernelArgs] });
      specs.push({ key: 'rec', name: `hindsight/${tier} record`, cmd: process.execPath, check: why, args: (i) => [cli, 'record', '--tier', tier, '--harts', String(harts), '-o', trace(i), ...kernelArgs] });
      specs.push({ key: 'rep', name: `hindsight/${tier} replay`, cmd: process.execPath, args: (i) => [cli, 'replay', '--tier', tier, '--quiet', trace(i)],
        check: (r) => (r.code === 0 && /final state match the recording/.test(r.stderr) ? null : `exit ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`) });
      if (tier === 'jit') {
        log(`linux ${harts} hart(s): ${WARM_BOOTS} boots, a recording and two replays to fill the JIT cache ...`);
        for (let k = 0; k < WARM_BOOTS; k++) {
          const bad = why(timed(process.execPath, runArgs(), cacheEnv(warmCache)));
          if (bad) problems.push(`warm-up boot, ${harts} hart(s): ${bad}`);
        }
        // Recording and replay keep JIT profiles of their own (host/jit-cache.ts profileShape):
        // warm those too, as a user who records and replays the kernel again has them.
        const warmTrace = path.join(dir, `linux-${harts}-warm.trace`);
        const recBad = why(timed(process.execPath, [cli, 'record', '--tier', tier, '--harts', String(harts), '-o', warmTrace, ...kernelArgs], cacheEnv(warmCache)));
        if (recBad) problems.push(`warm-up recording, ${harts} hart(s): ${recBad}`);
        else for (let k = 0; k < 2; k++) timed(process.execPath, [cli, 'replay', '--tier', tier, '--quiet', warmTrace], cacheEnv(warmCache));
      }
      const got = Object.fromEntries((await rounds(harts, specs)).map((row, k) => [specs[k].key, row]));
      const { qemu: q, run, rec, rep } = got;
      for (const row of Object.values(got)) {
        if (row !== q && q?.seconds && row.seconds) row.vsQemu = row.seconds / q.seconds;
      }
      if (run.seconds && rec.seconds) rec.vsRun = rec.seconds / run.seconds;
      if (rec.seconds && rep.seconds) rep.vsRecord = rep.seconds / rec.seconds;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, problems, tier };
}

export function formatLinuxRows(rows) {
  const lines = ['Linux 6.1 boot -> racy init -> power-off under OpenSBI (median whole-process seconds; goals: run within 3x QEMU, record/run <= 1.3x on 4 harts):'];
  for (const r of rows) {
    const extra = [r.vsQemu && !r.what.startsWith('qemu') ? `${r.vsQemu.toFixed(1)}x QEMU` : '', r.vsRun ? `record/run ${r.vsRun.toFixed(2)}x` : '', r.vsRecord ? `replay/record ${r.vsRecord.toFixed(2)}x` : ''].filter(Boolean).join(', ');
    lines.push(`  ${String(r.harts).padStart(2)} hart(s)  ${r.what.padEnd(36)} ${r.seconds === null ? '     -' : r.seconds.toFixed(2).padStart(7)} s  ${extra}`);
  }
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const usage = 'usage: node scripts/bench-linux.mjs [--repeats N] [--harts 1,4] [--tier jit|reference] [--out DIR]\n';
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(usage); process.exit(0); }
  const known = new Set(['--repeats', '--harts', '--tier', '--out']);
  for (let i = 0; i < argv.length; i += 2) {
    if (!known.has(argv[i]) || argv[i + 1] === undefined) { process.stderr.write(`bench-linux: bad option '${argv[i]}'\n${usage}`); process.exit(2); }
  }
  const opt = (name, fallback) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : fallback; };
  const result = await benchLinux({ repeats: Number(opt('--repeats', '3')), hartsList: opt('--harts', '1,4').split(',').map(Number), tier: opt('--tier', 'jit') });
  const lines = formatLinuxRows(result.rows);
  if (result.problems.length) lines.push('', 'PROBLEMS:', ...result.problems.map((p) => `  ${p}`));
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = opt('--out', path.join(ROOT, 'bench-results'));
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'linux-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
}
