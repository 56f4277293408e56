import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { EXPECTED, QEMU, QEMU_CPU_FD, guest, hindsight, qemu, requireTool, stableLines } from './support/tools.js';

/** Guests whose whole console output is a function of the ISA: compared byte for byte. */
const EXACT = ['isa_fd', 'bench_fp', 'isa_rv64i', 'isa_rv64m', 'isa_rv64a', 'isa_rvc', 'isa_zicsr', 'isa_fencei', 'isa_misaligned', 'mmu_sv39', 'mmu_sv48', 'irq_timer'];
/** Guests that also print implementation-defined values on "info:" lines (compared without them). */
const WITH_INFO = ['priv_traps', 'irq_ipi'];

/** Guests built rv64gc/lp64d: QEMU runs them with F and D. */
const FP_GUESTS = ['isa_fd', 'bench_fp'];
/** isa_zicsr checks a CPU without F and D (misa, FP instructions trapping): the CPU QEMU_CPU describes. */
const CPU_ARGS: Record<string, string[]> = { isa_zicsr: ['--cpu', 'rv64,f=false,d=false'] };

const golden = (name: string) => readFileSync(join(EXPECTED, `${name}.out`), 'latin1');

describe('ISA suite on hindsight (golden output recorded from qemu-system-riscv64)', () => {
  test.each(EXACT)('%s passes with the exact expected output', async (name) => {
    const r = await hindsight(['run', '--timeout', '60', ...(CPU_ARGS[name] ?? []), guest(name)]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(golden(name));
    expect(r.code).toBe(0);
  });

  test.each(WITH_INFO)('%s passes with the expected output', async (name) => {
    const r = await hindsight(['run', '--timeout', '60', guest(name)]);
    expect(stableLines(r.stdout)).toBe(stableLines(golden(name)));
    expect(r.code).toBe(0);
  });

  test('irq_uart takes PLIC + UART receive interrupts for typed input', async () => {
    const r = await hindsight(['run', '--timeout', '60', guest('irq_uart')], { input: 'hello\n' });
    expect(r.stdout).toContain('irq_uart: got: hello');
    expect(stableLines(r.stdout)).toBe(stableLines(golden('irq_uart')));
    expect(r.code).toBe(0);
  });

  test('riscv-tests-style HTIF programs report pass and failure through tohost', async () => {
    expect((await hindsight(['run', '--timeout', '30', guest('isa_htif')])).code).toBe(0);
    const failing = await hindsight(['run', '--timeout', '30', guest('isa_htif_fail')]);
    expect(failing.code).toBe(3);
  });
});

describe('differential: hindsight vs qemu-system-riscv64 on the same ELF', () => {
  beforeAll(() => requireTool(QEMU, 'qemu-system-misc'));

  test.each([...EXACT, ...WITH_INFO])('%s: same console output as QEMU', async (name) => {
    const [ours, theirs] = await Promise.all([
      hindsight(['run', '--timeout', '60', ...(CPU_ARGS[name] ?? []), guest(name)]),
      qemu(guest(name), 1, { timeoutMs: 60_000, cpu: FP_GUESTS.includes(name) ? QEMU_CPU_FD : undefined }),
    ]);
    expect(theirs.code).toBe(0);
    expect(ours.code).toBe(0);
    const compare = WITH_INFO.includes(name) ? stableLines : (s: string) => s;
    expect(compare(ours.stdout)).toBe(compare(theirs.stdout));
  });
});
