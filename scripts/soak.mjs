#!/usr/bin/env node
// `npm run soak`: record -> replay cycles over the racy guests, many times, in parallel and serial
// scheduling, and a printed table of cycles, divergences and the spread of outcomes. The long
// version of what test/record-replay.test.ts checks a few times in `npm test`.
//
//   node scripts/soak.mjs [--cycles N] [--replays M] [--harts 2,4] [--guests a,b] [--jobs J] [--out DIR] [--record-args 'ARGS']
//   npm run soak -- --cycles 1000        (1,000 recordings of each guest and hart count)
//
// A cycle = one recording, then M parallel and M serial replays, each compared with the recording
// (console bytes, exit code, final state hashes: the replay command's own exit status 0). Exit 1
// when any replay diverged or any recording failed; a trace that diverged is kept in --out.
// `--guests linux,linux-fpinit` soaks the test kernel (scripts/build-linux-guest.sh) under
// OpenSBI: its racy init, or its FPU init (6 threads switching harts): ~15 s a cycle, so opt-in. Ctrl-C (SIGINT) stops it: the cycles that
// completed are tabled as usual, exit 130. Without a terminal, a progress line every 10 cycles.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPENSBI, linuxImage } from './bench-linux.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const GUESTS = ['smp_racy_counter', 'smp_broken_lock', 'smp_mp_litmus', 'smp_sb_litmus', 'disk_dma_race', 'smp_false_sharing'];
/** Opt-in Linux guests: the kernel command line of each (the init it runs). */
const LINUX_GUESTS = { linux: 'console=ttyS0', 'linux-fpinit': 'console=ttyS0 rdinit=/fpinit' };

let kernel = null;
/** What `record` runs for `guest`: its image and options. */
function guestArgs(guest, dir) {
  const append = LINUX_GUESTS[guest];
  if (append === undefined) return ['--mem', '16M', ...diskArgs(guest, dir), path.join(ROOT, 'test/guests/bin', `${guest}.elf`)];
  kernel ??= linuxImage();
  return ['--bios', OPENSBI, '--append', append, kernel];
}

/** disk_dma_race reads a disk whose sector k holds byte k+1 (written once per soak). */
const diskImages = new Set();
function diskArgs(guest, dir) {
  if (guest !== 'disk_dma_race') return [];
  const image = path.join(dir, 'sectors.img');
  if (diskImages.has(image)) return ['--disk', image];
  diskImages.add(image);
  const content = Buffer.alloc(1024 * 1024);
  for (let k = 0; k < 8; k++) content.fill(k + 1, k * 512, (k + 1) * 512);
  writeFileSync(image, content);
  return ['--disk', image];
}

function parseArgs(argv) {
  const o = { recordArgs: [], cycles: 20, replays: 1, harts: [2, 4], guests: GUESTS, jobs: Math.max(1, Math.floor(os.availableParallelism() / 2)), out: path.join(ROOT, 'bench-results') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) usage(2);
      return argv[++i];
    };
    if (a === '--cycles') o.cycles = positive(v(), a);
    else if (a === '--replays') o.replays = positive(v(), a);
    else if (a === '--harts') o.harts = v().split(',').map((x) => positive(x, a));
    else if (a === '--guests') o.guests = v().split(',');
    else if (a === '--jobs') o.jobs = positive(v(), a);
    else if (a === '--out') o.out = v();
    else if (a === '--record-args') o.recordArgs = v().split(' ').filter(Boolean); // e.g. '--migrate --threads 4'
    else if (a === '-h' || a === '--help') usage(0);
    else usage(2);
  }
  const known = [...GUESTS, ...Object.keys(LINUX_GUESTS)];
  for (const g of o.guests) if (!known.includes(g)) fail(`unknown guest '${g}' (choose from ${known.join(', ')})`);
  return o;
}

