// Record/replay rows of `npm run bench`: what recording costs and what a trace weighs.
// For each 2-hart guest: plain run, parallel and serial recording, parallel and serial replay,
// `record --migrate` (its vs record: against the plain parallel recording), all timed as whole
// processes on the same machine, with the trace size and event counts the
// recorder reports. Low sharing = bench_parallel (private data per hart); high sharing =
// smp_racy_counter, smp_mp_litmus and smp_sb_litmus (harts hammer shared pages).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median } from './bench-boot.mjs';

const STATS = /^ {2}total: (\d+) instructions in ([\d.]+) s/m;
const SUMMARY = /recorded .*\((\d+) total\) in ([\d.]+) s; events: (.*); ([\d.]+) KiB/;

function parseRecordSummary(stderr) {
  const m = SUMMARY.exec(stderr);
  if (!m) return null;
  const events = Object.fromEntries(m[3].split(', ').map((kv) => { const [k, v] = kv.split(' '); return [k, Number(v)]; }));
  return { instructions: Number(m[1]), seconds: Number(m[2]), events, traceBytes: Number(m[4]) * 1024 };
}

/**
 * Run, record and replay use each tier in `tiers` (`--tier`). `guestVsRun` compares guest wall
 * times (--stats / the recorder's own figure), `vsRun` whole processes. Each guest is measured in
 * `repeats` rounds (one on the reference tier, whose rows are long and only for comparison), each
 * round running every mode once in turn (replays: that round's traces); a row is the median of its
 * rounds, so host drift moves all of a guest's rows alike.
 * @param {{ cli: string, tiers?: string[], repeats?: number, guests: Record<string, {elf: string, args: string[], sharing: string}>, run: Function, log: Function }} ctx
 * @returns {Promise<{rows: object[], problems: string[]}>}
 */
