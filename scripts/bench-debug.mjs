#!/usr/bin/env node
// Reverse-debugging latency (`npm run bench` runs it; also standalone):
//   node scripts/bench-debug.mjs [--iters N] [--extra0 N] [--replay [--rounds N]] [--samples N] [--tiers jit,reference] [--out DIR]
// (`--iters 1700 --extra0 540 --replay --rounds 3 --tiers jit` is the billion-instruction row of `npm run bench`.)
// Records bench_parallel on 2 harts (iters=200 is about 105 million instructions), serves the
// trace with `hindsight debug --listen-only`, and drives it over the GDB remote protocol the way
// gdb-multiarch does: run to the end (building checkpoints), then time `bs` (reverse-stepi) and
// `bc` (reverse-continue) round trips at the end of the trace. Prints a table, writes JSON.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const ELF = path.join(ROOT, 'test/guests/bin/bench_parallel.elf');

function packet(payload) {
  let sum = 0;
  for (const b of Buffer.from(payload, 'latin1')) sum = (sum + b) & 0xff;
  return `$${payload}#${sum.toString(16).padStart(2, '0')}`;
}

/** A minimal RSP client: one request, one reply (no-ack mode), O packets collected. */
class Rsp {
  constructor(socket) {
    this.socket = socket;
    this.buf = '';
    this.waiter = null;
    socket.on('data', (d) => { this.buf += d.toString('latin1'); this.pump(); });
  }

  static open(port) {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Rsp(s)));
      s.once('error', reject);
    });
  }

  pump() {
    if (!this.waiter) return;
    for (;;) {
      this.buf = this.buf.replace(/^\++/, '');
      const m = /^\$([^#]*)#[0-9a-f]{2}/.exec(this.buf);
      if (!m) return;
      this.buf = this.buf.slice(m[0].length);
      if (!this.noAck) this.socket.write('+');
      if (m[1].startsWith('O') && m[1] !== 'OK') { this.waiter.output += Buffer.from(m[1].slice(1), 'hex').toString(); continue; }
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ reply: m[1], output: w.output });
      return;
    }
  }

  request(payload) {
    return new Promise((resolve) => {
      this.waiter = { resolve, output: '' };
      this.socket.write(packet(payload));
      this.pump();
    });
  }

  async timed(payload) {
    const t = process.hrtime.bigint();
    const r = await this.request(payload);
    return { ...r, ms: Number(process.hrtime.bigint() - t) / 1e6 };
  }

  close() { this.socket.destroy(); }
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const hex = (s) => Buffer.from(s).toString('hex');

function symbol(name) {
  const r = spawnSync('riscv64-unknown-elf-nm', [ELF], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.split('\n').find((l) => l.endsWith(` ${name}`)) : null;
  return line ? line.split(' ')[0].replace(/^0+/, '') : null;
}

/** `hindsight debug --listen-only` on `trace`, connected in no-ack mode: { c, kill }. */
async function openDebugSession(cli, trace, tier) {
  const server = spawn(process.execPath, [cli, 'debug', trace, '--listen-only', '--tier', tier], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      server.stdout.on('data', (d) => { out += d; const m = /127\.0\.0\.1:(\d+)/.exec(out); if (m) resolve(Number(m[1])); });
      server.on('exit', () => reject(new Error(`debug server exited: ${out}`)));
    });
    const c = await Rsp.open(port);
    await c.request('qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+');
    await c.request('QStartNoAckMode');
    c.noAck = true;
    return { c, kill: () => { c.close(); server.kill('SIGKILL'); } };
  } catch (err) {
    server.kill('SIGKILL');
    throw err;
  }
}

/** The debugger's first pass: continue from the start to the end of the trace (building checkpoints). */
async function runToEnd(c) {
  const toEnd = await c.timed('vCont;c:p1.-1');
  if (!toEnd.reply.includes('replaylog:end')) throw new Error(`expected the end of the trace, got ${toEnd.reply}`);
  return toEnd.ms;
}

