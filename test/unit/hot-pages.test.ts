import { mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { JitExecutor } from '../../src/jit/jit-executor.js';
import { HotPageList, HotPages, pageKey } from '../../src/jit/hot-pages.js';
import { hotPageFile, loadProfile, pageModuleDir, saveProfile } from '../../src/jit/hot-page-store.js';
import { pruneOldest } from '../../src/cache-dir.js';
import { JitCache, profileShape } from '../../src/host/jit-cache.js';
import { CompileService } from '../../src/host/compile-service.js';
import { RemoteCompiler, TicketState } from '../../src/jit/remote-compile.js';
import { PageModuleCache } from '../../src/jit/page-module-cache.js';
import { JitBacklog, JitShare, ListedModulePoster } from '../../src/jit/jit-share.js';
import { randomUUID } from 'node:crypto';
import { oneHartMachine } from './fake-machine.js';

const ADDI = 0x00128293; // addi t0,t0,1
const ADDI_T1 = 0x00130313; // addi t1,t1,1
const BNE_BACK = 0xfe731ee3; // bne t1,t2,-4 (back to the addi t1 before it)
const LI_T2 = 0x06400393; // li t2,100
const J_SELF = 0x0000006f; // j .

/** 8 addi t0, then a loop of 100 rounds (addi t1; bne), then j . : three blocks on one page. */
const PROGRAM = [...Array<number>(8).fill(ADDI), LI_T2, ADDI_T1, BNE_BACK, J_SELF];
const RETIRED = 8 + 1 + 2 * 100;

function runProgram(opts: ConstructorParameters<typeof JitExecutor>[3]) {
  const { hart, memory } = oneHartMachine(PROGRAM);
  const exec = new JitExecutor(hart, hart.bus, memory, { strict: true, ...opts });
  while (hart.icount < RETIRED) exec.runBlock(RETIRED - hart.icount);
  return { exec, hart, pc: hart.pc, regs: [...hart.x] };
}

let dir = '';
/** Turns the event loop until `done()` (the compile service runs on it). */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(done()).toBe(true);
}
beforeEach(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'hindsight-hot-')); });
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

