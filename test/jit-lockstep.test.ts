import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EXPECTED, guest, hindsight, stableLines } from './support/tools.js';
import { lockstep } from './support/lockstep.js';
import { DEFAULT_TIER } from '../src/jit/tier.js';

/**
 * Differential testing of the wasm JIT (src/jit/) against the reference executor: both run the
 * same guest in this thread on virtual time; after every JIT runBlock (which may span many
 * compiled blocks) the reference catches up to the same icount and the complete hart state
 * (x registers, pc, icount, privilege, every CSR slot, the LR reservation) must be identical.
 */
const GUESTS: [string, string][] = [
  ['isa_rv64i', ''], ['isa_rv64m', ''], ['isa_rv64a', ''], ['isa_rvc', ''], ['isa_zicsr', ''],
  ['isa_fencei', ''], ['isa_misaligned', ''], ['mmu_sv39', ''], ['mmu_sv48', ''], ['priv_traps', ''],
  ['irq_timer', ''], ['isa_htif', ''], ['hello', ''], ['bench_compute', 'iters=3'], ['isa_zb', ''],
  ['irq_sstc', ''], ['bench_fp', 'iters=300'],
];

/** The tier the rest of the suite does not run on by default. */
const OTHER_TIER = DEFAULT_TIER === 'jit' ? 'reference' : 'jit';

const golden = (name: string) => readFileSync(join(EXPECTED, `${name}.out`), 'latin1');

describe('JIT and reference executor in lockstep (state compared after every JIT block)', () => {
  test.each(GUESTS)('%s: compile everything at once (hotness 1)', async (name, append) => {
    const r = await lockstep(guest(name), append, { maxInsns: 50_000_000, jit: { hotness: 1 } });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe(r.referenceConsole);
    expect(r.jitStats.wasmInsns).toBeGreaterThan(0);
    if (name.startsWith('irq_sstc')) expect(r.console).toBe(golden('irq_sstc')); // the Sstc timer on virtual time
    // These move between compiled pages inside wasm (jit/chain.ts), under paging and across FENCE.I too.
    if (['isa_rv64i', 'isa_fencei', 'mmu_sv39', 'mmu_sv48', 'priv_traps'].includes(name)) expect(r.jitStats.chained).toBeGreaterThan(0);
  });

  // The hot tier (codegen.ts regsInLocals: guest registers in wasm locals, stored back by the exit
  // tail) on every page from its first compile: every exit path must leave the registers in the hart block.
  test.each(GUESTS)('%s: every page in the hot tier (registers in wasm locals)', async (name, append) => {
    const r = await lockstep(guest(name), append, { maxInsns: 50_000_000, jit: { hotness: 1, hotTierSlices: 0 } });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe(r.referenceConsole);
    expect(r.jitStats.wasmInsns).toBeGreaterThan(0);
  });

  test('bench_compute: pages go to the hot tier while they run (recompiled mid-run, in lockstep)', async () => {
    const r = await lockstep(guest('bench_compute'), 'iters=3', { maxInsns: 20_000_000, jit: { hotness: 1, hotTierSlices: 4 } });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe(r.referenceConsole);
    expect(r.jitStats.hotTier).toBeGreaterThan(0);
  });

  test.each(GUESTS.filter(([n]) => ['isa_rv64i', 'mmu_sv39', 'priv_traps', 'bench_compute', 'isa_zb'].includes(n)))(
    '%s: default hotness, small budgets (exact stops inside compiled code)', async (name, append) => {
      const r = await lockstep(guest(name), append, { maxInsns: 20_000_000, budget: 37 });
      expect(r.divergence).toBeNull();
      expect(r.console).toBe(r.referenceConsole);
    });

  // isa_fd touches fcsr around every operation (CSR ops leave compiled code), so its JIT blocks are
  // a few instructions long and comparing the whole state after each makes the full guest take
  // minutes: the state checks, every static/dynamic rounding-mode case and the first sweeps are
  // compared here; the whole guest runs on both tiers against the golden output below and in isa.test.ts.
  test('isa_fd: the first 1.2M instructions in lockstep (FS, fcsr, NaN-boxing, rounding modes, add/sub sweeps)', async () => {
    const r = await lockstep(guest('isa_fd'), '', { maxInsns: 1_200_000, jit: { hotness: 1 } });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe(r.referenceConsole);
    expect(r.console).toContain('fsub.d 0,0:');
    expect(r.jitStats.wasmInsns).toBeGreaterThan(0);
  });

  // Once NX is set, compiled binary64 ops skip the operand checks and the inexactness test, and
  // fmadd.d and friends become the host's fused multiply-add (jit/host-fma.ts): the sweep that runs
  // every exceptional operand through them with NX preset is compared step by step, on this host's
  // choice of FMA and with the emulation forced.
  test.each([true, false])('isa_fd: the sticky-NX sweep in lockstep (host FMA: %s)', async (hostFma) => {
    const r = await lockstep(guest('isa_fd'), 'sticky=1', { maxInsns: 100_000_000, jit: { hotness: 1, hostFma } });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe(r.referenceConsole);
    expect(r.console).toContain('sticky-NX: 7040 checked, 0 mismatches');
    expect(r.jitStats.wasmInsns).toBeGreaterThan(r.icount / 2);
  });

  test('a tiny code cache evicts and recompiles without changing the result', async () => {
    const r = await lockstep(guest('bench_compute'), 'iters=2', { maxInsns: 50_000_000, jit: { hotness: 2, maxPages: 1 } });
    expect(r.divergence).toBeNull();
    expect(r.jitStats.compiles).toBeGreaterThan(1);
  });

  test('isa_fencei: self-modifying code is caught (code generations, FENCE.I)', async () => {
    const r = await lockstep(guest('isa_fencei'), '', { maxInsns: 50_000_000, jit: { hotness: 1 } });
    expect(r.divergence).toBeNull();
    expect(r.console).toBe(golden('isa_fencei'));
  });
});

