#!/usr/bin/env node
// Race hunting (`npm run bench` runs it; also standalone):
//   node scripts/bench-race.mjs [--runs N] [--iters N] [--mode record|run] [--out DIR]
// 1. Failure rates of race_narrow (a check-then-act window of three instructions, the harts' claims
//    ~1 ms apart) over N recordings (or runs) each, without and with --chaos=SEED (seeds 1000,
//    1001, ...). Goals: plain under 1%, chaos at least 3x. The host's load average is kept with
//    each rate: a loaded host delays thread wake-ups, which is what the race's stagger must cover.
// 2. `trace timeline` on a ~100M-instruction 2-hart trace (bench_parallel iters=200): wall time
//    of the whole command (goal: under 3 s), and `trace sql` counting its events.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const GUEST = (name) => path.join(ROOT, 'test/guests/bin', `${name}.elf`);

function hindsight(cli, args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Runs race_narrow `runs` times with the given extra flags; counts failing runs (exit 3). */
function failureRate(cli, dir, { runs, mode, chaos, log }) {
  let failures = 0;
  let other = 0;
  const trace = path.join(dir, 'race.trace');
  const started = Date.now();
  const loadavgBefore = os.loadavg();
  for (let i = 0; i < runs; i++) {
    const flags = chaos ? [`--chaos=${1000 + i}`] : [];
    const args = mode === 'record'
      ? ['record', '--harts', '2', '--timeout', '120', ...flags, '-o', trace, GUEST('race_narrow')]
      : ['run', '--harts', '2', '--timeout', '120', ...flags, GUEST('race_narrow')];
    const r = hindsight(cli, args);
    if (r.code === 3) failures++;
    else if (r.code !== 0) other++;
    if ((i + 1) % 25 === 0) log(`bench-race: ${mode}${chaos ? ' --chaos' : ''}: ${failures} failures in ${i + 1} runs`);
  }
  rmSync(trace, { force: true });
  return { runs, failures, otherErrors: other, rate: failures / runs, seconds: (Date.now() - started) / 1000, loadavgBefore, loadavgAfter: os.loadavg() };
}

export async function benchRace({ cli = CLI, runs = 200, iters = 200, mode = 'record', log = (s) => process.stderr.write(`${s}\n`) } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-race-'));
  try {
    log(`bench-race: race_narrow, ${runs} ${mode}s without and with --chaos ...`);
    const plain = failureRate(cli, dir, { runs, mode, chaos: false, log });
    const chaos = failureRate(cli, dir, { runs, mode, chaos: true, log });
    const ratio = plain.failures === 0 ? (chaos.failures > 0 ? Infinity : null) : chaos.rate / plain.rate;

    log(`bench-race: recording bench_parallel iters=${iters} on 2 harts for the timeline ...`);
    const trace = path.join(dir, 'long.trace');
    const rec = hindsight(cli, ['record', '--harts', '2', '--append', `iters=${iters}`, '-o', trace, GUEST('bench_parallel')]);
    if (rec.code !== 0) throw new Error(`record failed: ${rec.stderr}`);
    const instructions = Number(/\((\d+) total\)/.exec(rec.stderr)?.[1] ?? NaN);
    const html = path.join(dir, 'long.html');
    const tl = hindsight(cli, ['trace', 'timeline', trace, '-o', html]);
    if (tl.code !== 0) throw new Error(`trace timeline failed: ${tl.stderr}`);
    const sql = hindsight(cli, ['trace', 'sql', '--json', trace, 'SELECT count(*) AS events FROM events']);
    if (sql.code !== 0) throw new Error(`trace sql failed: ${sql.stderr}`);
    const events = JSON.parse(sql.stdout)[0].events;
    return {
      mode,
      rates: { plain, chaos, ratio },
      timeline: { instructions, events, traceBytes: statSync(trace).size, htmlBytes: statSync(html).size, seconds: tl.seconds, sqlSeconds: sql.seconds },
      goals: {
        plainUnder1Percent: plain.rate < 0.01,
        chaosAtLeast3x: ratio !== null && ratio >= 3,
        timelineUnder3s: tl.seconds < 3,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatRaceRows(r) {
  const load = (x) => `load average ${x.loadavgBefore[0].toFixed(1)} -> ${x.loadavgAfter[0].toFixed(1)}`;
  const pct = (x) => `${(100 * x.rate).toFixed(1)}% (${x.failures}/${x.runs}${x.otherErrors ? `, ${x.otherErrors} other errors` : ''}, ${x.seconds.toFixed(0)} s, ${load(x)})`;
  return [
    `race hunting: race_narrow on 2 harts (${r.mode}):`,
    `  failure rate without --chaos                                  ${pct(r.rates.plain)}`,
    `  failure rate with --chaos                                     ${pct(r.rates.chaos)}`,
    `  chaos / plain                                                 ${r.rates.ratio === null ? '-' : r.rates.ratio === Infinity ? 'inf (no plain failure)' : `${r.rates.ratio.toFixed(1)}x`}`,
    `  goals: plain < 1% ${r.goals.plainUnder1Percent ? 'met' : 'MISSED'}; chaos >= 3x ${r.goals.chaosAtLeast3x ? 'met' : 'MISSED'}`,
    `trace timeline on a ${(r.timeline.instructions / 1e6).toFixed(1)}M-instruction 2-hart trace (${r.timeline.events} events, ${(r.timeline.traceBytes / 1024).toFixed(0)} KiB):`,
    `  trace timeline -o FILE.html (whole command)                   ${r.timeline.seconds.toFixed(2)} s, ${(r.timeline.htmlBytes / 1024).toFixed(0)} KiB of HTML`,
    `  trace sql "SELECT count(*) FROM events" (whole command)       ${r.timeline.sqlSeconds.toFixed(2)} s`,
    `  goal timeline < 3 s: ${r.goals.timelineUnder3s ? 'met' : 'MISSED'}`,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
  const mode = get('--mode', 'record');
  const runs = Number(get('--runs', 200));
  if (!['record', 'run'].includes(mode) || !Number.isSafeInteger(runs) || runs < 1) {
    process.stderr.write('usage: node scripts/bench-race.mjs [--runs N] [--iters N] [--mode record|run] [--out DIR]\n');
    process.exit(2);
  }
  // Like bench.mjs, run a copy of dist/, so rebuilding during the (long) benchmark mixes nothing.
  const snap = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-race-dist-'));
  cpSync(path.join(ROOT, 'dist'), path.join(snap, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'package.json'), path.join(snap, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(snap, 'node_modules'), 'dir');
  let result;
  try {
    result = await benchRace({ cli: path.join(snap, path.relative(ROOT, CLI)), runs, iters: Number(get('--iters', 200)), mode });
  } finally {
    rmSync(snap, { recursive: true, force: true });
  }
  process.stdout.write(`${formatRaceRows(result)}\n`);
  const out = get('--out', path.join(ROOT, 'bench-results'));
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `race-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, loadavg: os.loadavg(), ...result }, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
}
