#!/usr/bin/env node
// `npm run bench`: hindsight's speed on two bare-metal guests, compared with qemu-system-riscv64.
// See docs/BENCHMARKS.md for what each row means and how the numbers are obtained.
//
//   node scripts/bench.mjs [--quick] [--iters-compute N] [--iters-parallel N] [--harts-list 1,2]
//                          [--qemu-seconds S] [--qemu-repeats N] [--no-qemu] [--out DIR]
// Environment: BENCH_QUICK=1, BENCH_ITERS_COMPUTE, BENCH_ITERS_PARALLEL, BENCH_QEMU_SECONDS, QEMU.
import { spawn, spawnSync } from 'node:child_process';
import { benchRecordReplay, formatPairedOverhead, formatRecordRows, pairedRecordOverhead } from './bench-record.mjs';
import { benchDebug, formatDebugRows } from './bench-debug.mjs';
import { benchRace, formatRaceRows } from './bench-race.mjs';
import { benchOutcomes, formatOutcomeRows } from './bench-outcomes.mjs';
import { benchBoot, benchStartup, formatBootRows, formatStartupRows } from './bench-boot.mjs';
import { benchLinux, formatLinuxRows } from './bench-linux.mjs';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const GUESTS = path.join(ROOT, 'test/guests');
const ELF = {
  compute: path.join(GUESTS, 'bin/bench_compute.elf'),
  parallel: path.join(GUESTS, 'bin/bench_parallel.elf'),
  racy: path.join(GUESTS, 'bin/smp_racy_counter.elf'),
  litmus: path.join(GUESTS, 'bin/smp_mp_litmus.elf'),
  sbLitmus: path.join(GUESTS, 'bin/smp_sb_litmus.elf'),
  fp: path.join(GUESTS, 'bin/bench_fp.elf'),
};
const QEMU_CPU = 'rv64,f=false,d=false,v=false,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false';
/** For the floating-point guest (rv64gc/lp64d): QEMU with F and D. */
const QEMU_CPU_FD = 'rv64,v=false,h=false,zba=false,zbb=false,zbc=false,zbs=false,sstc=false';

// ---------------------------------------------------------------- options

const DEFAULTS = { compute: 6000, parallel: 4000, fp: 200000 };   // ~40 s + 2 x ~30 s + ~7 s with the interpreter; fp: 102M instructions, so compiling does not dominate the JIT row
const QUICK = { compute: 300, parallel: 200, fp: 1000 };

function usage(code) {
  process.stdout.write(`usage: node scripts/bench.mjs [options]
  --quick               small iteration counts (a smoke test, ~30 s)
  --iters-compute N     bench_compute iterations under hindsight (default ${DEFAULTS.compute}, quick ${QUICK.compute})
  --iters-fp N          bench_fp n-body steps under hindsight (default ${DEFAULTS.fp}, quick ${QUICK.fp})
  --iters-parallel N    bench_parallel iterations per hart under hindsight (default ${DEFAULTS.parallel}, quick ${QUICK.parallel})
  --harts-list A,B,..   hart counts for bench_parallel (default 1,2)
  --tiers A,B           execution tiers to measure (default reference,jit; rows side by side)
  --qemu-seconds S      scale QEMU's iterations up until its net run time is at least S (default 2, quick 0.5; 0 = same iters)
  --qemu-repeats N      timed QEMU runs per row, the median is used (default 3)
  --no-qemu             hindsight rows only
  --out DIR             where to write the JSON (default bench-results/)
environment: BENCH_QUICK=1, BENCH_ITERS_COMPUTE, BENCH_ITERS_PARALLEL, BENCH_QEMU_SECONDS, QEMU (binary)
`);
  process.exit(code);
}