/** Guests whose whole console output is a function of the ISA (as in isa.test.ts). */
const EXACT = ['isa_fd', 'isa_rv64i', 'isa_rv64m', 'isa_rv64a', 'isa_rvc', 'isa_zicsr', 'isa_fencei', 'isa_misaligned', 'mmu_sv39', 'mmu_sv48', 'irq_timer', 'isa_zb'];
const WITH_INFO = ['priv_traps', 'irq_ipi'];
/** isa_zicsr checks a CPU without F and D (as isa.test.ts runs it). */
const CPU_ARGS: Record<string, string[]> = { isa_zicsr: ['--cpu', 'rv64,f=false,d=false'] };

// isa.test.ts, smp.test.ts and the rest run on the default tier; these run the same guests on the
// other one, so both tiers pass the golden outputs (recorded from qemu-system-riscv64).
describe(`ISA suite on the non-default tier (--tier ${OTHER_TIER}; golden output from qemu-system-riscv64)`, () => {
  test.each(EXACT)('%s passes with the exact expected output', async (name) => {
    const r = await hindsight(['run', '--tier', OTHER_TIER, '--timeout', '60', ...(CPU_ARGS[name] ?? []), guest(name)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(golden(name));
    expect(r.code).toBe(0);
  });

  test.each(WITH_INFO)('%s passes with the expected output', async (name) => {
    const r = await hindsight(['run', '--tier', OTHER_TIER, '--timeout', '60', guest(name)]);
    expect(stableLines(r.stdout)).toBe(stableLines(golden(name)));
    expect(r.code).toBe(0);
  });

  test('smp guests on 2 harts', async () => {
    for (const name of ['smp_amo_counter', 'smp_spinlock', 'smp_racy_counter', 'smp_mp_litmus']) {
      const r = await hindsight(['run', '--tier', OTHER_TIER, '--harts', '2', '--timeout', '60', guest(name)]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(stableLines(r.stdout), name).toBe(stableLines(golden(name)));
    }
  });

  test('riscv-tests-style HTIF programs report pass and failure through tohost', async () => {
    expect((await hindsight(['run', '--tier', OTHER_TIER, '--timeout', '30', guest('isa_htif')])).code).toBe(0);
    expect((await hindsight(['run', '--tier', OTHER_TIER, '--timeout', '30', guest('isa_htif_fail')])).code).toBe(3);
  });

  test('--tier accepts only known tiers', async () => {
    const r = await hindsight(['run', '--tier', 'turbo', guest('hello')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('turbo');
  });

  test('--max-insns stops at exactly N instructions', async () => {
    const r = await hindsight(['run', '--tier', OTHER_TIER, '--stats', '--max-insns', '1234567', '--append', 'iters=50', guest('bench_compute')]);
    expect(r.code).toBe(124);
    expect(r.stderr).toContain('hart 0: 1234567 instructions');
  });
});

describe('record and replay across tiers', () => {
  // (smp_mp_litmus is left to the benchmark: its ownership ping-pong makes a recording take from
  // seconds to minutes depending on host load, on either tier.)
  test.each([
    ['bench_parallel', ['--append', 'iters=5'], ['reference', 'jit']],
    ['smp_racy_counter', [], ['reference', 'jit']],
  ] as [string, string[], string[]][])(
    '%s: recorded on jit (parallel and serial), replays exactly on %s', async (name, extra, tiers) => {
      const { mkdtempSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(join(tmpdir(), 'hindsight-jit-rr-'));
      try {
        for (const sched of ['parallel', 'serial']) {
          const trace = join(dir, `${name}-${sched}.trace`);
          const rec = await hindsight(['record', '--tier', 'jit', '--sched', sched, '--harts', '2', '-o', trace, ...extra, guest(name)]);
          expect(rec.code, rec.stderr).toBe(0);
          for (const tier of tiers) {
            const rep = await hindsight(['replay', '--tier', tier, '--quiet', trace], { timeoutMs: 170_000 });
            expect(rep.code, `${sched} trace on ${tier}: ${rep.stderr}`).toBe(0);
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
});