describe('the JIT\'s profile of hot pages', () => {
  test('a page key follows the page\'s bytes', () => {
    const page = new Uint8Array(3 * 4096);
    page.fill(7, 4096, 8192);
    const key = pageKey(page, 4096);
    expect(pageKey(page, 4096)).toBe(key);
    expect(Number.isSafeInteger(key)).toBe(true);
    expect(pageKey(page, 0)).not.toBe(key);
    page[4096 + 4095] ^= 1;
    expect(pageKey(page, 4096)).not.toBe(key);
  });

  test('a page an earlier run compiled is compiled the first time it runs, and runs the same', () => {
    // Without a profile the page stays on the reference executor below the hotness.
    const cold = runProgram({ hotness: 1_000_000, hotPages: new HotPages([]) });
    expect(cold.exec.stats.compiles).toBe(0);
    // A run that compiled the page learns its blocks.
    const warmUp = runProgram({ hotness: 2, hotPages: new HotPages([]) });
    expect(warmUp.exec.stats.compiles).toBeGreaterThan(0);
    const learned = (warmUp.exec as unknown as { opts: { hotPages: HotPages } }).opts.hotPages.takeLearned();
    expect(learned.length).toBe(1);
    expect(learned[0][1]).toContain(0);
    // The next run compiles it at once, far below the hotness, and ends in the same state.
    const primed = runProgram({ hotness: 1_000_000, hotPages: new HotPages(learned) });
    expect(primed.exec.stats.compiles).toBe(1);
    expect(primed.exec.stats.referenceInsns).toBeLessThan(cold.exec.stats.referenceInsns / 4);
    for (const r of [warmUp, primed]) {
      expect(r.pc).toBe(cold.pc);
      expect(r.regs).toEqual(cold.regs);
    }
  });

  test('the profile file: saved only when a run adds something, merged, and a damaged one reads as empty', () => {
    const file = path.join(dir, 'p.json');
    const pages = (list: HotPageList) => ({ pages: list, modules: [] });
    expect(loadProfile(file)).toEqual({ ...pages([]), moduleIdle: [] });
    saveProfile(file, pages([]), pages([]));
    expect(readdirSync(dir)).toEqual([]);
    saveProfile(file, pages([]), pages([[12345, [0, 8, 4]]]));
    expect(loadProfile(file).pages).toEqual([[12345, [0, 4, 8]]]);
    const before = readFileSync(file, 'utf8');
    saveProfile(file, loadProfile(file), pages([[12345, [4]]]));
    expect(readFileSync(file, 'utf8')).toBe(before); // nothing new: not rewritten
    saveProfile(file, loadProfile(file), pages([[12345, [16]], [99, [2]]]));
    expect(loadProfile(file).pages).toEqual([[12345, [0, 4, 8, 16]], [99, [2]]]);
    writeFileSync(file, '{"format":"hindsight-jit-profile-1","pages":[[1,[3]],[2,[4096]],["x",[0]],[5,[6]]],"modules":["ab",7,"' + 'c'.repeat(40) + '"]}');
    expect(loadProfile(file)).toEqual({ pages: [[5, [6]]], modules: ['c'.repeat(40)], moduleIdle: [0] }); // odd and out-of-page offsets, bad keys dropped
    writeFileSync(file, 'not json');
    expect(loadProfile(file)).toEqual({ ...pages([]), moduleIdle: [] });
  });

  test('a page never lists more offsets than a module holds blocks: over that, the run\'s own offsets or nothing', () => {
    const file = path.join(dir, 'p.json');
    const evens = (from: number, n: number) => Array.from({ length: n }, (_, k) => from + 2 * k);
    saveProfile(file, loadProfile(file), { pages: [[1, evens(0, 500)], [2, evens(0, 10)], [3, evens(0, 400)]], modules: [] });
    expect(loadProfile(file).pages.map(([key, offs]) => [key, offs.length])).toEqual([[1, 500], [2, 10], [3, 400]]);
    // Page 1 would grow to 520: this run's 20 offsets replace it. Page 3's run alone lists 600: dropped.
    saveProfile(file, loadProfile(file), { pages: [[1, evens(1000, 20)], [3, evens(0, 600)]], modules: [] });
    expect(loadProfile(file).pages).toEqual([[1, evens(1000, 20)], [2, evens(0, 10)]]);
    // A file written before the bound (or by hand) loses its oversized pages when read.
    writeFileSync(file, JSON.stringify({ format: 'hindsight-jit-profile-1', pages: [[7, evens(0, 513)], [8, [4]]], modules: [] }));
    expect(loadProfile(file).pages).toEqual([[8, [4]]]);
  });

  test('the profile lists the modules the last run used, in its order, before older ones', () => {
    const file = path.join(dir, 'p.json');
    const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(40));
    saveProfile(file, loadProfile(file), { pages: [], modules: [a, b] });
    expect(loadProfile(file).modules).toEqual([a, b]);
    const before = readFileSync(file, 'utf8');
    saveProfile(file, loadProfile(file), { pages: [], modules: [a, b] });
    saveProfile(file, loadProfile(file), { pages: [], modules: [] }); // a run that used none keeps the list
    expect(readFileSync(file, 'utf8')).toBe(before);
    saveProfile(file, loadProfile(file), { pages: [], modules: [c, b] });
    expect(loadProfile(file).modules).toEqual([c, b, a]);
  });

  test('a listed module no run used for three runs in a row leaves the list (the main thread stops compiling it ahead)', () => {
    const file = path.join(dir, 'p.json');
    const [a, b, c] = ['a', 'b', 'c'].map((x) => x.repeat(40));
    saveProfile(file, loadProfile(file), { pages: [], modules: [a, b, c] });
    saveProfile(file, loadProfile(file), { pages: [], modules: [b] });
    expect(loadProfile(file)).toMatchObject({ modules: [b, a, c], moduleIdle: [0, 1, 1] });
    saveProfile(file, loadProfile(file), { pages: [], modules: [c] });
    expect(loadProfile(file)).toMatchObject({ modules: [c, b, a], moduleIdle: [0, 1, 2] });
    saveProfile(file, loadProfile(file), { pages: [], modules: [] }); // used none: ages none
    expect(loadProfile(file)).toMatchObject({ modules: [c, b, a], moduleIdle: [0, 1, 2] });
    saveProfile(file, loadProfile(file), { pages: [], modules: [c] });
    expect(loadProfile(file)).toMatchObject({ modules: [c, b], moduleIdle: [0, 2] });
    // A file from before the ages: every module counts as used by the last run.
    writeFileSync(file, JSON.stringify({ format: 'hindsight-jit-profile-1', pages: [], modules: [a, b] }));
    expect(loadProfile(file)).toMatchObject({ modules: [a, b], moduleIdle: [0, 0] });
  });

  test('a full cache directory is pruned with slack: down to 4/5 of the bound, oldest first, then left alone', () => {
    const names = Array.from({ length: 11 }, (_, k) => `m${k}.bin`);
    names.forEach((name, k) => {
      writeFileSync(path.join(dir, name), 'x');
      utimesSync(path.join(dir, name), 1_000_000 + k, 1_000_000 + k); // m0 oldest
    });
    writeFileSync(path.join(dir, 'other.json'), '{}');
    pruneOldest(dir, '.bin', 10);
    expect(readdirSync(dir).filter((f) => !f.startsWith('.')).sort()).toEqual(['m10.bin', 'm3.bin', 'm4.bin', 'm5.bin', 'm6.bin', 'm7.bin', 'm8.bin', 'm9.bin', 'other.json']);
    writeFileSync(path.join(dir, 'm11.bin'), 'x');
    writeFileSync(path.join(dir, 'm12.bin'), 'x');
    pruneOldest(dir, '.bin', 10); // 10 files: within the bound, nothing goes
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin')).length).toBe(10);
    // A directory nobody added to since the last look is not listed again (its mtime against the
    // marker's): with the marker in the future, even 12 files stay; a new file makes it look.
    writeFileSync(path.join(dir, 'm13.bin'), 'x');
    writeFileSync(path.join(dir, 'm14.bin'), 'x');
    const marker = readdirSync(dir).find((f) => f.startsWith('.pruned'))!;
    expect(marker.endsWith('.bin')).toBe(false); // never a candidate itself
    utimesSync(path.join(dir, marker), 4_000_000_000, 4_000_000_000);
    pruneOldest(dir, '.bin', 10);
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin')).length).toBe(12);
    utimesSync(path.join(dir, marker), 1_000, 1_000);
    pruneOldest(dir, '.bin', 10);
    expect(readdirSync(dir).filter((f) => f.endsWith('.bin')).length).toBe(8);
  });

  test('the profile file is named by the boot images and the machine\'s shape (harts, command), not by the disks', () => {
    const kernel = new Uint8Array(10000).fill(1);
    const shape = profileShape(1, 'run');
    const a = hotPageFile([{ role: 'kernel', bytes: kernel }], shape);
    expect(hotPageFile([{ role: 'kernel', bytes: kernel }, { role: 'disk', bytes: new Uint8Array(5) }], shape)).toBe(a);
    const other = kernel.slice();
    other[4096] = 2;
    expect(hotPageFile([{ role: 'kernel', bytes: other }], shape)).not.toBe(a);
    expect(hotPageFile([{ role: 'kernel', bytes: kernel }], profileShape(4, 'run'))).not.toBe(a);
    expect(hotPageFile([{ role: 'kernel', bytes: kernel }], profileShape(1, 'replay'))).not.toBe(a);
    expect(path.dirname(a)).not.toBe(pageModuleDir());
  });
});