function parseArgs(argv) {
  const env = process.env;
  const o = {
    quick: env.BENCH_QUICK === '1',
    itersCompute: env.BENCH_ITERS_COMPUTE ? Number(env.BENCH_ITERS_COMPUTE) : undefined,
    itersFp: env.BENCH_ITERS_FP ? Number(env.BENCH_ITERS_FP) : undefined,
    itersParallel: env.BENCH_ITERS_PARALLEL ? Number(env.BENCH_ITERS_PARALLEL) : undefined,
    hartsList: [1, 2],
    tiers: env.BENCH_TIERS ? env.BENCH_TIERS.split(',') : ['reference', 'jit'],
    qemuSeconds: env.BENCH_QEMU_SECONDS ? Number(env.BENCH_QEMU_SECONDS) : undefined,
    qemuRepeats: 3,
    qemu: env.QEMU || 'qemu-system-riscv64',
    noQemu: false,
    out: path.join(ROOT, 'bench-results'),
  };
  const need = (i) => { if (i + 1 >= argv.length) usage(2); return argv[i + 1]; };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--iters-compute') o.itersCompute = Number(need(i++));
    else if (a === '--iters-fp') o.itersFp = Number(need(i++));
    else if (a === '--iters-parallel') o.itersParallel = Number(need(i++));
    else if (a === '--harts-list') o.hartsList = need(i++).split(',').map(Number);
    else if (a === '--tiers') o.tiers = need(i++).split(',');
    else if (a === '--qemu-seconds') o.qemuSeconds = Number(need(i++));
    else if (a === '--qemu-repeats') o.qemuRepeats = Number(need(i++));
    else if (a === '--no-qemu') o.noQemu = true;
    else if (a === '--out') o.out = path.resolve(need(i++));
    else if (a === '-h' || a === '--help') usage(0);
    else { process.stderr.write(`bench: unknown option ${a}\n`); usage(2); }
  }
  const base = o.quick ? QUICK : DEFAULTS;
  o.itersCompute ??= base.compute;
  o.itersFp ??= base.fp;
  o.itersParallel ??= base.parallel;
  o.qemuSeconds ??= o.quick ? 0.5 : 2;
  const posInt = (n) => Number.isSafeInteger(n) && n >= 1;
  if (!posInt(o.itersCompute) || !posInt(o.itersFp) || !posInt(o.itersParallel) || !posInt(o.qemuRepeats) ||
      !o.hartsList.every((h) => posInt(h) && h <= 8) || !(o.qemuSeconds >= 0)) {
    process.stderr.write('bench: iteration counts, repeats and hart counts must be positive integers (harts <= 8)\n');
    process.exit(2);
  }
  return o;
}

// ---------------------------------------------------------------- running things

// ---- host load: how much CPU other processes took while a run was going on (Linux only).
// /proc/stat gives the machine's busy time; /proc/self/stat's cutime+cstime the CPU time of our
// finished children; what remains (minus our own CPU time) belongs to someone else.
let clkTck = 100;
try { clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100; } catch { /* keep 100 */ }

function cpuSnapshot() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    const self = readFileSync('/proc/self/stat', 'utf8');
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);   // fields from 3 (state) on
    const children = (fields[13] + fields[14]) / clkTck;                             // cutime, cstime
    const own = process.cpuUsage();
    return { busy: (user + nice + system + irq + softirq) / clkTck, steal: (steal ?? 0) / clkTck, children, own: (own.user + own.system) / 1e6 };
  } catch {
    return null;
  }
}

function otherLoad(before, after, seconds) {
  if (!before || !after || !(seconds > 0)) return null;
  const other = (after.busy - before.busy) - (after.children - before.children) - (after.own - before.own);
  return { otherCores: Math.max(0, other) / seconds, stealCores: (after.steal - before.steal) / seconds, childCpuSeconds: after.children - before.children };
}

/** Runs a command with stdin from /dev/null; resolves with exit code, output, wall time (s) and host load. */
function run(cmd, args, timeoutSeconds) {
  return new Promise((resolve) => {
    const snap = cpuSnapshot();
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutSeconds * 1000);
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: -1, signal: null, stdout: '', stderr: String(e.message), seconds: 0, timedOut }); });
    child.on('close', (code, signal) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      const load = otherLoad(snap, cpuSnapshot(), seconds);
      resolve({ code, signal, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), seconds, timedOut, load });
    });
  });
}

function parseStats(stderr) {
  const harts = [...stderr.matchAll(/^ {2}hart (\d+): (\d+) instructions$/gm)].map((m) => Number(m[2]));
  const t = /^ {2}total: (\d+) instructions in ([\d.]+) s/m.exec(stderr);
  if (!t) return null;
  return { perHart: harts, total: Number(t[1]), seconds: Number(t[2]) };
}

/**
 * Copies dist/ (and the guest ELFs) to a temporary directory so that a rebuild while the benchmark
 * runs cannot mix two versions of the emulator; node_modules is linked, package.json copied (ESM).
 */
function snapshot() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-'));
  cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true, preserveTimestamps: true }); // the worker pool picks the bundle by mtime
  cpSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const elf = {};
  for (const [k, f] of Object.entries(ELF)) { elf[k] = path.join(dir, path.basename(f)); cpSync(f, elf[k]); }
  return { dir, cli: path.join(dir, path.relative(ROOT, CLI)), elf };
}

let SNAP = null;

