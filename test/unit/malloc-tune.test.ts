import { spawnSync } from 'node:child_process';
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
});
