import { describe, expect, test } from 'vitest';

const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;

describe('host malloc tuning (src/native/malloc-tune.c)', () => {
  // Built by `npm run build` (scripts/build-native.sh); without it the CLI still runs, slower.
  // The built CLI's copy: the module sits next to the compiled JS (dist/src/native/).
  test.runIf(process.platform === 'linux' && glibc !== undefined)('the native module is built, loads and glibc accepts the settings', async () => {
    const built: string = '../../dist/src/host/malloc-tune.js'; // a path, so tsc does not type the build output
    const { tuneHostMalloc } = (await import(built)) as typeof import('../../src/host/malloc-tune.js');
    expect(tuneHostMalloc()).toBe(true);
  });
});
