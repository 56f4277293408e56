#!/usr/bin/env node
// Recording must not hide races (`npm run bench` runs it; also standalone):
//   node scripts/bench-outcomes.mjs [--runs N] [--out DIR]
// Runs each racy guest N times with `run`, N times with `record` and N times with `record --chaos`
// (seeds 1..N; 2 harts, 2 host threads) and compares what the race did: lost updates of smp_racy_counter, the outcome counts of
// smp_sb_litmus's unfenced store-buffering rounds, the failure rate of race_claim's check-then-act
// race. Prints a table, writes JSON.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const GUEST = (name) => path.join(ROOT, 'test/guests/bin', `${name}.elf`);

/** What one execution of each guest showed, from its console output and exit code. */
const GUESTS = {
  smp_racy_counter: {
    what: 'runs losing updates; lost updates per run (mean, max)',
    parse: (out, code) => {
      const lost = Number(/lost=(\d+)/.exec(out)?.[1] ?? NaN);
      if (code !== 0 || Number.isNaN(lost)) throw new Error(`smp_racy_counter: exit ${code}: ${out}`);
      return { lost };
    },
    summarize: (xs) => {
      const lost = xs.map((x) => x.lost);
      return { racy: lost.filter((n) => n > 0).length, mean: lost.reduce((a, b) => a + b, 0) / lost.length, max: Math.max(...lost) };
    },
    show: (s, n) => `${s.racy}/${n} runs lost updates; mean ${s.mean.toFixed(0)}, max ${s.max}`,
  },
  smp_sb_litmus: {
    what: 'unfenced store-buffering rounds by outcome (r0 r1)',
    parse: (out, code) => {
      const m = /unfenced rounds=\d+ r0r1=00:(\d+) 01:(\d+) 10:(\d+) 11:(\d+)/.exec(out);
      if (code !== 0 || !m) throw new Error(`smp_sb_litmus: exit ${code}: ${out}`);
      return { outcomes: m.slice(1).map(Number) };
    },
    summarize: (xs) => ({ outcomes: [0, 1, 2, 3].map((k) => xs.reduce((a, x) => a + x.outcomes[k], 0)) }),
    show: (s) => ['00', '01', '10', '11'].map((k, i) => `${k}: ${s.outcomes[i]}`).join(', '),
  },
  race_claim: {
    what: 'runs in which both harts claimed the slot (exit 3)',
    parse: (out, code) => {
      if (code !== 0 && code !== 3) throw new Error(`race_claim: exit ${code}: ${out}`);
      return { failed: code === 3 };
    },
    summarize: (xs) => ({ failures: xs.filter((x) => x.failed).length }),
    show: (s, n) => `${s.failures}/${n} failed`,
  },
};

export async function benchOutcomes({ cli = CLI, runs = 20, log = (s) => process.stderr.write(`${s}\n`) } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-outcomes-'));
  const trace = path.join(dir, 'outcome.trace');
  try {
    const rows = [];
    for (const [guest, g] of Object.entries(GUESTS)) {
      const row = { guest, what: g.what, runs };
      for (const mode of ['run', 'record', 'chaos']) {
        log(`bench-outcomes: ${guest}, ${runs} x ${mode} ...`);
        const seen = [];
        let seconds = 0;
        for (let i = 0; i < runs; i++) {
          const args = mode === 'run'
            ? ['run', '--harts', '2', '--threads', '2', '--timeout', '120', GUEST(guest)]
            : ['record', '--harts', '2', '--threads', '2', '--timeout', '120', ...(mode === 'chaos' ? ['--chaos', String(i + 1)] : []), '-o', trace, GUEST(guest)];
          const t = process.hrtime.bigint();
          const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
          seconds += Number(process.hrtime.bigint() - t) / 1e9;
          seen.push(g.parse(r.stdout, r.status));
        }
        row[mode] = { ...g.summarize(seen), seconds };
        row[`${mode}Shown`] = g.show(row[mode], runs);
      }
      rows.push(row);
    }
    return { runs, rows, loadavg: os.loadavg() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatOutcomeRows(result) {
  const lines = [`recording must not hide races: ${result.runs} plain runs vs ${result.runs} recordings vs ${result.runs} chaos recordings each (2 harts, 2 threads):`];
  for (const r of result.rows) {
    lines.push(`  ${r.guest} — ${r.what}`);
    lines.push(`    run:    ${r.runShown}   (${r.run.seconds.toFixed(1)} s)`);
    lines.push(`    record: ${r.recordShown}   (${r.record.seconds.toFixed(1)} s)`);
    lines.push(`    record --chaos: ${r.chaosShown}   (${r.chaos.seconds.toFixed(1)} s)`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const get = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
  const result = await benchOutcomes({ runs: Number(get('--runs', 20)) });
  process.stdout.write(`${formatOutcomeRows(result)}\n`);
  const out = get('--out', path.join(ROOT, 'bench-results'));
  mkdirSync(out, { recursive: true });
  const file = path.join(out, `outcomes-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, ...result }, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
}