export async function benchRecordReplay({ cli, tiers = ['reference'], repeats = 3, guests, run, log }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-rr-'));
  const rows = [];
  const problems = [];
  try {
    for (const tier of tiers) for (const [name, g] of Object.entries(guests)) {
      const base = ['--tier', tier, '--harts', '2', '--mem', '128M', ...g.args];
      const rounds = tier === 'reference' ? 1 : repeats;
      log(`record/replay ${name} (${tier}, ${rounds} round${rounds > 1 ? 's' : ''}) ...`);
      /** Per mode, in the order the rows are printed: each round's {seconds, guestSeconds, summary}. */
      const samples = new Map();
      const note = (mode, sample) => { if (!samples.has(mode)) samples.set(mode, []); samples.get(mode).push(sample); };
      for (let round = 0; round < rounds; round++) {
        const plain = await run(process.execPath, [cli, 'run', '--stats', ...base, g.elf], 3600);
        if (plain.code !== 0) problems.push(`${name}: run exited ${plain.code}`);
        const st = STATS.exec(plain.stderr);
        note('run', { seconds: plain.seconds, guestSeconds: st ? Number(st[2]) : null });
        for (const sched of ['parallel', 'serial']) {
          const trace = path.join(dir, `${name}-${tier}-${sched}-${round}.trace`);
          const rec = await run(process.execPath, [cli, 'record', '--sched', sched, '-o', trace, ...base, g.elf], 3600);
          const summary = parseRecordSummary(rec.stderr);
          if (rec.code !== 0 || !summary) { problems.push(`${name}: record --sched ${sched} failed (exit ${rec.code})`); continue; }
          note(`record ${sched}`, { seconds: rec.seconds, guestSeconds: summary.seconds, summary });
          if (sched === 'parallel') {
            // Hart migration (record --migrate, experimental): what it costs or saves on this host as it is.
            const mig = await run(process.execPath, [cli, 'record', '--migrate', '-o', `${trace}.migrate`, ...base, g.elf], 3600);
            const ms = parseRecordSummary(mig.stderr);
            if (mig.code !== 0 || !ms) problems.push(`${name}: record --migrate failed (exit ${mig.code})`);
            else note('record parallel --migrate', { seconds: mig.seconds, guestSeconds: ms.seconds, summary: ms });
          }
          // 'default': no --sched, what a user gets (replay-session.ts picks serial for a parallel
          // trace when cross-thread hand-offs would cost more than running its harts on one thread).
          for (const rs of sched === 'parallel' ? ['default', 'parallel', 'serial'] : ['serial']) {
            const schedArgs = rs === 'default' ? [] : ['--sched', rs];
            const rep = await run(process.execPath, [cli, 'replay', '--tier', tier, '--quiet', ...schedArgs, trace], 3600);
            const chose = /replayed .* \((serial|parallel)/.exec(rep.stderr)?.[1];
            if (rep.code !== 0) problems.push(`${name}: replay ${schedArgs.join(' ') || '(default)'} of a ${sched} trace exited ${rep.code}: ${rep.stderr.trim()}`);
            else note(rs === 'default' ? `replay default=${chose ?? '?'} (${sched} trace)` : `replay ${rs} (${sched} trace)`, { seconds: rep.seconds });
          }
        }
      }
      const at = (mode, key) => median((samples.get(mode) ?? []).map((x) => x[key]));
      const runSeconds = at('run', 'seconds');
      const runGuest = at('run', 'guestSeconds');
      for (const [mode, list] of samples) {
        const seconds = at(mode, 'seconds');
        const row = { tier, guest: name, sharing: g.sharing, mode, rounds: list.length, seconds, samples: list.map((x) => x.seconds) };
        if (mode === 'run') row.guestSeconds = runGuest;
        else row.vsRun = seconds / runSeconds;
        const recordOf = mode.startsWith('replay') ? `record ${mode.includes('(parallel') ? 'parallel' : 'serial'}` : mode === 'record parallel --migrate' ? 'record parallel' : null;
        if (recordOf && samples.has(recordOf)) row.vsRecord = seconds / at(recordOf, 'seconds');
        const summary = list[list.length - 1].summary;
        if (summary) {
          row.guestSeconds = at(mode, 'guestSeconds');
          row.guestVsRun = runGuest ? row.guestSeconds / runGuest : null;
          row.instructions = summary.instructions;
          row.traceBytes = summary.traceBytes;
          row.bytesPerMInsn = summary.traceBytes / (summary.instructions / 1e6);
          if (mode !== 'record parallel --migrate') {
            const events = Object.values(summary.events).reduce((a, b) => a + b, 0);
            Object.assign(row, { events, eventsPerSecond: events / seconds, transfersPerSecond: (summary.events.release ?? 0) / seconds, eventsByKind: summary.events });
          }
        }
        rows.push(row);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, problems };
}

/**
 * Recording's whole-process overhead on one guest, measured in `pairs` alternating run/record
 * pairs (the order flips every pair) and summarised as the median of the per-pair ratios: the
 * host's speed drifts by 10-30% over minutes, which moves the 3-round medians of the table's
 * "vs run" column by as much as the overhead being measured; a pair's two runs see the same host.
 * @returns {Promise<{guest: string, pairs: number, ratios: number[], medianRatio: number, runSeconds: number, recordSeconds: number, goal: number, met: boolean}>}
 */
export async function pairedRecordOverhead({ cli, guest, elf, args, pairs, goal, run, log }) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-pair-'));
  const base = ['--tier', 'jit', '--harts', '2', '--mem', '128M', ...args, elf];
  log(`record/run paired ${guest} (${pairs} pairs) ...`);
  const runs = [];
  const records = [];
  const timed = async (mode, extra) => {
    const r = await run(process.execPath, [cli, mode, ...extra, ...base], 3600);
    if (r.code !== 0) throw new Error(`${guest}: ${mode} exited ${r.code}`);
    return r.seconds;
  };
  try {
    for (let i = 0; i < pairs; i++) {
      for (const mode of i % 2 === 0 ? ['run', 'record'] : ['record', 'run']) {
        if (mode === 'run') runs.push(await timed('run', []));
        else records.push(await timed('record', ['-o', path.join(dir, `${i}.trace`)]));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ratios = records.map((s, i) => s / runs[i]);
  const medianRatio = median(ratios);
  return { guest, pairs, ratios, medianRatio, runSeconds: median(runs), recordSeconds: median(records), goal, met: medianRatio <= goal };
}

export function formatPairedOverhead(p) {
  return `record/run, whole process, ${p.guest} (low sharing, jit, 2 harts): median of ${p.pairs} paired ratios ${p.medianRatio.toFixed(3)}x `
    + `(run ${p.runSeconds.toFixed(3)} s, record ${p.recordSeconds.toFixed(3)} s; pairs ${Math.min(...p.ratios).toFixed(2)}-${Math.max(...p.ratios).toFixed(2)}x); `
    + `goal <= ${p.goal}x: ${p.met ? 'met' : 'missed'}`;
}

export function formatRecordRows(rows) {
  const fmt = (n, d) => (n === undefined || n === null || !Number.isFinite(n) ? '' : n.toFixed(d));
  const table = [['guest (2 harts)', 'tier', 'sharing', 'mode', 'seconds', 'guest s', 'vs run', 'guest vs run', 'vs record', 'trace KiB', 'bytes/M insn', 'events/s', 'transfers/s']];
  for (const r of rows) {
    table.push([r.guest, r.tier ?? '', r.sharing, r.mode, fmt(r.seconds, 2), fmt(r.guestSeconds, 2), r.vsRun ? `${fmt(r.vsRun, 2)}x` : '',
      r.guestVsRun ? `${fmt(r.guestVsRun, 2)}x` : '', r.vsRecord ? `${fmt(r.vsRecord, 2)}x` : '',
      fmt(r.traceBytes / 1024, 1), fmt(r.bytesPerMInsn, 0), fmt(r.eventsPerSecond, 0), fmt(r.transfersPerSecond, 0)]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const lines = table.map((row) => row.map((c, i) => (i >= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  lines.push('seconds: whole-process wall time (includes ~0.2 s start-up), the median of the rounds (each round runs every mode once); vs run/record: time ratios on the same guest.');
  lines.push('guest s: guest wall time (run --stats, the recorder\'s own figure); guest vs run: record/run on that time.');
  return lines;
}