describe('compiled page modules kept between runs', () => {
  test('a second run takes the module from the cache and runs the same; a damaged file is a miss', () => {
    const cache = () => new PageModuleCache(dir, 'test-build');
    const first = runProgram({ hotness: 2, pageCache: cache() });
    expect(first.exec.stats.compiles).toBeGreaterThan(0);
    expect(first.exec.stats.cachedCompiles).toBe(0);
    const files = readdirSync(dir).filter((f) => f.endsWith('.bin'));
    expect(files.length).toBe(1); // one per page state: a recompile replaces it
    const second = runProgram({ hotness: 2, pageCache: cache() });
    expect(second.exec.stats.cachedCompiles).toBe(second.exec.stats.compiles);
    expect(second.exec.stats.compiledInsns).toBe(0);
    expect(second.pc).toBe(first.pc);
    expect(second.regs).toEqual(first.regs);
    // Another build never reads these modules.
    const otherBuild = runProgram({ hotness: 2, pageCache: new PageModuleCache(dir, 'another-build') });
    expect(otherBuild.exec.stats.cachedCompiles).toBe(0);
    // A flipped byte in a module: its digest no longer matches, so it is compiled again.
    for (const f of files) {
      const bytes = readFileSync(path.join(dir, f));
      bytes[bytes.length - 3] ^= 0x40;
      writeFileSync(path.join(dir, f), bytes);
    }
    const damaged = runProgram({ hotness: 2, pageCache: cache() });
    expect(damaged.exec.stats.cachedCompiles).toBe(0);
    expect(damaged.regs).toEqual(first.regs);
  });

  test('a kept module that misses some of a run\'s entries is compiled again with both entry sets, so runs of either kind then take it', () => {
    // Two kinds of run prime the same page content with different entries (a 1- and a 4-hart boot
    // of one kernel): each used to rewrite the other's file with its own entries, and missed it.
    const key = (() => {
      const warmUp = runProgram({ hotness: 2, hotPages: new HotPages([]) });
      return (warmUp.exec as unknown as { opts: { hotPages: HotPages } }).opts.hotPages.takeLearned()[0][0];
    })();
    const cache = () => new PageModuleCache(dir, 'test-build');
    const primedAt = (offsets: number[]) => runProgram({ hotness: 1_000_000, hotPages: new HotPages([[key, offsets]]), pageCache: cache() });
    const a = primedAt([0]);
    expect(a.exec.stats).toMatchObject({ compiles: 1, cachedCompiles: 0 });
    const b = primedAt([8]); // an entry a's module does not cover (the 3rd ADDI)
    expect(b.exec.stats.cachedCompiles).toBe(0);
    const [file] = readdirSync(dir).filter((f) => f.endsWith('.bin'));
    const entries = (cache().read(file.replace(/\.bin$/, ''))!).entries;
    expect(entries).toEqual(expect.arrayContaining([0, 8]));
    for (const offsets of [[0], [8], [0, 8]]) {
      const again = primedAt(offsets);
      expect(again.exec.stats.cachedCompiles).toBe(again.exec.stats.compiles);
      expect(again.exec.stats.compiledInsns).toBe(0);
      expect(again.pc).toBe(a.pc);
      expect(again.regs).toEqual(a.regs);
    }
    expect(b.regs).toEqual(a.regs);
  });

  test('each instruction of a page is compiled once, however many blocks start inside another', () => {
    // Offset 36 (the loop head) starts a block inside the one at 0: that one now ends there (it
    // compiled 9 + 2 of the loop's instructions twice before). `j .` is a spin the reference runs.
    const r = runProgram({ hotness: 2 });
    expect(r.exec.stats.compiles).toBe(1);
    expect(r.exec.stats.compiledInsns).toBe(PROGRAM.length - 1);
    const reference = runProgram({ hotness: 1_000_000 });
    expect(reference.exec.stats.compiles).toBe(0);
    expect(r.pc).toBe(reference.pc);
    expect(r.regs).toEqual(reference.regs);
  });

  test('a module the main thread compiled ahead reaches the hart with its header: the hart does not read its file', async () => {
    vi.stubEnv('HINDSIGHT_CACHE', dir); // undone after each test
    const images = [{ role: 'kernel', bytes: new Uint8Array(PROGRAM.length * 4) }];
    const first = JitCache.open(images, '1 harts, run', 'test-build')!;
    const run = first.executorCache();
    const reference = runProgram({ hotness: 2, hotPages: run.hotPages, pageCache: run.pageCache });
    run.save();
    const next = JitCache.open(images, '1 harts, run', 'test-build')!;
    expect(next.listed.length).toBe(1);
    // The coordinator's wiring (host/coordinator.ts): the service hands each module it compiled ahead to the machine's channel.
    const spec = { channel: `hindsight-test-${randomUUID()}`, published: new Int32Array(new SharedArrayBuffer(4)), heat: new Int32Array(new SharedArrayBuffer(4 << 16)) };
    const share = new JitShare(spec);
    const poster = new ListedModulePoster(spec);
    const handed: string[] = [];
    const service = new CompileService(next.listed.length, next.ahead(), (listed) => { handed.push(listed.key); poster.post(listed); });
    const served = service.serve();
    await until(() => Atomics.load(service.board, 1) === TicketState.Done);
    service.close();
    expect(await served).toMatchObject({ precompiled: 1 });
    expect(handed).toEqual(next.listed);
    poster.post({ key: "zz", entries: [], offsets: [], tails: new Map(), module: new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])) });
    // Its file is gone now: only the main thread's module can answer the hart.
    rmSync(path.join(pageModuleDir(), `${next.listed[0]}.bin`));
    const again = next.executorCache();
    const r = runProgram({ hotness: 2, hotPages: again.hotPages, pageCache: again.pageCache, share });
    expect(r.exec.stats).toMatchObject({ cachedCompiles: 1, fromMainThread: 1, compiles: 1 });
    expect(r.pc).toBe(reference.pc);
    expect(r.regs).toEqual(reference.regs);
    // Still listed for the next run (the profile's aging counts it as used).
    expect(again.pageCache!.takeUsed().map(([key]) => key)).toEqual(next.listed);
    share.close();
    poster.close();
  });

  test('the modules a run used are listed in order, and the main thread compiles them ahead for the next one', async () => {
    vi.stubEnv('HINDSIGHT_CACHE', dir); // undone after each test
    const images = [{ role: 'kernel', bytes: new Uint8Array(PROGRAM.length * 4) }];
    const first = JitCache.open(images, '1 harts, run', 'test-build')!;
    expect(first.listed).toEqual([]);
    const run = first.executorCache();
    runProgram({ hotness: 2, hotPages: run.hotPages, pageCache: run.pageCache });
    run.save();
    const modules = loadProfile(hotPageFile(images, '1 harts, run')).modules;
    expect(modules.length).toBe(1);
    expect(readdirSync(pageModuleDir()).filter((f) => f.endsWith('.bin'))).toEqual([`${modules[0]}.bin`]);
    // The next run's service compiles it and marks its ticket (1) done.
    const next = JitCache.open(images, '1 harts, run', 'test-build')!;
    expect(next.listed).toEqual(modules);
    const service = new CompileService(next.listed.length, next.ahead());
    const served = service.serve();
    await until(() => Atomics.load(service.board, 1) === TicketState.Done);
    service.close();
    expect(await served).toMatchObject({ precompiled: 1, unusable: 0, served: 0 });
    // A module the run then reads is listed again (its key, not a second one).
    const again = next.executorCache();
    const second = runProgram({ hotness: 2, hotPages: again.hotPages, pageCache: again.pageCache });
    expect(second.exec.stats.cachedCompiles).toBe(1);
    expect(again.pageCache!.takeUsed().map(([key]) => key)).toEqual(modules);
    // A damaged file is skipped, its ticket left for a hart to ask for, and the list drops it.
    const bin = path.join(pageModuleDir(), `${modules[0]}.bin`);
    const bytes = readFileSync(bin);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(bin, bytes);
    const third = JitCache.open(images, '1 harts, run', 'test-build')!;
    const broken = new CompileService(third.listed.length, third.ahead());
    const servedBroken = broken.serve();
    await until(() => broken.unusable.size === 1);
    broken.close();
    expect(await servedBroken).toMatchObject({ precompiled: 0, unusable: 1 });
    expect(Atomics.load(broken.board, 1)).toBe(TicketState.Pending);
    third.save([], [], [...broken.unusable].map((t) => third.listed[t - 1]));
    expect(loadProfile(hotPageFile(images, '1 harts, run')).modules).toEqual([]);
  });

  test('a shape\'s first run starts from another shape\'s profile of the same images, and keeps its own once it learns something else', () => {
    vi.stubEnv('HINDSIGHT_CACHE', dir); // undone after each test
    const images = [{ role: 'kernel', bytes: new Uint8Array(PROGRAM.length * 4) }];
    const runs = JitCache.open(images, profileShape(1, 'run'), 'test-build')!;
    const run = runs.executorCache();
    runProgram({ hotness: 2, hotPages: run.hotPages, pageCache: run.pageCache });
    run.save();
    const runModules = loadProfile(hotPageFile(images, profileShape(1, 'run'))).modules;
    expect(runModules.length).toBe(1);
    // A first recording: no profile of its own yet, so the runs' list and pages.
    const shapes = [profileShape(1, 'record'), profileShape(1, 'run')];
    const recording = JitCache.open(images, shapes, 'test-build')!;
    expect(recording.listed).toEqual(runModules);
    expect(recording.known.length).toBeGreaterThan(0);
    const rec = recording.executorCache();
    const primed = runProgram({ hotness: 1_000_000, hotPages: rec.hotPages, pageCache: rec.pageCache });
    expect(primed.exec.stats.cachedCompiles).toBe(1); // compiled at once, from the runs' module
    const runsFile = readFileSync(hotPageFile(images, profileShape(1, 'run')), 'utf8');
    recording.save([[12345, [4]]], rec.pageCache!.takeUsed()); // it learned something the runs did not: saved under its own shape
    expect(loadProfile(hotPageFile(images, profileShape(1, 'record'))).modules).toEqual(runModules);
    expect(readFileSync(hotPageFile(images, profileShape(1, 'run')), 'utf8')).toBe(runsFile);
    expect(JitCache.open(images, shapes, 'test-build')!.known).toEqual(expect.arrayContaining([[12345, [4]]]));
    // Other shapes start empty.
    expect(JitCache.open(images, profileShape(1, 'replay'), 'test-build')!.listed).toEqual([]);
    expect(JitCache.open(images, [profileShape(2, 'record'), profileShape(2, 'run')], 'test-build')!.listed).toEqual([]);
  });

  test('a page compiled on another thread runs from its next entry, the same as compiled here', async () => {
    const service = new CompileService(0, null);
    const served = service.serve();
    const posted: number[] = [];
    const compiler = new RemoteCompiler(service.board, [], (ticket, bytes) => { posted.push(ticket); service.request(ticket, bytes); });
    // The program runs on the reference executor while the ticket is pending (no event loop turn
    // inside runProgram), so give it a second program run after the service answered.
    const { hart, memory } = oneHartMachine(PROGRAM);
    const exec = new JitExecutor(hart, hart.bus, memory, { strict: true, hotness: 2, compiler });
    while (hart.icount < 50) exec.runBlock(50 - hart.icount);
    expect(posted).toEqual([1]);
    expect(exec.stats.compiledElsewhere).toBe(0);
    await until(() => compiler.state(1) === TicketState.Done);
    while (hart.icount < RETIRED) exec.runBlock(RETIRED - hart.icount);
    expect(exec.stats.compiledElsewhere).toBe(1);
    expect(exec.stats.wasmInsns).toBeGreaterThan(0);
    const here = runProgram({ hotness: 2 });
    expect(hart.pc).toBe(here.pc);
    expect([...hart.x]).toEqual(here.regs);
    // Bytes that do not compile there fail the ticket: the page stays on the reference executor.
    const bad = new RemoteCompiler(service.board, [], (ticket) => service.request(ticket, new Uint8Array([0, 1, 2])));
    const m2 = oneHartMachine(PROGRAM);
    const exec2 = new JitExecutor(m2.hart, m2.hart.bus, m2.memory, { hotness: 2, compiler: bad });
    while (m2.hart.icount < 50) exec2.runBlock(50 - m2.hart.icount);
    await until(() => bad.state(2) === TicketState.Failed);
    while (m2.hart.icount < RETIRED) exec2.runBlock(RETIRED - m2.hart.icount);
    expect(exec2.stats.compiledElsewhere).toBe(0);
    expect(exec2.stats.wasmInsns).toBe(0);
    expect([...m2.hart.x]).toEqual(here.regs);
    service.close();
    expect(await served).toMatchObject({ served: 2, failed: 1 });
  });

  test('a profile list survives the trip through a worker message unchanged', () => {
    const list: HotPageList = [[2 ** 52 - 1, [0, 2, 4094]]];
    expect(structuredClone(list)).toEqual(list);
    const hot = new HotPages(list);
    expect(hot.offsetsFor(2 ** 52 - 1)).toEqual([0, 2, 4094]);
    expect(hot.size).toBe(1);
  });
});

