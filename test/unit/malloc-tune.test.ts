import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;

describe('host tuning (src/native/malloc-tune.c)', () => {
  // Built by `npm run build` (scripts/build-native.sh); without it the CLI still runs, slower.
  // The built CLI's copy: the module sits next to the compiled JS (dist/src/native/).
  test.runIf(process.platform === 'linux' && glibc !== undefined)('the native module is built, loads and glibc accepts the settings', async () => {
    const built: string = '../../dist/src/host/malloc-tune.js'; // a path, so tsc does not type the build output
    const { tuneHostMalloc } = (await import(built)) as typeof import('../../src/host/malloc-tune.js');
    expect(tuneHostMalloc()).toBe(true);
  });

  // exitNow: _exit through the module when no standard stream is a terminal. What was written
  // before it (synchronously, as the commands write) is out, the exit code is the one given, and
  // the process's 'exit' handlers do not run (node's wind-down is what it skips).
  test.runIf(process.platform === 'linux')('exitNow ends the process with its code, after what was written', () => {
    const built = fileURLToPath(new URL('../../dist/src/host/malloc-tune.js', import.meta.url));
    const script = `import { exitNow } from ${JSON.stringify(built)};
      process.on('exit', () => process.stdout.write('node wound down\\n'));
      process.stdout.write('x'.repeat(200000) + '\\nlast line\\n');
      exitNow(7);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(r.status).toBe(7);
    expect(r.stdout.endsWith('\nlast line\n')).toBe(true);
    expect(r.stdout.length).toBe(200000 + '\nlast line\n'.length);
    expect(r.stdout).not.toContain('node wound down');
  });

  // Node makes a stdin pipe non-blocking; its exit puts the flags back, and exitNow must too: the
  // next reader of a pipe it shared (a shell script's next command) would get EAGAIN otherwise.
  test.runIf(process.platform === 'linux')('exitNow leaves a shared stdin pipe blocking, as node\'s exit does', () => {
    const built = fileURLToPath(new URL('../../dist/src/host/malloc-tune.js', import.meta.url));
    const first = `import { tuneHostMalloc, exitNow } from ${JSON.stringify(built)};
      tuneHostMalloc(); // loads the module first, as the CLI does
      process.stdin.on('data', () => {});
      setTimeout(() => exitNow(0), 100);`;
    const next = `const b = Buffer.alloc(64); try { console.log('read ' + require('fs').readSync(0, b)); } catch (e) { console.log(e.code); }`;
    const script = `(sleep 1; echo later) | { ${JSON.stringify(process.execPath)} --input-type=module -e ${shellQuote(first)}; ${JSON.stringify(process.execPath)} -e ${shellQuote(next)}; }`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('read 6');
  });
});

describe('exitNow under node --cpu-prof', () => {
  // Node writes the profile as it exits: with _exit there would be none (profiling the CLI is how
  // docs/BENCHMARKS.md's breakdowns were made).
  test.runIf(process.platform === 'linux')('lets node exit, so the profile is written', () => {
    const built = fileURLToPath(new URL('../../dist/src/host/malloc-tune.js', import.meta.url));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-exitnow-'));
    try {
      const script = `import { exitNow } from ${JSON.stringify(built)}; exitNow(5);`;
      const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      expect(r.status).toBe(5);
      expect(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}