/**
 * `extra0`: hart 0 runs that many more iterations (about 0.19M instructions each, seen from the end of the serial timeline), so hart 1's
 * result is written that long before the end: the watchpoint row then reverse-continues that far.
 * `replay`: also time `hindsight replay` of the trace (the first pass's yardstick), and the first
 * pass against the serial replay in `rounds` alternating pairs (each first pass in a fresh debug
 * server): single samples taken a minute apart moved that ratio from 1.35x to 1.97x between
 * benches of the same code.
 */
export async function benchDebug({ iters = 200, extra0 = 0, samples = 21, tier = 'jit', replay = false, rounds = 1, cli = CLI, log = (s) => process.stderr.write(`${s}\n`) } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-debug-'));
  const trace = path.join(dir, 'bench.trace');
  let session = null;
  try {
    const bootargs = extra0 ? `iters=${iters} extra0=${extra0}` : `iters=${iters}`;
    log(`bench-debug: recording bench_parallel ${bootargs} on 2 harts ...`);
    const rec = spawnSync(process.execPath, [cli, 'record', '--harts', '2', '--append', bootargs, '-o', trace, ELF], { encoding: 'utf8' });
    if (rec.status !== 0) throw new Error(`record failed: ${rec.stderr}`);
    const total = Number(/\((\d+) total\)/.exec(rec.stderr)?.[1] ?? NaN);
    const timeReplay = (sched) => {
      log(`bench-debug: replaying the ${(total / 1e6).toFixed(0)}M-instruction trace (${sched}) ...`);
      const t = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [cli, 'replay', '--sched', sched, trace], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`replay failed: ${r.stderr}`);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const replayMs = {};
    if (replay) replayMs.parallel = timeReplay('parallel');
    const pairs = [];
    const n = replay ? Math.max(1, rounds) : 1;
    for (let round = 0; round < n; round++) {
      const serial = replay ? timeReplay('serial') : NaN;
      session?.kill();
      session = await openDebugSession(cli, trace, tier);
      log(`bench-debug: ${total} instructions; running to the end of the trace on the ${tier} tier${n > 1 ? ` (round ${round + 1} of ${n})` : ''} ...`);
      pairs.push({ serialReplayMs: serial, firstPassMs: await runToEnd(session.c) });
    }
    if (replay) replayMs.serial = median(pairs.map((p) => p.serialReplayMs));
    const c = session.c;
    const memory = (await c.request(`qRcmd,${hex('checkpoints')}`)).output.split('\n')[0];
    const reverseStep = [];
    for (let i = 0; i < samples; i++) {
      await c.request(`Hcp1.${(i % 2) + 1}`);
      const r = await c.timed('bs');
      if (!r.reply.startsWith('T05')) throw new Error(`bs: ${r.reply}`);
      reverseStep.push(r.ms);
    }
    const rows = [
      { operation: 'run to the end (first pass, builds checkpoints)', ms: median(pairs.map((p) => p.firstPassMs)) },
      { operation: `reverse-stepi (bs), median of ${samples}`, ms: median(reverseStep), p90: pct(reverseStep, 0.9), max: Math.max(...reverseStep) },
    ];
    const sum = symbol('results');
    if (sum) {
      // results[1].sum: written once by hart 1 when its half of the work is done (near the end).
      const addr = (BigInt(`0x${sum}`) + 64n).toString(16);
      await c.request('vCont;c:p1.-1'); // back to the end (the reverse steps above rewound both harts)
      await c.request(`Z2,${addr},8`);
      const r = await c.timed('bc');
      await c.request(`z2,${addr},8`);
      const when = (await c.request(`qRcmd,${hex('when')}`)).output.trim();
      const back = total - Number(/step (\d+)/.exec(when)?.[1] ?? NaN);
      rows.push({ operation: `reverse-continue to a watchpoint ${(back / 1e6).toFixed(back < 1e6 ? 3 : 0)}M instructions back (bc)`, ms: r.ms, stop: r.reply, when, back });
    }
    const entry = symbol('guest_main');
    if (entry) {
      // guest_main's first instruction runs once per hart at the very start: the search has to
      // re-run the whole trace backwards, window by window.
      await c.request(`vCont;c:p1.-1`);
      await c.request(`Z0,${entry},2`);
      const r = await c.timed('bc');
      await c.request(`z0,${entry},2`);
      const when = (await c.request(`qRcmd,${hex('when')}`)).output.trim();
      rows.push({ operation: 'reverse-continue to a breakpoint at the start (whole trace)', ms: r.ms, stop: r.reply, when });
    }
    const after = (await c.request(`qRcmd,${hex('checkpoints')}`)).output.split('\n')[0];
    await c.request('vKill;1');
    for (const sched of ['serial', 'parallel']) if (replayMs[sched]) rows.unshift({ operation: `\`hindsight replay --sched ${sched}\` of the trace (whole process)`, ms: replayMs[sched] });
    const ratios = pairs.map((p) => p.firstPassMs / p.serialReplayMs);
    const firstPassVsSerial = replay ? { ratios, median: median(ratios) } : null;
    return { tier, trace: { instructions: total, harts: 2, iters, extra0 }, replayMs, firstPassVsSerial, rows, checkpoints: { afterFirstPass: memory.replace(/ at steps.*/, ''), atEnd: after.replace(/ at steps.*/, '') }, goal: { reverseStepiMedianMs: 50, met: median(reverseStep) < 50 } };
  } finally {
    session?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDebugRows(result) {
  const args = result.trace.extra0 ? `iters=${result.trace.iters} extra0=${result.trace.extra0}` : `iters=${result.trace.iters}`;
  const lines = [`reverse debugging at the end of a ${(result.trace.instructions / 1e6).toFixed(1)}M-instruction 2-hart trace (bench_parallel ${args}), timeline on the ${result.tier} tier:`];
  for (const r of result.rows) {
    const extra = r.p90 !== undefined ? `  (p90 ${r.p90.toFixed(1)} ms, max ${r.max.toFixed(1)} ms)` : '';
    lines.push(`  ${r.operation.padEnd(62)} ${r.ms.toFixed(1).padStart(9)} ms${extra}`);
    if (r.when) lines.push(`      stopped at ${r.when}`);
  }
  lines.push(`  checkpoints after the first pass: ${result.checkpoints.afterFirstPass}`);
  lines.push(`  checkpoints at the end:           ${result.checkpoints.atEnd}`);
  lines.push(`  goal reverse-stepi median < ${result.goal.reverseStepiMedianMs} ms: ${result.goal.met ? 'met' : 'MISSED'}`);
  if (result.replayMs.parallel) {
    // The timeline is the serial replay (one canonical interleaving, one thread) plus checkpoints.
    const firstPass = result.rows.find((r) => r.operation.startsWith('run to the end')).ms;
    const vs = result.firstPassVsSerial;
    const paired = vs && vs.ratios.length > 1 ? ` (median of ${vs.ratios.length} alternating pairs, ${Math.min(...vs.ratios).toFixed(2)}-${Math.max(...vs.ratios).toFixed(2)}x; the serial replay and first pass rows are their medians)` : '';
    lines.push(`  first pass / replay: ${(vs ? vs.median : firstPass / result.replayMs.serial).toFixed(2)}x the serial replay${paired}, ${(firstPass / result.replayMs.parallel).toFixed(2)}x the parallel replay (goal 1.5x)`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
  const results = [];
  for (const tier of get('--tiers', 'jit,reference').split(',')) {
    const result = await benchDebug({ iters: Number(get('--iters', 200)), extra0: Number(get('--extra0', 0)), replay: args.includes('--replay'), rounds: Number(get('--rounds', 1)), samples: Number(get('--samples', 21)), tier });
    process.stdout.write(`${formatDebugRows(result)}\n`);
    results.push(result);
  }
  const result = { tiers: results };
  const out = get('--out', path.join(ROOT, 'bench-results'));
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `debug-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...result }, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
}