function positive(text, flag) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} needs a positive integer, not '${text}'`);
  return n;
}

function fail(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}

function usage(code) {
  process.stdout.write('usage: node scripts/soak.mjs [--cycles N] [--replays M] [--harts 2,4] [--guests a,b] [--jobs J] [--out DIR] [--record-args "ARGS"]\n');
  process.exit(code);
}

/** Running hindsight processes: each in a process group of its own, so Ctrl-C reaches only the soak. */
const children = new Set();
/** Ctrl-C: no new cycles, the running ones are killed and not counted, the table so far is printed. */
let interrupted = false;
process.on('SIGINT', () => {
  interrupted = true;
  for (const child of children) {
    try { process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
});

function cli(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => { children.delete(child); resolve({ code, stdout, stderr }); });
  });
}

/** One record -> replays cycle; returns what it saw. */
async function cycle(dir, guest, harts, n, replays, keepDir, recordArgs = []) {
  const trace = path.join(dir, `${guest}-${harts}-${n}.trace`);
  const rec = await cli(['record', '--harts', String(harts), '--timeout', '600', ...recordArgs, '-o', trace, ...guestArgs(guest, dir)]);
  if (rec.code !== 0) return { recorded: false, problem: `record exit ${rec.code}: ${rec.stderr.trim().split('\n').pop()}` };
  const info = JSON.parse((await cli(['trace', 'info', '--json', trace])).stdout);
  const lost = /info: lost=(\d+)/.exec(rec.stdout)?.[1];
  const result = { recorded: true, finalState: info.finalStateHashes.join(','), lost: lost === undefined ? null : Number(lost), replays: 0, divergences: 0, problems: [] };
  for (const sched of ['parallel', 'serial']) {
    for (let i = 0; i < replays; i++) {
      const r = await cli(['replay', '--quiet', '--sched', sched, trace]);
      result.replays++;
      if (r.code !== 0) {
        result.divergences++;
        result.problems.push(`${path.basename(trace)} ${sched} replay exit ${r.code}: ${r.stderr.trim().split('\n').pop()}`);
      }
    }
  }
  // A trace that diverged is the evidence: keep it (divergences are rare and timing-dependent).
  if (result.divergences > 0) {
    mkdirSync(keepDir, { recursive: true });
    const kept = path.join(keepDir, `diverged-${Date.now()}-${path.basename(trace)}`);
    copyFileSync(trace, kept);
    result.problems.push(`kept ${path.relative(ROOT, kept)}`);
  }
  rmSync(trace, { force: true });
  return result;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-soak-'));
  const rows = [];
  const tty = process.stderr.isTTY;
  const started = Date.now();
  try {
    for (const guest of o.guests) {
      for (const harts of o.harts) {
        const row = { guest, harts, cycles: 0, failedRecordings: 0, replays: 0, divergences: 0, outcomes: new Set(), lostMin: null, lostMax: null, problems: [] };
        let next = 0;
        const worker = async () => {
          while (next < o.cycles && !interrupted) {
            const n = next++;
            const r = await cycle(dir, guest, harts, n, o.replays, o.out, o.recordArgs);
            if (interrupted) break; // killed half way: not a result
            row.cycles++;
            if (!r.recorded) {
              row.failedRecordings++;
              row.problems.push(r.problem);
            } else {
              row.replays += r.replays;
              row.divergences += r.divergences;
              row.problems.push(...r.problems);
              row.outcomes.add(r.finalState);
              if (r.lost !== null) {
                row.lostMin = Math.min(row.lostMin ?? r.lost, r.lost);
                row.lostMax = Math.max(row.lostMax ?? r.lost, r.lost);
              }
            }
            const progress = `${guest} on ${harts} harts: ${row.cycles}/${o.cycles} cycles, ${row.divergences} divergences`;
            if (tty) process.stderr.write(`\r${progress}   `);
            else if (row.cycles % 10 === 0) process.stderr.write(`${progress} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
          }
        };
        await Promise.all(Array.from({ length: o.jobs }, worker));
        if (tty) process.stderr.write('\n');
        if (row.cycles > 0 || !interrupted) rows.push(row);
        if (interrupted) break;
      }
      if (interrupted) break;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const header = ['guest', 'harts', 'cycles', 'replays', 'divergences', 'failed records', 'distinct outcomes', 'lost updates (min..max)'];
  const table = rows.map((r) => [r.guest, String(r.harts), String(r.cycles), String(r.replays), String(r.divergences), String(r.failedRecordings),
    String(r.outcomes.size), r.lostMin === null ? '-' : `${r.lostMin}..${r.lostMax}`]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const t of table) console.log(line(t));
  const total = rows.reduce((a, r) => ({ cycles: a.cycles + r.cycles, divergences: a.divergences + r.divergences, failed: a.failed + r.failedRecordings }), { cycles: 0, divergences: 0, failed: 0 });
  if (interrupted) console.log('\ninterrupted (Ctrl-C): the cycles that completed before it');
  console.log(`\n${total.cycles} record -> replay cycles (${o.replays} parallel + ${o.replays} serial replays each) in ${((Date.now() - started) / 1000).toFixed(0)} s: ${total.divergences} divergences, ${total.failed} failed recordings`);
  for (const r of rows) for (const p of r.problems.slice(0, 5)) console.log(`  ${r.guest}/${r.harts}: ${p}`);

  mkdirSync(o.out, { recursive: true });
  const file = path.join(o.out, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ options: { ...o, out: undefined }, rows: rows.map((r) => ({ ...r, outcomes: r.outcomes.size })) }, null, 2));
  console.log(`JSON: ${path.relative(ROOT, file)}`);
  process.exit(total.divergences > 0 || total.failed > 0 ? 1 : interrupted ? 130 : 0);
}

await main();