async function hindsight(elf, harts, iters, tier = 'reference') {
  const args = [SNAP?.cli ?? CLI, 'run', '--tier', tier, '--harts', String(harts), '--mem', '128M', '--stats', '--append', `iters=${iters}`, elf];
  const r = await run(process.execPath, args, 3600);
  const stats = parseStats(r.stderr);
  return { ...r, stats };
}

function qemuArgs(elf, smp, iters, cpu = QEMU_CPU) {
  return ['-M', 'virt', '-accel', 'tcg,thread=multi', '-cpu', cpu, '-smp', String(smp), '-m', '128M',
    '-nographic', '-bios', 'none', '-kernel', elf, '-append', `iters=${iters}`];
}

async function qemu(opts, elf, smp, iters, cpu = QEMU_CPU) {
  return run(opts.qemu, qemuArgs(elf, smp, iters, cpu), 600);
}

/** The first differing line of two console transcripts, for the report. */
function firstDiff(a, b) {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}: hindsight ${JSON.stringify(la[i] ?? '<end>')} vs qemu ${JSON.stringify(lb[i] ?? '<end>')}`;
  }
  return 'identical lines';
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const log = (s) => process.stderr.write(`bench: ${s}\n`);
const okRun = (r) => r.code === 0 && !r.timedOut;

/** QEMU start-up (process launch, machine set-up, DTB, exit) measured with iters=0. */
async function qemuStartup(opts, elf, smp, cpu = QEMU_CPU) {
  const times = [];
  for (let i = 0; i < 3; i++) {
    const r = await qemu(opts, elf, smp, 0, cpu);
    if (!okRun(r)) return { seconds: 0, error: `iters=0 run exited ${r.code}` };
    times.push(r.seconds);
  }
  return { seconds: median(times), samples: times };
}

/**
 * QEMU timing for one guest/smp: a run with hindsight's iteration count (its console output is
 * compared with hindsight's), then iterations scaled up until the net time is >= opts.qemuSeconds,
 * then opts.qemuRepeats timed runs at that count (median). `between` (if given) runs before each
 * timed run, so the caller's own runs alternate with QEMU's and host drift moves both alike.
 */
async function qemuTimed(opts, elf, smp, iters, expectedStdout, cpu = QEMU_CPU, between = null) {
  const startup = await qemuStartup(opts, elf, smp, cpu);
  const same = await qemu(opts, elf, smp, iters, cpu);
  const check = {
    exitCode: same.code,
    timedOut: same.timedOut,
    stdout: same.stdout,
    outputMatches: expectedStdout === undefined ? null : same.stdout === expectedStdout,
  };
  let qIters = iters;
  let probe = same;
  for (let guard = 0; guard < 6 && okRun(probe) && opts.qemuSeconds > 0; guard++) {
    const net = probe.seconds - startup.seconds;
    if (net >= opts.qemuSeconds) break;
    const factor = Math.min(1000, Math.max(1.5, (opts.qemuSeconds * 1.2) / Math.max(net, 0.02)));
    qIters = niceRound(qIters * factor);
    probe = await qemu(opts, elf, smp, qIters, cpu);
  }
  const samples = [];
  let failed = okRun(same) ? null : `exit ${same.code}${same.timedOut ? ' (timeout)' : ''}`;
  const loads = [];
  if (!failed && qIters === iters && opts.qemuSeconds === 0) { samples.push(same.seconds); loads.push(same.load); }
  while (!failed && samples.length < opts.qemuRepeats) {
    if (between) await between();
    const r = await qemu(opts, elf, smp, qIters, cpu);
    if (!okRun(r)) { failed = `exit ${r.code} at iters=${qIters}`; break; }
    samples.push(r.seconds);
    loads.push(r.load);
  }
  const raw = samples.length ? median(samples) : NaN;
  const worst = loads.filter(Boolean).reduce((w, l) => (!w || l.otherCores > w.otherCores ? l : w), null);
  return { startup, check, iters: qIters, samples, rawSeconds: raw, netSeconds: raw - startup.seconds, failed, load: worst };
}

function niceRound(n) {
  const p = 10 ** Math.max(0, Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / p) * p;
}

// ---------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const [name, f] of [['hindsight (npm run build)', CLI], ['bench_compute.elf (make -C test/guests)', ELF.compute], ['bench_parallel.elf (make -C test/guests)', ELF.parallel], ['bench_fp.elf (make -C test/guests)', ELF.fp]]) {
    if (!existsSync(f)) { process.stderr.write(`bench: missing ${f}: build ${name} first\n`); process.exit(2); }
  }
  // A guest whose source changed since its ELF was built. In a git checkout that is a source edited
  // since the last commit (ELFs are committed rebuilt with their sources) and not rebuilt after:
  // a fresh clone's checkout times say nothing (its sources were often newer than their ELFs).
  const editedFiles = new Map();
  const edited = (file) => {
    if (!editedFiles.has(file)) {
      const r = spawnSync('git', ['status', '--porcelain', '--', file], { cwd: ROOT, encoding: 'utf8' });
      editedFiles.set(file, r.status === 0 ? r.stdout.trim() !== '' : null);
    }
    return editedFiles.get(file);
  };
  // (bench_parallel.c and bench_fp.c #include bench_compute.c, as test/guests/Makefile says.)
  for (const [g, sources] of [['bench_compute', ['bench_compute']], ['bench_parallel', ['bench_parallel', 'bench_compute']], ['bench_fp', ['bench_fp', 'bench_compute']]]) {
    const elf = path.join(GUESTS, 'bin', `${g}.elf`);
    for (const src of sources.map((s) => path.join(GUESTS, 'src', `${s}.c`))) {
      if (!existsSync(src)) continue;
      const newer = statSync(src).mtimeMs > statSync(elf).mtimeMs;
      const srcEdited = edited(src);
      if (srcEdited === null ? newer : srcEdited && newer) log(`warning: ${src} is newer than ${elf}; run make -C test/guests`);
    }
  }

  SNAP = snapshot();
  process.on('exit', () => { try { rmSync(SNAP.dir, { recursive: true, force: true }); } catch { /* best effort */ } });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  const E = SNAP.elf;

  let qemuVersion = null;
  if (!opts.noQemu) {
    const v = spawnSync(opts.qemu, ['--version'], { encoding: 'utf8' });
    if (v.status === 0) qemuVersion = v.stdout.split('\n')[0].trim();
    else log(`QEMU not found (${opts.qemu}); only hindsight rows will be measured`);
  }
  const haveQemu = qemuVersion !== null;

  // Which emulator version was measured (the dist/ snapshot is built from the work tree).
  const git = (args) => { const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }); return r.status === 0 ? r.stdout.trim() : null; };
  const commit = git(['rev-parse', '--short=12', 'HEAD']);
  const dirty = commit ? git(['status', '--porcelain', '--', 'src', 'test/guests']) !== '' : null;
  const cpus = os.cpus();
  const machine = {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism?.() ?? cpus.length,
    totalMemBytes: os.totalmem(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    qemu: qemuVersion,
    loadAverage: os.loadavg(),
  };
  const source = { commit, dirty };
  const started = new Date();
  const rows = [];
  const problems = [];

  // Too-short QEMU runs are timing noise (start-up jitter is ~10 ms), but not a failure.
  // Other processes eating CPU make the numbers (and above all the 2-hart scaling) meaningless.
  const loadWarning = (row, load) => {
    row.hostLoad = load ?? null;
    if (load && load.otherCores > 0.15) row.warnings.push(`host busy: other processes used ${load.otherCores.toFixed(2)} cores`);
    if (load && load.stealCores > 0.1) row.warnings.push(`hypervisor steal ${load.stealCores.toFixed(2)} cores`);
  };
  const shortWarning = (row) => { if (!(row.seconds >= 0.2)) row.warnings.push('qemu run too short to time (raise --qemu-seconds)'); };
  const note = (row, what) => { row.problems.push(what); problems.push(`${row.emulator} ${row.guest} harts=${row.harts}: ${what}`); };

  // QEMU is timed with the JIT tier (else the first), its samples alternating with more runs of
  // that hindsight row (`alternate`): the row then reports the median of all its runs. Taken one
  // after the other, the two could be minutes apart on a host whose speed moves by 1.5x.
  const qemuTier = opts.tiers.includes('jit') ? 'jit' : opts.tiers[0];
  const alternate = (row, elf, harts, iters, tier) => {
    const runs = [{ seconds: row.seconds, processSeconds: row.processSeconds }];
    row.samples = runs;
    return async () => {
      const r = await hindsight(elf, harts, iters, tier);
      if (!okRun(r) || !r.stats) { note(row, `hindsight failed on a repeat: exit ${r.code}`); return; }
      runs.push({ seconds: r.stats.seconds, processSeconds: r.seconds });
      row.seconds = median(runs.map((x) => x.seconds));
      row.processSeconds = median(runs.map((x) => x.processSeconds));
      if (row.instructions) row.mips = row.instructions / row.seconds / 1e6;
      if (row.units) row.unitsPerSecond = row.units / row.seconds;
    };
  };

  // ---- (a) one-hart guests: bench_compute (integer) and bench_fp (double-precision n-body)
  const singleHart = async (guest, elf, N, qemuCpu) => {
  const computeRows = [];
  let computeQemu = null;
  for (const tier of opts.tiers) {
    log(`hindsight (${tier}) ${guest} iters=${N} ...`);
    const main = await hindsight(elf, 1, N, tier);
    // Two short runs give the exact per-iteration instruction count (the guest is built so that every
    // iteration retires the same number of instructions); QEMU's count at other iteration counts is
    // extrapolated from it.
    const c1 = await hindsight(elf, 1, 1, tier);
    const c2 = await hindsight(elf, 1, 2, tier);
    const row = {
      emulator: 'hindsight', tier, guest: guest, harts: 1, iters: N,
      instructions: main.stats?.total ?? null, seconds: main.stats?.seconds ?? null,
      processSeconds: main.seconds, exitCode: main.code, stdout: main.stdout, problems: [], warnings: [],
    };
    row.mips = row.instructions && row.seconds ? row.instructions / row.seconds / 1e6 : null;
    loadWarning(row, main.load);
    if (!okRun(main) || !main.stats) note(row, `hindsight failed: exit ${main.code}${main.timedOut ? ' (timeout)' : ''} ${main.stderr.trim().split('\n').pop() ?? ''}`);
    let perIter = null;
    if (c1.stats && c2.stats) perIter = c2.stats.total - c1.stats.total;
    if (perIter !== null && main.stats) {
      const predicted = c1.stats.total + (N - 1) * perIter;
      row.instructionModel = { at1: c1.stats.total, at2: c2.stats.total, perIteration: perIter, predictedAtN: predicted, deviation: main.stats.total - predicted };
      // Printing a longer decimal iteration count costs a few dozen instructions; more is a surprise.
      if (Math.abs(main.stats.total - predicted) > 1000) note(row, `instruction count is not linear in iters (off by ${main.stats.total - predicted})`);
    }
    rows.push(row);
    computeRows.push(row);

    if (haveQemu && !computeQemu && tier === qemuTier) {
      log(`qemu ${guest} (iters=${N}, then scaled), alternating with hindsight (${tier}) ...`);
      const q = await qemuTimed(opts, elf, 1, N, main.stdout, qemuCpu, alternate(row, elf, 1, N, tier));
      const instr = row.instructions !== null && perIter !== null ? row.instructions + (q.iters - N) * perIter : (q.iters === N ? row.instructions : null);
      const qrow = {
        emulator: 'qemu', guest: guest, harts: 1, iters: q.iters,
        instructions: instr, instructionsSource: 'hindsight retired count (extrapolated per iteration when iters differ)',
        seconds: q.netSeconds, rawSeconds: q.rawSeconds, startupSeconds: q.startup.seconds, samples: q.samples,
        check: { iters: N, exitCode: q.check.exitCode, outputMatches: q.check.outputMatches, stdout: q.check.stdout },
        problems: [], warnings: [],
      };
      qrow.mips = instr && q.netSeconds > 0 ? instr / q.netSeconds / 1e6 : null;
      shortWarning(qrow);
      loadWarning(qrow, q.load);
      if (q.failed) note(qrow, `qemu failed: ${q.failed}`);
      if (q.check.outputMatches === false) {
        note(row, `console output differs from QEMU (${firstDiff(row.stdout, q.check.stdout)})`);
        note(qrow, 'console output differs from hindsight');
      }
      rows.push(qrow);
      computeQemu = qrow;
    }
  }
  for (const row of computeRows) {
    if (row.mips && computeQemu?.mips) row.vsQemu = row.mips / computeQemu.mips;
    const ref = computeRows.find((r) => r.tier === 'reference');
    if (row.tier !== 'reference' && row.mips && ref?.mips) row.vsReference = row.mips / ref.mips;
  }
  return computeRows;
  };
  const computeRows = await singleHart('bench_compute', E.compute, opts.itersCompute, QEMU_CPU);
  await singleHart('bench_fp', E.fp, opts.itersFp, QEMU_CPU_FD);

  // ---- (b) bench_parallel on each hart count
  const P = opts.itersParallel;
  const par = { qemu: [] };
  for (const t of opts.tiers) par[t] = [];
  for (const h of opts.hartsList) {
   for (const tier of opts.tiers) {
    log(`hindsight (${tier}) bench_parallel harts=${h} iters=${P} ...`);
    const r = await hindsight(E.parallel, h, P, tier);
    const row = {
      emulator: 'hindsight', tier, guest: 'bench_parallel', harts: h, iters: P, units: P * h,
      instructions: r.stats?.total ?? null, instructionsPerHart: r.stats?.perHart ?? null,
      seconds: r.stats?.seconds ?? null, processSeconds: r.seconds, exitCode: r.code, stdout: r.stdout, problems: [], warnings: [],
    };
    row.mips = row.instructions && row.seconds ? row.instructions / row.seconds / 1e6 : null;
    row.unitsPerSecond = row.seconds ? row.units / row.seconds : null;
    loadWarning(row, r.load);
    if (!okRun(r) || !r.stats) note(row, `hindsight failed: exit ${r.code}${r.timedOut ? ' (timeout)' : ''} ${r.stderr.trim().split('\n').pop() ?? ''}`);
    rows.push(row);
    par[tier].push(row);
    if (haveQemu && tier === qemuTier) {
      log(`qemu bench_parallel smp=${h} (iters=${P}, then scaled), alternating with hindsight (${tier}) ...`);
      const q = await qemuTimed(opts, E.parallel, h, P, r.stdout, QEMU_CPU, alternate(row, E.parallel, h, P, tier));
      const qrow = {
        emulator: 'qemu', guest: 'bench_parallel', harts: h, iters: q.iters, units: q.iters * h,
        seconds: q.netSeconds, rawSeconds: q.rawSeconds, startupSeconds: q.startup.seconds, samples: q.samples,
        check: { iters: P, exitCode: q.check.exitCode, outputMatches: q.check.outputMatches, stdout: q.check.stdout },
        problems: [], warnings: [],
      };
      qrow.unitsPerSecond = q.netSeconds > 0 ? qrow.units / q.netSeconds : null;
      shortWarning(qrow);
      loadWarning(qrow, q.load);
      if (q.failed) note(qrow, `qemu failed: ${q.failed}`);
      if (q.check.outputMatches === false) {
        note(row, `console output differs from QEMU (${firstDiff(row.stdout, q.check.stdout)})`);
        note(qrow, 'console output differs from hindsight');
      }
      rows.push(qrow);
      par.qemu.push(qrow);
    }
   }
  }
  for (const tier of opts.tiers) {
    for (const row of par[tier]) {
      const q = par.qemu.find((r) => r.harts === row.harts);
      if (row.unitsPerSecond && q?.unitsPerSecond) row.vsQemu = row.unitsPerSecond / q.unitsPerSecond;
    }
  }
  for (const list of Object.values(par)) {
    const base = list[0];
    for (const row of list) {
      if (base?.unitsPerSecond && row.unitsPerSecond) row.scaling = row.unitsPerSecond / base.unitsPerSecond;
    }
  }

  // ---- record/replay (issue: recording overhead, trace size, events/s)
  // The low-sharing guest: a row of the table below, and the paired measure after it.
  const lowSharing = { elf: E.parallel, args: ['--append', `iters=${opts.quick ? 20 : 200}`], sharing: 'low' };
  const rr = await benchRecordReplay({
    cli: SNAP.cli,
    tiers: opts.tiers,
    repeats: opts.quick ? 1 : 3,
    guests: {
      bench_parallel: lowSharing,
      smp_racy_counter: { elf: E.racy, args: [], sharing: 'high' },
      smp_mp_litmus: { elf: E.litmus, args: [], sharing: 'high' },
      smp_sb_litmus: { elf: E.sbLitmus, args: [], sharing: 'high' },
    },
    run,
    log,
  });
  problems.push(...rr.problems);
  // The low-sharing overhead goal (<= 1.1x) is as close to the host's drift as it is to the table's
  // 3-round medians: measured in alternating pairs as well. The row's guest runs ~0.1 s, so its
  // ratio is mostly the recording's fixed start-up cost (~60 ms: the trace, the recorder's
  // modules, the first hand-offs); a ten-times longer one shows what recording costs per
  // instruction once running (docs/BENCHMARKS.md).
  const paired = { short: null, long: null };
  if (opts.tiers.includes('jit')) {
    const lengths = opts.quick ? [['short', lowSharing.args, 3]] : [['short', lowSharing.args, 15], ['long', ['--append', 'iters=2000'], 7]];
    for (const [length, args, pairs] of lengths) {
      try {
        paired[length] = await pairedRecordOverhead({ cli: SNAP.cli, guest: `bench_parallel ${args[1]}`, elf: lowSharing.elf, args, pairs, goal: 1.1, run, log });
      } catch (err) {
        problems.push(`paired record/run: ${err.message}`);
      }
    }
  }

  // ---- firmware boot to the prompt (issue: within 3x of QEMU)
  const boot = await benchBoot({ cli: SNAP.cli, tiers: opts.tiers, qemu: haveQemu ? opts.qemu : null, repeats: opts.quick ? 1 : 3, log });
  problems.push(...boot.problems);
  const startup = await benchStartup({ cli: SNAP.cli, hello: path.join(GUESTS, 'bin/hello.elf'), qemu: haveQemu ? opts.qemu : null, repeats: opts.quick ? 3 : 7, log });
  problems.push(...startup.problems);

  // ---- Linux boot -> init -> power-off: run, record, replay against QEMU (issues: OS speed, recording at OS scale)
  let linux = { rows: [], problems: [] };
  try {
    linux = await benchLinux({ cli: SNAP.cli, qemu: haveQemu ? opts.qemu : null, repeats: opts.quick ? 1 : 3, log });
    problems.push(...linux.problems);
  } catch (err) {
    problems.push(`Linux benchmark failed: ${err.message}`);
  }

  // ---- reverse debugging latency at the end of a long trace
  // One run per tier: the timeline runs on the JIT by default, the reference tier is the baseline.
  const dbgByTier = [];
  for (const tier of opts.tiers) {
    try {
      const r = await benchDebug({ cli: SNAP.cli, iters: opts.quick ? 20 : 200, samples: opts.quick ? 7 : 21, tier, log });
      if (!r.goal.met) problems.push(`reverse-stepi median ${reverseStepiMs(r).toFixed(1)} ms (${tier} timeline) misses the ${r.goal.reverseStepiMedianMs} ms goal`);
      dbgByTier.push(r);
    } catch (err) {
      problems.push(`debugger benchmark (${tier}) failed: ${err.message}`);
    }
  }
  // The long trace: a billion instructions, a watchpoint hit 100M back, first pass vs replay.
  if (!opts.quick) {
    try {
      const r = await benchDebug({ cli: SNAP.cli, iters: 1700, extra0: 540, replay: true, rounds: 3, samples: 21, tier: 'jit', log });
      if (!r.goal.met) problems.push(`reverse-stepi median ${reverseStepiMs(r).toFixed(1)} ms (billion-instruction trace) misses the ${r.goal.reverseStepiMedianMs} ms goal`);
      dbgByTier.push(r);
    } catch (err) {
      problems.push(`debugger benchmark (billion-instruction trace) failed: ${err.message}`);
    }
  }
  const dbg = dbgByTier.find((r) => r.tier === 'jit' && !r.trace.extra0) ?? dbgByTier[0] ?? null;

  // ---- race hunting: chaos vs plain failure rates, timeline of a long trace
  // ---- recording must not hide races: outcome distributions of run vs record
  let outcomes = null;
  try {
    outcomes = await benchOutcomes({ cli: SNAP.cli, runs: opts.quick ? 3 : 20, log });
  } catch (err) {
    problems.push(`outcome benchmark failed: ${err.message}`);
  }

  let race = null;
  try {
    race = await benchRace({ cli: SNAP.cli, runs: opts.quick ? 10 : 200, iters: opts.quick ? 20 : 200, log });
    if (!race.goals.chaosAtLeast3x) problems.push('--chaos does not raise race_narrow\'s failure rate 3x');
    if (!race.goals.timelineUnder3s) problems.push(`trace timeline took ${race.timeline.seconds.toFixed(2)} s (goal: under 3 s)`);
  } catch (err) {
    problems.push(`race benchmark failed: ${err.message}`);
  }

  // ---- report
  const fmtInt = (n) => (n === null || n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
  const fmt = (n, d) => (n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
  const table = [['emulator', 'guest', 'harts', 'iters', 'instructions', 'seconds', 'MIPS', 'units/s', 'vs 1 hart', 'vs QEMU', 'vs ref', 'status']];
  for (const r of rows) {
    table.push([
      r.tier ? `${r.emulator}/${r.tier}` : r.emulator, r.guest, String(r.harts), String(r.iters), fmtInt(r.instructions), fmt(r.seconds, 3),
      fmt(r.mips, 1), fmt(r.unitsPerSecond, 1), r.scaling !== undefined ? `${fmt(r.scaling, 2)}x` : '',
      r.vsQemu !== undefined ? `${fmt(r.vsQemu, 4)} (1/${fmt(1 / r.vsQemu, 0)})` : '',
      r.vsReference !== undefined ? `${fmt(r.vsReference, 1)}x` : '',
      r.problems.length ? `*** ${r.problems.join('; ')} ***` : r.warnings.length ? `warning: ${r.warnings.join('; ')}` : (haveQemu ? 'ok' : 'unchecked'),
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const lines = table.map((row) => row.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const out = [];
  out.push(`hindsight benchmark, ${started.toISOString()}`);
  out.push(`machine: ${machine.cpuModel} x${machine.cpuCount}, ${machine.platform}, node ${machine.node}`);
  out.push(`hindsight: commit ${commit ?? 'unknown'}${dirty ? ' + uncommitted changes' : ''}`);
  out.push(`qemu: ${qemuVersion ?? 'not found - hindsight rows only, console output not cross-checked'}`);
  out.push('');
  out.push(...lines);
  out.push('');
  out.push(...formatRecordRows(rr.rows));
  for (const p of [paired.short, paired.long]) if (p) out.push(formatPairedOverhead(p));
  out.push('');
  out.push(...formatBootRows(boot.rows));
  out.push('');
  out.push(...formatStartupRows(startup.rows));
  out.push('');
  out.push(...formatLinuxRows(linux.rows));
  out.push('');
  for (const r of dbgByTier) {
    out.push(formatDebugRows(r));
    out.push('');
  }
  if (race) {
    out.push(formatRaceRows(race));
    out.push('');
  }
  if (outcomes) {
    out.push(formatOutcomeRows(outcomes));
    out.push('');
  }
  out.push('seconds: hindsight = guest wall time from --stats; qemu = median process time minus start-up (iters=0 run).');
  out.push('qemu instructions = hindsight\'s retired count extrapolated to qemu\'s iteration count; units = iters x harts.');
  const busy = rows.filter((r) => r.warnings.some((w) => w.startsWith('host busy') || w.startsWith('hypervisor')));
  if (busy.length) {
    out.push('');
    out.push(`WARNING: other processes used CPU during ${busy.length} of ${rows.length} rows; their times (and the 2-hart scaling) are not trustworthy. Re-run on an idle machine.`);
  }
  if (problems.length) {
    out.push('');
    out.push('!!!!!!!! PROBLEMS !!!!!!!!');
    for (const p of problems) out.push(`  ${p}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);

  const result = {
    version: 1,
    date: started.toISOString(),
    command: `node scripts/bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    options: { itersCompute: opts.itersCompute, itersFp: opts.itersFp, itersParallel: opts.itersParallel, hartsList: opts.hartsList, tiers: opts.tiers, qemuSeconds: opts.qemuSeconds, qemuRepeats: opts.qemuRepeats, quick: opts.quick },
    source,
    machine,
    rows,
    ratios: {
      computeVsQemu: rows.find((r) => r.emulator === 'hindsight' && r.guest === 'bench_compute')?.vsQemu ?? null,
      computeByTier: Object.fromEntries(computeRows.map((r) => [r.tier, { mips: r.mips ?? null, vsQemu: r.vsQemu ?? null, vsReference: r.vsReference ?? null }])),
      parallelScaling: Object.fromEntries(Object.entries(par).map(([k, list]) => [k, Object.fromEntries(list.map((r) => [`harts${r.harts}`, r.scaling ?? null]))])),
      parallelVsQemu: Object.fromEntries(opts.tiers.map((t) => [t, Object.fromEntries(par[t].map((r) => [`harts${r.harts}`, r.vsQemu ?? null]))])),
      bootVsQemu: Object.fromEntries(boot.rows.filter((r) => r.emulator !== 'qemu').map((r) => [r.emulator, r.vsQemu ?? null])),
      reverseStepiMedianMs: dbg ? reverseStepiMs(dbg) : null,
      recordOverhead: Object.fromEntries(opts.tiers.map((t) => [t, rr.rows.find((r) => r.tier === t && r.guest === 'bench_parallel' && r.mode === 'record parallel')?.guestVsRun ?? null])),
    },
    recordReplay: rr.rows,
    recordOverheadPaired: paired.short,
    recordOverheadPairedLong: paired.long,
    boot: boot.rows,
    startup: startup.rows,
    linux: linux.rows,
    debugger: dbgByTier,
    race,
    outcomes,
    ok: problems.length === 0,
    problems,
    hostBusyRows: busy.length,
  };
  mkdirSync(opts.out, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const file = path.join(opts.out, `bench-${stamp}.json`);
  const json = `${JSON.stringify(result, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(path.join(opts.out, 'latest.json'), json);
  log(`results written to ${path.relative(process.cwd(), file)} and latest.json`);
  process.exitCode = problems.length ? 1 : 0;
}

main().catch((e) => { process.stderr.write(`bench: ${e.stack ?? e}\n`); process.exit(1); });

function reverseStepiMs(result) {
  return result.rows.find((r) => r.operation.startsWith('reverse-stepi')).ms;
}