describe('jit/jit-share.ts: pages and module files on the machine\'s channel', () => {
  test('what one thread publishes reaches another whole: offsets, tails and entries as they were sent', async () => {
    const spec = { channel: `hindsight-test-${randomUUID()}`, published: new Int32Array(new SharedArrayBuffer(4)), heat: new Int32Array(new SharedArrayBuffer(4 << 16)) };
    const sender = new JitShare(spec);
    const receiver = new JitShare(spec);
    const poster = new ListedModulePoster(spec);
    const module = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    const tails = new Map([[6, 3], [4094, 1], [0, 2047]]);
    sender.publish({ ramPage: 7, vbase: -(1n << 31n) + 0x7000n, gen: 3, offsets: [0, 2, 4094], tails, module });
    poster.post({ key: 'k1', entries: [0, 8], offsets: [0, 8, 12], tails: new Map([[10, 1]]), module });
    // The channel delivers asynchronously; the harts poll with receiveMessageOnPort.
    await until(() => receiver.listedModule('k1') !== undefined);
    expect(receiver.get(7)).toEqual({ ramPage: 7, vbase: -(1n << 31n) + 0x7000n, gen: 3, offsets: [0, 2, 4094], tails, module: expect.any(WebAssembly.Module) });
    expect(receiver.get(7)!.tails).toBeInstanceOf(Map);
    expect(receiver.listedModule('k1')).toEqual({ key: 'k1', entries: [0, 8], offsets: [0, 8, 12], tails: new Map([[10, 1]]), module: expect.any(WebAssembly.Module) });
    expect(sender.get(7)!.offsets).toEqual([0, 2, 4094]); // the publisher keeps its own
    sender.close();
    receiver.close();
    poster.close();
  });

  test('a thread started late begins with what the channel carried before it (JitBacklog): the latest module of each page, every listed file', async () => {
    const spec = { channel: `hindsight-test-${randomUUID()}`, published: new Int32Array(new SharedArrayBuffer(4)), heat: new Int32Array(new SharedArrayBuffer(4 << 16)) };
    const backlog = new JitBacklog(spec.channel);
    const early = new JitShare(spec);
    const poster = new ListedModulePoster(spec);
    const module = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    early.publish({ ramPage: 7, vbase: 0x7000n, gen: 1, offsets: [0], tails: new Map(), module });
    early.publish({ ramPage: 7, vbase: 0x7000n, gen: 2, offsets: [0, 4], tails: new Map([[2, 1]]), module }); // compiled again: the later one counts
    early.publish({ ramPage: 9, vbase: 0x9000n, gen: 1, offsets: [8], tails: new Map(), module });
    poster.post({ key: 'k1', entries: [0], offsets: [0], tails: new Map(), module });
    await until(() => backlog.messages().length === 3);
    const late = new JitShare(spec, backlog.messages());
    expect(late.get(7)).toEqual({ ramPage: 7, vbase: 0x7000n, gen: 2, offsets: [0, 4], tails: new Map([[2, 1]]), module: expect.any(WebAssembly.Module) });
    expect(late.get(9)?.offsets).toEqual([8]);
    expect(late.listedModule('k1')?.entries).toEqual([0]);
    expect(late.get(8)).toBeUndefined();
    for (const c of [backlog, early, poster, late]) c.close();
  });
});
